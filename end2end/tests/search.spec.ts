// Message search from the sidebar: it finds a message of a conversation one is in, far back in
// its history, marks the matched word, names the sender by display name, and opens the
// conversation at the message; it never shows another conversation's messages; filters that
// name no conversation of one's own say so; Escape closes it.
import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { createRoom, newUser, openConversationId, openFromSidebar, say, sendMany, toList, uniqueName } from './helpers';

async function search(page: Page, text: string): Promise<void> {
  const box = page.getByTestId('search-input');
  await box.fill(text);
  await box.press('Enter');
}

test('search finds a message far back, only where one is a member, and jumps to it', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  const shared = uniqueName('shared');
  const hidden = uniqueName('hidden');
  await createRoom(ann.page, shared);
  const conv = openConversationId(ann.page);
  await toList(ben.page);
  await ben.page.getByRole('button', { name: 'Browse rooms' }).click();
  await ben.page.getByTestId('directory').getByRole('button', { name: `Join ${shared}` }).click();
  await openFromSidebar(ben.page, shared);
  await say(ben.page, 'the quokkaneedle is in the haystack');
  await expect(ann.page.getByTestId('message').filter({ hasText: 'quokkaneedle' })).toHaveCount(1);
  // Ben's own room, which Ann is not in, has the word too.
  await createRoom(ben.page, hidden);
  await say(ben.page, 'a quokkaneedle only ben may see');
  await expect(ben.page.getByTestId('message').filter({ hasText: 'only ben' })).toHaveCount(1);
  // Enough after it that the page no longer holds it when opened.
  await sendMany(ann.page, conv, 150, 'filler');

  await ann.page.goto('/');
  await search(ann.page, 'QuokkaNeed');
  const hits = ann.page.getByTestId('search-hit');
  await expect(hits).toHaveCount(1);
  await expect(ann.page.getByTestId('search-status')).toHaveText('1 message matches “QuokkaNeed”.');
  await expect(hits.first().locator('.hit-place')).toHaveText(shared);
  await expect(hits.first().locator('.hit-from')).not.toHaveText(/^user \d+$/);
  await expect(hits.first().locator('.hit-from')).toHaveText(ben.name);
  await expect(hits.first().locator('mark')).toHaveText('quokkaneed');
  await expect(ann.page.getByText('only ben may see')).toHaveCount(0);

  await hits.first().click();
  await expect(ann.page).toHaveURL(new RegExp(`/c/${conv}$`));
  const found = ann.page.getByTestId('message').filter({ hasText: 'the quokkaneedle is in the haystack' });
  await expect(found).toHaveAttribute('data-jumped', '', { timeout: 60_000 });
  await expect(found).toBeInViewport();

  // A filter naming a conversation Ann does not have says so, and sends nothing.
  await ann.page.goto('/');
  await search(ann.page, `quokkaneedle in:${hidden}`);
  await expect(ann.page.getByTestId('search-status')).toHaveText(`You have no conversation “${hidden}”.`);
  await search(ann.page, `quokkaneedle in:${shared}`);
  await expect(hits).toHaveCount(1);
  await search(ann.page, 'nothingmatchesthis');
  await expect(ann.page.getByTestId('search-status')).toHaveText('No messages match “nothingmatchesthis”.');
  // Escape closes the search: the conversation list is back.
  await ann.page.getByTestId('search-input').press('Escape');
  await expect(ann.page.getByTestId('search-results')).toHaveCount(0);
  await expect(ann.page.getByTestId('conversations')).toBeVisible();
  await ann.context.close();
  await ben.context.close();
});
