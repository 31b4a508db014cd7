// A display name changed on the settings page reaches everyone's screens live: the other
// person's conversation list, the open conversation's title, the names on messages, and the
// changer's own account bar; a reload (a fresh replay) agrees.
import { expect, test } from './fixtures';
import { newUser, openDirect, say, toList } from './helpers';

test('a new display name shows at once for everyone who shares a conversation', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  await openDirect(ben.page, ann.name);
  await say(ben.page, 'hello ann');
  await openDirect(ann.page, ben.name);
  await say(ann.page, 'hello ben');
  await expect(ben.page.getByTestId('messages')).toContainText('hello ben');
  await expect(ben.page.getByTestId('conv-title')).toHaveText(ann.name);

  await ann.page.goto('/settings');
  await expect(ann.page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  const field = ann.page.getByLabel('Display name');
  await expect(field).toHaveValue(ann.name);
  await field.fill('Ann Lee');
  await ann.page.getByRole('button', { name: 'Save name' }).click();
  await expect(ann.page.getByTestId('profile-ok')).toHaveText('Saved: everyone now sees you as Ann Lee.');
  await expect(ann.page.getByTestId('who')).toHaveText('Ann Lee');

  // Ben, without reloading: the title, the message's name and the list.
  await expect(ben.page.getByTestId('conv-title')).toHaveText('Ann Lee');
  const annsLine = ben.page.getByTestId('message').filter({ hasText: 'hello ben' });
  await expect(annsLine.locator('.from')).toHaveText('Ann Lee');
  await expect(annsLine.locator('.avatar')).toHaveAttribute('data-initials', 'AL');
  await toList(ben.page);
  await expect(ben.page.getByTestId('direct').locator('.name')).toHaveText(['Ann Lee']);
  await ben.page.reload();
  await toList(ben.page);
  await expect(ben.page.getByTestId('direct').locator('.name')).toHaveText(['Ann Lee']);

  // An over-long name cannot be typed; emptying the field goes back to the username.
  await field.fill('');
  await ann.page.getByRole('button', { name: 'Save name' }).click();
  await expect(ann.page.getByTestId('who')).toHaveText(ann.name);
  await expect(ben.page.getByTestId('direct').locator('.name')).toHaveText([ann.name]);
  await expect(field).toHaveAttribute('maxlength', '64');

  for (const user of [ann, ben]) await user.context.close();
});
