// An attacker's page on another port of 127.0.0.1 (the same *site* as the app, so SameSite=Lax
// cookies go along) tries cross-site requests against a logged-in victim, log-in CSRF, and
// framing the app. None of it may work.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Page } from '@playwright/test';
import { BASE_URL } from '../playwright.config';
import { expect, test } from './fixtures';
import { PASSWORD, newUser, register, uniqueName } from './helpers';

/** A form that posts `fields` to the app's `/api/<endpoint>` as soon as the page loads. */
function autoForm(endpoint: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
    .join('');
  return `<form id="f" method="post" action="${BASE_URL}/api/${endpoint}">${inputs}</form>
    <script>document.getElementById('f').submit()</script>`;
}

/** Requests a script on another page can send without the browser asking first. */
const FETCHES = `<script>
  const app = ${JSON.stringify(BASE_URL)};
  const tries = [
    ['logout', '', 'application/x-www-form-urlencoded'],
    ['logout', '', 'text/plain'],
    ['create_token', 'name=stolen', 'application/x-www-form-urlencoded'],
    ['create_token', 'name=stolen', 'text/plain'],
  ];
  Promise.allSettled(tries.map(([endpoint, body, type]) => fetch(app + '/api/' + endpoint, {
    method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': type }, body,
  }))).then(() => { document.title = 'sent'; });
</script>`;

/** The attacker's site: a few pages, served by node on a port of its own. */
async function attackerSite(loginAs: string): Promise<{ server: Server; url: string }> {
  const pages: Record<string, string> = {
    '/logout-form': autoForm('logout', {}),
    '/token-form': autoForm('create_token', { name: 'stolen' }),
    '/login-form': autoForm('login', { username: loginAs, password: PASSWORD }),
    '/fetches': FETCHES,
    '/frame': `<p>win a prize</p><iframe id="app" src="${BASE_URL}/" width="800" height="600"></iframe>`,
  };
  const server = createServer((request, response) => {
    const page = pages[request.url ?? ''];
    response.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!DOCTYPE html><html><body>${page ?? 'not found'}</body></html>`);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

/** The victim's tokens and account, asked for by the app's own page (same origin). */
async function victimState(page: Page): Promise<{ who: string; tokens: string }> {
  await page.goto('/');
  await expect(page.getByTestId('who')).toBeVisible();
  const tokens = await page.evaluate(async () => {
    const response = await fetch('/api/list_tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    return response.text();
  });
  return { who: (await page.getByTestId('who').textContent()) ?? '', tokens };
}

test.describe('from another port of the same host', () => {
  // Chromium reports the refused frame as a frame-ancestors violation: that one is the point.
  test.use({ cspAllowed: [/frame-ancestors/] });

  let attacker: { server: Server; url: string };
  let attackerName: string;

  test.beforeAll(async ({ browser }) => {
    const user = await newUser(browser, 'attacker');
    attackerName = user.name;
    await user.context.close();
    attacker = await attackerSite(attackerName);
  });

  test.afterAll(async () => {
    await new Promise((ok) => attacker.server.close(ok));
  });

  test('auto-submitting forms cannot log the victim out or create a token', async ({ page }) => {
    const victim = uniqueName('victim');
    await register(page, victim);
    const before = await victimState(page);
    expect(before).toEqual({ who: victim, tokens: '[]' });

    for (const path of ['/logout-form', '/token-form']) {
      const refused = page.waitForResponse((r) => r.url().startsWith(`${BASE_URL}/api/`));
      await page.goto(`${attacker.url}${path}`);
      expect((await refused).status(), path).toBe(403);
    }
    expect(await victimState(page)).toEqual(before);
  });

  test('fetch from the other page, form-encoded or text/plain, changes nothing', async ({ page }) => {
    const victim = uniqueName('victim');
    await register(page, victim);
    const before = await victimState(page);
    await page.goto(`${attacker.url}/fetches`);
    await expect(page).toHaveTitle('sent');
    expect(await victimState(page)).toEqual(before);
  });

  test("log-in CSRF cannot switch the victim into the attacker's account", async ({ page }) => {
    const victim = uniqueName('victim');
    await register(page, victim);
    const refused = page.waitForResponse(`${BASE_URL}/api/login`);
    await page.goto(`${attacker.url}/login-form`);
    expect((await refused).status()).toBe(403);
    const after = await victimState(page);
    expect(after.who).toBe(victim);
    expect(after.who).not.toBe(attackerName);
  });

  test('the app refuses to render inside the other page', async ({ page }) => {
    const victim = uniqueName('victim');
    await register(page, victim);
    await page.goto(`${attacker.url}/frame`);
    await page.waitForLoadState('load');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame).toBeDefined();
    const rendered = await frame!
      .evaluate(() => document.querySelector('.topbar') !== null)
      .catch(() => false);
    expect(rendered).toBe(false);
  });
});

test('pages name a fresh nonce and allow no inline script without it', async ({ request }) => {
  const nonces = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const response = await request.get('/login');
    const csp = response.headers()['content-security-policy'];
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(await response.text()).toContain(`nonce="${nonce}"`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers()['x-frame-options']).toBe('DENY');
    nonces.add(nonce!);
  }
  expect(nonces.size).toBe(2);
});
