// The classic-BPF side: encoding, the interpreter, and the exact instructions the compiler emits.
import { describe, expect, it } from '@jest/globals';
import { NsxError } from '../../src/runtime/errors.js';
import {
  AUDIT_ARCH,
  OP,
  actionValue,
  compileProfile,
  decodeFilter,
  describeAction,
  disassemble,
  encodeFilter,
  parseProfile,
  runFilter,
  type SockFilter,
} from '../../src/runtime/seccomp/index.js';

const ins = (code: number, k: number, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k });

describe('encodeFilter / decodeFilter', () => {
  it('writes struct sock_filter little-endian: u16 code, u8 jt, u8 jf, u32 k', () => {
    const buf = encodeFilter([ins(OP.JEQ_K, 0xc000003e, 1, 2), ins(OP.RET_K, 0x7fff0000)]);
    expect(buf.toString('hex')).toBe('1500' + '01' + '02' + '3e0000c0' + '0600' + '00' + '00' + '0000ff7f');
    expect(decodeFilter(buf)).toEqual([ins(OP.JEQ_K, 0xc000003e, 1, 2), ins(OP.RET_K, 0x7fff0000)]);
  });

  it('refuses a buffer that is not whole instructions', () => {
    expect(() => decodeFilter(Buffer.alloc(12))).toThrow(NsxError);
    expect(() => decodeFilter(Buffer.alloc(0))).toThrow(/not a whole, non-empty number/);
  });
});

describe('runFilter', () => {
  it('loads nr, arch and both halves of each argument from seccomp_data', () => {
    const probe = (offset: number): number =>
      runFilter(
        encodeFilter([ins(OP.LD_W_ABS, offset), ins(OP.JEQ_K, 0xdead, 0, 1), ins(OP.RET_K, 1), ins(OP.RET_K, 2)]),
        {
          nr: 0xdead,
          arch: 0xdead,
          args: [0xdeadn, 0xdead00000000n, 0n, 0n, 0n, 0xdeadn << 32n],
        },
      );
    expect(probe(0)).toBe(1); // nr
    expect(probe(4)).toBe(1); // arch
    expect(probe(16)).toBe(1); // args[0] low
    expect(probe(20)).toBe(2); // args[0] high
    expect(probe(28)).toBe(1); // args[1] high
    expect(probe(24)).toBe(2); // args[1] low
    expect(probe(60)).toBe(1); // args[5] high
  });

  it('runs ALU AND, JGT/JGE unsigned, JSET and JA', () => {
    const prog = (code: number, k: number, a: number): number =>
      runFilter(encodeFilter([ins(OP.LD_W_ABS, 16), ins(code, k, 0, 1), ins(OP.RET_K, 1), ins(OP.RET_K, 0)]), {
        nr: 0,
        arch: 0,
        args: [BigInt(a)],
      });
    expect(prog(OP.JGT_K, 5, 6)).toBe(1);
    expect(prog(OP.JGT_K, 5, 5)).toBe(0);
    expect(prog(OP.JGE_K, 5, 5)).toBe(1);
    expect(prog(OP.JGT_K, 0x7fffffff, 0x80000000)).toBe(1); // unsigned, not signed
    expect(prog(OP.JSET_K, 0x10, 0x30)).toBe(1);
    expect(prog(OP.JSET_K, 0x10, 0x20)).toBe(0);
    const and = encodeFilter([
      ins(OP.LD_W_ABS, 16),
      ins(OP.AND_K, 0xf0),
      ins(OP.JEQ_K, 0x30, 0, 1),
      ins(OP.RET_K, 1),
      ins(OP.RET_K, 0),
    ]);
    expect(runFilter(and, { nr: 0, arch: 0, args: [0x3fn] })).toBe(1);
    const ja = encodeFilter([ins(OP.JA, 1), ins(OP.RET_K, 1), ins(OP.RET_K, 2)]);
    expect(runFilter(ja, { nr: 0, arch: 0 })).toBe(2);
  });

  it('stores negative nr and arguments as the kernel sees them', () => {
    const prog = encodeFilter([
      ins(OP.LD_W_ABS, 0),
      ins(OP.JEQ_K, 0xffffffff, 0, 1),
      ins(OP.RET_K, 1),
      ins(OP.RET_K, 0),
    ]);
    expect(runFilter(prog, { nr: -1, arch: 0 })).toBe(1);
    const hi = encodeFilter([
      ins(OP.LD_W_ABS, 20),
      ins(OP.JEQ_K, 0xffffffff, 0, 1),
      ins(OP.RET_K, 1),
      ins(OP.RET_K, 0),
    ]);
    expect(runFilter(hi, { nr: 0, arch: 0, args: [-1n] })).toBe(1);
  });

  it('throws on opcodes it does not know, bad loads, and running off the end', () => {
    expect(() => runFilter(encodeFilter([ins(0x07 /* TAX */, 0), ins(OP.RET_K, 0)]), { nr: 0, arch: 0 })).toThrow(
      /opcode 0x7/,
    );
    expect(() => runFilter(encodeFilter([ins(OP.LD_W_ABS, 2), ins(OP.RET_K, 0)]), { nr: 0, arch: 0 })).toThrow(
      /offset 2/,
    );
    expect(() => runFilter(encodeFilter([ins(OP.LD_W_ABS, 64), ins(OP.RET_K, 0)]), { nr: 0, arch: 0 })).toThrow(
      /offset 64/,
    );
    expect(() => runFilter(encodeFilter([ins(OP.LD_W_ABS, 0)]), { nr: 0, arch: 0 })).toThrow(
      /ran past the last instruction/,
    );
    expect(() => runFilter(encodeFilter([ins(OP.JEQ_K, 0, 5, 5), ins(OP.RET_K, 0)]), { nr: 0, arch: 0 })).toThrow(
      /ran past/,
    );
    expect(() =>
      runFilter(encodeFilter([ins(OP.RET_K, 0)]), { nr: 0, arch: 0, args: [0n, 0n, 0n, 0n, 0n, 0n, 0n] }),
    ).toThrow(/at most 6/);
  });
});

describe('describeAction', () => {
  it('names every seccomp return value', () => {
    expect(describeAction(0x7fff0000)).toBe('SCMP_ACT_ALLOW');
    expect(describeAction(0x00050001)).toBe('SCMP_ACT_ERRNO(EPERM)');
    expect(describeAction(0x00050026)).toBe('SCMP_ACT_ERRNO(ENOSYS)');
    expect(describeAction(0x00000000)).toBe('SCMP_ACT_KILL_THREAD');
    expect(describeAction(0x80000000)).toBe('SCMP_ACT_KILL_PROCESS');
    expect(describeAction(0x00030000)).toBe('SCMP_ACT_TRAP');
    expect(describeAction(0x7ff00005)).toBe('SCMP_ACT_TRACE(5)');
    expect(describeAction(0x7ffc0000)).toBe('SCMP_ACT_LOG');
    expect(describeAction(0x7fc00000)).toBe('SCMP_ACT_NOTIFY');
    expect(describeAction(0x12340000)).toMatch(/unknown action 0x12340000/);
  });

  it('agrees with actionValue', () => {
    expect(describeAction(actionValue('SCMP_ACT_ERRNO', 13))).toBe('SCMP_ACT_ERRNO(EACCES)');
    expect(describeAction(actionValue('SCMP_ACT_KILL', 0))).toBe('SCMP_ACT_KILL_THREAD');
    expect(actionValue('SCMP_ACT_ERRNO', 0x10001)).toBe(0x00050001); // data is 16 bits
  });
});

describe('the compiled program', () => {
  const profile = parseProfile(
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['write'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      ],
    }),
    'small.json',
  );

  it('has the documented shape on x86_64: arch check, x32 check, sorted per-syscall blocks, default', () => {
    const c = compileProfile(profile, { arch: 'x86_64', caps: [], kernel: '6.1' });
    expect(disassemble(c.filter)).toEqual([
      '0000: ld  [4]',
      '0001: jeq #0xc000003e jt 3 jf 2',
      '0002: ret SCMP_ACT_ERRNO(EPERM)',
      '0003: ld  [0]',
      '0004: jset #0x40000000 jt 5 jf 6',
      '0005: ret SCMP_ACT_ERRNO(EPERM)',
      '0006: jeq #0x00000000 jt 7 jf 8', // read
      '0007: ret SCMP_ACT_ALLOW',
      '0008: jeq #0x00000001 jt 9 jf 15', // write: jf skips the 6-instruction block
      '0009: ld  [20]', // args[0] high word
      '0010: jeq #0x00000000 jt 11 jf 14',
      '0011: ld  [16]', // args[0] low word
      '0012: jeq #0x00000001 jt 13 jf 14',
      '0013: ret SCMP_ACT_ALLOW',
      '0014: ret SCMP_ACT_ERRNO(EPERM)', // no unconditional rule: default
      '0015: jgt #0x000001d3 jt 16 jf 17', // above the table (467): not implemented
      '0016: ret SCMP_ACT_ERRNO(ENOSYS)',
      '0017: ret SCMP_ACT_ERRNO(EPERM)',
    ]);
    expect(c.instructions).toBe(18);
  });

  it('has no x32 check on aarch64', () => {
    const c = compileProfile(profile, { arch: 'aarch64', caps: [], kernel: '6.1' });
    const lines = disassemble(c.filter);
    expect(lines.slice(0, 5)).toEqual([
      '0000: ld  [4]',
      '0001: jeq #0xc00000b7 jt 3 jf 2',
      '0002: ret SCMP_ACT_ERRNO(EPERM)',
      '0003: ld  [0]',
      '0004: jeq #0x0000003f jt 5 jf 6',
    ]);
    expect(runFilter(c.filter, { nr: 64, arch: AUDIT_ARCH.aarch64, args: [1n] })).toBe(0x7fff0000);
    expect(runFilter(c.filter, { nr: 64, arch: AUDIT_ARCH.aarch64, args: [2n] })).toBe(0x00050001);
  });

  it('never jumps further than 255 and only uses the opcodes the interpreter knows', () => {
    const known = new Set<number>(Object.values(OP));
    const c = compileProfile(profile, { arch: 'x86_64', caps: [], kernel: '6.1' });
    for (const i of decodeFilter(c.filter)) {
      expect(known.has(i.code)).toBe(true);
      expect(i.jt).toBeLessThanOrEqual(255);
      expect(i.jf).toBeLessThanOrEqual(255);
    }
  });
});
