// namespaces: each namespace gives its processes their own copy of one global resource — hostname
// (UTS), IPC objects, network stack, mount table, cgroup root, clocks (namespaces(7), unshare(2)).
import { shim } from '../actions.js';
import type { ContainerSpec, NamespaceType } from '../spec.js';
import { asRoot, CLONE, has } from './common.js';
import type { FailureFacts, Step } from './step.js';

const NS_FLAG: Record<Exclude<NamespaceType, 'user' | 'pid'>, [number, string]> = {
  uts: [CLONE.NEWUTS, 'CLONE_NEWUTS'],
  ipc: [CLONE.NEWIPC, 'CLONE_NEWIPC'],
  network: [CLONE.NEWNET, 'CLONE_NEWNET'],
  mount: [CLONE.NEWNS, 'CLONE_NEWNS'],
  cgroup: [CLONE.NEWCGROUP, 'CLONE_NEWCGROUP'],
  time: [CLONE.NEWTIME, 'CLONE_NEWTIME'],
};

/** Why creating (or entering) a namespace failed; the fork step fails the same ways. */
export function namespaceHint(f: FailureFacts, _spec: ContainerSpec): string | undefined {
  const e = f.errnoName;
  if (f.detail?.endsWith('/timens_offsets')) {
    if (e === 'ERANGE')
      return 'time_namespaces(7): an offset may not make the clock negative inside the namespace, nor push it past about 146 years';
    if (e === 'EACCES')
      return 'time_namespaces(7): the offsets can be written only before the first process enters the time namespace';
    if (e === 'EPERM')
      return 'writing timens_offsets needs CAP_SYS_TIME in the user namespace that owns the time namespace';
    return undefined;
  }
  if (e === 'EPERM') return `creating namespaces needs CAP_SYS_ADMIN: ${asRoot}`;
  if (e === 'EINVAL' && f.detail && Number(f.detail) & 0x80)
    return 'this kernel has no time namespaces (CONFIG_TIME_NS, Linux 5.6+): leave out the time namespace';
  if (e === 'EINVAL') return 'this kernel lacks one of the namespace types asked for: run `nsx doctor`';
  return undefined;
}

export const namespaces: Step<'namespaces'> = {
  id: 'namespaces',
  title: 'Create the other namespaces',
  syscalls: ['unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWTIME)'],
  shell: 'unshare --uts --ipc --net --mount --cgroup --time',
  manPage: 'namespaces(7)',
  why: 'Each namespace gives the process its own copy of one kind of global resource. unshare(2) moves the caller into the new UTS, IPC, network, mount and cgroup namespaces at once; a new time namespace does not take the caller in: its children are created in it (time_namespaces(7)), and since Linux 6.2 so is the caller itself when it calls execve.',
  needsCap: 'CAP_SYS_ADMIN',

  build(spec) {
    const chosen = (Object.keys(NS_FLAG) as (keyof typeof NS_FLAG)[]).filter((t) => has(spec, t));
    if (!chosen.length) return { skip: 'no namespaces besides the PID namespace were asked for' };
    const flags = chosen.reduce((f, t) => f | NS_FLAG[t][0], 0);
    // A new time namespace's clocks can be offset only until its first process enters it, which the
    // fork does (time_namespaces(7)); the process that made it writes its /proc/PID/timens_offsets.
    // The shim must not execve before that fork: since Linux 6.2 execve moves the caller in too.
    const offsets = has(spec, 'time') ? Object.entries(spec.linux.timeOffsets ?? {}) : [];
    const offsetText = offsets.map(([clock, o]) => `${clock} ${o.secs} ${o.nanosecs ?? 0}\n`).join('');
    return {
      syscalls: [
        `unshare(${chosen.map((t) => NS_FLAG[t][1]).join(' | ')})`,
        ...(offsets.length ? [`write("/proc/self/timens_offsets", "${offsetText.replace(/\n/g, '\\n')}")`] : []),
      ],
      shell: `unshare ${chosen.map((t) => `--${t === 'network' ? 'net' : t}`).join(' ')}${offsets.map(([clock, o]) => ` --${clock} ${o.secs}`).join('')}`,
      actions: [
        shim({ op: 'unshare', flags }),
        ...(offsets.length ? [shim({ op: 'write', path: '/proc/self/timens_offsets', text: offsetText })] : []),
      ],
    };
  },

  hint: namespaceHint,
};
