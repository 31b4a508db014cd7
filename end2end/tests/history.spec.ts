import { expect, test } from './fixtures';
import { newUser, openConversationId, openDirect, openFromSidebar, say, sendMany } from './helpers';

test('scrolling up loads older history without moving what is on screen', async ({ browser }) => {
  const { name: annName, context: annCtx, page: ann } = await newUser(browser, 'ann');
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben');
  await openDirect(ann, benName);
  // Ben reads them as they come (a conversation with unread messages opens at the first).
  await openFromSidebar(ben, annName);
  await sendMany(ann, openConversationId(ann), 120, 'm');
  await expect(ben.getByTestId('message').last()).toContainText('m 120');
  // Read marks beyond Ben's budget during the burst were refused: a reload marks the newest
  // read again, and another tab of his shows when the server has it.
  await ben.reload();
  await expect(ben.getByTestId('message').last()).toContainText('m 120');
  const other = await benCtx.newPage();
  await other.goto('/');
  await expect(other.getByTestId('conversations').getByRole('link', { name: annName })).toBeVisible();
  await expect(other.getByTestId('conversations').getByLabel('unread')).toHaveCount(0);
  await other.close();

  // Ben opens the conversation fresh: only the latest page is there.
  await ben.reload();
  await openFromSidebar(ben, annName);
  const list = ben.getByTestId('messages');
  await expect(ben.getByTestId('message').last()).toContainText('m 120');
  await expect(ben.getByTestId('message').filter({ hasText: /^m 1$/ })).toHaveCount(0);
  await expect(ben.getByTestId('history-edge')).toHaveText('Scroll up for earlier messages');

  // Scrolled away from the bottom: a way back appears.
  await list.evaluate((el) => el.scrollBy(0, -300));
  await expect(ben.getByTestId('jump-to-latest')).toBeVisible();

  // To the top: the next page arrives above, and the message that was at the top stays in view.
  const oldest = ben.getByTestId('message').first();
  const oldestText = await oldest.locator('.body').textContent();
  await list.evaluate((el) => el.scrollTo(0, 0));
  await expect(ben.getByTestId('message').first().locator('.body')).not.toHaveText(oldestText ?? '');
  const anchor = ben.getByTestId('message').filter({ has: ben.locator('.body', { hasText: new RegExp(`^${oldestText}$`) }) });
  await expect(anchor).toBeInViewport();

  // All the way back to the beginning, then to the latest again.
  await expect(async () => {
    await list.evaluate((el) => el.scrollTo(0, 0));
    await expect(ben.getByTestId('history-edge')).toHaveText('This is the beginning of the conversation.', {
      timeout: 1_000,
    });
  }).toPass();
  const bodies = await ben.getByTestId('message').locator('.body').allTextContents();
  expect(bodies).toEqual(Array.from({ length: 120 }, (_, i) => `m ${i + 1}`));
  await ben.getByTestId('jump-to-latest').click();
  await expect(ben.getByTestId('message').last()).toBeInViewport();
  await annCtx.close();
  await benCtx.close();
});

test('a divider marks the first unread message, and messages group by sender and day', async ({ browser }) => {
  const { name: annName, context: annCtx, page: ann } = await newUser(browser, 'ann');
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben');
  await openDirect(ann, benName);
  await say(ann, 'read this');
  await openFromSidebar(ben, annName);
  await expect(ben.getByTestId('message').last()).toContainText('read this');
  await ben.goto('/');

  await say(ann, 'new one');
  await say(ann, 'new two');
  await expect(ben.getByTestId('conversations').getByLabel('unread')).toHaveText('2');
  await openFromSidebar(ben, annName);
  const rows = ben.locator('[data-testid="messages"] > li');
  await expect(ben.getByTestId('unread-divider')).toHaveCount(1);
  const texts = await rows.allTextContents();
  const divider = texts.findIndex((t) => t.includes('New messages'));
  expect(texts[divider + 1]).toContain('new one');
  expect(texts[divider - 1]).toContain('read this');
  // One day header; consecutive messages from Ann share one sender line.
  await expect(ben.locator('.day')).toHaveText(['Today']);
  await expect(ben.locator('.message.continued')).toHaveCount(1);
  await expect(ben.getByTestId('message').first().locator('time')).toHaveText(/\d{1,2}:\d{2}/);
  await annCtx.close();
  await benCtx.close();
});
