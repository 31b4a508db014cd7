import { expect, test } from './fixtures';
import { newUser, openDirect, openFromSidebar, register, say, uniqueName } from './helpers';

// Screenshots of the main screens, attached to the test report. `SCREENSHOT_DIR` also writes
// them there (how docs/screenshots/ was made once).
test('main screens', async ({ browser }, testInfo) => {
  const isMobile = testInfo.project.name === 'mobile';
  const annName = uniqueName('ann');
  // Contexts inherit the project's device; the desktop shot gets a roomier window.
  const annCtx = await browser.newContext(isMobile ? {} : { viewport: { width: 1200, height: 760 } });
  const ann = await annCtx.newPage();
  await register(ann, annName);
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben');
  const room = uniqueName('launch');
  await ann.getByLabel('New room').fill(room);
  await ann.getByRole('button', { name: 'Create' }).click();
  await openDirect(ann, benName);
  await say(ann, 'Morning! Did the deploy go out?');
  await openFromSidebar(ben, annName);
  await say(ben, '**Yes**, all green. Notes are at https://example.com/release-notes');
  await say(ben, `Nothing lost across the restart either, @${annName}.`);
  // A reply and a reaction, as people leave them (the actions of a message).
  const notes = ann.getByTestId('message').filter({ hasText: 'all green' });
  await notes.locator('.body').first().click({ position: { x: 4, y: 4 } });
  await notes.getByRole('button', { name: 'React' }).click();
  await notes.getByRole('button', { name: 'React with 🎉' }).click();
  await expect(notes.getByTestId('reactions')).toHaveText('🎉 1');
  if (!/\bopen\b/.test((await notes.getAttribute('class')) ?? '')) {
    await notes.locator('.body').first().click({ position: { x: 4, y: 4 } });
  }
  await notes.getByRole('button', { name: 'Reply' }).click();
  await say(ann, 'Great — `v2.4` it is.');
  // The quote shows the words, not the Markdown marks around them.
  await expect(ann.getByTestId('message').filter({ hasText: 'it is.' }).locator('.reply-to')).toHaveText(
    'Yes, all green. Notes are at https://example.com/release-notes',
  );
  // Typing notices are ephemeral and skip the commit a message waits for, so one sent right
  // after Enter can reach Ann before the message does — and the typist's message clears it.
  // Type once Ann has the message, as the screenshot wants anyway.
  await expect(ann.getByTestId('messages').getByText('Nothing lost across the restart either,')).toBeVisible();
  await ben.getByLabel('Message', { exact: true }).pressSequentially('typing', { delay: 30 });
  await expect(ann.getByTestId('typing')).toHaveText(/is typing/);

  const device = testInfo.project.name;
  const shots: Array<[string, Buffer]> = [];
  // Each screen in the light theme, and the conversation and search in the dark one too.
  const shoot = async (name: string) => shots.push([`${name}-${device}.png`, await ann.screenshot()]);
  await shoot('conversation');
  await ann.emulateMedia({ colorScheme: 'dark' });
  await shoot('conversation-dark');
  await ann.emulateMedia({ colorScheme: 'light' });
  if (isMobile) {
    await ann.getByRole('link', { name: 'All conversations' }).click();
  }
  await ann.goto('/');
  await expect(ann.getByTestId('conversations')).toBeVisible();
  await shoot('list');
  const box = ann.getByTestId('search-input');
  await box.fill('deploy');
  await box.press('Enter');
  await expect(ann.getByTestId('search-hit')).toHaveCount(1);
  await shoot('search');
  await ann.emulateMedia({ colorScheme: 'dark' });
  await shoot('search-dark');
  await ann.emulateMedia({ colorScheme: 'light' });
  await ann.goto('/settings');
  await expect(ann.getByRole('heading', { name: 'Change password' })).toBeVisible();
  await shoot('settings');
  // Someone signed out: the login form, in the dark theme.
  const guestCtx = await browser.newContext({
    colorScheme: 'dark',
    ...(isMobile ? {} : { viewport: { width: 1200, height: 760 } }),
  });
  const guest = await guestCtx.newPage();
  await guest.goto('/login');
  await expect(guest.getByRole('button', { name: 'Log in' })).toBeEnabled();
  shots.push([`login-dark-${device}.png`, await guest.screenshot()]);
  await guestCtx.close();
  for (const [name, body] of shots) {
    await testInfo.attach(name, { body, contentType: 'image/png' });
    if (process.env.SCREENSHOT_DIR) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${process.env.SCREENSHOT_DIR}/${name}`, body);
    }
  }
  await annCtx.close();
  await benCtx.close();
});
