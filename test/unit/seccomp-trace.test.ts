// The path of a system call through a filter (trace.ts) and how nsx seccomp prints it: a hand-made
// program whose every line is known, then Docker's default compiled for each architecture nsx has.
import { describe, expect, it } from '@jest/globals';
import { parseTraceSpec } from '../../src/cli/seccomp/show.js';
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities.js';
import { NsxError } from '../../src/runtime/errors.js';
import {
  AUDIT_ARCH,
  OP,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SYSCALLS,
  compileProfile,
  defaultProfile,
  describeAction,
  encodeFilter,
  renderTrace,
  runFilter,
  seccompDataField,
  traceFilter,
  type SeccompArch,
  type SockFilter,
} from '../../src/runtime/seccomp/index.js';

const ins = (code: number, k: number, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k });
const X86 = AUDIT_ARCH.x86_64;

// deny.pl's shape with several numbers before the denied one: arch check, then jeq after jeq.
const SMALL = encodeFilter([
  ins(OP.LD_W_ABS, 4), // 0
  ins(OP.JEQ_K, X86, 1, 0), // 1
  ins(OP.RET_K, SECCOMP_RET_ALLOW), // 2
  ins(OP.LD_W_ABS, 0), // 3
  ins(OP.JEQ_K, 10, 5, 0), // 4
  ins(OP.JEQ_K, 11, 4, 0), // 5
  ins(OP.JEQ_K, 12, 3, 0), // 6
  ins(OP.JEQ_K, 13, 2, 0), // 7
  ins(OP.JEQ_K, 14, 1, 0), // 8
  ins(OP.RET_K, SECCOMP_RET_ALLOW), // 9
  ins(OP.RET_K, SECCOMP_RET_ERRNO | 1), // 10
]);
const names: Record<number, string> = { 10: 'ten', 11: 'eleven', 12: 'twelve', 13: 'thirteen', 14: 'fourteen' };

describe('traceFilter', () => {
  it('records every instruction run, with A before it, and returns what runFilter returns', () => {
    const t = traceFilter(SMALL, { nr: 14, arch: X86 });
    expect(t.ret).toBe(runFilter(SMALL, { nr: 14, arch: X86 }));
    expect(t.ret).toBe(SECCOMP_RET_ERRNO | 1);
    expect(t.steps).toEqual([
      { pc: 0, a: 0 },
      { pc: 1, a: X86 },
      { pc: 3, a: X86 },
      ...[4, 5, 6, 7, 8].map((pc) => ({ pc, a: 14 })),
      { pc: 10, a: 14 },
    ]);
  });

  it('a call of another ABI stops at the architecture check', () => {
    const t = traceFilter(SMALL, { nr: 14, arch: AUDIT_ARCH.aarch64 });
    expect(t.steps.map((s) => s.pc)).toEqual([0, 1, 2]);
    expect(t.ret).toBe(SECCOMP_RET_ALLOW);
  });
});

describe('renderTrace', () => {
  it('says what each load read, which jumps were taken, and cuts a long run of jeq not taken', () => {
    const t = traceFilter(SMALL, { nr: 14, arch: X86 });
    expect(renderTrace(SMALL, t, { nameOf: (n) => names[n] })).toEqual([
      '0000: ld  [4]                      A = arch = 3221225534 (0xc000003e)',
      '0001: jeq #0xc000003e jt 3 jf 2    yes',
      '0003: ld  [0]                      A = nr = 14 (0xe)',
      '0004: jeq #0x0000000a jt 10 jf 5   no (ten)',
      '      … 2 more jeq on nr, none equal: eleven … twelve …',
      '0007: jeq #0x0000000d jt 10 jf 8   no (thirteen)',
      '0008: jeq #0x0000000e jt 10 jf 9   yes (fourteen)',
      '0010: ret SCMP_ACT_ERRNO(EPERM)',
    ]);
  });

  it('keeps a short run whole, and works without names', () => {
    const t = traceFilter(SMALL, { nr: 12, arch: X86 });
    const lines = renderTrace(SMALL, t);
    expect(lines.filter((l) => / jeq #0x0000000[ab] /.test(l))).toHaveLength(2);
    expect(lines.some((l) => l.includes('more jeq'))).toBe(false);
    expect(lines[lines.length - 1]).toBe('0010: ret SCMP_ACT_ERRNO(EPERM)');
  });

  it('names the fields of struct seccomp_data', () => {
    expect([0, 4, 8, 12, 16, 20, 56, 60].map(seccompDataField)).toEqual([
      'nr',
      'arch',
      'instruction_pointer (low half)',
      'instruction_pointer (high half)',
      'args[0] (low half)',
      'args[0] (high half)',
      'args[5] (low half)',
      'args[5] (high half)',
    ]);
  });
});

describe("Docker's default, traced as the seccomp lesson shows it", () => {
  for (const arch of ['x86_64', 'aarch64'] as SeccompArch[]) {
    const { filter } = compileProfile(defaultProfile(), { arch, caps: DOCKER_DEFAULT_CAPS, kernel: '6.1.0' });
    const nr = (name: string) => SYSCALLS[arch].get(name)!;
    const byNr = new Map([...SYSCALLS[arch]].map(([n, i]) => [i, n]));
    const trace = (name: string, args?: bigint[]) =>
      traceFilter(filter, { nr: nr(name), arch: AUDIT_ARCH[arch], ...(args ? { args } : {}) });

    it(`${arch}: keyctl runs past every jeq to the default, ERRNO(EPERM); read is allowed at its own jeq`, () => {
      const k = trace('keyctl');
      expect(describeAction(k.ret)).toBe('SCMP_ACT_ERRNO(EPERM)');
      const lines = renderTrace(filter, k, { nameOf: (n) => byNr.get(n) });
      expect(lines[0]).toMatch(/^0000: ld {2}\[4\] +A = arch = \d+ \(0x[0-9a-f]+\)$/);
      expect(lines).toContainEqual(expect.stringMatching(/^ {6}… \d+ more jeq on nr, none equal: /));
      expect(lines[lines.length - 1]).toMatch(/ret SCMP_ACT_ERRNO\(EPERM\)$/);
      const r = trace('read');
      expect(describeAction(r.ret)).toBe('SCMP_ACT_ALLOW');
      expect(renderTrace(filter, r, { nameOf: (n) => byNr.get(n) }).slice(-2)).toEqual([
        expect.stringMatching(/jeq #0x[0-9a-f]{8} jt \d+ jf \d+ +yes \(read\)$/),
        expect.stringMatching(/ret SCMP_ACT_ALLOW$/),
      ]);
    });

    it(`${arch}: clone with CLONE_NEWUSER is refused by its flags, personality(PER_LINUX32) allowed by its value`, () => {
      expect(describeAction(trace('clone', [0x10000000n]).ret)).toBe('SCMP_ACT_ERRNO(EPERM)');
      expect(describeAction(trace('clone', [0x11n]).ret)).toBe('SCMP_ACT_ALLOW'); // SIGCHLD, as fork does
      expect(describeAction(trace('personality', [0x8n]).ret)).toBe('SCMP_ACT_ALLOW');
      expect(describeAction(trace('personality', [0x40008n]).ret)).toBe('SCMP_ACT_ERRNO(EPERM)');
    });
  }
});

describe('parseTraceSpec (nsx seccomp --trace)', () => {
  it('takes a name and optional arguments, decimal or hexadecimal', () => {
    expect(parseTraceSpec('read', 'x86_64')).toEqual({ name: 'read', nr: 0, args: [] });
    expect(parseTraceSpec('personality:0x8,17', 'x86_64')).toEqual({ name: 'personality', nr: 135, args: [8n, 17n] });
  });

  it('refuses a name the architecture lacks, a non-number, and more than six arguments', () => {
    expect(() => parseTraceSpec('mkdir', 'aarch64')).toThrow(NsxError);
    expect(() => parseTraceSpec('mkdir', 'aarch64')).toThrow(/"mkdir" is not a system call on aarch64/);
    expect(() => parseTraceSpec('read:x', 'x86_64')).toThrow(/"x" is not a number/);
    expect(() => parseTraceSpec('read:1,2,3,4,5,6,7', 'x86_64')).toThrow(/7 arguments/);
  });
});
