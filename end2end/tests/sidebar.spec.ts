// The conversation list as people who live in Slack expect it: rooms and direct messages in
// sections of their own, each with the most recently active first (live, and the same after a
// reload), people with initials avatars beside their presence, and a section that folds away.
import { expect, test } from './fixtures';
import { createRoom, newUser, openDirect, openFromSidebar, say, toList, uniqueName } from './helpers';

test('rooms and direct messages are apart, most recent first, with avatars', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  const older = uniqueName('older');
  const newer = uniqueName('newer');
  for (const name of [older, newer]) await createRoom(ann.page, name);
  await openDirect(ann.page, ben.name);
  await toList(ann.page);
  const rooms = ann.page.getByTestId('rooms');
  const direct = ann.page.getByTestId('direct');
  await expect(rooms.locator('.name')).toHaveText([newer, older]);
  await expect(direct.locator('.name')).toHaveText([ben.name]);
  // Ben's avatar: his initials (from the name's words), hidden from screen readers, which
  // read the name and presence instead.
  const avatar = direct.locator('.avatar');
  await expect(avatar).toHaveAttribute('data-initials', /^B[A-Z0-9]$/);
  await expect(avatar).toHaveAttribute('aria-hidden', 'true');
  await expect(direct.getByRole('img', { name: 'online' })).toHaveCount(1);

  // A message moves its room to the top, at once and after a reload.
  await openFromSidebar(ann.page, older);
  await say(ann.page, 'back to the older room');
  await expect(ann.page.getByTestId('messages')).toContainText('back to the older room');
  await toList(ann.page);
  await expect(rooms.locator('.name')).toHaveText([older, newer]);
  await ann.page.reload();
  await toList(ann.page);
  await expect(rooms.locator('.name')).toHaveText([older, newer]);

  // A message from someone else does the same for its direct conversation (live).
  const cat = await newUser(browser, 'cat');
  await openDirect(cat.page, ann.name);
  await say(cat.page, 'hello from cat');
  await expect(direct.locator('.name')).toHaveText([cat.name, ben.name]);

  // The section folds away by its heading, and opens again.
  await rooms.locator('xpath=..').locator('summary').click();
  await expect(rooms).toBeHidden();
  await rooms.locator('xpath=..').locator('summary').click();
  await expect(rooms.locator('.name')).toHaveText([older, newer]);

  for (const user of [ann, ben, cat]) await user.context.close();
});

test('the sidebar is as wide as its handle is dragged, by pointer or keys, and stays so', async ({
  browser,
  isMobile,
}) => {
  const ann = await newUser(browser, 'ann');
  const sidebar = ann.page.getByRole('navigation', { name: 'Conversations' });
  const handle = ann.page.getByRole('separator', { name: 'Resize the sidebar' });
  if (isMobile) {
    // One column on a phone: nothing to resize.
    await expect(handle).toBeHidden();
    await ann.context.close();
    return;
  }
  const width = async () => Math.round((await sidebar.boundingBox())!.width);
  await expect(handle).toHaveAttribute('aria-valuenow', '272');
  await expect.poll(width).toBe(272);

  // Dragged 100 px to the right.
  const box = (await handle.boundingBox())!;
  const y = box.y + box.height / 2;
  await ann.page.mouse.move(box.x + box.width / 2, y);
  await ann.page.mouse.down();
  await ann.page.mouse.move(box.x + box.width / 2 + 50, y, { steps: 5 });
  await ann.page.mouse.move(box.x + box.width / 2 + 100, y, { steps: 5 });
  await ann.page.mouse.up();
  await expect(handle).toHaveAttribute('aria-valuenow', '372');
  await expect.poll(width).toBe(372);
  // The conversation pane is beside it, inside the window.
  const pane = (await ann.page.getByRole('region', { name: 'Conversation' }).boundingBox())!;
  expect(Math.round(pane.x)).toBeGreaterThanOrEqual(372);
  expect(Math.round(pane.x + pane.width)).toBeLessThanOrEqual(ann.page.viewportSize()!.width);

  // Keys: one step left; Home is the narrowest; never narrower than that.
  await handle.focus();
  await handle.press('ArrowLeft');
  await expect(handle).toHaveAttribute('aria-valuenow', '356');
  await handle.press('Home');
  await handle.press('ArrowLeft');
  await expect(handle).toHaveAttribute('aria-valuenow', '224');
  await expect.poll(width).toBe(224);
  // The buttons of the narrowest sidebar still show their whole labels.
  for (const name of ['Start', 'Create']) {
    const button = sidebar.getByRole('button', { name, exact: true });
    expect(await button.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  }

  // This browser remembers it; a double click puts it back.
  await handle.press('End');
  await expect(handle).toHaveAttribute('aria-valuenow', '480');
  await ann.page.reload();
  await expect(handle).toHaveAttribute('aria-valuenow', '480');
  await expect.poll(width).toBe(480);
  await handle.dblclick();
  await expect(handle).toHaveAttribute('aria-valuenow', '272');
  await expect.poll(width).toBe(272);
  await ann.context.close();
});
