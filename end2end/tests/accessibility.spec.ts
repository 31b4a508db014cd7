// axe-core on every main screen, in the light and the dark theme: login, register, the chat
// screen, a conversation with messages, search results and settings. No violation of impact
// serious or critical may remain (moderate and minor ones are printed, not failed).
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { newUser, say, toList, uniqueName } from './helpers';

/** The serious and critical violations axe finds on `page` now, each with where it is. */
async function serious(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  const found: string[] = [];
  for (const v of results.violations) {
    const where = v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ');
    if (v.impact === 'serious' || v.impact === 'critical') {
      found.push(`${v.id} (${v.impact}): ${v.help} — ${where}`);
    } else {
      console.log(`axe ${v.impact}: ${v.id} — ${where}`);
    }
  }
  return found;
}

for (const scheme of ['light', 'dark'] as const) {
  test(`no serious or critical axe violations on the main screens (${scheme})`, async ({ browser }) => {
    const ann = await newUser(browser, 'ann');
    const page = ann.page;
    await page.emulateMedia({ colorScheme: scheme });
    const report: Record<string, string[]> = {};

    // Signed in: the chat screen with a conversation, the conversation, search, settings.
    const room = uniqueName('a11y');
    await page.getByLabel('New room').fill(room);
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.getByTestId('conv-title')).toHaveText(room);
    await say(page, 'a first message with a **bold** word and a link https://example.com');
    await say(page, 'a second message');
    await expect(page.getByTestId('message')).toHaveCount(2);
    report.conversation = await serious(page);
    // A message from someone else is announced (the list itself is not a live region).
    const ben = await newUser(browser, 'ben');
    await toList(ben.page);
    await ben.page.getByRole('button', { name: 'Browse rooms' }).click();
    await ben.page.getByTestId('directory').getByRole('button', { name: `Join ${room}` }).click();
    await expect(ben.page.getByTestId('conv-title')).toHaveText(room);
    await say(ben.page, 'hello from ben');
    await expect(page.getByTestId('announcer')).toHaveText(/: hello from ben$/);
    await expect(page.getByTestId('announcer')).toHaveAttribute('role', 'status');
    await ben.context.close();
    await toList(page);
    report.chat = await serious(page);
    const box = page.getByTestId('search-input');
    await box.fill('message');
    await box.press('Enter');
    await expect(page.getByTestId('search-hit')).toHaveCount(2);
    report.search = await serious(page);
    await page.goto('/settings');
    await expect(page.getByRole('heading', { name: 'Change password' })).toBeVisible();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Settings');
    report.settings = await serious(page);

    // Signed out: login and register.
    const guest = await browser.newContext({ colorScheme: scheme });
    const anon = await guest.newPage();
    await anon.goto('/login');
    await expect(anon.getByLabel('Username')).toBeVisible();
    report.login = await serious(anon);
    await anon.goto('/register');
    await expect(anon.getByLabel('Username')).toBeVisible();
    report.register = await serious(anon);

    expect(report).toEqual({ conversation: [], chat: [], search: [], settings: [], login: [], register: [] });
    await guest.close();
    await ann.context.close();
  });
}
