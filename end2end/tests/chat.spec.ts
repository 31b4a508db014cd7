import { expect, test } from '@playwright/test';
import { register, uniqueName } from './helpers';

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
  await annPage.getByTestId('conversations').getByRole('link', { name: benName }).click();
  await expect(annPage).toHaveURL(/\/c\/\d+$/);

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
