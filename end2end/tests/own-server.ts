// A switchboard server process owned by one test, so the test can stop and restart it.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/** The server binary cargo-leptos built most recently (release or debug), unless named. */
function serverBinary(): string {
  if (process.env.SWITCHBOARD_BIN) return process.env.SWITCHBOARD_BIN;
  const candidates = ['release', 'debug']
    .map((profile) => join(ROOT, 'target', profile, 'switchboard'))
    .filter((path) => existsSync(path))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (candidates.length === 0) throw new Error('no switchboard binary under target/; build first');
  return candidates[0];
}

/** A loopback port nobody is listening on right now. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => ok(port));
    });
  });
}

export class OwnServer {
  private child?: ChildProcess;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));

  private constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Extra `Origin`s the server accepts for /ws (a proxy in front has its own). */
  private extraOrigins: string[] = [];

  static async start(extraOrigins: string[] = []): Promise<OwnServer> {
    const server = new OwnServer(await freePort());
    server.extraOrigins = extraOrigins;
    await server.launch();
    return server;
  }

  /** Starts the process and waits until it serves pages (/healthz is not public). */
  async launch(): Promise<void> {
    const child = spawn(serverBinary(), [], {
      cwd: ROOT,
      env: {
        ...process.env,
        SWITCHBOARD_CONFIG: join(ROOT, 'Leptos.toml'),
        SWITCHBOARD_SERVER_LISTEN: `127.0.0.1:${this.port}`,
        SWITCHBOARD_SERVER_SITE_ROOT: join(ROOT, 'target', 'site'),
        SWITCHBOARD_DATABASE_PATH: join(this.dataDir, 'switchboard.db'),
        SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS: [this.url, ...this.extraOrigins].join(','),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.child = child;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      try {
        if ((await fetch(`${this.url}/login`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`server on ${this.url} did not become healthy`);
  }

  /** Sends SIGTERM and waits for the process to exit; returns its exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill('SIGTERM');
    return exited;
  }
}
