// Builds what the integration tests run: the sandbox busybox rootfs (npm run sandbox) and a copy of
// it with the probe program at /probe; as root, starts the suite's own engine (the lessons and nsx
// run --step go through one), named in NSX_ENGINE_SOCKET/NSX_ENGINE_STATE for every test, so no
// test starts (or finds) the machine's. test/global-teardown.ts stops it. Nothing is downloaded.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

export default async function globalSetup(): Promise<void> {
  const root = join(__dirname_(), '..');
  const sandbox = join(root, 'sandbox', 'rootfs', 'busybox');
  if (!existsSync(join(sandbox, 'bin', 'busybox')))
    execFileSync('bash', [join(root, 'sandbox', 'build-busybox-rootfs.sh')], { stdio: 'inherit' });
  const work = join(root, 'test', '.work');
  const rootfs = join(work, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  cpSync(sandbox, rootfs, { recursive: true, verbatimSymlinks: true });
  execFileSync('cc', ['-static', '-O2', '-o', join(rootfs, 'probe'), join(root, 'test', 'probe', 'probe.c')], {
    stdio: 'inherit',
  });
  if (process.getuid?.() === 0) await startSuiteEngine(root, work);
}

/** The suite's engine: its pid in test/.work/engine/nsxd.pid for the teardown. */
async function startSuiteEngine(root: string, work: string): Promise<void> {
  const dir = join(work, 'engine');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const env = { NSX_ENGINE_SOCKET: join(dir, 'nsxd.sock'), NSX_ENGINE_STATE: join(dir, 'state') };
  const log = openSync(join(dir, 'nsxd.log'), 'a');
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'engine', 'nsxd.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
    detached: true,
  });
  child.unref();
  writeFileSync(join(dir, 'suite.pid'), `${child.pid}\n`);
  Object.assign(process.env, env);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const req = request(
        { socketPath: env.NSX_ENGINE_SOCKET, path: '/_ping' },
        (res) => (res.resume(), resolve(res.statusCode === 200)),
      );
      req.on('error', () => resolve(false));
      req.end();
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the suite's engine did not answer: see ${join(dir, 'nsxd.log')}`);
}

function __dirname_(): string {
  return new URL('.', import.meta.url).pathname;
}
