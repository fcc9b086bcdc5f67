// What a step does, as data: shim instructions (run inside the container's process, see
// shim-ops.ts) and host actions (run by nsx itself, in runtime.ts). A plan's actions are the whole
// truth of what will happen: a lesson shows them, the engine receives them as JSON.
import type { DeviceRule } from './devices/rules.js';
import type { ShimOp } from './shim-ops.js';

/** The limits the cgroup step writes (cgroups(7), the kernel's Documentation/admin-guide/cgroup-v2.rst):
 *  memory.max, pids.max, and cpu.max as "QUOTA PERIOD". Absent: no limit. */
export type { CgroupLimits } from './cgroups/index.js';
import type { CgroupLimits } from './cgroups/index.js';

export type ShimAction = { kind: 'shim' } & ShimOp;

export type HostAction =
  /** Create the container's cgroup with these limits and move the shim into it. */
  | { kind: 'host'; op: 'cgroup'; limits: CgroupLimits }
  /** The device cgroup: v1's devices.deny/devices.allow in a devices cgroup of the container's own,
   *  or an eBPF program attached to its cgroup2 directory (by the shim: Node cannot call bpf(2)). */
  | { kind: 'host'; op: 'devices'; via: 'v1' | 'bpf'; rules: DeviceRule[] }
  /** Load the generated AppArmor profile (nsx-default) into the kernel with apparmor_parser(8). */
  | { kind: 'host'; op: 'apparmor-load'; profile: string }
  /** docker exec: move the shim into the running container's cgroup. */
  | { kind: 'host'; op: 'cgroup-join'; id: string }
  /** Write /proc/PID/uid_map, setgroups (when 'deny') and gid_map, in that order (user_namespaces(7)). */
  | { kind: 'host'; op: 'id-maps'; uidMap: string; gidMap: string; setgroups: 'allow' | 'deny' }
  /** A veth pair: one end in the host, eth0 in the container's network namespace (veth(4)). */
  | { kind: 'host'; op: 'veth' };

export type Action = ShimAction | HostAction;

/** A shim instruction as a step's action. */
export const shim = (op: ShimOp): ShimAction => ({ kind: 'shim', ...op });
