// AppArmor's wall, seen on a kernel that has AppArmor when this machine's own has none (CI's, and this
// kind of machine's): scripts/kernel-vm.sh boots Debian's kernel (linux-image-amd64; AppArmor is in its
// CONFIG_LSM and on by default) under qemu with this machine's files as its root, and the lsm step runs
// there for real: apparmor_parser loads nsx-default, the shim writes attr/apparmor/exec, and mount(2)
// with CAP_SYS_ADMIN is refused with EACCES by the profile's "deny mount," — while
// --security-opt apparmor=unconfined lets the same call through (apparmor.rst, Docker's docker-default).
// Where the host has AppArmor, escape.test.ts sees the same wall directly and this test skips.
import { describe, expect } from '@jest/globals';
import { NSX } from '../helpers.js';
import { boot, CASE_FN, cases, itVm, release, START_ENGINE } from '../kernel-vm.js';

/** The guest's script: a busybox root in the guest's /tmp, then mount(2) under each profile, each
 *  result between markers so the serial console's other lines do not matter. */
const SCRIPT = `
r=/tmp/aa-rootfs
mkdir -p $r/bin $r/proc $r/dev $r/sys $r/tmp $r/mnt
cp /bin/busybox $r/bin/busybox
for a in sh cat mount; do ln -s busybox $r/bin/$a; done
try='cat /proc/self/attr/current; mount -t tmpfs t /mnt && echo mounted'
nsx="${process.execPath} ${NSX}"
${CASE_FN}
case_ runtime-default $nsx runtime run --rootfs $r --cap-add SYS_ADMIN /bin/sh -c "$try"
${START_ENGINE}case_ engine-default $nsx run --rm --rootfs $r --cap-add SYS_ADMIN /bin/sh -c "$try"
case_ runtime-unconfined $nsx runtime run --rootfs $r --cap-add SYS_ADMIN --security-opt apparmor=unconfined /bin/sh -c "$try"
case_ profiles grep '^nsx-' /sys/kernel/security/apparmor/profiles
`;

describe('AppArmor enforces nsx-default on a kernel that has it', () => {
  itVm(
    'mount with CAP_SYS_ADMIN: EACCES under nsx-default (runtime and engine), allowed unconfined',
    async () => {
      const { code, out } = await boot(SCRIPT);
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
