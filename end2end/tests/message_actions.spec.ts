// The actions on a message, as two people in a room use them: reply, react (palette and any
// emoji), edit in place (also from the Up arrow) and delete. Everyone — the other person, a
// second tab of one of them, and every page after a reload — ends up seeing the same thing.
import { Locator, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { newUser, openConversationId, openFromSidebar, say, sendMany, uniqueName, User } from './helpers';

/** The message of `page` whose body holds `text`. */
function message(page: Page, text: string): Locator {
  return page.getByTestId('message').filter({ has: page.locator('.body', { hasText: text }) });
}

/** Opens a message's actions (a tap on touch screens, and harmless on a desktop) and returns its toolbar. */
async function actions(msg: Locator): Promise<Locator> {
  const toolbar = msg.getByRole('toolbar');
  if (!/\bopen\b/.test((await msg.getAttribute('class')) ?? '')) {
    // Near the text's start: the toolbar sits at the row's right-hand end.
    await msg.locator('.body').first().click({ position: { x: 4, y: 4 } });
  }
  await expect(toolbar.getByRole('button', { name: 'Reply' })).toBeVisible();
  return toolbar;
}

/** What a page shows of the conversation: each line's text, the quote it answers, its reactions. */
async function shown(page: Page): Promise<string[]> {
  return page.getByTestId('message').evaluateAll((rows) =>
    rows.map((row) => {
      const part = (selector: string) => row.querySelector(selector)?.textContent?.trim() ?? '';
      return [part('.reply-to'), part('.body'), part('.reactions')].join(' | ');
    }),
  );
}

/** Two people in a new room, both looking at it. */
async function room(browser: import('@playwright/test').Browser): Promise<{ ann: User; ben: User; name: string }> {
  const ann = await newUser(browser, 'ann');
  const ben = await newUser(browser, 'ben');
  const name = uniqueName('room');
  await ann.page.getByLabel('New room').fill(name);
  await ann.page.getByRole('button', { name: 'Create' }).click();
  await openFromSidebar(ann.page, name);
  await ben.page.getByRole('button', { name: 'Browse rooms' }).click();
  await ben.page.getByTestId('directory').getByRole('button', { name: `Join ${name}` }).click();
  await openFromSidebar(ben.page, name);
  return { ann, ben, name };
}

test('two people reply, react, edit and delete; the other, a second tab and a reload all agree', async ({
  browser,
}) => {
  const { ann, ben, name } = await room(browser);
  const annTab = await ann.context.newPage();
  await annTab.goto(ann.page.url());
  await expect(annTab.getByTestId('conv-title')).toHaveText(name);
  await expect(annTab.getByTestId('connection')).toHaveAttribute('data-state', 'connected');

  await say(ann.page, 'question from ann');
  await say(ann.page, 'secret from ann');
  await say(ben.page, 'answr from ben');
  for (const page of [ann.page, ben.page, annTab]) {
    await expect(message(page, 'answr from ben')).toHaveCount(1);
  }

  // Ben answers Ann's question: the composer says so, the cancel works, the reply quotes it.
  let toolbar = await actions(message(ben.page, 'question from ann'));
  await toolbar.getByRole('button', { name: 'Reply' }).click();
  await expect(ben.page.getByTestId('replying')).toContainText('question from ann');
  await ben.page.getByRole('button', { name: 'Cancel reply' }).click();
  await expect(ben.page.getByTestId('replying')).toHaveCount(0);
  toolbar = await actions(message(ben.page, 'question from ann'));
  await toolbar.getByRole('button', { name: 'Reply' }).click();
  await expect(ben.page.getByLabel('Message', { exact: true })).toBeFocused();
  await say(ben.page, 'reply from ben');
  await expect(ben.page.getByTestId('replying')).toHaveCount(0);
  for (const page of [ann.page, ben.page, annTab]) {
    await expect(message(page, 'reply from ben').locator('.reply-to')).toHaveText('question from ann');
  }

  // Reactions: from the palette, any one emoji typed, a click on a reaction toggles one's own.
  toolbar = await actions(message(ann.page, 'reply from ben'));
  await toolbar.getByRole('button', { name: 'React' }).click();
  await message(ann.page, 'reply from ben').getByRole('button', { name: 'React with 🎉' }).click();
  const benReactions = message(ben.page, 'reply from ben').getByTestId('reactions');
  await expect(benReactions).toHaveText('🎉 1');
  await benReactions.getByRole('button', { name: /^🎉 1/ }).click();
  await expect(benReactions).toHaveText('🎉 2');
  const party = message(annTab, 'reply from ben').getByRole('button', { name: /^🎉 2/ });
  // Who reacted, by name (the viewer is "You").
  await expect(party).toHaveAttribute('title', `You, ${ben.name}`);
  await expect(party).toHaveAttribute('aria-pressed', 'true');
  toolbar = await actions(message(ann.page, 'reply from ben'));
  await toolbar.getByRole('button', { name: 'React' }).click();
  const other = message(ann.page, 'reply from ben').getByLabel('Any emoji');
  await other.fill('not an emoji');
  await other.press('Enter');
  await expect(message(ann.page, 'reply from ben').getByRole('alert')).toHaveText('One emoji, please');
  await other.fill('🦀');
  await other.press('Enter');
  await expect(benReactions).toHaveText(/🦀 1/);
  await message(ann.page, 'reply from ben').getByRole('button', { name: /^🎉 2/ }).click();
  await expect(benReactions).toHaveText(/🎉 1/);
  const left = message(ann.page, 'reply from ben').getByRole('button', { name: /^🎉 1/ });
  await expect(left).toHaveAttribute('title', ben.name);
  await expect(left).toHaveAttribute('aria-pressed', 'false');

  // Ben fixes his typo in place; the history of the text is there behind "(edited)".
  toolbar = await actions(message(ben.page, 'answr from ben'));
  await expect(toolbar.getByRole('button', { name: 'Delete' })).toBeVisible();
  await toolbar.getByRole('button', { name: 'Edit' }).click();
  const editor = ben.page.getByLabel('Edit message');
  await expect(editor).toBeFocused();
  await editor.fill('answer from ben');
  await editor.press('Enter');
  for (const page of [ann.page, ben.page, annTab]) {
    await expect(message(page, 'answer from ben')).toContainText('(edited)');
    await expect(message(page, 'answr from ben')).toHaveCount(0);
  }
  await message(ann.page, 'answer from ben').getByRole('button', { name: '(edited)' }).click();
  await expect(ann.page.getByTestId('edit-history').locator('li')).toHaveText(['answr from ben', 'answer from ben']);
  await message(ann.page, 'answer from ben').getByRole('button', { name: '(edited)' }).click();
  await expect(ann.page.getByTestId('edit-history')).toHaveCount(0);
  // Nobody edits or deletes someone else's message (Ann owns the room, so she may delete).
  toolbar = await actions(message(ben.page, 'question from ann'));
  await expect(toolbar.getByRole('button', { name: 'Edit' })).toHaveCount(0);
  await expect(toolbar.getByRole('button', { name: 'Delete' })).toHaveCount(0);
  toolbar = await actions(message(ann.page, 'answer from ben'));
  await expect(toolbar.getByRole('button', { name: 'Edit' })).toHaveCount(0);
  await expect(toolbar.getByRole('button', { name: 'Delete' })).toBeVisible();

  // Ann deletes a message after saying yes; it is gone from every page.
  toolbar = await actions(message(ann.page, 'secret from ann'));
  await toolbar.getByRole('button', { name: 'Delete' }).click();
  const confirm = ann.page.getByRole('dialog', { name: 'Delete this message?' });
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  await expect(message(ann.page, 'secret from ann')).toHaveCount(1);
  toolbar = await actions(message(ann.page, 'secret from ann'));
  await toolbar.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Yes, delete' }).click();
  for (const page of [ann.page, ben.page, annTab]) {
    await expect(page.locator('.message.deleted')).toHaveText('message deleted');
    await expect(page.locator('body')).not.toContainText('secret from ann');
  }

  // Every page, and every page reloaded, shows the same conversation.
  const expected = await shown(ann.page);
  expect(expected).toContain(' | answer from ben(edited) | ');
  expect(expected).toContain('question from ann | reply from ben | 🎉 1🦀 1');
  expect(expected).toContain(' | message deleted | ');
  for (const page of [ben.page, annTab]) {
    await expect.poll(() => shown(page)).toEqual(expected);
  }
  for (const page of [ann.page, ben.page, annTab]) {
    await page.reload();
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
    await expect.poll(() => shown(page)).toEqual(expected);
    expect(await page.content()).not.toContain('secret from ann');
  }
  await ann.context.close();
  await ben.context.close();
});

test('Up in an empty composer edits the last own message; Esc cancels, Shift+Enter is a new line', async ({
  browser,
}) => {
  const { ann, ben } = await room(browser);
  await say(ann.page, 'older from ann');
  await say(ann.page, 'latest from ann');
  await say(ben.page, 'from ben');
  await expect(message(ann.page, 'from ben')).toHaveCount(1);

  const composer = ann.page.getByLabel('Message', { exact: true });
  await composer.click();
  await composer.press('ArrowUp');
  const editor = ann.page.getByLabel('Edit message');
  await expect(editor).toBeFocused();
  await expect(editor).toHaveValue('latest from ann');
  await editor.press('End');
  await editor.pressSequentially(' (typing)');
  await editor.press('Escape');
  await expect(editor).toHaveCount(0);
  await expect(composer).toBeFocused();
  await expect(message(ann.page, 'latest from ann')).not.toContainText('(typing)');
  await expect(message(ann.page, 'latest from ann')).not.toContainText('(edited)');

  // A draft in the composer keeps the Up arrow for the cursor.
  await composer.fill('draft');
  await composer.press('ArrowUp');
  await expect(editor).toHaveCount(0);
  await composer.fill('');

  await composer.press('ArrowUp');
  await editor.fill('line one');
  await editor.press('Shift+Enter');
  await editor.pressSequentially('line two');
  await editor.press('Enter');
  await expect(editor).toHaveCount(0);
  for (const page of [ann.page, ben.page]) {
    const edited = message(page, 'line two');
    await expect(edited).toContainText('line one');
    await expect(edited).toContainText('(edited)');
    await expect(message(page, 'latest from ann')).toHaveCount(0);
    await expect(message(page, 'older from ann')).not.toContainText('(edited)');
  }
  await ann.context.close();
  await ben.context.close();
});

test('a reply quoting a message far back loads history until the original is on screen', async ({ browser }) => {
  const { ann, ben, name } = await room(browser);
  await say(ann.page, 'the original');
  await expect(message(ben.page, 'the original')).toHaveCount(1);
  // Enough between them that the original is a page older than its answer.
  const conv = openConversationId(ann.page);
  await sendMany(ann.page, conv, 60, 'early');
  const toolbar = await actions(message(ben.page, 'the original'));
  await toolbar.getByRole('button', { name: 'Reply' }).click();
  await say(ben.page, 'the answer');
  await expect(message(ann.page, 'the answer')).toHaveCount(1);
  await sendMany(ann.page, conv, 60, 'late');
  await say(ben.page, 'see above');

  await ben.page.reload();
  await openFromSidebar(ben.page, name);
  await expect(message(ben.page, 'see above')).toHaveCount(1);
  await expect(message(ben.page, 'the original')).toHaveCount(0);
  // Scroll up to the answer (history pages arrive as the list reaches the top), then jump.
  const list = ben.page.getByTestId('messages');
  await expect(async () => {
    await list.evaluate((el) => el.scrollTo(0, 0));
    await expect(message(ben.page, 'the answer')).toHaveCount(1, { timeout: 10_000 });
  }).toPass({ timeout: 60_000 });
  await expect(message(ben.page, 'the original')).toHaveCount(0);
  await message(ben.page, 'the answer').locator('.reply-to').click();
  await expect(message(ben.page, 'the original')).toBeInViewport();
  await expect(message(ben.page, 'the original')).toHaveAttribute('data-jumped', '');
  await ann.context.close();
  await ben.context.close();
});

test('@ offers the members; a mention stands out for everyone and counts apart in the badge of the one named', async ({
  browser,
}) => {
  const { ann, ben, name } = await room(browser);
  // Ben reads somewhere else: a room of his own (on a phone, the list is a page of its own).
  const back = ben.page.getByRole('link', { name: 'All conversations' });
  const toList = async () => {
    if (await back.isVisible()) await back.click();
  };
  await toList();
  const elsewhere = uniqueName('elsewhere');
  await ben.page.getByLabel('New room').fill(elsewhere);
  await ben.page.getByRole('button', { name: 'Create' }).click();
  await openFromSidebar(ben.page, elsewhere);

  const composer = ann.page.getByLabel('Message', { exact: true });
  const list = ann.page.getByRole('listbox', { name: 'Mention someone' });
  // Esc closes the list and keeps the text.
  await composer.fill(`hello @${ben.name.slice(0, 5)}`);
  await expect(list.getByRole('option')).toHaveText([`${ben.name} @${ben.name}`]);
  await expect(composer).toHaveAttribute('aria-controls', 'mention-list');
  await expect(list).toBeVisible();
  await composer.press('Escape');
  await expect(list).toHaveCount(0);
  await expect(composer).toHaveValue(`hello @${ben.name.slice(0, 5)}`);
  // The writer is not offered; Tab takes the chosen name, and typing goes on after it.
  await composer.fill('hello @');
  await expect(list.getByRole('option')).toHaveText([`${ben.name} @${ben.name}`]);
  await expect(list.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
  await composer.press('Tab');
  await expect(composer).toHaveValue(`hello @${ben.name} `);
  await expect(list).toHaveCount(0);
  await composer.pressSequentially('have a look');
  await composer.press('Enter');
  await say(ann.page, `no mention of ${ben.name} without the sign`);

  // Ann sees the mention marked; Ben, elsewhere, sees a mention badge beside the unread count.
  const sent = message(ann.page, 'have a look');
  await expect(sent.locator('.mention')).toHaveText(`@${ben.name}`);
  await expect(sent.locator('.mention.self')).toHaveCount(0);
  const link = ben.page.getByTestId('conversations').getByRole('link', { name });
  await toList();
  await expect(link.getByTestId('mentions')).toHaveText('@1');
  await expect(link.getByTestId('mentions')).toHaveAttribute('aria-label', '1 mention');
  await expect(link.getByLabel('unread')).toHaveText('2');
  // After a reload the badge is the same; reading the room clears it, and the mention is his.
  await ben.page.reload();
  await toList();
  await expect(link.getByTestId('mentions')).toHaveText('@1');
  await openFromSidebar(ben.page, name);
  await expect(message(ben.page, 'have a look').locator('.mention.self')).toHaveText(`@${ben.name}`);
  await toList();
  await expect(link.getByTestId('mentions')).toHaveCount(0);
  await ann.context.close();
  await ben.context.close();
});
