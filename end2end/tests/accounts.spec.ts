import { expect, test } from './fixtures';
import { PASSWORD, logIn, register, uniqueName } from './helpers';

test('register, log out, log in again: the socket connects only while logged in', async ({
  page,
}) => {
  const name = uniqueName();
  await register(page, name);
  await expect(page.getByTestId('who')).toHaveText(name);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('link', { name: 'Log in' }).first()).toBeVisible();
  await expect(page.getByTestId('connection')).toHaveCount(0);

  await logIn(page, name);
  await expect(page.getByTestId('who')).toHaveText(name);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
});

test('a wrong password gets one generic message, shown on the form', async ({ page }) => {
  const name = uniqueName();
  await register(page, name);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByTestId('connection')).toHaveCount(0);

  await logIn(page, name, 'not the password');
  await expect(page.getByTestId('form-error')).toHaveText('Wrong username or password');
  await logIn(page, uniqueName('nobody'), 'not the password');
  await expect(page.getByTestId('form-error')).toHaveText('Wrong username or password');
});

test('a taken username is reported next to the username field, ignoring case', async ({
  page,
  browser,
}) => {
  const name = uniqueName('Taken');
  await register(page, name);
  const other = await browser.newContext();
  const second = await other.newPage();
  await second.goto('/register');
  await second.getByLabel('Username').fill(name.toLowerCase());
  await second.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await second.getByRole('button', { name: 'Register' }).click();
  await expect(second.getByTestId('username-error')).toHaveText('That username is taken');
  await expect(second.getByLabel('Username')).toHaveAttribute('aria-invalid', 'true');
  await other.close();
});

test('logging out closes the open socket within a second', async ({ page }) => {
  await register(page, uniqueName());
  // Watch the socket that is already open: reload so Playwright sees it from the start.
  const socketClosed = new Promise<void>((resolve) => {
    page.on('websocket', (ws) => ws.on('close', () => resolve()));
  });
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  const started = Date.now();
  await page.getByRole('button', { name: 'Log out' }).click();
  await socketClosed;
  expect(Date.now() - started).toBeLessThan(1000);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('register and log-in forms work as plain HTML, errors next to the field', async ({
    page,
  }) => {
    const name = uniqueName('nojs');
    await page.goto('/register');
    await page.getByLabel('Username').fill('x');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Register' }).click();
    await expect(page.getByTestId('username-error')).toContainText('3 to 32 characters');

    await page.goto('/register');
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Register' }).click();
    await expect(page.getByTestId('who')).toHaveText(name);

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page.getByTestId('who')).toHaveCount(0);
    await logIn(page, name, 'wrong password!');
    await expect(page.getByTestId('form-error')).toHaveText('Wrong username or password');
    await logIn(page, name);
    await expect(page.getByTestId('who')).toHaveText(name);
  });
});

test('the settings page warns that a password change revokes tokens, then says how many it revoked', async ({
  page,
}) => {
  const name = uniqueName();
  await register(page, name);
  await page.goto('/settings');
  await expect(page.getByTestId('password-warning')).toContainText('revokes all your access tokens');

  await page.getByLabel('Token name').fill('my bot');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('token-secret')).toContainText('sbt_');
  await expect(page.getByTestId('token-list')).toContainText('my bot');

  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill(`${PASSWORD} 2`);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByTestId('form-ok')).toContainText('1 access token(s) revoked');
});
