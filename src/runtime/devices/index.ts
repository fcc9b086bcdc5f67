// The device cgroup for nsx: which device nodes a container may make and open (rules.ts), the cgroup
// v2 eBPF program they compile to (ebpf.ts), and applying them to a container's cgroup (apply.ts).
//
//   v1Writes(DEFAULT_DEVICE_RULES)              [['devices.deny', 'a'], ['devices.allow', 'c *:* m'], ...]
//   disassemble(compileDeviceRules(rules))      '  0: r2 = *(u32 *)(r1 +0)', ...
//   runDeviceProgram(prog, { type: 'b', major: 8, minor: 0, access: 'r' }).allow    false
//   walkthrough(prog, request).lines            one line per instruction the request ran through
export * from './apply.js';
export * from './ebpf.js';
export * from './rules.js';
