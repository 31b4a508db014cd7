import { expect, test } from './fixtures';
import { newUser, openDirect, openFromSidebar, say } from './helpers';

test('a blocked user cannot open a direct conversation, and their messages collapse for the blocker', async ({
  browser,
}) => {
  const { name: annName, context: annCtx, page: ann } = await newUser(browser, 'ann');
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben');

  await openDirect(ben, annName);
  await say(ben, 'hello from ben');
  await openFromSidebar(ann, benName);
  await expect(ann.getByTestId('message').last()).toContainText('hello from ben');

  // Ann blocks Ben from the member list: his message collapses, and shows again on request.
  await ann.getByTestId('member-count').click();
  await ann.getByRole('button', { name: `Block @${benName}` }).click();
  await expect(ann.getByRole('button', { name: `Unblock @${benName}` })).toBeVisible();
  const collapsed = ann.getByTestId('collapsed');
  await expect(collapsed).toContainText('Message from a blocked user');
  await collapsed.getByRole('button', { name: 'show' }).click();
  await expect(ann.getByTestId('message').last()).toContainText('hello from ben');

  // The block survives a reload (the list comes with the resume).
  await ann.reload();
  await ann.getByTestId('member-count').click();
  await expect(ann.getByRole('button', { name: `Unblock @${benName}` })).toBeVisible();
  await expect(ann.getByTestId('collapsed')).toHaveCount(1);

  // Ben's attempt to open the conversation again fails with a clear message.
  const back = ben.getByRole('link', { name: 'All conversations' });
  if (await back.isVisible()) await back.click();
  await ben.getByLabel('New message to').fill(annName);
  await ben.getByRole('button', { name: 'Start' }).click();
  await expect(ben.getByTestId('notice')).toHaveText('this user does not accept direct messages from you');

  // Unblocked: Ben's messages show as they are.
  await ann.getByRole('button', { name: `Unblock @${benName}` }).click();
  await expect(ann.getByTestId('collapsed')).toHaveCount(0);
  await annCtx.close();
  await benCtx.close();
});
