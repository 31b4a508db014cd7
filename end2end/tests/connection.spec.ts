import { expect, test } from '@playwright/test';
import { OwnServer } from './own-server';

test('the page is rendered on the server before any script runs', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('data-testid="connection"');
  expect(html).toContain('data-state="connecting"');
  expect(html).toContain('/pkg/switchboard.js');
});

test('the indicator reaches connected once the WASM hydrates and opens /ws', async ({ page }) => {
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto('/');
  const indicator = page.getByTestId('connection');
  await expect(indicator).toHaveAttribute('data-state', 'connected');
  await expect(indicator).toHaveText('Connected');
  expect(sockets.some((url) => /\/ws\?v=\d+$/.test(url))).toBe(true);
});

test('a server restart shows reconnecting, then connected again', async ({ page }) => {
  const server = await OwnServer.start();
  try {
    await page.goto(server.url);
    const indicator = page.getByTestId('connection');
    await expect(indicator).toHaveAttribute('data-state', 'connected');

    expect(await server.stop()).toBe(0);
    await expect(indicator).toHaveAttribute('data-state', 'reconnecting');
    await expect(indicator).toHaveText('Reconnecting…');

    await server.launch();
    await expect(indicator).toHaveAttribute('data-state', 'connected');
  } finally {
    await server.stop();
  }
});
