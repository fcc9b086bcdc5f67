// seccomp: a BPF program the kernel runs on every system call of the process and its children,
// deciding to allow it, fail it with an errno, kill, trap or log (seccomp(2)). Compiled in
// TypeScript from the profile (src/runtime/seccomp/), loaded last before exec.
import { NsxError } from '../errors.js';
import { shim, type Action } from '../actions.js';
import { finalCaps, needsAdminForSeccomp } from './common.js';
import type { Step } from './step.js';

export const seccomp: Step<'seccomp'> = {
  id: 'seccomp',
  title: 'Install the seccomp filter',
  syscalls: ['seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)'],
  shell:
    'setpriv --seccomp-filter FILE (newer util-linux; compiled BPF); docker run --security-opt seccomp=profile.json',
  manPage: 'seccomp(2)',
  why: 'A BPF program the kernel runs on every system call of this process and the children it creates, returning an action: allow, fail with an errno, kill, trap (SIGSYS), log or notify a tracer.',

  build(spec, host) {
    const sc = spec.linux.seccomp;
    if (!sc) return { skip: 'seccomp=unconfined: no filter' };
    if (!host.compileSeccomp)
      throw new NsxError('no seccomp compiler for this host', {
        hint: 'seccomp profiles compile for x86_64 and aarch64',
      });
    const filter = host.compileSeccomp(sc.profile, sc.source, spec.process.capabilities);
    const actions: Action[] = [shim({ op: 'seccomp', flags: 0, filter: filter.toString('hex') })];
    if (needsAdminForSeccomp(spec)) {
      // The filter is in: CAP_SYS_ADMIN, kept for it by the capabilities step, goes now.
      const final = finalCaps(spec, host);
      actions.push(shim({ op: 'capset', effective: final, permitted: final, inheritable: [] }));
    }
    return { actions, notes: [`${filter.length / 8} BPF instructions compiled from ${sc.source}`] };
  },

  hint(f) {
    const e = f.errnoName;
    if (e === 'EACCES')
      return 'seccomp(2): without no_new_privs, installing a filter needs CAP_SYS_ADMIN; add --security-opt no-new-privileges';
    if (e === 'EINVAL')
      return 'seccomp(2) EINVAL: this kernel may lack CONFIG_SECCOMP_FILTER (run `nsx doctor`), or the program exceeds 4096 instructions; otherwise please report this profile as a bug in namespace-explorer';
    return undefined;
  },
};
