// Applying device rules to a container's cgroup: v1 by writing files (nsx does it itself, as root on
// the host), v2 by the shim's cgroup_device_filter instruction (Node cannot call bpf(2)).
//
//   v1 (a "devices" controller is mounted, also on a hybrid host, as runc does there):
//     writeV1DeviceRules('/sys/fs/cgroup/devices/nsx/<id>', DEFAULT_DEVICE_RULES)
//   v2 (the unified hierarchy only): in the shim's worker, before unshare(CLONE_NEWUSER), because
//   bpf(2) needs CAP_BPF or CAP_SYS_ADMIN in the host's user namespace:
//     await shim.call(deviceFilterOp('/sys/fs/cgroup/nsx/<id>', DEFAULT_DEVICE_RULES));   // replies its length
// Either way before the container's command runs: the kernel checks at mknod(2) and open(2) time,
// so a node opened before the rules were in place stays open.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NsxError, errnoMessage, errnoName, errnoNumber } from '../errors.js';
import { compileDeviceRules, encodeProgram } from './ebpf.js';
import { v1Writes, type DeviceRule } from './rules.js';
import type { ShimOp } from '../shim-ops.js';

/** The shim's instruction (shim/nsx-shim.c "cgroup_device_filter", a ShimOp): the cgroup2 directory
 *  and the compiled program as hex of struct bpf_insn[]. */
export type DeviceFilterOp = Extract<ShimOp, { op: 'cgroup_device_filter' }>;

export function deviceFilterOp(dir: string, rules: readonly DeviceRule[]): DeviceFilterOp {
  return { op: 'cgroup_device_filter', dir, program: encodeProgram(compileDeviceRules(rules)).toString('hex') };
}

/** Writes the rules to a v1 devices cgroup (devices.deny / devices.allow, one line per write(2), in
 *  order: see v1Writes). The cgroup must exist and have no children yet. */
export function writeV1DeviceRules(dir: string, rules: readonly DeviceRule[]): void {
  for (const [file, line] of v1Writes(rules)) {
    const path = join(dir, file);
    try {
      writeFileSync(path, line);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      const errno = errnoNumber(code);
      throw new NsxError(`write ${path} "${line}": ${errno === undefined ? code : errnoMessage(errno)}`, {
        syscall: 'write',
        errno,
        detail: path,
        hint: v1Hint(code),
      });
    }
  }
}

function v1Hint(code: string): string {
  if (code === 'ENOENT') return 'no such cgroup or no devices controller there: is the v1 "devices" hierarchy mounted?';
  if (code === 'EINVAL') return 'the kernel will not change the default ("a") of a cgroup with children (devices.rst)';
  if (code === 'EPERM') return 'a cgroup cannot allow what its parent denies; writing needs CAP_SYS_ADMIN';
  return 'see Documentation/admin-guide/cgroup-v1/devices.rst';
}

/** A hint for a failed cgroup_device_filter, from what the shim names: syscall "open" or "bpf",
 *  detail "BPF_PROG_LOAD" or "BPF_PROG_ATTACH <dir>", and the errno. */
export function deviceFilterHint(failure: { syscall: string; detail: string; errno: number }): string | undefined {
  const name = errnoName(failure.errno);
  if (failure.syscall === 'open') return "the cgroup directory is missing: create the container's cgroup first";
  if (failure.syscall !== 'bpf') return undefined;
  if (name === 'EPERM') {
    return (
      "bpf(2) needs CAP_BPF or CAP_SYS_ADMIN in the host's user namespace: run it as root, before " +
      'unshare(CLONE_NEWUSER) (a rootless container gets no device filter)'
    );
  }
  if (name === 'EACCES' || name === 'EINVAL') {
    return failure.detail.startsWith('BPF_PROG_LOAD')
      ? "the kernel verifier refused the program: a bug in nsx's compiler (src/runtime/devices/ebpf.ts)"
      : 'is the directory on the cgroup2 filesystem? BPF_CGROUP_DEVICE attaches to v2 cgroups only';
  }
  return undefined;
}
