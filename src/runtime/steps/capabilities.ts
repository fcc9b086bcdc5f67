// capabilities: root's privileges split into capabilities; the bounding set limits what any later
// execve(2) can gain, the effective set is what the kernel checks (capabilities(7)). Here the
// process also becomes the container's user (setresuid(2), setgroups(2)).
import { CAPABILITY_NAMES, capNumber } from '../capabilities.js';
import { shim, type Action } from '../actions.js';
import { finalCaps, knownCaps, needsAdminForSeccomp, unavailableCaps } from './common.js';
import type { Step } from './step.js';

export const capabilities: Step<'capabilities'> = {
  id: 'capabilities',
  title: 'Switch user and drop capabilities',
  syscalls: [
    'prctl(PR_CAPBSET_DROP, cap)',
    'prctl(PR_SET_KEEPCAPS, 1)',
    'setgroups()',
    'setresgid()',
    'setresuid()',
    'prctl(PR_SET_KEEPCAPS, 0)',
    'capset()',
  ],
  shell: 'setpriv --bounding-set -all,+chown,… --reuid UID --regid GID --init-groups',
  manPage: 'capabilities(7)',
  why: 'Root\'s power is split into capabilities; the effective set is what the kernel checks, and the bounding set limits what any later execve can gain because the inheritable set is emptied too: "the bounding set masks the file permitted capabilities, but not the inheritable capabilities" (capabilities(7); Docker before 20.10.14 left it full, CVE-2022-24769).',

  build(spec, host) {
    const caps = knownCaps(spec, host);
    const { uid, gid, additionalGids = [] } = spec.process.user;
    const drop = CAPABILITY_NAMES.filter(
      (c) => capNumber(c) <= host.lastCap && host.bounding.includes(c) && !caps.includes(c),
    );
    const keepAdmin = needsAdminForSeccomp(spec);
    const final = finalCaps(spec, host);
    const working = keepAdmin ? [...final, 'CAP_SYS_ADMIN' as const] : final;
    const rootless = !host.root;
    const actions: Action[] = [];
    // The bounding set first, while we still have CAP_SETPCAP (capabilities(7): PR_CAPBSET_DROP).
    if (drop.length) actions.push(shim({ op: 'bset_drop', caps: drop }));
    // Keep permitted capabilities across setresuid away from 0, then set the final sets (runc's finalizeNamespace).
    actions.push(shim({ op: 'keep_caps', on: true }));
    if (!(rootless && additionalGids.length === 0)) actions.push(shim({ op: 'setgroups', gids: additionalGids }));
    actions.push(shim({ op: 'setresgid', gid }), shim({ op: 'setresuid', uid }), shim({ op: 'keep_caps', on: false }));
    actions.push(shim({ op: 'capset', effective: working, permitted: working, inheritable: [] }));
    const notes = keepAdmin
      ? [
          'CAP_SYS_ADMIN stays in the effective set until the seccomp filter is installed: without no_new_privs, seccomp(2) requires it. The seccomp step drops it.',
        ]
      : [];
    const missing = unavailableCaps(spec, host);
    if (missing.length)
      notes.push(`not in nsx's own bounding set, so the container cannot have them either: ${missing.join(', ')}`);
    return { actions, notes };
  },

  hint(f) {
    const e = f.errnoName;
    if (f.syscall === 'setgroups' && e === 'EPERM')
      return 'setgroups is denied in a user namespace made by a normal user (user_namespaces(7)): supplementary groups need root';
    if (f.syscall.startsWith('setres') && e === 'EINVAL')
      return `uid/gid ${f.detail} has no mapping in the container's user namespace: choose a user that exists inside (see /proc/PID/uid_map)`;
    if (f.syscall === 'capset' && e === 'EPERM')
      return "capset(2) cannot grant a capability the process does not hold: is one of them outside nsx's own bounding set (grep CapBnd /proc/self/status)?";
    return e === 'EPERM'
      ? 'changing capabilities needs CAP_SETPCAP (bounding set) and CAP_SETUID/CAP_SETGID (user), which nsx holds as root'
      : undefined;
  },
};
