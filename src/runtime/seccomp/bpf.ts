// Classic BPF as seccomp uses it: the instruction encoding, the return values, and a small
// interpreter so tests (and curious learners) can run a compiled filter without loading it.
//
// A seccomp filter is an array of struct sock_filter (linux/filter.h), 8 bytes each in the
// machine's byte order (little-endian on x86_64 and aarch64):
//   u16 code; u8 jt; u8 jf; u32 k;
// It runs over struct seccomp_data (linux/seccomp.h), 64 bytes:
//   int nr (0); u32 arch (4); u64 instruction_pointer (8); u64 args[6] (16 + 8*i)
// and its return value's high 16 bits pick the action, the low 16 bits carry data (errno).
// See seccomp(2) and Documentation/userspace-api/seccomp_filter.rst.
import { NsxError, errnoName } from '../errors.js';

// Opcode parts (linux/bpf_common.h).
export const BPF_LD = 0x00;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_K = 0x00;
export const BPF_AND = 0x50;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

/** The only opcodes the compiler emits and the interpreter runs. */
export const OP = {
  LD_W_ABS: BPF_LD | BPF_W | BPF_ABS, // A = u32 at seccomp_data[k]
  AND_K: BPF_ALU | BPF_AND | BPF_K, // A &= k
  JEQ_K: BPF_JMP | BPF_JEQ | BPF_K, // A == k ? jt : jf
  JGT_K: BPF_JMP | BPF_JGT | BPF_K, // A >  k (unsigned)
  JGE_K: BPF_JMP | BPF_JGE | BPF_K, // A >= k (unsigned)
  JSET_K: BPF_JMP | BPF_JSET | BPF_K, // (A & k) != 0
  JA: BPF_JMP | BPF_JA, // pc += k
  RET_K: BPF_RET | BPF_K, // return k
} as const;

/** BPF_MAXINSNS (linux/bpf_common.h): the kernel refuses longer classic programs. */
export const BPF_MAXINSNS = 4096;

/** Offsets into struct seccomp_data. */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  instructionPointer: 8,
  /** Low 32 bits of args[i] (little-endian). */
  argLow: (i: number): number => 16 + 8 * i,
  /** High 32 bits of args[i]. */
  argHigh: (i: number): number => 20 + 8 * i,
  size: 64,
} as const;

// Return values (linux/seccomp.h). The kernel applies the most restrictive action of all
// installed filters, in this order from KILL_PROCESS (most) to ALLOW (least).
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** Errors about a malformed filter or input: a bug in whoever built it, so the hint says where to look. */
function bad(
  message: string,
  hint = 'filters should come from compileProfile() in src/runtime/seccomp/compile.ts; check how this one was built',
): NsxError {
  return new NsxError(message, { hint });
}

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** struct sock_filter[] as the bytes seccomp(2) takes (via struct sock_fprog). */
export function encodeFilter(program: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

export function decodeFilter(filter: Buffer): SockFilter[] {
  if (filter.length === 0 || filter.length % 8 !== 0) {
    throw bad(`seccomp filter: ${filter.length} bytes is not a whole, non-empty number of 8-byte instructions`);
  }
  const out: SockFilter[] = [];
  for (let off = 0; off < filter.length; off += 8) {
    out.push({
      code: filter.readUInt16LE(off),
      jt: filter[off + 2],
      jf: filter[off + 3],
      k: filter.readUInt32LE(off + 4),
    });
  }
  return out;
}

export interface SeccompData {
  /** Syscall number; negative values are stored as the kernel's int would be. */
  nr: number;
  /** AUDIT_ARCH_* of the calling ABI. */
  arch: number;
  instructionPointer?: bigint;
  /** Up to six arguments as unsigned 64-bit values (negative bigints wrap, as registers do). */
  args?: bigint[];
}

/** struct seccomp_data as the kernel lays it out for the filter. */
function seccompDataBytes(data: SeccompData): Buffer {
  const buf = Buffer.alloc(SECCOMP_DATA.size);
  buf.writeUInt32LE(data.nr >>> 0, SECCOMP_DATA.nr);
  buf.writeUInt32LE(data.arch >>> 0, SECCOMP_DATA.arch);
  buf.writeBigUInt64LE(BigInt.asUintN(64, data.instructionPointer ?? 0n), SECCOMP_DATA.instructionPointer);
  const args = data.args ?? [];
  if (args.length > 6)
    throw bad(`seccomp data: ${args.length} arguments, a syscall has at most 6`, 'pass args[0] to args[5] only');
  args.forEach((a, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, a), SECCOMP_DATA.argLow(i)));
  return buf;
}

/**
 * Runs a seccomp filter the way the kernel would and returns its 32-bit result. Supports exactly
 * the opcodes compile.ts emits; anything else throws, as do the programs the kernel's checker
 * (seccomp_check_filter / bpf_check_classic) would reject: unaligned or out-of-range loads,
 * jumps past the end, falling off the end without RET. visit, when given, is called with each
 * instruction's index before it runs and the accumulator A as it stands (trace.ts draws the path).
 */
export function runFilter(filter: Buffer, data: SeccompData, visit?: (pc: number, a: number) => void): number {
  const program = decodeFilter(filter);
  if (program.length > BPF_MAXINSNS)
    throw bad(`seccomp filter: ${program.length} instructions, more than BPF_MAXINSNS (${BPF_MAXINSNS})`);
  const mem = seccompDataBytes(data);
  let a = 0;
  let pc = 0;
  // Classic BPF only jumps forward, so this loop ends within program.length steps.
  while (pc < program.length) {
    const { code, jt, jf, k } = program[pc];
    visit?.(pc, a);
    const jump = (taken: boolean): number => pc + 1 + (taken ? jt : jf);
    switch (code) {
      case OP.LD_W_ABS:
        if (k % 4 !== 0 || k + 4 > SECCOMP_DATA.size)
          throw bad(`seccomp filter: instruction ${pc} loads at offset ${k}, outside seccomp_data or unaligned`);
        a = mem.readUInt32LE(k);
        pc++;
        break;
      case OP.AND_K:
        a = (a & k) >>> 0;
        pc++;
        break;
      case OP.JEQ_K:
        pc = jump(a === k);
        break;
      case OP.JGT_K:
        pc = jump(a > k);
        break;
      case OP.JGE_K:
        pc = jump(a >= k);
        break;
      case OP.JSET_K:
        pc = jump((a & k) !== 0);
        break;
      case OP.JA:
        pc = pc + 1 + k;
        break;
      case OP.RET_K:
        return k;
      default:
        throw bad(
          `seccomp filter: instruction ${pc} has opcode 0x${code.toString(16)}, which this interpreter does not run`,
        );
    }
  }
  throw bad(
    `seccomp filter: execution ran past the last instruction (pc ${pc} of ${program.length}); every path must end in RET`,
  );
}

/** "SCMP_ACT_ERRNO(EPERM)" for 0x00050001: a filter result in the profile's vocabulary. */
export function describeAction(ret: number): string {
  const r = ret >>> 0;
  const data = r & SECCOMP_RET_DATA;
  switch ((r & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_KILL_PROCESS:
      return 'SCMP_ACT_KILL_PROCESS';
    case SECCOMP_RET_KILL_THREAD:
      return 'SCMP_ACT_KILL_THREAD';
    case SECCOMP_RET_TRAP:
      return 'SCMP_ACT_TRAP';
    case SECCOMP_RET_ERRNO:
      return `SCMP_ACT_ERRNO(${errnoName(data)})`;
    case SECCOMP_RET_USER_NOTIF:
      return 'SCMP_ACT_NOTIFY';
    case SECCOMP_RET_TRACE:
      return `SCMP_ACT_TRACE(${data})`;
    case SECCOMP_RET_LOG:
      return 'SCMP_ACT_LOG';
    case SECCOMP_RET_ALLOW:
      return 'SCMP_ACT_ALLOW';
    default:
      // The kernel treats unknown actions as SECCOMP_RET_KILL_PROCESS (seccomp(2), "Filter return values").
      return `unknown action 0x${r.toString(16).padStart(8, '0')} (the kernel kills the process)`;
  }
}

/** One line per instruction, like the kernel's bpf_dbg / libseccomp's debug output. */
export function disassemble(filter: Buffer): string[] {
  const hex = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');
  return decodeFilter(filter).map(({ code, jt, jf, k }, pc) => {
    const at = String(pc).padStart(4, '0');
    const target = (off: number): number => pc + 1 + off;
    switch (code) {
      case OP.LD_W_ABS:
        return `${at}: ld  [${k}]`;
      case OP.AND_K:
        return `${at}: and #${hex(k)}`;
      case OP.JEQ_K:
        return `${at}: jeq #${hex(k)} jt ${target(jt)} jf ${target(jf)}`;
      case OP.JGT_K:
        return `${at}: jgt #${hex(k)} jt ${target(jt)} jf ${target(jf)}`;
      case OP.JGE_K:
        return `${at}: jge #${hex(k)} jt ${target(jt)} jf ${target(jf)}`;
      case OP.JSET_K:
        return `${at}: jset #${hex(k)} jt ${target(jt)} jf ${target(jf)}`;
      case OP.JA:
        return `${at}: ja  ${target(k)}`;
      case OP.RET_K:
        return `${at}: ret ${describeAction(k)}`;
      default:
        return `${at}: ??? code 0x${code.toString(16)} jt ${jt} jf ${jf} k ${hex(k)}`;
    }
  });
}
