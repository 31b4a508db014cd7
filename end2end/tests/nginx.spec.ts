import { expect, test } from './fixtures';
import { newUser, openDirect, openFromSidebar, say } from './helpers';
import { Nginx } from './nginx';
import { freePort, OwnServer } from './own-server';

test('a chat round trip through nginx in front of the release server', async ({ browser }) => {
  const port = await freePort();
  const server = await OwnServer.start([`http://127.0.0.1:${port}`]);
  const nginx = await Nginx.start(server.port, port);
  try {
    // The page comes from switchboard through nginx, the hashed bundle from nginx's disk:
    // precompressed, cached forever.
    const page = await fetch(`${nginx.url}/`);
    expect(page.status).toBe(200);
    const wasmPath = /\/pkg\/switchboard\.[\w-]+\.wasm/.exec(await page.text())?.[0];
    expect(wasmPath).toBeTruthy();
    const wasm = await fetch(`${nginx.url}${wasmPath}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get('server')).toMatch(/nginx/);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(wasm.headers.get('content-encoding')).toBe('gzip');
    expect(wasm.headers.get('cache-control')).toContain('immutable');

    const ann = await newUser(browser, 'ann', nginx.url);
    const ben = await newUser(browser, 'ben', nginx.url);
    const sockets: string[] = [];
    ben.page.on('websocket', (ws) => sockets.push(ws.url()));
    await ben.page.reload();
    await expect(ben.page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
    expect(sockets.every((url) => url.startsWith(`ws://127.0.0.1:${port}/ws`))).toBe(true);
    expect(sockets.length).toBeGreaterThan(0);

    await openDirect(ann.page, ben.name);
    await say(ann.page, 'through the proxy');
    await openFromSidebar(ben.page, ann.name);
    await expect(ben.page.getByTestId('message').last()).toContainText('through the proxy');
    await say(ben.page, 'and back');
    await expect(ann.page.getByTestId('message').last()).toContainText('and back');
    await ann.context.close();
    await ben.context.close();
  } finally {
    await nginx.stop();
    await server.stop();
  }
});
