// Builds shim/nsx-shim from shim/nsx-shim.c. Runs on `npm install` / `npm ci` (via "prepare").
// The shim is the small single-threaded C half of the runtime (see the comment at its top). Beside it,
// two small tools of the security-modules lesson, built the same way and kept apart from the shim:
// nsx-landlock (a Landlock sandbox for a command) and nsx-tryas (one write made as another process,
// for that lesson's check).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (process.platform !== 'linux') {
  console.warn('nsx: not building the shim: namespace-explorer needs Linux (it drives Linux kernel features).');
  process.exit(0);
}

const cc = process.env.CC || 'cc';
for (const name of ['nsx-shim', 'nsx-landlock', 'nsx-tryas']) {
  const src = join(root, 'shim', `${name}.c`);
  const out = join(root, 'shim', name);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) continue;
  const flags = ['-O2', '-Wall', '-Wextra', '-Werror', '-o', out, src];
  // Static when the C library allows it: smaller resident memory, nothing to resolve at start (and the
  // lesson's tools run inside a busybox container, which has no C library).
  let r = spawnSync(cc, ['-static', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error && r.error.code === 'ENOENT') {
    console.error(
      `nsx: cannot build ${name}: no C compiler ("${cc}") found.\n` +
        '  Fix: install one, e.g. `sudo apt-get install build-essential` (Debian/Ubuntu), then run `npm ci` again.',
    );
    process.exit(1);
  }
  if (r.status !== 0) r = spawnSync(cc, flags, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error(
      `nsx: building shim/${name}.c failed (compiler output above).\n  Fix: install build-essential and the C library headers (libc6-dev).`,
    );
    process.exit(1);
  }
  console.log(`nsx: built shim/${name}`);
}
