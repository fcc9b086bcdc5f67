// lsm: a Linux Security Module confines the command whatever its user and capabilities (mandatory
// access control). nsx drives AppArmor, as Docker does: the profile nsx-default (Docker's
// docker-default, src/runtime/lsm/apparmor.ts), loaded with apparmor_parser(8) when the kernel lacks
// it, and asked for by writing "exec PROFILE" to the process's attr file: the kernel switches to it at
// the next execve(2), the command's (Documentation/admin-guide/LSM/apparmor.rst; proc(5),
// /proc/PID/attr; runc's libcontainer/apparmor ApplyProfile).
import { shim, type Action } from '../actions.js';
import { NsxError } from '../errors.js';
import { DEFAULT_PROFILE } from '../lsm/apparmor.js';
import type { Step } from './step.js';

export const lsm: Step<'lsm'> = {
  id: 'lsm',
  title: 'Confine the command with an AppArmor profile',
  syscalls: ['write("/proc/self/attr/apparmor/exec", "exec nsx-default")'],
  shell: 'apparmor_parser -r PROFILE_FILE; aa-exec -p nsx-default -- COMMAND',
  manPage: 'apparmor(7)',
  why:
    'AppArmor checks every file access, mount, signal and ptrace against the profile, even for root with every ' +
    'capability: a second wall behind the others. Written here, in the container after pivot_root, it takes ' +
    "effect at the command's execve, so the runtime's own remaining steps are not confined.",

  build(spec, host) {
    const profile = spec.process.apparmorProfile;
    if (!profile) {
      return {
        skip: spec.linux.devices
          ? 'apparmor=unconfined: the command runs without an AppArmor profile'
          : '--privileged: no AppArmor profile, as Docker (unconfined)',
      };
    }
    const named = profile !== DEFAULT_PROFILE;
    if (!host.apparmor) {
      return {
        skip: 'AppArmor is not enabled on this machine (/sys/module/apparmor/parameters/enabled is not Y): no profile',
        notes: named ? [`the profile ${profile} (--security-opt apparmor=${profile}) is not applied: no AppArmor`] : [],
      };
    }
    if (!host.root) {
      // Loading a profile needs CAP_MAC_ADMIN in the initial user namespace (apparmor_parser(8));
      // rootless Docker does not support AppArmor either (docs.docker.com, rootless "Known limitations").
      return { skip: 'running without root: nsx applies no AppArmor profile, as rootless Docker' };
    }
    const loaded = host.apparmor.profiles;
    if (named && loaded && !loaded.includes(profile)) {
      throw new NsxError(`AppArmor profile ${profile} is not loaded in the kernel`, {
        hint:
          `load it first: sudo apparmor_parser -r /etc/apparmor.d/${profile} (the file that defines it); ` +
          'sudo aa-status lists the loaded profiles',
      });
    }
    const actions: Action[] = [];
    const notes: string[] = [];
    if (!named && !loaded?.includes(profile)) {
      actions.push({ kind: 'host', op: 'apparmor-load', profile });
      notes.push(`${profile} is not loaded yet: nsx generates it and loads it with apparmor_parser --replace`);
    }
    const attr = host.apparmor.execAttr;
    actions.push(shim({ op: 'write', path: attr, text: `exec ${profile}` }));
    notes.push(`the command runs under ${profile}: see it in /proc/PID/attr/current ("${profile} (enforce)")`);
    return { actions, notes, syscalls: [`write("${attr}", "exec ${profile}")`] };
  },

  hint(f, spec) {
    const p = spec.process.apparmorProfile;
    if (f.errnoName === 'ENOENT' && f.syscall === 'open')
      return 'this kernel has no AppArmor attr file under /proc/self/attr (proc(5)): is AppArmor enabled? run `nsx doctor`';
    if (f.errnoName === 'ENOENT')
      return `the kernel has no AppArmor profile named ${p}: load it with apparmor_parser -r, or run with --security-opt apparmor=unconfined`;
    if (f.errnoName === 'EACCES' || f.errnoName === 'EPERM')
      return `AppArmor refused the change to ${p}: a confined process may change only to the profiles its own allows (apparmor.rst)`;
    return undefined;
  },
};
