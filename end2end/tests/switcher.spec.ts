// The quick switcher: Ctrl+K (or the sidebar's "Jump to…") opens a dialog whose field finds a
// conversation or a person by name; arrows choose, Enter goes, Esc closes. A person with no
// direct conversation yet gets one, opened.
import { expect, test } from './fixtures';
import { createRoom, newUser, openDirect, openFromSidebar, toList, uniqueName } from './helpers';

test('Ctrl+K jumps to a conversation or a person by a part of the name', async ({ browser }) => {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  const cat = await newUser(browser, 'cat');
  const first = uniqueName('kiwi');
  const second = uniqueName('mango');
  for (const name of [first, second]) await createRoom(ann.page, name);
  await openDirect(ann.page, ben.name);
  // Cat joins the mango room, so Ann's page knows her without a conversation of their own.
  await cat.page.getByRole('button', { name: 'Browse rooms' }).click();
  await cat.page.getByLabel('Search rooms').fill(second);
  await cat.page.getByTestId('directory').getByRole('button', { name: `Join ${second}` }).click();
  await expect(cat.page.getByTestId('conv-title')).toHaveText(second);
  await openFromSidebar(ann.page, second);
  await expect(ann.page.getByTestId('messages')).toContainText(`${cat.name} joined`);

  const dialog = ann.page.getByTestId('switcher');
  const field = dialog.getByRole('combobox', { name: 'Jump to' });
  const options = dialog.getByRole('option');

  // Nothing typed: the most recent conversations, newest first (Cat's joining is the mango
  // room's latest event, after the conversation with Ben began); Esc closes.
  await ann.page.keyboard.press('Control+k');
  await expect(dialog).toBeVisible();
  await expect(field).toBeFocused();
  await expect(options.nth(0)).toContainText(second);
  await expect(options.nth(1)).toContainText(ben.name);
  await expect(options.nth(2)).toContainText(first);
  await ann.page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // A part of a room's name, then Enter: that room opens.
  await ann.page.keyboard.press('Control+k');
  await field.fill(first.slice(0, 6));
  await expect(options).toHaveCount(1);
  await expect(options.first()).toHaveAttribute('aria-selected', 'true');
  await ann.page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(ann.page.getByTestId('conv-title')).toHaveText(first);

  // Arrows choose among several; the choice is what Enter takes.
  await ann.page.keyboard.press('Control+k');
  await field.fill('_');
  await expect(options).not.toHaveCount(0);
  await field.press('ArrowDown');
  await expect(options.nth(1)).toHaveAttribute('aria-selected', 'true');
  const chosen = (await options.nth(1).innerText()).replace(/^# /, '');
  await field.press('Enter');
  await expect(ann.page.getByTestId('conv-title')).toHaveText(chosen);

  // A person known from a room, with no direct conversation yet: one is started and opened.
  await toList(ann.page);
  await ann.page.getByRole('button', { name: 'Jump to…' }).click();
  await field.fill(cat.name);
  await expect(options).toHaveCount(1);
  await expect(options.first()).toContainText(`Message ${cat.name}`);
  await options.first().click();
  await expect(ann.page.getByTestId('conv-title')).toHaveText(cat.name);
  await expect(ann.page).toHaveURL(/\/c\/\d+$/);

  // A name that matches nothing says so.
  await ann.page.keyboard.press('Control+k');
  await field.fill('no-such-conversation-here');
  await expect(dialog.getByText('Nothing matches')).toBeVisible();
  await expect(options).toHaveCount(0);
  await ann.page.keyboard.press('Escape');

  for (const user of [ann, ben, cat]) await user.context.close();
});
