import { expect, test } from './fixtures';
import type { Browser } from '@playwright/test';
import { User, newUser, openConversationId, openDirect, openFromSidebar, say, sendMany } from './helpers';

/** Messages in the long conversation; `LONG_CONVERSATION=5000` measures the figure. */
const COUNT = Number(process.env.LONG_CONVERSATION ?? 600);
/** The window draws at most this many rows (src/app/chat/messages/window.rs), plus the edge. */
const MAX_ROWS = 151;

/** Ann and Ben in a direct conversation, open on both sides, with Ann's `first` message read. */
async function directWithOne(browser: Browser, first: string): Promise<{ ann: User; ben: User; conv: number }> {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  await openDirect(ann.page, ben.name);
  const conv = openConversationId(ann.page);
  await say(ann.page, first);
  await openFromSidebar(ben.page, ann.name);
  await expect(ben.page.getByTestId('message').last()).toContainText(first);
  return { ann, ben, conv };
}

/** `bodies` are `m k`, `m k+1`, … : in order, none twice, none missing between. */
function consecutive(bodies: string[]): void {
  const numbers = bodies.map((b) => Number(/^m (\d+)$/.exec(b)?.[1] ?? NaN));
  numbers.forEach((n, i) => expect(n, `row ${i} of ${bodies.join(', ')}`).toBe(numbers[0] + i));
}

test('a long conversation follows a burst, keeps the page small, and scrolls back to its start', async ({
  browser,
  isMobile,
}, testInfo) => {
  test.skip(isMobile, 'the window does not depend on the viewport; one run of this long test is enough');
  test.setTimeout(120_000 + COUNT * 100);
  const { ann, ben, conv } = await directWithOne(browser, 'm 0');

  // Ben watches at the bottom while Ann's messages arrive at 40 a second: he keeps up.
  const burst = sendMany(ann.page, conv, COUNT, 'm');
  const newest = ben.page.getByTestId('message').last();
  await expect(ben.page.getByTestId('message').locator('.body').filter({ hasText: /^m 100$/ })).toHaveCount(1, { timeout: 30_000 });
  await expect(newest).toBeInViewport();
  await burst;
  await expect(newest.locator('.body')).toHaveText(`m ${COUNT}`);
  await expect(newest).toBeInViewport();
  await expect(ben.page.getByTestId('jump-to-latest')).toHaveCount(0);

  // However many there are, the page holds a bounded window of them.
  const rows = ben.page.locator('[data-testid="messages"] > li');
  expect(await rows.count()).toBeLessThanOrEqual(MAX_ROWS);
  const nodes = await ben.page.getByTestId('messages').evaluate((el) => el.querySelectorAll('*').length);
  testInfo.annotations.push({ type: 'nodes', description: `${nodes} nodes in the list for ${COUNT + 1} messages` });

  // Back to the beginning: every step shows consecutive messages, the page stays bounded, and
  // every message is seen on the way.
  const list = ben.page.getByTestId('messages');
  const edge = ben.page.getByTestId('history-edge');
  const seen = new Set<string>();
  const started = Date.now();
  for (let step = 0; step < COUNT; step++) {
    const bodies = await ben.page.getByTestId('message').locator('.body').allTextContents();
    consecutive(bodies);
    bodies.forEach((b) => seen.add(b));
    expect(await rows.count()).toBeLessThanOrEqual(MAX_ROWS);
    if ((await edge.textContent()) === 'This is the beginning of the conversation.' && seen.has('m 0')) break;
    await list.evaluate((el) => el.scrollTo(0, 0));
    await ben.page.waitForTimeout(50);
  }
  testInfo.annotations.push({ type: 'scroll-back', description: `${Date.now() - started} ms to the beginning` });
  expect(seen.size).toBe(COUNT + 1);
  await expect(ben.page.getByTestId('message').first().locator('.body')).toHaveText('m 0');

  // And straight back to the newest.
  await ben.page.getByTestId('jump-to-latest').click();
  await expect(newest.locator('.body')).toHaveText(`m ${COUNT}`);
  await expect(newest).toBeInViewport();
  expect(await rows.count()).toBeLessThanOrEqual(MAX_ROWS);
  await ann.context.close();
  await ben.context.close();
});

test('a conversation opened with 150 unread messages shows the first of them under the divider', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const { ann, ben, conv } = await directWithOne(browser, 'read before');
  await ben.page.goto('/');
  await sendMany(ann.page, conv, 150, 'u');
  await expect(ben.page.getByTestId('conversations').getByLabel('unread')).toHaveText('150');

  // A fresh page holds only the latest page of them: older ones load until the first unread.
  await ben.page.reload();
  await openFromSidebar(ben.page, ann.name);
  const divider = ben.page.getByTestId('unread-divider');
  await expect(divider).toBeInViewport();
  const first = ben.page.getByTestId('message').filter({ has: ben.page.locator('.body', { hasText: /^u 1$/ }) });
  await expect(first).toBeInViewport();
  const texts = await ben.page.locator('[data-testid="messages"] > li').allTextContents();
  const at = texts.findIndex((t) => t.includes('New messages'));
  expect(texts[at + 1]).toContain('u 1');
  expect(texts[at - 1]).toContain('read before');
  await expect(ben.page.getByTestId('jump-to-latest')).toBeVisible();
  await ann.context.close();
  await ben.context.close();
});
