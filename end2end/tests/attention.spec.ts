// What tells a person where to look, and takes them there: the window's title counts unread
// messages (so a tab in the background shows them) and clears as they are read; a private room
// is marked with a padlock in the list, a public one is not; a room created or joined and a
// direct conversation started open at once.
import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { newUser, openFromSidebar, say, toList, uniqueName } from './helpers';

/** Waits until the page runs (hydrated, socket open): a click before that is a plain form post. */
async function connected(page: Page): Promise<void> {
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
}

test('the title counts unread messages and private rooms show a padlock', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  const open = uniqueName('open');
  const closed = uniqueName('closed');
  await ann.page.getByLabel('New room').fill(closed);
  await ann.page.getByLabel('public').uncheck();
  await ann.page.getByRole('button', { name: 'Create' }).click();
  await expect(ann.page.getByTestId('conv-title')).toHaveText(closed);
  await ann.page.goto('/');
  await connected(ann.page);
  await ann.page.getByLabel('New room').fill(open);
  await ann.page.getByRole('button', { name: 'Create' }).click();
  await expect(ann.page.getByTestId('conv-title')).toHaveText(open);
  await toList(ann.page);
  const list = ann.page.getByTestId('conversations');
  await expect(list.locator('li', { hasText: closed }).getByRole('img', { name: 'private room' })).toHaveCount(1);
  await expect(list.locator('li', { hasText: open })).toHaveCount(1);
  await expect(list.locator('li', { hasText: open }).getByRole('img', { name: 'private room' })).toHaveCount(0);

  await ben.page.getByRole('button', { name: 'Browse rooms' }).click();
  await ben.page.getByTestId('directory').getByRole('button', { name: `Join ${open}` }).click();
  await openFromSidebar(ben.page, open);
  await ann.page.goto('/');
  await connected(ann.page);
  await expect(ann.page).toHaveTitle('switchboard');
  await say(ben.page, 'one for ann');
  await say(ben.page, 'two for ann');
  await expect(ann.page).toHaveTitle('(2) switchboard');
  await openFromSidebar(ann.page, open);
  await expect(ann.page).toHaveTitle('switchboard');
  await ann.context.close();
  await ben.context.close();
});

test('what one starts opens: a room created or joined, a direct conversation', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  const name = uniqueName('made');
  await ann.page.getByLabel('New room').fill(name);
  await ann.page.getByRole('button', { name: 'Create' }).click();
  await expect(ann.page).toHaveURL(/\/c\/\d+$/);
  await expect(ann.page.getByTestId('conv-title')).toHaveText(name);

  await ben.page.getByRole('button', { name: 'Browse rooms' }).click();
  await ben.page.getByTestId('directory').getByRole('button', { name: `Join ${name}` }).click();
  await expect(ben.page.getByTestId('conv-title')).toHaveText(name);
  // Ann, in the room, sees Ben's join by his name, never an id.
  await expect(ann.page.getByTestId('messages')).toContainText(`${ben.name} joined`);
  await expect(ann.page.getByTestId('messages')).not.toContainText(/\buser \d+/);

  await ann.page.goto('/');
  await connected(ann.page);
  await ann.page.getByLabel('New message to').fill(ben.name);
  await ann.page.getByRole('button', { name: 'Start' }).click();
  await expect(ann.page.getByTestId('conv-title')).toHaveText(ben.name);
  // Starting it again (it exists now) opens it again.
  await ann.page.goto('/');
  await connected(ann.page);
  await ann.page.getByLabel('New message to').fill(ben.name);
  await ann.page.getByRole('button', { name: 'Start' }).click();
  await expect(ann.page.getByTestId('conv-title')).toHaveText(ben.name);
  await ann.context.close();
  await ben.context.close();
});

test('a new user is told how to start, and the hint goes once there is a conversation', async ({ browser }, testInfo) => {
  const ann = await newUser(browser, 'ann');
  const mobile = testInfo.project.name.includes('mobile');
  const hint = mobile ? ann.page.locator('.first-run-hint') : ann.page.getByTestId('first-run');
  await expect(hint).toBeVisible();
  if (!mobile) {
    await expect(hint).toContainText('Welcome to switchboard');
    // Its labels lead to the controls they name.
    await hint.getByText('Create a room').click();
    await expect(ann.page.getByLabel('New room')).toBeFocused();
  }
  await ann.page.getByLabel('New room').fill(uniqueName('first'));
  await ann.page.getByRole('button', { name: 'Create' }).click();
  await expect(ann.page.getByTestId('conv-title')).toBeVisible();
  await ann.page.goto('/');
  await connected(ann.page);
  await expect(ann.page.getByTestId('first-run')).toHaveCount(0);
  await expect(ann.page.locator('.first-run-hint')).toHaveCount(0);
  await ann.context.close();
});

test('opening a conversation puts the keyboard in its composer (beside the sidebar)', async ({ browser, isMobile }) => {
  test.skip(isMobile, 'on a phone the keyboard would cover what one came to read');
  const ann = await newUser(browser, 'ann');
  const first = uniqueName('first');
  const second = uniqueName('second');
  for (const name of [first, second]) {
    await ann.page.getByLabel('New room').fill(name);
    await ann.page.getByRole('button', { name: 'Create' }).click();
    await expect(ann.page.getByTestId('conv-title')).toHaveText(name);
  }
  const composer = ann.page.getByLabel('Message', { exact: true });
  await openFromSidebar(ann.page, first);
  await expect(composer).toBeFocused();
  await ann.page.getByLabel('New room').focus();
  await openFromSidebar(ann.page, second);
  await expect(composer).toBeFocused();
  // A reload straight onto the conversation too.
  await ann.page.reload();
  await expect(composer).toBeFocused();
  await ann.context.close();
});
