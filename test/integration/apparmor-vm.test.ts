// AppArmor's wall, seen on a kernel that has AppArmor when this machine's own has none (CI's, and this
// kind of machine's): scripts/kernel-vm.sh boots Debian's kernel (linux-image-amd64; AppArmor is in its
// CONFIG_LSM and on by default) under qemu with this machine's files as its root, and the lsm step runs
// there for real: apparmor_parser loads nsx-default, the shim writes attr/apparmor/exec, and mount(2)
// with CAP_SYS_ADMIN is refused with EACCES by the profile's "deny mount," — while
// --security-opt apparmor=unconfined lets the same call through (apparmor.rst, Docker's docker-default).
// Where the host has AppArmor, escape.test.ts sees the same wall directly and this test skips.
import { describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { apparmorEnabled } from '../../src/runtime/lsm/apparmor.js';
import { isRoot, NSX, ROOT } from '../helpers.js';

/** The newest kernel in /boot with its modules and AppArmor built in (its config says so). */
function kernelWithAppArmor(): string | undefined {
  const releases = existsSync('/boot')
    ? readdirSync('/boot')
        .filter((f) => f.startsWith('vmlinuz-'))
        .map((f) => f.slice('vmlinuz-'.length))
    : [];
  const ok = releases.filter((r) => {
    const config = join('/boot', `config-${r}`);
    return (
      existsSync(join('/lib/modules', r)) &&
      existsSync(config) &&
      /^CONFIG_SECURITY_APPARMOR=y$/m.test(readFileSync(config, 'utf8'))
    );
  });
  return ok.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const release = kernelWithAppArmor();
const why = !isRoot
  ? 'needs root (qemu, mounts in the guest)'
  : apparmorEnabled()
    ? "this machine's kernel has AppArmor: escape.test.ts sees its wall directly"
    : arch() !== 'x64'
      ? `scripts/kernel-vm.sh boots x86_64 kernels only (this machine is ${arch()})`
      : !has('qemu-system-x86_64')
        ? 'no qemu-system-x86_64 (apt-get install qemu-system-x86)'
        : !has('apparmor_parser')
          ? 'no apparmor_parser (apt-get install apparmor)'
          : !release
            ? 'no kernel with AppArmor in /boot with its modules (apt-get install linux-image-amd64)'
            : undefined;
const itVm = why === undefined ? it : (name: string) => it.skip(`${name} [skipped: ${why}]`, () => {});

/** The guest's script: a busybox root in the guest's /tmp, then mount(2) under each profile, each
 *  result between markers so the serial console's other lines do not matter. */
const SCRIPT = `
r=/tmp/aa-rootfs
mkdir -p $r/bin $r/proc $r/dev $r/sys $r/tmp $r/mnt
cp /bin/busybox $r/bin/busybox
for a in sh cat mount; do ln -s busybox $r/bin/$a; done
try='cat /proc/self/attr/current; mount -t tmpfs t /mnt && echo mounted'
nsx="${process.execPath} ${NSX}"
case_() { echo "<<$1"; shift; "$@" 2>&1; echo "exit $?"; echo ">>"; }
case_ runtime-default $nsx runtime run --rootfs $r --cap-add SYS_ADMIN /bin/sh -c "$try"
# The engine, started here and waited for: under emulation its start can take longer than the 10 s
# an autostarting nsx waits.
${process.execPath} ${join(ROOT, 'dist', 'src', 'engine', 'nsxd.js')} >/tmp/nsxd.log 2>&1 &
i=0; while [ ! -S /run/nsx/nsxd.sock ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done
case_ engine-default $nsx run --rm --rootfs $r --cap-add SYS_ADMIN /bin/sh -c "$try"
case_ runtime-unconfined $nsx runtime run --rootfs $r --cap-add SYS_ADMIN --security-opt apparmor=unconfined /bin/sh -c "$try"
case_ profiles grep '^nsx-' /sys/kernel/security/apparmor/profiles
`;

function boot(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'kernel-vm.sh'), release!, SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, KERNEL_VM_TIMEOUT: '900' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.on('close', (code) => resolve({ code, out: out.replace(/\r/g, '') }));
  });
}

function cases(out: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const m of out.matchAll(/^<<(\S+)\n([\s\S]*?)^>>$/gm)) found[m[1]] = m[2];
  return found;
}

describe('AppArmor enforces nsx-default on a kernel that has it', () => {
  itVm(
    'mount with CAP_SYS_ADMIN: EACCES under nsx-default (runtime and engine), allowed unconfined',
    async () => {
      const { code, out } = await boot();
      const context = `kernel-vm.sh exited ${code}; its output:\n${out.slice(-4000)}`;
      expect({ up: out.includes(`kernel-vm: up ${release}`), context }).toEqual({ up: true, context });
      const c = cases(out);
      for (const name of ['runtime-default', 'engine-default'])
        expect({ name, out: c[name] }).toEqual({
          name,
          out: 'nsx-default (enforce)\nmount: mounting t on /mnt failed: Permission denied\nexit 255\n',
        });
      expect(c['runtime-unconfined']).toBe('unconfined\nmounted\nexit 0\n');
      expect(c['profiles']).toBe('nsx-default (enforce)\nexit 0\n');
      expect(out).toMatch(/^kernel-vm: exit 0$/m);
    },
    20 * 60_000,
  );
});
