// The shim's instructions as types: one kernel operation each, with named fields, and ONE encoder to
// the wire fields shim/nsx-shim.c's run() reads (its `strcmp(op, …)` chain; test/unit/shim-ops.test.ts
// checks that both sides know the same operations). The wire: the op's name, then its arguments as
// decimal or text, NUL-separated (see the comment at the top of nsx-shim.c).
import { capNumber, capsToMask, type CapabilityName } from './capabilities.js';

export type ShimOp =
  /** unshare(2) with CLONE_NEW* flags. */
  | { op: 'unshare'; flags: number }
  /** fork(2): the worker replies with the child's host PID and exits; the child is PID 1. */
  | { op: 'fork' }
  /** mount(2); empty strings are passed as NULL. */
  | { op: 'mount'; source: string; target: string; fstype: string; flags: number; data: string }
  /** mkdir -p with this mode. */
  | { op: 'mkdir'; path: string; mode: number }
  /** open(O_CREAT): an empty file to bind a device node onto. */
  | { op: 'touch'; path: string }
  /** symlink(2): `path` becomes a link to `target` (an existing link is fine). */
  | { op: 'symlink'; target: string; path: string }
  /** open(2) and write(2) of the whole text to an existing file. */
  | { op: 'write'; path: string; text: string }
  /** chdir(root), pivot_root(".", "."), umount2(".", MNT_DETACH), chdir("/"). */
  | { op: 'pivot_root'; root: string }
  /** chdir(root), chroot("."), chdir("/"). */
  | { op: 'chroot'; root: string }
  | { op: 'chdir'; path: string }
  | { op: 'sethostname'; name: string }
  | { op: 'setdomainname'; name: string }
  /** ioctl(SIOCSIFFLAGS) on "lo" with IFF_UP. */
  | { op: 'loopback_up' }
  /** prctl(PR_SET_NO_NEW_PRIVS, 1). */
  | { op: 'no_new_privs' }
  /** prctl(PR_SET_KEEPCAPS, on). */
  | { op: 'keep_caps'; on: boolean }
  /** prctl(PR_CAPBSET_DROP, cap) for each. */
  | { op: 'bset_drop'; caps: CapabilityName[] }
  /** capset(2): the three sets of the calling thread. */
  | { op: 'capset'; effective: CapabilityName[]; permitted: CapabilityName[]; inheritable: CapabilityName[] }
  | { op: 'setgroups'; gids: number[] }
  | { op: 'setresgid'; gid: number }
  | { op: 'setresuid'; uid: number }
  /** seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): the program as hex of struct sock_filter[] in
   *  host byte order (hex, not a Buffer, so that a plan survives JSON on its way to the engine). */
  | { op: 'seccomp'; flags: number; filter: string }
  /** bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program (hex of struct bpf_insn[]), then
   *  bpf(BPF_PROG_ATTACH) to the cgroup2 directory (cgroup-v2.rst, "Device controller"). */
  | { op: 'cgroup_device_filter'; dir: string; program: string }
  /** What the process sees from inside (pid, ppid, uid, gid, hostname, domainname, cwd, links). */
  | { op: 'observe' }
  /** Open a pty from this devpts's ptmx; it becomes stdio and controlling terminal, its master goes
   *  to the supervisor (pts(4)). */
  | { op: 'console'; ptmx: string }
  /** setns(2) into every namespace of a running process, then chroot to its root (docker exec). */
  | { op: 'setns'; pid: number }
  /** execve(2); answered only by EOF (close-on-exec) or by an error. */
  | { op: 'exec'; argv: string[]; env: string[] };

export type ShimOpName = ShimOp['op'];
type Fields<K extends ShimOpName> = (o: Extract<ShimOp, { op: K }>) => (string | number | bigint)[];

/** Each op's arguments on the wire, in the order nsx-shim.c reads them (f[1], f[2], …). */
const ARGS: { [K in ShimOpName]: Fields<K> } = {
  unshare: (o) => [o.flags],
  fork: () => [],
  mount: (o) => [o.source, o.target, o.fstype, o.flags, o.data],
  mkdir: (o) => [o.path, o.mode],
  touch: (o) => [o.path],
  symlink: (o) => [o.target, o.path],
  write: (o) => [o.path, o.text],
  pivot_root: (o) => [o.root],
  chroot: (o) => [o.root],
  chdir: (o) => [o.path],
  sethostname: (o) => [o.name],
  setdomainname: (o) => [o.name],
  loopback_up: () => [],
  no_new_privs: () => [],
  keep_caps: (o) => [o.on ? 1 : 0],
  bset_drop: (o) => o.caps.map(capNumber),
  capset: (o) => [capsToMask(o.effective), capsToMask(o.permitted), capsToMask(o.inheritable)],
  setgroups: (o) => o.gids,
  setresgid: (o) => [o.gid],
  setresuid: (o) => [o.uid],
  seccomp: (o) => [o.flags, o.filter],
  cgroup_device_filter: (o) => [o.dir, o.program],
  observe: () => [],
  console: (o) => [o.ptmx],
  setns: (o) => [o.pid],
  // argc first: the shim splits argv from the environment by it.
  exec: (o) => [o.argv.length, ...o.argv, ...o.env],
};

/** Every op the TypeScript side can send (for the test against the C dispatch). */
export const SHIM_OP_NAMES = Object.keys(ARGS) as ShimOpName[];

/** The one encoder: an op as the fields of its wire message. */
export function encodeShimOp(o: ShimOp): string[] {
  const args = (ARGS[o.op] as (o: ShimOp) => (string | number | bigint)[])(o);
  return [o.op, ...args.map(String)];
}
