import { expect, test } from './fixtures';
import { newUser, openDirect, openFromSidebar, register, say, uniqueName } from './helpers';

test('a direct message goes from one user to another, and back, as text', async ({ browser }) => {
  const ann = await browser.newContext();
  const ben = await browser.newContext();
  const annPage = await ann.newPage();
  const benPage = await ben.newPage();
  const annName = uniqueName('ann');
  const benName = uniqueName('ben');
  await register(annPage, annName);
  await register(benPage, benName);

  await annPage.getByLabel('New message to').fill(benName);
  await annPage.getByRole('button', { name: 'Start' }).click();
  // Starting it opens it.
  await expect(annPage).toHaveURL(/\/c\/\d+$/);
  await expect(annPage.getByTestId('conv-title')).toHaveText(benName);

  const payload = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script>';
  await annPage.getByLabel('Message', { exact: true }).fill(payload);
  await annPage.getByLabel('Message', { exact: true }).press('Enter');
  await expect(annPage.getByTestId('message').last()).toContainText(payload);

  await benPage.getByTestId('conversations').getByRole('link', { name: annName }).click();
  const received = benPage.getByTestId('message').last();
  await expect(received).toContainText(payload);
  await expect(received.locator('img')).toHaveCount(0);
  expect(await benPage.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  await benPage.getByLabel('Message', { exact: true }).fill('got it');
  await benPage.getByRole('button', { name: 'Send' }).click();
  await expect(annPage.getByTestId('message').last()).toContainText('got it');
  await ann.close();
  await ben.close();
});

test('typing shows and clears; unread badges count up and clear on open', async ({ browser }) => {
  const ann = await browser.newContext();
  const ben = await browser.newContext();
  const annPage = await ann.newPage();
  const benPage = await ben.newPage();
  const annName = uniqueName('ann');
  const benName = uniqueName('ben');
  await register(annPage, annName);
  await register(benPage, benName);
  await annPage.getByLabel('New message to').fill(benName);
  await annPage.getByRole('button', { name: 'Start' }).click();
  await expect(annPage.getByTestId('conv-title')).toHaveText(benName);
  // Back to the list: Ann is elsewhere.
  await annPage.goto('/');
  const annLink = annPage.getByTestId('conversations').getByRole('link', { name: benName });
  await expect(annLink).toBeVisible();

  // Ann is elsewhere: Ben's messages count up on her sidebar.
  await benPage.getByTestId('conversations').getByRole('link', { name: annName }).click();
  for (const text of ['one', 'two']) {
    await benPage.getByLabel('Message', { exact: true }).fill(text);
    await benPage.getByLabel('Message', { exact: true }).press('Enter');
  }
  await expect(annLink.getByLabel('unread')).toHaveText('2');
  await annLink.click();
  await expect(annLink.getByLabel('unread')).toHaveCount(0);

  // Ann watches while Ben types, then sends.
  await benPage.getByLabel('Message', { exact: true }).pressSequentially('thinking', { delay: 20 });
  await expect(annPage.getByTestId('typing')).toHaveText(/is typing…/);
  await benPage.getByLabel('Message', { exact: true }).press('Enter');
  await expect(annPage.getByTestId('message').last()).toContainText('thinking');
  await expect(annPage.getByTestId('typing')).toHaveText('');
  await ann.close();
  await ben.close();
});

test('one user in two tabs sees both sides of a conversation', async ({ browser }) => {
  const context = await browser.newContext();
  const firstTab = await context.newPage();
  await register(firstTab, uniqueName('ana'));

  const room = uniqueName('room');
  await firstTab.getByLabel('New room').fill(room);
  await firstTab.getByRole('button', { name: 'Create' }).click();
  await expect(firstTab).toHaveURL(/\/c\/\d+$/);
  await expect(firstTab.getByTestId('conv-title')).toHaveText(room);

  // A second tab of the same session: its own socket, the same user.
  const secondTab = await context.newPage();
  await secondTab.goto(firstTab.url());
  await expect(secondTab.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await firstTab.getByLabel('Message', { exact: true }).fill('from tab one');
  await firstTab.getByLabel('Message', { exact: true }).press('Enter');
  await expect(secondTab.getByTestId('message').last()).toContainText('from tab one');
  await secondTab.getByLabel('Message', { exact: true }).fill('from tab two');
  await secondTab.getByLabel('Message', { exact: true }).press('Enter');
  await expect(firstTab.getByTestId('message').last()).toContainText('from tab two');
  // Each tab shows each message once.
  await expect(firstTab.getByTestId('message')).toHaveCount(2);
  await expect(secondTab.getByTestId('message')).toHaveCount(2);
  await context.close();
});

test('unread counts agree across tabs: reading in one tab clears the badge in the other', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  await openDirect(ben.page, ann.name);
  const otherTab = await ann.context.newPage();
  await otherTab.goto('/');
  await expect(otherTab.getByTestId('connection')).toHaveAttribute('data-state', 'connected');

  await say(ben.page, 'one');
  await say(ben.page, 'two');
  const badge = (page: typeof otherTab) =>
    page.getByTestId('conversations').getByRole('link', { name: ben.name }).getByLabel('unread');
  await expect(badge(ann.page)).toHaveText('2');
  await expect(badge(otherTab)).toHaveText('2');

  await openFromSidebar(ann.page, ben.name);
  await expect(badge(ann.page)).toHaveCount(0);
  await expect(badge(otherTab)).toHaveCount(0);
  // And it stays read after a reload (the server keeps the read position).
  await otherTab.reload();
  await expect(otherTab.getByTestId('conversations').getByRole('link', { name: ben.name })).toBeVisible();
  await expect(badge(otherTab)).toHaveCount(0);
  await ann.context.close();
  await ben.context.close();
});
