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
  await expect(ann.getByTestId('message').filter({ hasText: 'it is.' }).locator('.reply-to')).toBeVisible();
  // Typing notices are ephemeral and skip the commit a message waits for, so one sent right
  // after Enter can reach Ann before the message does — and the typist's message clears it.
  // Type once Ann has the message, as the screenshot wants anyway.
  await expect(ann.getByTestId('messages').getByText('Nothing lost across the restart either,')).toBeVisible();
  await ben.getByLabel('Message', { exact: true }).pressSequentially('typing', { delay: 30 });
  await expect(ann.getByTestId('typing')).toHaveText(/is typing/);

  const shots: Array<[string, Buffer]> = [];
  shots.push([`conversation-${testInfo.project.name}.png`, await ann.screenshot()]);
  if (isMobile) {
    await ann.getByRole('link', { name: 'All conversations' }).click();
  }
  await ann.goto('/');
  await expect(ann.getByTestId('conversations')).toBeVisible();
  shots.push([`list-${testInfo.project.name}.png`, await ann.screenshot()]);
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
