import { Browser, BrowserContext, expect, Page } from '@playwright/test';

let counter = 0;

/** A username no earlier run has used (the dev database persists between runs). */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e4)}`;
}

export const PASSWORD = 'correct horse battery staple';

/** Registers through the page and waits until the socket is connected. */
export async function register(page: Page, username: string, base = ''): Promise<void> {
  await page.goto(`${base}/register`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.getByTestId('who')).toBeVisible();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
}

/** Logs in through the page. */
export async function logIn(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The conversation id in the page's URL (`/c/<id>`). */
export function openConversationId(page: Page): number {
  const match = /\/c\/(\d+)$/.exec(page.url());
  if (!match) throw new Error(`not on a conversation page: ${page.url()}`);
  return Number(match[1]);
}

/** Starts (or opens) a direct conversation with `peer` from the sidebar, and opens it. */
export async function openDirect(page: Page, peer: string): Promise<void> {
  await toList(page);
  await page.getByLabel('New message to').fill(peer);
  await page.getByRole('button', { name: 'Start' }).click();
  // Starting it opens it.
  await expect(page).toHaveURL(/\/c\/\d+$/);
  await expect(page.getByTestId('conv-title')).toHaveText(peer);
}

/** Creates a public room named `name` from the sidebar; creating it opens it. */
export async function createRoom(page: Page, name: string): Promise<void> {
  await toList(page);
  await page.getByLabel('New room').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('conv-title')).toHaveText(name);
}

/** Shows the sidebar: on a phone with a conversation open, goes back to the list. */
export async function toList(page: Page): Promise<void> {
  const back = page.getByRole('link', { name: 'All conversations' });
  if (await back.isVisible()) await back.click();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
}

/** Opens a conversation from the sidebar (going back to the list first on a phone). */
export async function openFromSidebar(page: Page, name: string): Promise<void> {
  const link = page.getByTestId('conversations').getByRole('link', { name });
  const back = page.getByRole('link', { name: 'All conversations' });
  // The link may still be on its way (a room just created), or hidden behind an open
  // conversation on a phone: go back to the list when there is a way back, and wait.
  await expect(async () => {
    if (await link.isVisible()) return;
    if (await back.isVisible()) await back.click();
    await expect(link).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await link.click();
  await expect(page.getByTestId('conv-title')).toHaveText(name);
}

/** Types a message into the composer and sends it with Enter. */
export async function say(page: Page, text: string): Promise<void> {
  const composer = page.getByLabel('Message', { exact: true });
  await composer.fill(text);
  await composer.press('Enter');
}

/**
 * Sends `count` messages into `conv` from this page's user over a second, raw WebSocket (the
 * way any client could), paced under the server's per-user rate limit, and waits for every ack.
 * The bodies are `<prefix> <first>` onwards. One socket sends at most 150 (a socket that never
 * resumes is closed 10 s after its upgrade), so more go over several, one after another.
 */
export async function sendMany(page: Page, conv: number, count: number, prefix: string, first = 1): Promise<void> {
  if (count > 150) {
    for (let from = first; from < first + count; from += 150) {
      await sendMany(page, conv, Math.min(150, first + count - from), prefix, from);
    }
    return;
  }
  await page.evaluate(
    async ({ conv, count, prefix, first }) => {
      const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?v=1`);
      let acked = 0;
      const done = new Promise<void>((ok, fail) => {
        ws.onmessage = (message) => {
          const frame = JSON.parse(message.data);
          if (frame.type === 'ack' && ++acked === count) ok();
          if (frame.type === 'error') fail(new Error(`refused: ${message.data}`));
        };
        ws.onclose = () => fail(new Error(`closed after ${acked} acks`));
      });
      await new Promise((ok, fail) => {
        ws.onopen = ok;
        ws.onerror = fail;
      });
      for (let i = first; i < first + count; i++) {
        ws.send(JSON.stringify({ type: 'send', client_msg_id: `${prefix}-${i}`, conv, body: `${prefix} ${i}` }));
        if ((i - first + 1) % 20 === 0) await new Promise((ok) => setTimeout(ok, 500));
      }
      await done;
      ws.onclose = null;
      ws.close();
    },
    { conv, count, prefix, first },
  );
}

/** A registered user in a browser context of their own. */
export interface User {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** Registers a new user (name starting with `prefix`) in a fresh context, connected. */
export async function newUser(browser: Browser, prefix: string, base = ''): Promise<User> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const name = uniqueName(prefix);
  await register(page, name, base);
  return { name, context, page };
}
