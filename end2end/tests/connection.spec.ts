import { expect, test } from './fixtures';
import { OwnServer } from './own-server';
import { register, uniqueName } from './helpers';

test('the page is rendered on the server before any script runs', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('href="/login"');
  expect(html).toMatch(/\/pkg\/switchboard\.[\w-]+\.js/);
});

test('the bundle has content-hashed names, is sent precompressed and cached forever', async ({ request }) => {
  const html = await (await request.get('/')).text();
  for (const kind of ['js', 'wasm', 'css']) {
    const path = new RegExp(`/pkg/switchboard\\.[\\w-]+\\.${kind}`).exec(html)?.[0];
    expect(path, `a hashed .${kind} in the page`).toBeTruthy();
    const response = await request.get(path!, { headers: { 'accept-encoding': 'br' } });
    expect(response.status()).toBe(200);
    expect(response.headers()['content-encoding']).toBe('br');
    expect(response.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  }
  const types = { js: 'text/javascript', wasm: 'application/wasm', css: 'text/css' };
  for (const [kind, type] of Object.entries(types)) {
    const path = new RegExp(`/pkg/switchboard\\.[\\w-]+\\.${kind}`).exec(html)![0];
    expect((await request.get(path)).headers()['content-type']).toContain(type);
  }
});

test('a logged-in page arrives with the indicator connecting, then hydrates and connects', async ({
  page,
}) => {
  await register(page, uniqueName());
  const html = await (await page.request.get('/')).text();
  expect(html).toContain('data-testid="connection"');
  expect(html).toContain('data-state="connecting"');

  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.reload();
  const indicator = page.getByTestId('connection');
  await expect(indicator).toHaveAttribute('data-state', 'connected');
  await expect(indicator).toHaveText('Connected');
  expect(sockets.some((url) => /\/ws\?v=\d+$/.test(url))).toBe(true);
});

test('a server restart shows reconnecting, then connected again', async ({ page }) => {
  const server = await OwnServer.start();
  try {
    await register(page, uniqueName(), server.url);
    const indicator = page.getByTestId('connection');

    expect(await server.stop()).toBe(0);
    await expect(indicator).toHaveAttribute('data-state', 'reconnecting');
    await expect(indicator).toHaveText('Reconnecting…');

    await server.launch();
    await expect(indicator).toHaveAttribute('data-state', 'connected');
  } finally {
    await server.stop();
  }
});
