// The chat's first paint comes from the server, before the page's code runs. Nothing typed or
// clicked into it in that gap may be lost: until the page runs, its controls are disabled, and
// they come alive as soon as it does. The page's WebAssembly is held back here to widen the gap.
import { expect, test } from './fixtures';
import { newUser, toList } from './helpers';

test('controls wait for the page to run, then work at once', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const page = ann.page;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route('**/*.wasm', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('/');
  await toList(page);
  const box = page.getByTestId('search-input');
  const room = page.getByLabel('New room');
  await expect(box).toBeDisabled();
  await expect(room).toBeDisabled();
  release();
  // Playwright's fill waits for the box to be enabled: typing starts the moment the page runs.
  await box.fill('nothingmatchesthis');
  await box.press('Enter');
  await expect(page.getByTestId('search-status')).toHaveText('No messages match “nothingmatchesthis”.');
  await box.press('Escape');
  await expect(room).toBeEnabled();
  await ann.context.close();
});
