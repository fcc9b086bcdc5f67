// Device rules → an eBPF program for cgroup v2's device controller, an interpreter to run it here, and
// a disassembler to read it.
//
// Cgroup v2 has no devices.allow file: "Device controller manages access to device files ... Cgroup v2
// device controller has no interface files and is implemented on top of cgroup BPF. To control access
// to device files, a user may create bpf programs of type BPF_PROG_TYPE_CGROUP_DEVICE and attach them
// to cgroups with BPF_CGROUP_DEVICE flag. On an attempt to access a device file, corresponding BPF
// programs will be executed, and depending on the return value the attempt will succeed or fail with
// -EPERM." (Documentation/admin-guide/cgroup-v2.rst, "Device controller").
//
// The program gets R1 = a pointer to struct bpf_cgroup_dev_ctx (include/uapi/linux/bpf.h):
//   u32 access_type  (access << 16) | type   type: BPF_DEVCG_DEV_BLOCK 1, BPF_DEVCG_DEV_CHAR 2
//                                            access: BPF_DEVCG_ACC_MKNOD 1, READ 2, WRITE 4
//   u32 major        at offset 4
//   u32 minor        at offset 8
// and returns 1 (allow) or 0 (deny). An instruction is 8 bytes, little-endian on x86_64 and aarch64
// (struct bpf_insn): u8 code; u8 dst_reg:4, src_reg:4 (dst in the low nibble); s16 off; s32 imm.
// Jumps are relative to the next instruction. See Documentation/bpf/standardization/
// instruction-set.rst for the encoding.
//
// Shape (the approach of systemd's and crun's device filters, and runc's devicefilter.go; written here
// from the semantics, not from their code):
//   r2 = type, r3 = access, r4 = major, r5 = minor        loaded once from the context
//   one block per rule, the LAST rule first: each test that fails jumps to the next block;
//     when all pass, r0 = 1 or 0 and exit                 so the first block that matches decides,
//                                                         which is the last matching rule of the list
//   a rule with no test (a *:* rwm) ends the program      the rules before it can never be reached
//   r0 = 0; exit                                          nothing matched: deny
// The access test of an allow rule asks that the request's bits all be in the rule's
// ((access & rule) == access), of a deny rule that any be ((access & rule) != 0): see rules.ts.
// The jumps compare 64-bit registers with a sign-extended imm; majors and minors fit in 12 and 20 bits
// (validateRule), so the 32-bit loads, zero-extended, compare exactly.
import { NsxError } from '../errors.js';
import { accessBits, validateRule, type DeviceRule } from './rules.js';

// Opcode parts (include/uapi/linux/bpf.h, bpf_common.h).
const BPF_LDX = 0x01;
const BPF_JMP = 0x05;
const BPF_ALU = 0x04; // 32-bit: the result's upper 32 bits are zeroed
const BPF_ALU64 = 0x07;
const BPF_W = 0x00;
const BPF_MEM = 0x60;
const BPF_K = 0x00;
const BPF_X = 0x08;

/** The only opcodes the compiler emits and the interpreter runs. */
export const OP = {
  LDX_W: BPF_LDX | BPF_W | BPF_MEM, // dst = *(u32 *)(src + off)
  AND32_K: BPF_ALU | 0x50 | BPF_K, // dst = (u32)dst & imm
  RSH32_K: BPF_ALU | 0x70 | BPF_K, // dst = (u32)dst >> imm
  MOV32_X: BPF_ALU | 0xb0 | BPF_X, // dst = (u32)src
  MOV64_K: BPF_ALU64 | 0xb0 | BPF_K, // dst = (s64)imm
  JA: BPF_JMP | 0x00, // pc += off
  JEQ_K: BPF_JMP | 0x10 | BPF_K, // if dst == imm: pc += off
  JNE_K: BPF_JMP | 0x50 | BPF_K, // if dst != imm: pc += off
  JNE_X: BPF_JMP | 0x50 | BPF_X, // if dst != src: pc += off
  EXIT: BPF_JMP | 0x90, // return r0
} as const;

export const DEVCG_TYPE = { b: 1, c: 2 } as const;

/** struct bpf_cgroup_dev_ctx's fields: offset and size. */
const CTX = { accessType: 0, major: 4, minor: 8, size: 12 } as const;

export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): BpfInsn => ({
  code,
  dst,
  src,
  off,
  imm,
});

/** Registers: R0 the result, R1 the context on entry (then a scratch register), R2-R5 the request. */
const R0 = 0,
  R1 = 1,
  TYPE = 2,
  ACC = 3,
  MAJOR = 4,
  MINOR = 5;

/** One rule's block: its tests, each jumping past the block's end on mismatch, then the verdict. */
function ruleBlock(rule: DeviceRule): BpfInsn[] {
  validateRule(rule);
  const block: BpfInsn[] = [];
  const jumps: BpfInsn[] = [];
  const test = (...x: BpfInsn[]) => {
    block.push(...x);
    jumps.push(x[x.length - 1]);
  };
  if (rule.type !== 'a') test(insn(OP.JNE_K, TYPE, 0, 0, DEVCG_TYPE[rule.type]));
  const have = accessBits(rule.access);
  if (have !== 7) {
    // R1 = access & rule's; an allow rule needs all of the request's bits, a deny rule any of them.
    const and = [insn(OP.MOV32_X, R1, ACC, 0, 0), insn(OP.AND32_K, R1, 0, 0, have)];
    test(...and, rule.allow ? insn(OP.JNE_X, R1, ACC, 0, 0) : insn(OP.JEQ_K, R1, 0, 0, 0));
  }
  if (rule.major !== undefined) test(insn(OP.JNE_K, MAJOR, 0, 0, rule.major | 0));
  if (rule.minor !== undefined) test(insn(OP.JNE_K, MINOR, 0, 0, rule.minor | 0));
  block.push(insn(OP.MOV64_K, R0, 0, 0, rule.allow ? 1 : 0), insn(OP.EXIT, 0, 0, 0, 0));
  for (const j of jumps) j.off = block.length - (block.indexOf(j) + 1); // to the next block
  return block;
}

/** Compiles device rules (last match wins, see rules.ts) to a BPF_PROG_TYPE_CGROUP_DEVICE program. */
export function compileDeviceRules(rules: readonly DeviceRule[]): BpfInsn[] {
  const prog: BpfInsn[] = [
    insn(OP.LDX_W, TYPE, R1, CTX.accessType, 0),
    insn(OP.AND32_K, TYPE, 0, 0, 0xffff),
    insn(OP.LDX_W, ACC, R1, CTX.accessType, 0),
    insn(OP.RSH32_K, ACC, 0, 0, 16),
    insn(OP.LDX_W, MAJOR, R1, CTX.major, 0),
    insn(OP.LDX_W, MINOR, R1, CTX.minor, 0),
  ];
  for (let i = rules.length - 1; i >= 0; i--) {
    const block = ruleBlock(rules[i]);
    prog.push(...block);
    if (block.length === 2) return prog; // no test: it decides every request; earlier rules are unreachable
  }
  prog.push(insn(OP.MOV64_K, R0, 0, 0, 0), insn(OP.EXIT, 0, 0, 0, 0));
  return prog;
}

/** The program as bytes for bpf(BPF_PROG_LOAD)'s insns (struct bpf_insn[], little-endian). */
export function encodeProgram(prog: readonly BpfInsn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((x, i) => {
    buf.writeUInt8(x.code, i * 8);
    buf.writeUInt8((x.src << 4) | x.dst, i * 8 + 1);
    buf.writeInt16LE(x.off, i * 8 + 2);
    buf.writeInt32LE(x.imm | 0, i * 8 + 4);
  });
  return buf;
}

export function decodeProgram(buf: Buffer): BpfInsn[] {
  if (buf.length % 8 !== 0) {
    throw new NsxError(`an eBPF program is 8-byte instructions; this one has ${buf.length} bytes`, {});
  }
  const out: BpfInsn[] = [];
  for (let at = 0; at < buf.length; at += 8) {
    const regs = buf.readUInt8(at + 1);
    out.push(insn(buf.readUInt8(at), regs & 0xf, regs >> 4, buf.readInt16LE(at + 2), buf.readInt32LE(at + 4)));
  }
  return out;
}

/** One line per instruction, in the notation of the kernel verifier's log (kernel/bpf/disasm.c), with
 *  constants in hex and each jump's target spelled out. */
export function disassemble(prog: readonly BpfInsn[]): string[] {
  return prog.map((x, pc) => `${String(pc).padStart(3)}: ${describeInsn(x, pc)}`);
}

function describeInsn(x: BpfInsn, pc: number): string {
  const to = `goto pc${x.off >= 0 ? '+' : ''}${x.off} (-> ${pc + 1 + x.off})`;
  switch (x.code) {
    case OP.LDX_W:
      return `r${x.dst} = *(u32 *)(r${x.src} +${x.off})`;
    case OP.AND32_K:
      return `w${x.dst} &= 0x${(x.imm >>> 0).toString(16)}`;
    case OP.RSH32_K:
      return `w${x.dst} >>= ${x.imm}`;
    case OP.MOV32_X:
      return `w${x.dst} = w${x.src}`;
    case OP.MOV64_K:
      return `r${x.dst} = ${x.imm}`;
    case OP.JA:
      return to;
    case OP.JEQ_K:
      return `if r${x.dst} == 0x${(x.imm >>> 0).toString(16)} ${to}`;
    case OP.JNE_K:
      return `if r${x.dst} != 0x${(x.imm >>> 0).toString(16)} ${to}`;
    case OP.JNE_X:
      return `if r${x.dst} != r${x.src} ${to}`;
    case OP.EXIT:
      return 'exit';
    default:
      return `(unknown opcode 0x${x.code.toString(16)})`;
  }
}

export interface DeviceRequest {
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** One or more of r, w, m (an O_RDWR open asks for rw). */
  access: string;
}

export interface BpfStep {
  pc: number;
  text: string;
  /** R0-R5 after the instruction (undefined: never written). */
  regs: (bigint | undefined)[];
}

const U32 = 0xffffffffn;
const U64 = (1n << 64n) - 1n;
const s64 = (imm: number): bigint => BigInt.asUintN(64, BigInt(imm | 0));

/** Runs a program the way the kernel would for one request: the verdict (true = allow) and every
 *  instruction it went through. Only the opcodes in OP; anything else, a read of a register never
 *  written, a load outside the context or a jump out of the program is refused, as the verifier
 *  would refuse to load it. */
export function runDeviceProgram(prog: readonly BpfInsn[], req: DeviceRequest): { allow: boolean; trace: BpfStep[] } {
  const ctx = Buffer.alloc(CTX.size);
  ctx.writeUInt32LE(((accessBits(req.access) << 16) | DEVCG_TYPE[req.type]) >>> 0, CTX.accessType);
  ctx.writeUInt32LE(req.major >>> 0, CTX.major);
  ctx.writeUInt32LE(req.minor >>> 0, CTX.minor);
  const regs: (bigint | undefined)[] = new Array(11).fill(undefined);
  regs[1] = 0n; // the context, at "address" 0 of ctx
  const ctxReg = new Set([1]);
  const trace: BpfStep[] = [];
  const bad = (pc: number, why: string) =>
    new NsxError(`eBPF instruction ${pc}: ${why}`, { hint: 'this program would not pass the kernel verifier' });
  const get = (pc: number, r: number): bigint => {
    const v = regs[r];
    if (v === undefined || r > 10) throw bad(pc, `r${r} is read before it is written`);
    if (ctxReg.has(r)) throw bad(pc, `r${r} holds the context pointer, not a number`);
    return v;
  };
  const set = (r: number, v: bigint) => {
    if (r > 9) throw new NsxError(`eBPF: r${r} cannot be written`, {});
    regs[r] = v;
    ctxReg.delete(r);
  };
  for (let pc = 0, steps = 0; ; steps++) {
    if (pc < 0 || pc >= prog.length) throw bad(pc, 'jumps out of the program');
    if (steps > prog.length) throw bad(pc, 'runs longer than the program (a loop?)');
    const x = prog[pc];
    let next = pc + 1;
    switch (x.code) {
      case OP.LDX_W: {
        if (!ctxReg.has(x.src)) throw bad(pc, `r${x.src} is not the context pointer`);
        const inside = x.off >= 0 && x.off + 4 <= CTX.size && x.off % 4 === 0;
        if (!inside) throw bad(pc, `load outside the context at +${x.off}`);
        set(x.dst, BigInt(ctx.readUInt32LE(x.off)));
        break;
      }
      case OP.AND32_K:
        set(x.dst, get(pc, x.dst) & U32 & BigInt(x.imm >>> 0));
        break;
      case OP.RSH32_K:
        set(x.dst, (get(pc, x.dst) & U32) >> BigInt(x.imm & 31));
        break;
      case OP.MOV32_X:
        set(x.dst, get(pc, x.src) & U32);
        break;
      case OP.MOV64_K:
        set(x.dst, s64(x.imm) & U64);
        break;
      case OP.JA:
        next += x.off;
        break;
      case OP.JEQ_K:
        if (get(pc, x.dst) === s64(x.imm)) next += x.off;
        break;
      case OP.JNE_K:
        if (get(pc, x.dst) !== s64(x.imm)) next += x.off;
        break;
      case OP.JNE_X:
        if (get(pc, x.dst) !== get(pc, x.src)) next += x.off;
        break;
      case OP.EXIT: {
        const r0 = get(pc, 0);
        trace.push({ pc, text: describeInsn(x, pc), regs: regs.slice(0, 6) });
        if (r0 !== 0n && r0 !== 1n) throw bad(pc, `returns ${r0}; a device program returns 0 or 1`);
        return { allow: r0 === 1n, trace };
      }
      default:
        throw bad(pc, `opcode 0x${x.code.toString(16)} is not one this interpreter runs`);
    }
    trace.push({ pc, text: describeInsn(x, pc), regs: regs.slice(0, 6) });
    pc = next;
  }
}

/** A request walking through the program, one line per instruction it ran, with what the
 *  instruction wrote or whether its jump was taken: for a lesson to show how a request is decided. */
export function walkthrough(prog: readonly BpfInsn[], req: DeviceRequest): { allow: boolean; lines: string[] } {
  const { allow, trace } = runDeviceProgram(prog, req);
  const lines = trace.map((step, i) => {
    const x = prog[step.pc];
    let note: string;
    if (x.code === OP.EXIT) note = `returns ${step.regs[0]}: ${allow ? 'allowed' : 'refused (EPERM)'}`;
    else if ((x.code & 0x07) === BPF_JMP) note = trace[i + 1]?.pc === step.pc + 1 ? 'no jump' : 'jumps';
    else note = `r${x.dst} = ${step.regs[x.dst]}`;
    return `${String(step.pc).padStart(3)}: ${describeInsn(x, step.pc).padEnd(36)} ; ${note}`;
  });
  return { allow, lines };
}
