// Browser notifications: with the permission granted and the tab hidden, a mention in a room
// notifies (a plain room message does not, by default); a muted conversation never does, and
// its mute is the same on the user's other device and after a reload; "do not disturb" stops
// everything. The favicon is marked while anything is unread.
//
// A test cannot hide a headless tab, so the page's visibility is set through a switch the
// init script adds, and `Notification` is wrapped to record what the page shows (it still
// creates the real one).
import { BrowserContext, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { newUser, openFromSidebar, say, toList, uniqueName } from './helpers';

declare global {
  interface Window {
    shownNotifications: { title: string; body: string }[];
    setHidden: (hidden: boolean) => void;
  }
}

async function watchNotifications(context: BrowserContext): Promise<void> {
  await context.grantPermissions(['notifications']);
  await context.addInitScript(() => {
    let hidden = false;
    Object.defineProperty(document, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { get: () => hidden });
    window.setHidden = (value: boolean) => {
      hidden = value;
      document.dispatchEvent(new Event('visibilitychange'));
    };
    window.shownNotifications = [];
    const Real = window.Notification;
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        window.shownNotifications.push({ title, body: options?.body ?? '' });
        super(title, options);
      }
    }
    window.Notification = Recorded as typeof Notification;
  });
}

async function shown(page: Page): Promise<{ title: string; body: string }[]> {
  return page.evaluate(() => window.shownNotifications);
}

test('a mention notifies while the tab is hidden; a muted room or do-not-disturb never does', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  await watchNotifications(ben.context);
  const room = uniqueName('notify');
  await ann.page.getByLabel('New room').fill(room);
  await ann.page.getByRole('button', { name: 'Create' }).click();
  await expect(ann.page.getByTestId('conv-title')).toHaveText(room);
  await toList(ben.page);
  await ben.page.getByRole('button', { name: 'Browse rooms' }).click();
  await ben.page.getByTestId('directory').getByRole('button', { name: `Join ${room}` }).click();
  await expect(ben.page.getByTestId('conv-title')).toHaveText(room);

  // Ben is on the list, with the permission granted: nothing asks him for it again.
  await ben.page.goto('/');
  await expect(ben.page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(ben.page.getByTestId('enable-notifications')).toHaveCount(0);
  await ben.page.evaluate(() => window.setHidden(true));
  await say(ann.page, 'plain words for everyone');
  await say(ann.page, `@${ben.name} can you look at this?`);
  await expect.poll(() => shown(ben.page)).toHaveLength(1);
  const [note] = await shown(ben.page);
  expect(note.title).toBe(`${ann.name} in ${room}`);
  expect(note.body).toBe(`@${ben.name} can you look at this?`);
  await expect(ben.page.locator('link[rel=icon]')).toHaveAttribute('href', '/favicon-unread.svg');

  // Ben mutes the room on one device; his second device shows it muted at once.
  const other = await ben.context.newPage();
  await other.goto('/');
  await expect(other.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await ben.page.evaluate(() => window.setHidden(false));
  await openFromSidebar(ben.page, room);
  await expect(ben.page.locator('link[rel=icon]')).toHaveAttribute('href', '/favicon.svg');
  await ben.page.getByTestId('mute').click();
  await expect(ben.page.getByTestId('mute')).toHaveAttribute('aria-pressed', 'true');
  const muted = other.getByTestId('conversations').locator('li', { hasText: room });
  await expect(muted.getByRole('img', { name: 'muted' })).toBeVisible();
  await ben.page.goto('/');
  await expect(ben.page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(
    ben.page.getByTestId('conversations').locator('li', { hasText: room }).getByRole('img', { name: 'muted' }),
  ).toBeVisible();
  await ben.page.evaluate(() => window.setHidden(true));
  await other.evaluate(() => window.setHidden(true));
  await say(ann.page, `@${ben.name} muted, so no notification`);
  // Everything after this message has arrived, and none of it notified.
  await expect(ben.page.getByTestId('conversations').locator('li', { hasText: room }).getByTestId('mentions')).toHaveText('@1');
  expect(await shown(ben.page)).toHaveLength(0);
  expect(await shown(other)).toHaveLength(0);

  // Unmuted, but "do not disturb" (set on the other device): still nothing.
  await ben.page.evaluate(() => window.setHidden(false));
  await openFromSidebar(ben.page, room);
  await ben.page.getByTestId('mute').click();
  await expect(ben.page.getByTestId('mute')).toHaveAttribute('aria-pressed', 'false');
  await other.getByTestId('do-not-disturb').check();
  await expect(ben.page.getByTestId('do-not-disturb')).toBeChecked();
  await ben.page.goto('/');
  await expect(ben.page.getByTestId('do-not-disturb')).toBeChecked();
  await ben.page.evaluate(() => window.setHidden(true));
  await say(ann.page, `@${ben.name} do not disturb holds this one`);
  await expect(ben.page.getByTestId('conversations').locator('li', { hasText: room }).getByTestId('mentions')).toHaveText('@1');
  expect(await shown(ben.page)).toHaveLength(0);
  await ann.context.close();
  await ben.context.close();
});
