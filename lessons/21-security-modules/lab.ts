// What the security-modules lesson brings to the machine: its two small tools (built beside the shim
// by scripts/build-shim.mjs) and the lab's AppArmor profile, nsx-lab: nsx-default with one more rule,
// so that one write the default allows is denied (apparmor.d(5): a deny rule wins over an allow).
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { DEFAULT_PROFILE, defaultProfileText } from '../../src/runtime/lsm/apparmor.js';

/** nsx-landlock: `-w DIR... -- COMMAND`, everything read-only but beneath each DIR (shim/nsx-landlock.c). */
export const landlockTool = (): string => join(packageRoot(), 'shim', 'nsx-landlock');

/** nsx-tryas: `PID PATH`, a mkdir made as process PID (ptrace(2)), for the check (shim/nsx-tryas.c). */
export const tryasTool = (): string => join(packageRoot(), 'shim', 'nsx-tryas');

export const LAB_PROFILE = 'nsx-lab';

/** The lab profile as a file for apparmor_parser, kept in this folder (test/lessons/security-modules
 *  checks that it is labProfileText()): loading it makes nothing on the host but the kernel's policy. */
export const labProfileFile = (): string => join(packageRoot(), 'lessons', '21-security-modules', 'nsx-lab.apparmor');

/** The rule nsx-lab adds to nsx-default: no writing under /tmp (w: write, create, delete). audit:
 *  apparmor.d(5), a deny rule's requests are "denied without logging" unless combined with audit, and
 *  the lesson shows the kernel's apparmor="DENIED" line (without it, none came, under Debian's 6.1). */
export const LAB_RULE = '  audit deny /tmp/** w,';

/** nsx-lab's text: nsx-default's, renamed, with LAB_RULE before its closing brace. */
export function labProfileText(): string {
  const base = defaultProfileText(LAB_PROFILE);
  const end = base.lastIndexOf('}');
  return `${base.slice(0, end)}\n  # The lab's own rule: the write the lesson shows denied.\n${LAB_RULE}\n${base.slice(end)}`;
}

/** Is AppArmor enabled (as the runtime's lsm step asks)? Shell, for the demos: the module parameter. */
export const APPARMOR_ON = '[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]';
export const APPARMOR_OFF_WHY =
  'AppArmor is not enabled on this machine (/sys/module/apparmor/parameters/enabled is not Y): nothing to show here';

export { DEFAULT_PROFILE };
