// devices: the device cgroup decides which device nodes the container's processes may create
// (mknod) and open, whatever their capabilities and file modes (the kernel's Documentation/
// admin-guide/cgroup-v1/devices.rst; cgroup-v2.rst "Device controller": an eBPF program on v2).
import { formatRule } from '../devices/rules.js';
import { compileDeviceRules, deviceFilterHint } from '../devices/index.js';
import { errnoNumber } from '../errors.js';
import type { Step } from './step.js';

export const devices: Step<'devices'> = {
  id: 'devices',
  title: 'Allow only the devices a container needs',
  syscalls: ['write("devices.deny", "a")', 'write("devices.allow", "c 1:3 rwm")', 'write("cgroup.procs", pid)'],
  shell: 'echo a > /sys/fs/cgroup/devices/nsx/<id>/devices.deny && echo "c 1:3 rwm" > …/devices.allow',
  manPage: 'cgroups(7)',
  why:
    'CAP_MKNOD lets the container make any device node, and a node is only a major and minor number: without ' +
    "this wall a container could make /dev/sda or /dev/kmsg and use the host's disk or kernel log. Docker's rules " +
    'deny every device, then allow mknod of any (so image builds still work) and read/write/mknod of the ' +
    "nodes its /dev holds (Documentation/admin-guide/cgroup-v1/devices.rst). First after the cgroup: it is one of the cgroup's controllers.",

  build(spec, host) {
    const rules = spec.linux.devices;
    if (!rules) return { skip: '--privileged: every device is allowed, as Docker does' };
    if (!host.root) {
      return {
        skip:
          'running without root: nsx sets no device cgroup, and inside a user namespace the kernel refuses ' +
          'mknod of devices anyway (user_namespaces(7))',
      };
    }
    if (!host.deviceCgroup) return { skip: 'no cgroup filesystem with a device controller on this machine' };
    const lines = rules.map((r) => `${r.allow ? 'allow' : 'deny'} ${formatRule(r)}`);
    if (host.deviceCgroup === 'v1') {
      return {
        actions: [{ kind: 'host', op: 'devices', via: 'v1', rules }],
        notes: [`cgroup v1 devices controller, the last matching rule wins: ${lines.join('; ')}`],
      };
    }
    const length = compileDeviceRules(rules).length;
    return {
      actions: [{ kind: 'host', op: 'devices', via: 'bpf', rules }],
      syscalls: [
        'bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, …)',
        'bpf(BPF_PROG_ATTACH, cgroup, BPF_CGROUP_DEVICE)',
      ],
      shell: '(no standard tool: bpftool cgroup attach CGROUP device PROGRAM)',
      manPage: 'bpf(2)',
      why:
        'cgroup v2 has no device files: the rules become an eBPF program the kernel runs at every mknod and open of ' +
        'a device node in the cgroup, returning allow or deny (cgroup-v2.rst, "Device controller"). ' +
        devices.why.split(': without')[0] +
        '.',
      notes: [`an eBPF program of ${length} instructions, compiled from: ${lines.join('; ')}`],
    };
  },

  hint: (f) =>
    deviceFilterHint({ syscall: f.syscall, detail: f.detail ?? '', errno: errnoNumber(f.errnoName) ?? 0 }) ??
    (f.errnoName === 'EINVAL'
      ? 'the kernel refused a devices.allow/deny line: see devices.rst for the syntax'
      : undefined),
};
