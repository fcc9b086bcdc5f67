// userns: a user namespace maps user and group ids, and owns every other namespace created while the
// process is in it; root inside has capabilities only over what the namespace owns (user_namespaces(7)).
import { NsxError } from '../errors.js';
import { shim } from '../actions.js';
import type { IdMapping } from '../spec.js';
import { CLONE, has } from './common.js';
import type { Step } from './step.js';

/** /proc/PID/uid_map's format: "INSIDE OUTSIDE COUNT" per line (user_namespaces(7)). */
function mapText(maps: IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

export const userns: Step<'userns'> = {
  id: 'userns',
  title: 'Create the user namespace and write its uid/gid maps',
  syscalls: [
    'unshare(CLONE_NEWUSER)',
    'write("/proc/<pid>/uid_map")',
    'write("/proc/<pid>/setgroups", "deny") (a normal user only)',
    'write("/proc/<pid>/gid_map")',
    'setresuid(0, 0, 0)',
  ],
  shell: 'unshare --user --map-root-user',
  manPage: 'user_namespaces(7)',
  why: 'The user namespace comes first because it owns every namespace created after it; the maps say which outside ids the inside ids really are.',

  build(spec, host) {
    if (!has(spec, 'user')) return { skip: 'no user namespace (--userns host): root inside is root outside' };
    if (!spec.linux.uidMappings?.length || !spec.linux.gidMappings?.length)
      throw new NsxError('the user namespace needs uid and gid mappings', {
        hint: 'set linux.uidMappings and linux.gidMappings',
      });
    return {
      actions: [
        shim({ op: 'unshare', flags: CLONE.NEWUSER }),
        // An unprivileged writer may map only its own gid, and only after denying setgroups (user_namespaces(7)).
        {
          kind: 'host',
          op: 'id-maps',
          uidMap: mapText(spec.linux.uidMappings),
          gidMap: mapText(spec.linux.gidMappings),
          setgroups: host.root ? 'allow' : 'deny',
        },
        // Become the namespace's root right away: if nsx runs as root with a non-identity map, its uid
        // is unmapped here, and the kernel refuses (EOVERFLOW) to create files on filesystems mounted
        // inside this namespace, like the /dev tmpfs. runc's nsexec does the same.
        shim({ op: 'setresgid', gid: 0 }),
        shim({ op: 'setresuid', uid: 0 }),
      ],
    };
  },

  hint(f) {
    const e = f.errnoName;
    if (e === 'ENOSPC' || e === 'EUSERS')
      return 'a limit on user namespaces is reached (their number, /proc/sys/user/max_user_namespaces, or their nesting depth, 32): see unshare(2)';
    if (e === 'EPERM' || e === 'EACCES')
      return "this kernel does not let this user create user namespaces (Debian's sysctl kernel.unprivileged_userns_clone=0, or an AppArmor/LSM restriction): run `nsx doctor`; as root use --userns host";
    return undefined;
  },
};
