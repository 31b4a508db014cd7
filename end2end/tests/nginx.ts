// A real nginx (Debian's) in front of a switchboard server, configured from deploy/nginx.conf.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';

/** Replaces `from` in `text`, failing loudly if the committed config no longer has it. */
function rewrite(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`deploy/nginx.conf no longer contains ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

export class Nginx {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** Starts nginx on 127.0.0.1:`port`, proxying to a switchboard on 127.0.0.1:`upstreamPort`. */
  static async start(upstreamPort: number, port: number): Promise<Nginx> {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-nginx-'));
    let site = readFileSync(join(ROOT, 'deploy', 'nginx.conf'), 'utf8');
    site = rewrite(site, 'server 127.0.0.1:3000;', `server 127.0.0.1:${upstreamPort};`);
    site = rewrite(site, 'listen 80;', `listen 127.0.0.1:${port};`);
    site = rewrite(site, 'root /srv/switchboard/site;', `root ${join(ROOT, 'target', 'site')};`);
    writeFileSync(join(dir, 'site.conf'), site);
    const asRoot = process.getuid?.() === 0 ? 'user root;' : '';
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((kind) => `${kind}_temp_path ${join(dir, kind)};`)
      .join('\n  ');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `${asRoot}
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  ${temp}
  include ${join(dir, 'site.conf')};
}
`,
    );
    const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const nginx = new Nginx(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        throw new Error(`nginx exited with ${child.exitCode}: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
      }
      try {
        if ((await fetch(`${nginx.url}/login`)).ok) return nginx;
      } catch {
        // not listening yet
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error('nginx did not come up');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((ok) => this.child.once('exit', ok));
    this.child.kill('SIGTERM');
    await exited;
  }
}
