// The system calls nsx's own runtime still makes after it installs a container's seccomp filter,
// and the check that a profile lets them through. The filter is loaded by the shim's worker just
// before exec (src/runtime/steps: seccomp is last but exec), so from then on the worker itself runs
// under it: it reads its next instruction (read), answers the runtime (write), changes directory
// to the working directory (chdir) and executes the command (execve); exit_group ends it if exec
// fails. read, write and exit_group must be allowed: without them the worker cannot even report a
// failure. chdir and execve may fail with an errno (the exec step then reports it, as runc does:
// "operation not permitted", 126), but a profile that kills or traps on them would kill the worker
// mid-start. Either way such a profile can never start a container: refuse it before anything is
// created, with the syscalls named, instead of a shim that dies mid-start.
// runc has the same constraint and loads the filter as late as it can (libcontainer/standard_init_linux.go).
import { NsxError } from '../errors.js';
import {
  describeAction,
  runFilter,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_LOG,
} from './bpf.js';
import { AUDIT_ARCH, syscallNumber, type SeccompArch } from './syscalls.js';

export const RUNTIME_SYSCALLS_AFTER_FILTER = ['read', 'write', 'chdir', 'execve', 'exit_group'] as const;
/** Those the exec step may see fail with an errno and report like any failed step. */
const MAY_FAIL_WITH_ERRNO: readonly string[] = ['chdir', 'execve'];

/** The runtime's syscalls that `filter` would stop the worker at, with what it does to each instead. */
export function blockedRuntimeSyscalls(filter: Buffer, arch: SeccompArch): { name: string; action: string }[] {
  const blocked: { name: string; action: string }[] = [];
  for (const name of RUNTIME_SYSCALLS_AFTER_FILTER) {
    const nr = syscallNumber(arch, name);
    if (nr === undefined) continue; // not a syscall of this architecture
    const ret = runFilter(filter, { nr, arch: AUDIT_ARCH[arch] }) >>> 0;
    const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
    if (action === SECCOMP_RET_ALLOW || action === SECCOMP_RET_LOG) continue;
    if (action === SECCOMP_RET_ERRNO && MAY_FAIL_WITH_ERRNO.includes(name)) continue;
    blocked.push({ name, action: describeAction(ret) });
  }
  return blocked;
}

/** Throws when the filter compiled from `source` would stop the runtime from starting the command. */
export function assertRuntimeCanStart(filter: Buffer, arch: SeccompArch, source: string): void {
  const blocked = blockedRuntimeSyscalls(filter, arch);
  if (!blocked.length) return;
  const list = blocked.map((b) => `${b.name} (${b.action})`).join(', ');
  throw new NsxError(
    `seccomp profile ${source}: it blocks ${list}, which the runtime needs after installing the filter`,
    {
      hint:
        `the container's command could never start: allow ${blocked.map((b) => b.name).join(', ')} in the profile ` +
        "(Docker's default profile allows them), or use --security-opt seccomp=unconfined",
    },
  );
}
