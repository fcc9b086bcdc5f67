// AppArmor for containers, as Docker does it (moby profiles/apparmor, runc libcontainer/apparmor):
// a profile `nsx-default`, equivalent to Docker's `docker-default`, loaded into the kernel with
// apparmor_parser(8) when missing, and applied to the container's command by writing
// "exec PROFILE" to the process's attr file just before execve: the kernel switches the profile at
// the exec (Documentation/admin-guide/LSM/apparmor.rst; apparmor(7); runc's ApplyProfile).
// Mandatory access control: the rules hold even for root with every capability.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { NsxError } from '../errors.js';

export const DEFAULT_PROFILE = 'nsx-default';

/** The default profile's text. Each rule is Docker's docker-default's, with why:
 *  - network, capability, file, umount: allowed (the other walls — capabilities, seccomp, the
 *    namespaces — are what limit them);
 *  - signals: received from unconfined (host) processes, exchanged within the profile;
 *  - writes to /proc outside a process's own /proc/PID and /proc/sys/kernel/shm*, sysrq-trigger
 *    and kcore, mount, and writes under /sys other than /sys/fs/cgroup: denied;
 *  - ptrace only among the container's own processes (so ps inside works without denials). */
export function defaultProfileText(name = DEFAULT_PROFILE): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new NsxError(`AppArmor profile name ${name}: not a plain name`);
  return `#include <tunables/global>

profile ${name} flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>

  network,
  capability,
  file,
  umount,

  # Host (unconfined) processes may signal the container's; its processes signal each other.
  signal (receive) peer=unconfined,
  signal (send,receive) peer=${name},

  # Writes to files directly in /proc, and outside /proc/<pid>/** and /proc/sys/** (sysrq, kcore...).
  deny @{PROC}/* w,
  deny @{PROC}/{[^1-9],[^1-9][^0-9],[^1-9s][^0-9y][^0-9s],[^1-9][^0-9][^0-9][^0-9/]*}/** w,
  # /proc/sys: only /proc/sys/kernel/shm* stays writable (IPC namespace settings).
  deny @{PROC}/sys/[^k]** w,
  deny @{PROC}/sys/kernel/{?,??,[^s][^h][^m]**} w,
  deny @{PROC}/sysrq-trigger rwklx,
  deny @{PROC}/kcore rwklx,

  deny mount,

  # /sys: nothing but /sys/fs/cgroup may be written; firmware and securityfs not even read.
  deny /sys/[^f]*/** wklx,
  deny /sys/f[^s]*/** wklx,
  deny /sys/fs/[^c]*/** wklx,
  deny /sys/fs/c[^g]*/** wklx,
  deny /sys/fs/cg[^r]*/** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/kernel/security/** rwklx,

  # ps inside the container reads its own processes without denials.
  ptrace (trace,read,tracedby,readby) peer=${name},
}
`;
}

/** AppArmor is enabled when its module parameter says so (apparmor.rst). */
export function apparmorEnabled(read: (p: string) => string | undefined = readText): boolean {
  return read('/sys/module/apparmor/parameters/enabled')?.trim() === 'Y';
}

/** The profiles loaded in the kernel, from securityfs (`NAME (MODE)` per line), or undefined when
 *  securityfs is not mounted. */
export function loadedProfiles(read: (p: string) => string | undefined = readText): string[] | undefined {
  const text = read('/sys/kernel/security/apparmor/profiles');
  return text
    ?.split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/ \([a-z]+\)$/, ''));
}

/** Where a process asks for a profile at its next exec: the AppArmor-specific file since Linux 5.8
 *  (LSM stacking), else the shared one (proc(5), /proc/PID/attr). As the container sees it: written
 *  by PID 1 itself, after pivot_root, in its own /proc. */
export function execAttrPath(exists: (p: string) => boolean = existsSync): string {
  return exists('/proc/self/attr/apparmor/exec') ? '/proc/self/attr/apparmor/exec' : '/proc/self/attr/exec';
}

/** Loads (or replaces) a profile with apparmor_parser, as dockerd does for docker-default. */
export function loadProfile(text: string, run = spawnSync): void {
  const r = run('apparmor_parser', ['--replace', '--skip-cache'], { input: text, encoding: 'utf8', timeout: 30000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : String(r.stderr ?? '').trim() || `exit ${r.status}`;
    throw new NsxError(`apparmor_parser could not load the profile: ${why}`, {
      hint: "install Debian's apparmor package (apparmor_parser), or run with --security-opt apparmor=unconfined",
    });
  }
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}
