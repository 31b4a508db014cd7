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
