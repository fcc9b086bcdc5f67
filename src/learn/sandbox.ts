// The root filesystem the lessons' containers use: sandbox/rootfs/busybox, built on first use.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { NsxError } from '../runtime/errors.js';

export function sandboxRootfs(): string {
  const root = packageRoot();
  const rootfs = join(root, 'sandbox', 'rootfs', 'busybox');
  if (existsSync(join(rootfs, 'bin', 'busybox'))) return rootfs;
  try {
    execFileSync('bash', [join(root, 'sandbox', 'build-busybox-rootfs.sh'), rootfs], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
    throw new NsxError(
      `cannot build the lessons' root filesystem (${rootfs})${stderr ? `: ${stderr.split('\n')[0]}` : ''}`,
      {
        hint: 'install busybox-static (sudo apt-get install busybox-static), then run `npm run sandbox`',
      },
    );
  }
  return rootfs;
}
