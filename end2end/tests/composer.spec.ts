import { expect, test } from './fixtures';
import { newUser, openDirect, openFromSidebar, register, say, uniqueName } from './helpers';

test('drafts are kept per conversation; Shift+Enter is a newline; over-long messages are refused before sending', async ({
  page,
}) => {
  await register(page, uniqueName('ann'));
  const [roomA, roomB] = [uniqueName('alpha'), uniqueName('beta')];
  for (const room of [roomA, roomB]) {
    await page.getByLabel('New room').fill(room);
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.getByTestId('conversations').getByRole('link', { name: room })).toBeVisible();
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
  await expect(links).toHaveAttribute('rel', 'noopener noreferrer');
  await expect(links).toHaveAttribute('target', '_blank');
  await message.locator('.body').click({ position: { x: 2, y: 2 } });
  expect(await ben.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await ann.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
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
