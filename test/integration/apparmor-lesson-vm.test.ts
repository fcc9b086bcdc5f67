// The security-modules lesson's AppArmor parts, played for real on a kernel that has AppArmor when this
// machine's own has none: scripts/kernel-vm.sh boots Debian's kernel under qemu (see
// apparmor-vm.test.ts) and the lesson runs there under --print. Its parts that need AppArmor: the
// command's label read from the host (nsx-default (enforce)), the lab profile nsx-lab loaded with
// apparmor_parser and a second container under it refused a write to /tmp with the kernel's
// apparmor="DENIED" audit line (apparmor.rst; no audit daemon in the guest, so the line is in the
// kernel log), and nsx-lab unloaded (apparmor_parser -R) when the lesson ends. One boot: minutes.
import { describe, expect } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sandboxRootfs } from '../../src/learn/sandbox.js';
import { NSX, ROOT } from '../helpers.js';
import { boot, CASE_FN, cases, itVm, release, START_ENGINE } from '../kernel-vm.js';

/** The guest's script. COLUMNS: no wrapping, so that the audit line stays on one line. The engine is
 *  started first (START_ENGINE): the lab's second container goes through it. */
const SCRIPT = `
${CASE_FN}
${START_ENGINE}
case_ lesson env COLUMNS=1000 ${process.execPath} ${NSX} lesson security-modules --print
case_ profiles grep '^nsx-' /sys/kernel/security/apparmor/profiles
`;

describe('the security-modules lesson on a kernel with AppArmor', () => {
  itVm(
    'shows nsx-default (enforce), the nsx-lab denial with apparmor="DENIED", and unloads nsx-lab',
    async () => {
      // The lessons' root filesystem, built here: the guest sees this machine's files read-only.
      sandboxRootfs();
      const { code, out } = await boot(SCRIPT, 1200);
      // All of it in test/.work (the failure shows the lab's part and the end).
      writeFileSync(join(ROOT, 'test', '.work', 'apparmor-lesson-vm.log'), out);
      const lab = out.indexOf('apparmor_parser -r');
      const context = `kernel-vm.sh exited ${code} (all of it in test/.work/apparmor-lesson-vm.log); the lab:\n${lab < 0 ? '(not reached)' : out.slice(lab, lab + 3000)}\nthe end:\n${out.slice(-2000)}`;
      expect({ up: out.includes(`kernel-vm: up ${release}`), context }).toEqual({ up: true, context });
      const c = cases(out);
      const lesson = c['lesson'] ?? '';
      const seen = {
        // The command's own view, and the host's demo reading /proc/PID/attr/current.
        commandLabel: /^ *AppArmor: nsx-default \(enforce\)$/m.test(lesson),
        hostLabel: /^ {4}nsx-default \(enforce\)$/m.test(lesson),
        labLoaded: /^ {4}nsx-lab loaded$/m.test(lesson),
        labLabel: /^ {4}nsx-lab \(enforce\)$/m.test(lesson),
        labWriteRefused: /^ {4}.*can't create \/tmp\/lab: Permission denied$/m.test(lesson),
        denied: /apparmor="DENIED".*profile="nsx-lab".*name="\/tmp\/lab"/.test(lesson),
        unload: /cleaning up, host\$ apparmor_parser -R \S*nsx-lab\.apparmor/.test(lesson),
        completed: /^exit 0$/m.test(lesson),
      };
      expect({ seen, context }).toEqual({
        seen: {
          commandLabel: true,
          hostLabel: true,
          labLoaded: true,
          labLabel: true,
          labWriteRefused: true,
          denied: true,
          unload: true,
          completed: true,
        },
        context,
      });
      // nsx-lab is gone from the kernel's policy; nsx-default stays (as nsx leaves it).
      expect(c['profiles']).toBe('nsx-default (enforce)\nexit 0\n');
      expect(out).toMatch(/^kernel-vm: exit 0$/m);
    },
    25 * 60_000,
  );
});
