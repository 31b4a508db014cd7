// Two people in two browsers, each on a different node of a real cluster (scripts/cluster.sh:
// Postgres and Redis from Debian's packages, two release nodes), chat as if on one server.
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { expect, test } from './fixtures';
import { newUser, openDirect, openFromSidebar, say } from './helpers';
import { freePort } from './own-server';

const ROOT = resolve(__dirname, '..', '..');

/** Whether nothing listens on `port` right now. */
async function isFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const probe = createServer();
    probe.once('error', () => ok(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => ok(true)));
  });
}

/** Starts `scripts/cluster.sh --nodes 2` on two free consecutive ports; resolves when ready. */
async function startCluster(): Promise<{ child: ChildProcess; urls: string[] }> {
  let port = await freePort();
  while (!(await isFree(port + 1))) port = await freePort();
  const child = spawn('bash', ['scripts/cluster.sh', '--nodes', '2', '--port', String(port), '--no-build'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((ok, fail) => {
    let said = '';
    const timer = setTimeout(() => fail(new Error(`cluster not ready in 60 s:\n${said}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('nodes ready')) {
        clearTimeout(timer);
        ok();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`cluster.sh exited with ${code}:\n${said}`));
    });
  });
  return { child, urls: [`http://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`] };
}

test('people on different nodes of a cluster chat in real time', async ({ browser }, testInfo) => {
  // One cluster is enough to show it; the phone layout is covered by the other specs.
  test.skip(testInfo.project.name !== 'desktop', 'desktop only');
  test.setTimeout(120_000);
  const cluster = await startCluster();
  try {
    const ann = await newUser(browser, 'ann', cluster.urls[0]);
    const bob = await newUser(browser, 'bob', cluster.urls[1]);

    // Ann (node 1) starts a conversation with Bob (node 2) and writes.
    await openDirect(ann.page, bob.name);
    await say(ann.page, 'hello from node one');
    await expect(ann.page.getByTestId('messages')).toContainText('hello from node one');

    // Bob's sidebar learns of it over the bus; he reads it and answers.
    await openFromSidebar(bob.page, ann.name);
    await expect(bob.page.getByTestId('messages')).toContainText('hello from node one');
    await say(bob.page, 'and hello back from node two');
    await expect(ann.page.getByTestId('messages')).toContainText('and hello back from node two');

    // Each sees the other online, though their sockets are on different nodes.
    const presence = (page: typeof ann.page, name: string) =>
      page.getByTestId('conversations').getByRole('link', { name }).getByLabel('online', { exact: true });
    await expect(presence(ann.page, bob.name)).toBeVisible();
    await expect(presence(bob.page, ann.name)).toBeVisible();

    await ann.context.close();
    await bob.context.close();
  } finally {
    cluster.child.kill('SIGTERM');
    await new Promise((done) => cluster.child.once('exit', done));
  }
});
