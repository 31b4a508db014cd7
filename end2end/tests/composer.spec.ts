import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { newUser, openDirect, openFromSidebar, register, say, toList, uniqueName } from './helpers';

test('drafts are kept per conversation; Shift+Enter is a newline; over-long messages are refused before sending', async ({
  page,
}) => {
  await register(page, uniqueName('ann'));
  const [roomA, roomB] = [uniqueName('alpha'), uniqueName('beta')];
  for (const room of [roomA, roomB]) {
    await toList(page);
    await page.getByLabel('New room').fill(room);
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.getByTestId('conv-title')).toHaveText(room);
  }
  const composer = page.getByLabel('Message', { exact: true });
  await openFromSidebar(page, roomA);
  await composer.fill('half-written thought');
  await openFromSidebar(page, roomB);
  await expect(composer).toHaveValue('');
  await openFromSidebar(page, roomA);
  await expect(composer).toHaveValue('half-written thought');

  await composer.fill('line one');
  await composer.press('Shift+Enter');
  await composer.pressSequentially('line two');
  await composer.press('Enter');
  await expect(page.getByTestId('message').last().locator('.body')).toHaveText('line one\nline two');
  await expect(composer).toHaveValue('');

  await composer.fill('x'.repeat(4001));
  await expect(page.getByTestId('composer-error')).toContainText('at most 4000 characters');
  await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
  await composer.press('Enter');
  await expect(page.getByTestId('message')).toHaveCount(1);
  await composer.press('Backspace');
  await expect(page.getByTestId('composer-error')).toHaveText('');
});

test('markup and script in a message stay text; web links become safe links', async ({ browser }) => {
  const { name: annName, context: annCtx, page: ann } = await newUser(browser, 'ann');
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben');
  await openDirect(ann, benName);
  const payload =
    '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> ' +
    '<a href="javascript:window.__pwned=3">click</a> javascript:window.__pwned=4 ' +
    'docs at https://example.com/guide?a=1&b=2.';
  await say(ann, payload);
  await openFromSidebar(ben, annName);
  const message = ben.getByTestId('message').last();
  await expect(message.locator('.body')).toHaveText(payload);
  await expect(message.locator('img, script')).toHaveCount(0);
  const links = message.locator('a');
  await expect(links).toHaveCount(1);
  await expect(links).toHaveAttribute('href', 'https://example.com/guide?a=1&b=2');
  await expect(links).toHaveAttribute('rel', 'noopener noreferrer nofollow');
  await expect(links).toHaveAttribute('target', '_blank');
  await message.locator('.body').click({ position: { x: 2, y: 2 } });
  expect(await ben.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await ann.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await annCtx.close();
  await benCtx.close();
});

/** Bodies that would run script, load something or open a dialog if any of it became markup. */
const XSS_CORPUS = [
  '<script>window.__pwned=1</script>',
  '<img src=x onerror="window.__pwned=2">',
  '<iframe src="javascript:window.__pwned=3"></iframe>',
  '<svg onload="window.__pwned=4"></svg> and <details open ontoggle="alert(4)">',
  '<style>body{display:none}</style> still visible',
  '<!-- <script>window.__pwned=5</script> --> a comment',
  '[click](javascript:window.__pwned=6)',
  '[click](&#106;avascript:window.__pwned=7)',
  '[ref][r]\n\n[r]: javascript:window.__pwned=8',
  '<javascript:window.__pwned=9>',
  '![img](javascript:window.__pwned=10)',
  '![a picture](https://example.com/x.png)',
  '**[bold](data:text/html,<script>window.__pwned=11</script>)**',
  '> <img src=x onerror=alert(12)>',
  '```html\n<script>alert(13)</script>\n```',
  '[x](//evil.example) [y](/relative) <b onclick="window.__pwned=14">b</b>',
  '# <script>alert(15)</script>',
];

/** Typed as typed: these show exactly their source. */
const SHOWN_AS_TYPED = [
  '[click](javascript:window.__pwned=6)',
  '<javascript:window.__pwned=9>',
  '![img](javascript:window.__pwned=10)',
  '# <script>alert(15)</script>',
];

const FORMATTED = [
  '**bold** *slanted* ~~gone~~ `inline code`',
  '> a quote',
  '- one',
  '- two',
  '',
  '3. three',
  '',
  '```',
  `const line = "${'a long line '.repeat(40)}";`,
  '```',
  '[the docs](https://example.com/docs) and <mailto:ann@example.com> and www.example.org',
].join('\n');

/** Every check of a formatted message and the corpus, on a page that shows them. */
async function expectSafeMarkdown(page: Page, count: number): Promise<void> {
  const messages = page.getByTestId('message');
  await expect(messages).toHaveCount(count);
  const formatted = messages.first().locator('.body');
  await expect(formatted.locator('strong')).toHaveText('bold');
  await expect(formatted.locator('em')).toHaveText('slanted');
  await expect(formatted.locator('s')).toHaveText('gone');
  await expect(formatted.locator('p > code')).toHaveText('inline code');
  await expect(formatted.locator('blockquote')).toHaveText('a quote');
  await expect(formatted.locator('ul > li')).toHaveText(['one', 'two']);
  await expect(formatted.locator('ol')).toHaveAttribute('start', '3');
  await expect(formatted.locator('pre > code')).toContainText('const line');
  // A long code line scrolls inside its block instead of widening the page.
  const pre = formatted.locator('pre');
  expect(await pre.evaluate((el) => getComputedStyle(el).overflowX)).toBe('auto');
  expect(await pre.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
  const links = formatted.locator('a');
  await expect(links).toHaveCount(3);
  await expect(links.nth(0)).toHaveAttribute('href', 'https://example.com/docs');
  await expect(links.nth(0)).toHaveText('the docs');
  await expect(links.nth(1)).toHaveAttribute('href', 'mailto:ann@example.com');
  await expect(links.nth(2)).toHaveAttribute('href', 'https://www.example.org');

  const list = page.getByTestId('messages');
  await expect(list.locator('script, style, iframe, img, svg, details, h1, b')).toHaveCount(0);
  for (const source of SHOWN_AS_TYPED) {
    await expect(messages.nth(1 + XSS_CORPUS.indexOf(source)).locator('.body')).toHaveText(source);
  }
  for (const link of await list.locator('a').all()) {
    expect(await link.getAttribute('href')).toMatch(/^(https?:\/\/|mailto:)/);
    await expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow');
    await expect(link).toHaveAttribute('target', '_blank');
  }
  // The image is never loaded: its alt text is a link to it.
  await expect(list.getByRole('link', { name: 'a picture' })).toHaveAttribute('href', 'https://example.com/x.png');
  for (let i = 1; i < count; i++) {
    const body = messages.nth(i).locator('.body');
    await body.hover({ position: { x: 2, y: 2 } });
    // (Clicking a real link would open a tab; what is clicked here is text.)
    if ((await body.locator('a').count()) === 0) await body.click({ position: { x: 2, y: 2 } });
  }
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
}

test('Markdown renders as elements, server-rendered and hydrated alike; an XSS corpus through it runs nothing', async ({
  browser,
}) => {
  const { name: annName, context: annCtx, page: ann } = await newUser(browser, 'ann');
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben');
  const trouble: string[] = [];
  for (const page of [ann, ben]) {
    page.on('dialog', (dialog) => {
      trouble.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => trouble.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /panicked|hydrat/i.test(message.text())) trouble.push(message.text());
    });
  }
  await openDirect(ann, benName);
  for (const body of [FORMATTED, ...XSS_CORPUS]) {
    const before = await ann.getByTestId('message').count();
    await say(ann, body);
    await expect(ann.getByTestId('message')).toHaveCount(before + 1);
  }
  const count = 1 + XSS_CORPUS.length;
  await expect(ann.locator('[data-testid="message"][data-state]')).toHaveCount(0);
  await expectSafeMarkdown(ann, count);

  await openFromSidebar(ben, annName);
  await expectSafeMarkdown(ben, count);

  // After a reload the messages come in the server's first paint; hydration takes them over
  // as they are (no error) and the page stays live.
  await ben.reload();
  await expectSafeMarkdown(ben, count);
  await expect(ben.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await say(ben, 'still **live**');
  await expect(ann.getByTestId('message').last().locator('strong')).toHaveText('live');
  expect(trouble).toEqual([]);
  await annCtx.close();
  await benCtx.close();
});

test('the first paint of a conversation is server-rendered: list and latest messages are in the HTML', async ({
  page,
}) => {
  const name = uniqueName('ann');
  await register(page, name);
  const room = uniqueName('room');
  await page.getByLabel('New room').fill(room);
  await page.getByRole('button', { name: 'Create' }).click();
  await openFromSidebar(page, room);
  await say(page, 'rendered on the server');
  await expect(page.getByTestId('message').last()).toContainText('rendered on the server');

  const html = await (await page.request.get(page.url())).text();
  expect(html).toContain(room);
  expect(html).toContain('rendered on the server');

  // The hydrated page shows the same without a flash of an empty list, and stays live.
  await page.reload();
  await expect(page.getByTestId('message').last()).toContainText('rendered on the server');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await say(page, 'after hydration');
  await expect(page.getByTestId('message')).toHaveCount(2);
});
