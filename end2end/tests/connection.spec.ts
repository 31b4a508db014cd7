import { expect, test } from '@playwright/test';
import { OwnServer } from './own-server';
import { register, uniqueName } from './helpers';

test('the page is rendered on the server before any script runs', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('href="/login"');
  expect(html).toContain('/pkg/switchboard.js');
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
