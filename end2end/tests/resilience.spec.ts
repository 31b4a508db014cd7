import { expect, test } from './fixtures';
import { OwnServer } from './own-server';
import { newUser, openDirect, openFromSidebar, say } from './helpers';

test('going offline shows within seconds; messages typed meanwhile are delivered once, in order, when the network is back', async ({ browser }) => {
  const { name: annName, context: annCtx, page: ann } = await newUser(browser, 'ann');
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben');
  await openDirect(ann, benName);
  await say(ann, 'before');
  await openFromSidebar(ben, annName);
  await expect(ben.getByTestId('message').last()).toContainText('before');

  await annCtx.setOffline(true);
  // The indicator tells within seconds (the browser's offline event, else the answer a send
  // is owed), not after two heartbeat intervals of silence (40 s).
  await expect(ann.getByTestId('connection')).not.toHaveAttribute('data-state', 'connected', { timeout: 5_000 });
  for (const text of ['offline one', 'offline two', 'offline three']) await say(ann, text);
  await expect(ann.locator('[data-testid="message"][data-state="sending"]')).toHaveCount(3);
  await annCtx.setOffline(false);

  const expected = ['before', 'offline one', 'offline two', 'offline three'];
  await expect(ben.getByTestId('message').locator('.body')).toHaveText(expected, { timeout: 45_000 });
  await expect(ann.getByTestId('message').locator('.body')).toHaveText(expected, { timeout: 45_000 });
  await expect(ann.locator('[data-testid="message"][data-state]')).toHaveCount(0);
  await annCtx.close();
  await benCtx.close();
});

test('a server restart mid-conversation: banner, reconnect, nothing lost or repeated', async ({ browser }) => {
  const server = await OwnServer.start();
  const { name: annName, context: annCtx, page: ann } = await newUser(browser, 'ann', server.url);
  const { name: benName, context: benCtx, page: ben } = await newUser(browser, 'ben', server.url);
  try {
    await openDirect(ann, benName);
    await openFromSidebar(ben, annName);
    await say(ann, 'one');
    await expect(ben.getByTestId('message').last()).toContainText('one');

    expect(await server.stop()).toBe(0);
    await expect(ann.getByTestId('offline-banner')).toBeVisible();
    await expect(ben.getByTestId('offline-banner')).toBeVisible();
    await say(ann, 'two, while the server is down');
    await expect(ann.locator('[data-testid="message"][data-state="sending"]')).toHaveCount(1);

    await server.launch();
    await expect(ann.getByTestId('offline-banner')).toHaveCount(0, { timeout: 30_000 });
    await say(ben, 'three');
    const expected = ['one', 'two, while the server is down', 'three'];
    await expect(ben.getByTestId('message').locator('.body')).toHaveText(expected);
    await expect(ann.getByTestId('message').locator('.body')).toHaveText(expected);
  } finally {
    await annCtx.close();
    await benCtx.close();
    await server.stop();
  }
});
