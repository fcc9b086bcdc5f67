// The real registry for integration tests: Debian's docker-registry (distribution v2) on a random
// loopback port, with its storage in a temp dir. Always stop it (afterAll), even after a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const SKOPEO_BIN = '/usr/bin/skopeo';
export const haveRegistry = existsSync(REGISTRY_BIN);
export const haveSkopeo = existsSync(SKOPEO_BIN);

export interface RunningRegistry {
  /** "127.0.0.1:PORT": the registry part of image names. */
  host: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

// Registries still running when the test process exits (a crash past afterAll) are killed with it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** A free loopback port (bound and released; the registry binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(
  port: number,
  child: ChildProcess,
  log: string,
  deadlineMs: number,
  ready = [200],
): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}):\n${readFileSync(log, 'utf8')}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`);
      await r.body?.cancel();
      if (ready.includes(r.status)) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `docker-registry did not answer on 127.0.0.1:${port} within ${deadlineMs} ms:\n${readFileSync(log, 'utf8')}`,
  );
}

/** Starts docker-registry serve CONFIG on 127.0.0.1:<random port>; with HTPASSWD (an htpasswd file's
 *  text, bcrypt hashes) it asks for those users' passwords (distribution's htpasswd auth). */
export async function startRegistry(opts: { htpasswd?: string } = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-registry-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: warn',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'data')}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        ...(opts.htpasswd !== undefined
          ? ['auth:', '  htpasswd:', '    realm: nsx-test', `    path: ${join(dir, 'htpasswd')}`]
          : []),
        '',
      ].join('\n'),
    );
    if (opts.htpasswd !== undefined) writeFileSync(join(dir, 'htpasswd'), opts.htpasswd);
    const log = join(dir, 'registry.log');
    const fd = openSync(log, 'a');
    const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    running.add(child);
    const exited = new Promise<void>((r) =>
      child.once('exit', () => {
        running.delete(child);
        r();
      }),
    );
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitReady(port, child, log, 10000, opts.htpasswd !== undefined ? [401] : [200]);
      return { host: `127.0.0.1:${port}`, port, dir, stop };
    } catch (e) {
      child.kill('SIGKILL');
      await exited;
      if (attempt < 2 && /address already in use/.test(String(e))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
}

/** Runs skopeo; returns stdout, throws with stderr on failure. */
export function skopeo(args: string[]): string {
  const r = spawnSync(SKOPEO_BIN, args, { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
