import { expect, Page } from '@playwright/test';

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
