import { expect, test } from './fixtures';
import { newUser, openFromSidebar, say, uniqueName } from './helpers';

test('three people in a room: found by browsing, joined, everyone sees every message once, in one order', async ({
  browser,
}) => {
  const users = [await newUser(browser, 'ann'), await newUser(browser, 'ben'), await newUser(browser, 'cat')];
  const [ann, ben, cat] = users.map((u) => u.page);

  const room = uniqueName('room');
  await ann.getByLabel('New room').fill(room);
  await ann.getByRole('button', { name: 'Create' }).click();
  await openFromSidebar(ann, room);

  for (const page of [ben, cat]) {
    await page.getByRole('button', { name: 'Browse rooms' }).click();
    await page.getByTestId('directory').getByRole('button', { name: `Join ${room}` }).click();
    await openFromSidebar(page, room);
  }
  await expect(ann.getByTestId('member-count')).toHaveText('3 members');

  await say(ann, 'hello from ann');
  await expect(ben.getByTestId('message').last()).toContainText('hello from ann');
  await say(ben, 'hello from ben');
  await expect(cat.getByTestId('message').last()).toContainText('hello from ben');
  await say(cat, 'hello from cat');

  const expected = ['hello from ann', 'hello from ben', 'hello from cat'];
  for (const page of [ann, ben, cat]) {
    await expect(page.getByTestId('message').filter({ hasText: 'hello from cat' })).toHaveCount(1);
    await expect(page.getByTestId('message').locator('.body')).toHaveText(expected);
  }
  // Joins are part of the room's history, in order.
  await expect(ann.locator('.notice')).toContainText([`created ${room}`, 'joined', 'joined']);
  await Promise.all(users.map((u) => u.context.close()));
});

test('a room owner invites someone by username, who accepts from the sidebar; a private room is not in the directory', async ({
  browser,
}) => {
  const { context: ownerCtx, page: owner } = await newUser(browser, 'own');
  const { name: guestName, context: guestCtx, page: guest } = await newUser(browser, 'gst');

  const room = uniqueName('secret');
  await owner.getByLabel('New room').fill(room);
  await owner.getByLabel('public').uncheck();
  await owner.getByRole('button', { name: 'Create' }).click();
  await openFromSidebar(owner, room);

  await guest.getByRole('button', { name: 'Browse rooms' }).click();
  await expect(guest.getByTestId('directory')).not.toContainText('Loading');
  await expect(guest.getByTestId('directory')).not.toContainText(room);

  await owner.getByTestId('member-count').click();
  await owner.getByLabel('Invite to room').fill(guestName);
  await owner.getByRole('button', { name: 'Invite', exact: true }).click();
  // Pending: the guest sees the invitation, and is no member until accepting it.
  const invitation = guest.getByTestId('invitation').filter({ hasText: room });
  await expect(invitation).toBeVisible();
  await expect(owner.getByTestId('member-count')).toHaveText('1 member');
  await expect(guest.getByTestId('conversations')).not.toContainText(room);
  await invitation.getByRole('button', { name: 'Accept' }).click();
  await expect(guest.getByTestId('invitations')).toHaveCount(0);
  await expect(owner.getByTestId('member-count')).toHaveText('2 members');
  await openFromSidebar(guest, room);
  await say(owner, 'welcome in');
  await expect(guest.getByTestId('message').last()).toContainText('welcome in');
  await ownerCtx.close();
  await guestCtx.close();
});
