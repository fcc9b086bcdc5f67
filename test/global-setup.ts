// Builds what the integration tests run: the sandbox busybox rootfs (npm run sandbox) and a copy of
// it with the probe program at /probe. Nothing here is downloaded.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export default async function globalSetup(): Promise<void> {
  const root = join(__dirname_(), '..');
  const sandbox = join(root, 'sandbox', 'rootfs', 'busybox');
  if (!existsSync(join(sandbox, 'bin', 'busybox'))) execFileSync('bash', [join(root, 'sandbox', 'build-busybox-rootfs.sh')], { stdio: 'inherit' });
  const work = join(root, 'test', '.work');
  const rootfs = join(work, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  cpSync(sandbox, rootfs, { recursive: true, verbatimSymlinks: true });
  execFileSync('cc', ['-static', '-O2', '-o', join(rootfs, 'probe'), join(root, 'test', 'probe', 'probe.c')], { stdio: 'inherit' });
}

function __dirname_(): string {
  return new URL('.', import.meta.url).pathname;
}
