// Device cgroup rules (src/runtime/devices): their v1 syntax and writes, and the eBPF program they
// compile to, run by the interpreter against the reference semantics (last matching rule wins).
import { describe, expect, it } from '@jest/globals';
import { deviceFilterHint, deviceFilterOp } from '../../src/runtime/devices/apply.js';
import {
  OP,
  compileDeviceRules,
  decodeProgram,
  disassemble,
  encodeProgram,
  runDeviceProgram,
  walkthrough,
  type BpfInsn,
  type DeviceRequest,
} from '../../src/runtime/devices/ebpf.js';
import {
  DEFAULT_DEVICE_RULES,
  PRIVILEGED_DEVICE_RULES,
  decide,
  formatRule,
  v1Writes,
  type DeviceRule,
} from '../../src/runtime/devices/rules.js';

const req = (type: 'c' | 'b', major: number, minor: number, access: string): DeviceRequest => ({
  type,
  major,
  minor,
  access,
});
const allows = (rules: readonly DeviceRule[], r: DeviceRequest) => runDeviceProgram(compileDeviceRules(rules), r).allow;

describe('formatRule', () => {
  it('writes v1 syntax, * for any, access in rwm order', () => {
    expect(formatRule({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' })).toBe('c 1:3 rwm');
    expect(formatRule({ allow: true, type: 'b', access: 'm' })).toBe('b *:* m');
    expect(formatRule({ allow: true, type: 'c', major: 136, access: 'mwr' })).toBe('c 136:* rwm');
    expect(formatRule({ allow: false, type: 'a', access: 'rwm' })).toBe('a *:* rwm');
  });
  it('refuses what the kernel would', () => {
    const rx: DeviceRule = { allow: true, type: 'c', major: 1, minor: 3, access: 'rx' };
    expect(() => formatRule(rx)).toThrow(/"x" is not one of r, w, m/);
    expect(() => formatRule({ allow: true, type: 'c', major: 4096, access: 'r' })).toThrow(/major 4096/);
    expect(() => formatRule({ allow: true, type: 'a', major: 1, access: 'r' })).toThrow(/takes no major/);
    expect(() => formatRule({ allow: true, type: 'c', access: '' })).toThrow(/needs some access/);
  });
});

describe('DEFAULT_DEVICE_RULES', () => {
  it('is Docker + runc without /dev/net/tun', () => {
    expect(DEFAULT_DEVICE_RULES.map((r) => `${r.allow ? 'allow' : 'deny'} ${formatRule(r)}`)).toEqual([
      'deny a *:* rwm',
      'allow c *:* m',
      'allow b *:* m',
      'allow c 1:3 rwm',
      'allow c 1:5 rwm',
      'allow c 1:7 rwm',
      'allow c 1:8 rwm',
      'allow c 1:9 rwm',
      'allow c 5:0 rwm',
      'allow c 5:1 rwm',
      'allow c 5:2 rwm',
      'allow c 136:* rwm',
    ]);
  });
});

describe('v1Writes', () => {
  it('resets with "a" to devices.deny, then one allow per rule', () => {
    const w = v1Writes(DEFAULT_DEVICE_RULES);
    expect(w[0]).toEqual(['devices.deny', 'a']);
    expect(w.slice(1)).toEqual(DEFAULT_DEVICE_RULES.slice(1).map((r) => ['devices.allow', formatRule(r)]));
  });
  it('privileged: "a" to devices.allow', () => {
    expect(v1Writes(PRIVILEGED_DEVICE_RULES)).toEqual([['devices.allow', 'a']]);
  });
  it('allow-all then denies', () => {
    const rules: DeviceRule[] = [
      PRIVILEGED_DEVICE_RULES[0],
      { allow: false, type: 'c', major: 1, minor: 11, access: 'w' },
    ];
    expect(v1Writes(rules)).toEqual([
      ['devices.allow', 'a'],
      ['devices.deny', 'c 1:11 w'],
    ]);
  });
  it('refuses lists v1 would apply differently', () => {
    const null_: DeviceRule = { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' };
    expect(() => v1Writes([null_])).toThrow(/start with "a \*:\* rwm"/);
    expect(() => v1Writes([{ allow: false, type: 'a', access: 'm' }])).toThrow(/start with/);
    const denyW: DeviceRule = { allow: false, type: 'c', major: 1, minor: 3, access: 'w' };
    expect(() => v1Writes([...DEFAULT_DEVICE_RULES, denyW])).toThrow(
      /"c 1:3 w" cannot be applied to a v1 devices cgroup/,
    );
    expect(() => v1Writes([...DEFAULT_DEVICE_RULES, PRIVILEGED_DEVICE_RULES[0]])).toThrow(/cannot be applied/);
  });
});

describe('the compiled program, run by the interpreter', () => {
  const cases: [DeviceRequest, boolean, string][] = [
    [req('c', 1, 3, 'rw'), true, '/dev/null read+write'],
    [req('c', 1, 3, 'r'), true, '/dev/null read'],
    [req('c', 136, 5, 'rw'), true, '/dev/pts/5'],
    [req('c', 5, 2, 'rw'), true, '/dev/ptmx'],
    [req('b', 8, 0, 'm'), true, 'mknod of a disk'],
    [req('c', 1, 11, 'm'), true, 'mknod of /dev/kmsg'],
    [req('b', 8, 0, 'r'), false, 'read of a disk'],
    [req('b', 8, 0, 'rw'), false, 'read+write of a disk'],
    [req('b', 8, 0, 'mr'), false, 'mknod+read of a disk'],
    [req('c', 1, 11, 'w'), false, 'write to /dev/kmsg'],
    [req('c', 1, 11, 'r'), false, 'read of /dev/kmsg'],
    [req('c', 10, 229, 'rw'), false, '/dev/fuse'],
    [req('c', 10, 200, 'rw'), false, '/dev/net/tun: left out'],
    [req('c', 1, 4, 'r'), false, '/dev/port'],
  ];
  it.each(cases)('default rules: %j -> %s (%s)', (r, expected) => {
    expect(decide(DEFAULT_DEVICE_RULES, r.type, r.major, r.minor, r.access)).toBe(expected);
    expect(allows(DEFAULT_DEVICE_RULES, r)).toBe(expected);
  });

  it('privileged allows every device, and its program is just "return 1" after the loads', () => {
    const prog = compileDeviceRules(PRIVILEGED_DEVICE_RULES);
    expect(prog.slice(6).map((x) => x.code)).toEqual([OP.MOV64_K, OP.EXIT]);
    for (const r of [req('b', 8, 0, 'rwm'), req('c', 1, 11, 'w'), req('c', 10, 229, 'r')]) {
      expect(allows(PRIVILEGED_DEVICE_RULES, r)).toBe(true);
    }
  });

  it('the last matching rule wins', () => {
    const kmsg = req('c', 1, 11, 'w');
    const allowKmsg: DeviceRule = { allow: true, type: 'c', major: 1, minor: 11, access: 'rw' };
    const denyKmsgW: DeviceRule = { allow: false, type: 'c', major: 1, minor: 11, access: 'w' };
    expect(allows([...DEFAULT_DEVICE_RULES, allowKmsg], kmsg)).toBe(true);
    expect(allows([...DEFAULT_DEVICE_RULES, allowKmsg, denyKmsgW], kmsg)).toBe(false);
    expect(allows([...DEFAULT_DEVICE_RULES, denyKmsgW, allowKmsg], kmsg)).toBe(true);
    // A deny of some access refuses any request that asks for it (v1's deny exceptions do the same).
    expect(allows([...DEFAULT_DEVICE_RULES, allowKmsg, denyKmsgW], req('c', 1, 11, 'rw'))).toBe(false);
    expect(allows([...DEFAULT_DEVICE_RULES, allowKmsg, denyKmsgW], req('c', 1, 11, 'r'))).toBe(true);
    // An allow must cover the whole request.
    expect(allows([...DEFAULT_DEVICE_RULES, { ...allowKmsg, access: 'r' }], req('c', 1, 11, 'rw'))).toBe(false);
    // A deny-all at the end wins over everything before it, whose blocks are not emitted at all.
    const denyAll: DeviceRule = { allow: false, type: 'a', access: 'rwm' };
    expect(allows([...PRIVILEGED_DEVICE_RULES, denyAll], req('c', 1, 3, 'r'))).toBe(false);
    expect(compileDeviceRules([...DEFAULT_DEVICE_RULES, denyAll])).toHaveLength(8);
    // No rules: nothing matches, deny.
    expect(allows([], req('c', 1, 3, 'r'))).toBe(false);
  });

  it('agrees with the reference semantics on a grid of rules and requests', () => {
    const rules: DeviceRule[] = [
      ...PRIVILEGED_DEVICE_RULES,
      { allow: false, type: 'b', access: 'rw' },
      { allow: true, type: 'b', major: 7, access: 'r' },
      { allow: false, type: 'c', major: 1, minor: 11, access: 'rwm' },
      { allow: true, type: 'c', minor: 11, access: 'm' },
    ];
    for (let n = 0; n <= rules.length; n++) {
      const some = rules.slice(0, n);
      for (const type of ['c', 'b'] as const)
        for (const major of [1, 7, 8])
          for (const minor of [0, 11]) {
            for (const access of ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm']) {
              expect([n, type, major, minor, access, allows(some, req(type, major, minor, access))]).toEqual([
                n,
                type,
                major,
                minor,
                access,
                decide(some, type, major, minor, access),
              ]);
            }
          }
    }
  });

  it('emits one block per rule, last rule first, and ends in return 0', () => {
    const prog = compileDeviceRules(DEFAULT_DEVICE_RULES);
    const text = disassemble(prog);
    expect(text.slice(0, 6)).toEqual([
      '  0: r2 = *(u32 *)(r1 +0)',
      '  1: w2 &= 0xffff',
      '  2: r3 = *(u32 *)(r1 +0)',
      '  3: w3 >>= 16',
      '  4: r4 = *(u32 *)(r1 +4)',
      '  5: r5 = *(u32 *)(r1 +8)',
    ]);
    // The first block is the last rule's, c 136:* rwm: type and major tested, then allow.
    expect(text.slice(6, 10)).toEqual([
      '  6: if r2 != 0x2 goto pc+3 (-> 10)',
      '  7: if r4 != 0x88 goto pc+2 (-> 10)',
      '  8: r0 = 1',
      '  9: exit',
    ]);
    const at = (pc: number) => String(pc).padStart(3);
    expect(text.slice(-2)).toEqual([`${at(prog.length - 2)}: r0 = 0`, `${at(prog.length - 1)}: exit`]);
    expect(text.join('\n')).toContain('if r1 != r3 goto'); // the "m" access test of c *:* m and b *:* m
  });

  it('the trace shows a request walking through the program', () => {
    const { allow, trace } = runDeviceProgram(compileDeviceRules(DEFAULT_DEVICE_RULES), req('c', 136, 5, 'rw'));
    expect(allow).toBe(true);
    expect(trace.map((s) => s.pc)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(trace[5].regs.slice(2)).toEqual([2n, 6n, 136n, 5n]);
  });

  it('walkthrough: a read of /dev/kmsg, line by line', () => {
    const { allow, lines } = walkthrough(compileDeviceRules(DEFAULT_DEVICE_RULES), req('c', 1, 11, 'r'));
    expect(allow).toBe(false);
    expect(lines[0]).toMatch(/^ {2}0: r2 = \*\(u32 \*\)\(r1 \+0\) +; r2 = 131074$/); // (READ << 16) | CHAR
    expect(lines[1]).toMatch(/; r2 = 2$/);
    expect(lines[6]).toMatch(/^ {2}6: if r2 != 0x2 goto pc\+3 \(-> 10\) +; no jump$/);
    expect(lines[7]).toMatch(/^ {2}7: if r4 != 0x88 .*; jumps$/);
    expect(lines[lines.length - 1]).toMatch(/exit +; returns 0: refused \(EPERM\)$/);
  });

  it('encodes 8-byte little-endian instructions and decodes them back', () => {
    const prog = compileDeviceRules(DEFAULT_DEVICE_RULES);
    const bytes = encodeProgram(prog);
    expect(bytes.length).toBe(prog.length * 8);
    // ldx w r2, [r1+0]: code 0x61, dst 2 in the low nibble, src 1 in the high one.
    expect([...bytes.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    // and32 r2, 0xffff
    expect([...bytes.subarray(8, 16)]).toEqual([0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]);
    expect(decodeProgram(bytes)).toEqual(prog);
  });

  it('the interpreter refuses what the verifier would', () => {
    const base = compileDeviceRules([]);
    const run = (prog: BpfInsn[]) => () => runDeviceProgram(prog, req('c', 1, 3, 'r'));
    expect(run([{ code: 0x07, dst: 0, src: 0, off: 0, imm: 1 }, ...base])).toThrow(/opcode 0x7/); // add64
    expect(run([{ code: OP.EXIT, dst: 0, src: 0, off: 0, imm: 0 }])).toThrow(/r0 is read before it is written/);
    expect(run([{ code: OP.LDX_W, dst: 2, src: 1, off: 12, imm: 0 }, ...base])).toThrow(/outside the context/);
    expect(run([{ code: OP.JA, dst: 0, src: 0, off: -1, imm: 0 }])).toThrow(/runs longer|jumps out/);
    const two = [
      { code: OP.MOV64_K, dst: 0, src: 0, off: 0, imm: 2 },
      { code: OP.EXIT, dst: 0, src: 0, off: 0, imm: 0 },
    ];
    expect(run(two)).toThrow(/returns 2/);
    expect(run([{ code: OP.MOV32_X, dst: 0, src: 1, off: 0, imm: 0 }])).toThrow(/context pointer/);
  });
});

describe('apply', () => {
  it('builds the shim instruction: the dir and the program as hex', () => {
    const o = deviceFilterOp('/sys/fs/cgroup/nsx/x', DEFAULT_DEVICE_RULES);
    expect(o.op).toBe('cgroup_device_filter');
    expect(o.dir).toBe('/sys/fs/cgroup/nsx/x');
    expect(decodeProgram(Buffer.from(o.program, 'hex'))).toEqual(compileDeviceRules(DEFAULT_DEVICE_RULES));
  });
  it('explains the shim failures', () => {
    expect(deviceFilterHint({ syscall: 'bpf', detail: 'BPF_PROG_LOAD', errno: 1 })).toMatch(/CAP_BPF or CAP_SYS_ADMIN/);
    expect(deviceFilterHint({ syscall: 'bpf', detail: 'BPF_PROG_LOAD', errno: 13 })).toMatch(/verifier/);
    expect(deviceFilterHint({ syscall: 'bpf', detail: 'BPF_PROG_ATTACH /x', errno: 22 })).toMatch(/cgroup2/);
    expect(deviceFilterHint({ syscall: 'open', detail: '/x', errno: 2 })).toMatch(/missing/);
  });
});
