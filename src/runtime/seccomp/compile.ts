// Docker seccomp profile → classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER).
// What runc does with libseccomp, done by hand so every instruction can be read and tested.
//
// Shape of the program (all jumps forward; classic BPF jt/jf are 8-bit, so at most 255):
//
//   ld  [4]                          arch
//   jeq #AUDIT_ARCH_native  +1, +0
//   ret DEFAULT                      another ABI (see checkArch)
//   ld  [0]                          nr
//   jset #X32_SYSCALL_BIT  +0, +1    x86_64 only
//   ret DEFAULT
//   jeq #nr1  +0, +len(block1)       one block per syscall with rules, in number order
//   block1 ... ret                   every block ends in RET, so A still holds nr at the next jeq
//   jeq #nr2  +0, +len(block2)
//   block2 ... ret
//   ...
//   jgt #max_nr_in_table  +0, +1     only when DEFAULT is not ALLOW:
//   ret ERRNO(ENOSYS)                syscalls newer than the table (runc's -ENOSYS stub)
//   ret DEFAULT                      syscalls no rule names
//
// A block checks that syscall's conditional rules (with args) in file order, each a chain of
// 64-bit comparisons ending in RET action, then returns the first unconditional rule's action,
// or the default action if there is none.
// References: seccomp(2); Documentation/userspace-api/seccomp_filter.rst; linux/filter.h.
import { CAPABILITY_NAMES } from '../capabilities.js';
import { NsxError } from '../errors.js';
import {
  BPF_MAXINSNS,
  OP,
  SECCOMP_DATA,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  encodeFilter,
  type SockFilter,
} from './bpf.js';
import type { KernelVersion, SeccompAction, SeccompArg, SeccompProfile, SeccompRule } from './profile.js';
import { AUDIT_ARCH, SYSCALLS, X32_SYSCALL_BIT, type SeccompArch } from './syscalls.js';

export interface CompileOptions {
  arch: SeccompArch;
  /** The container's effective capabilities, e.g. ['CAP_CHOWN', ...]: they pick conditional rules. */
  caps: readonly string[];
  /** uname release, e.g. '6.1.0-13-amd64': picks minKernel rules. */
  kernel: string;
}

export interface CompiledFilter {
  /** struct sock_filter[], little-endian, ready for struct sock_fprog. */
  filter: Buffer;
  instructions: number;
  /** Names in rules that apply but that this architecture's table does not know (runc skips them too). */
  skipped: string[];
}

/** EPERM: the errno when neither the rule nor the profile says one (libseccomp/runc do the same). */
const EPERM = 1;
const ENOSYS = 38;

/** The highest syscall number the table knows for an architecture. */
function maxSyscall(arch: SeccompArch): number {
  return Math.max(...SYSCALLS[arch].values());
}

/** The largest jt/jf a classic BPF conditional jump can encode. */
const MAX_JUMP = 255;

/** Go/libseccomp names for our architectures: what moby compares includes.arches against. */
const DOCKER_ARCH: Readonly<Record<SeccompArch, string>> = { x86_64: 'amd64', aarch64: 'arm64' };

export function compileProfile(profile: SeccompProfile, opts: CompileOptions): CompiledFilter {
  const arch = checkArch(opts.arch);
  const caps = checkCaps(opts.caps);
  const kernel = parseKernelRelease(opts.kernel);
  const defaultRet = actionValue(profile.defaultAction, profile.defaultErrnoRet ?? EPERM);

  const rules = profile.syscalls.filter((rule) => ruleApplies(rule, DOCKER_ARCH[arch], caps, kernel));
  const { bySyscall, skipped } = groupBySyscall(rules, arch);

  const program: SockFilter[] = [...archCheck(arch, defaultRet)];
  for (const [nr, group] of [...bySyscall].sort((a, b) => a[0] - b[0])) {
    const block = syscallBlock(group, profile, defaultRet);
    // The jeq's jf skips the whole block, so a block may be at most 255 instructions long.
    if (block.length > MAX_JUMP) {
      throw new NsxError(
        `seccomp profile ${profile.source}: the rules for ${group.name} compile to ${block.length} instructions, more than the ${MAX_JUMP} a classic BPF jump can skip`,
        {
          hint: `simplify the argument conditions on ${group.name} (rules ${group.rules.map((r) => r.where).join(', ')})`,
        },
      );
    }
    program.push(jump(OP.JEQ_K, nr, 0, block.length), ...block);
  }
  // A syscall newer than our table cannot be named by the profile, so it would get the default
  // action: with an errno default, programs that probe for new calls (glibc falls back only on
  // ENOSYS) would break. Answer "not implemented" instead, as runc's -ENOSYS stub does.
  if (defaultRet !== SECCOMP_RET_ALLOW)
    program.push(jump(OP.JGT_K, maxSyscall(arch), 0, 1), ret(SECCOMP_RET_ERRNO | ENOSYS));
  program.push(ret(defaultRet));

  if (program.length > BPF_MAXINSNS) {
    throw new NsxError(
      `seccomp profile ${profile.source}: compiles to ${program.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`,
      {
        hint: 'list fewer syscalls or argument conditions (BPF_MAXINSNS in linux/bpf_common.h)',
      },
    );
  }
  return { filter: encodeFilter(program), instructions: program.length, skipped };
}

/** The seccomp return value for an action; data is the errno (ERRNO) or message (TRACE). */
export function actionValue(action: SeccompAction, data: number): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | (data & SECCOMP_RET_DATA)) >>> 0;
    // libseccomp's SCMP_ACT_KILL is SECCOMP_RET_KILL (now named KILL_THREAD): only the thread dies.
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | (data & SECCOMP_RET_DATA)) >>> 0;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
  }
}

/** "6.1.0-13-amd64" → 6.1. Like moby's parseRelease (Sscanf "%d.%d"): only kernel.major counts. */
export function parseKernelRelease(release: string): KernelVersion {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  if (!m) {
    throw new NsxError(`seccomp: kernel release "${release}" does not start with <kernel>.<major>`, {
      hint: 'pass the uname release, e.g. os.release() or `uname -r` ("6.1.0-13-amd64")',
    });
  }
  return { kernel: Number(m[1]), major: Number(m[2]) };
}

/** moby kernelGreaterEqualThan: 4.8.x and 4.8-foo both satisfy "4.8". */
export function kernelAtLeast(running: KernelVersion, min: KernelVersion): boolean {
  return running.kernel > min.kernel || (running.kernel === min.kernel && running.major >= min.major);
}

/**
 * moby setupSeccomp: a rule is skipped if any exclude matches (its arch, any of its caps held,
 * kernel >= its minKernel), or if an include fails (arch not listed, a cap missing, kernel
 * older than minKernel). Empty lists are no condition.
 */
export function ruleApplies(
  rule: SeccompRule,
  dockerArch: string,
  caps: ReadonlySet<string>,
  kernel: KernelVersion,
): boolean {
  const { includes, excludes } = rule;
  if (excludes.arches.includes(dockerArch)) return false;
  if (excludes.caps.some((c) => caps.has(c))) return false;
  if (excludes.minKernel && kernelAtLeast(kernel, excludes.minKernel)) return false;
  if (includes.arches.length > 0 && !includes.arches.includes(dockerArch)) return false;
  if (includes.caps.some((c) => !caps.has(c))) return false;
  if (includes.minKernel && !kernelAtLeast(kernel, includes.minKernel)) return false;
  return true;
}

function checkArch(arch: string): SeccompArch {
  if (arch !== 'x86_64' && arch !== 'aarch64') {
    throw new NsxError(`seccomp: cannot compile a filter for architecture "${arch}"`, {
      hint: 'nsx has syscall tables for x86_64 and aarch64 only (uname -m)',
    });
  }
  return arch;
}

/** Exact names only: a lower-case or unprefixed name would silently fail to match includes.caps. */
function checkCaps(caps: readonly string[]): ReadonlySet<string> {
  for (const c of caps) {
    if (!(CAPABILITY_NAMES as readonly string[]).includes(c)) {
      throw new NsxError(`seccomp: "${c}" is not a capability name`, {
        hint: 'pass full names such as CAP_SYS_ADMIN (normalizeCap() in capabilities.ts converts "sys_admin")',
      });
    }
  }
  return new Set(caps);
}

interface SyscallGroup {
  name: string;
  rules: SeccompRule[];
}

/** Rules that apply, by syscall number, in file order; names this arch lacks go to skipped. */
function groupBySyscall(
  rules: SeccompRule[],
  arch: SeccompArch,
): { bySyscall: Map<number, SyscallGroup>; skipped: string[] } {
  const bySyscall = new Map<number, SyscallGroup>();
  const skipped = new Set<string>();
  for (const rule of rules) {
    for (const name of rule.names) {
      const nr = SYSCALLS[arch].get(name);
      if (nr === undefined) {
        skipped.add(name);
        continue;
      }
      const group = bySyscall.get(nr) ?? { name, rules: [] };
      // A name listed twice in one rule adds the rule once.
      if (!group.rules.includes(rule)) group.rules.push(rule);
      bySyscall.set(nr, group);
    }
  }
  return { bySyscall, skipped: [...skipped] };
}

/**
 * Why the arch check comes first: syscall numbers mean different calls on different ABIs
 * (on x86_64, 32-bit int 0x80 calls use the i386 table, where 11 is execve, not munmap).
 * nsx only filters the native ABI and gives every other ABI the default action. That is
 * stricter than Docker, whose archMap also admits the sub-architectures (x86 and x32 on
 * amd64, arm on arm64) with their own tables; containers built for the native ABI never use them.
 * x32 calls come in with the native AUDIT_ARCH_X86_64 but X32_SYSCALL_BIT set in nr, hence the
 * JSET (this also sends nr -1 and other huge numbers to the default action).
 */
function archCheck(arch: SeccompArch, defaultRet: number): SockFilter[] {
  const out = [load(SECCOMP_DATA.arch), jump(OP.JEQ_K, AUDIT_ARCH[arch], 1, 0), ret(defaultRet), load(SECCOMP_DATA.nr)];
  if (arch === 'x86_64') out.push(jump(OP.JSET_K, X32_SYSCALL_BIT, 0, 1), ret(defaultRet));
  return out;
}

/**
 * One syscall's block: conditional rules in file order, then the first unconditional rule
 * (later unconditional rules for the same syscall can never be reached), else the default.
 */
function syscallBlock(group: SyscallGroup, profile: SeccompProfile, defaultRet: number): SockFilter[] {
  const asm = new Assembler(`seccomp profile ${profile.source}: ${group.name}`);
  for (const rule of group.rules.filter((r) => r.args.length > 0)) {
    const nextRule = asm.label();
    for (const arg of rule.args) compareArg(asm, arg, nextRule);
    asm.emit(ret(ruleRet(rule, profile)));
    asm.place(nextRule);
  }
  const fallback = group.rules.find((r) => r.args.length === 0);
  asm.emit(ret(fallback ? ruleRet(fallback, profile) : defaultRet));
  return asm.finish();
}

/** errnoRet, else the profile's defaultErrnoRet, else EPERM. */
function ruleRet(rule: SeccompRule, profile: SeccompProfile): number {
  return actionValue(rule.action, rule.errnoRet ?? profile.defaultErrnoRet ?? EPERM);
}

/**
 * Falls through when args[arg.index] op value holds, jumps to fail otherwise. Arguments are
 * 64-bit but classic BPF loads 32 bits at a time, so each comparison looks at the high word
 * first and only looks at the low word when the high words are equal (unsigned, like libseccomp).
 */
function compareArg(asm: Assembler, arg: SeccompArg, fail: Label): void {
  const hi = Number(arg.value >> 32n);
  const lo = Number(arg.value & 0xffffffffn);
  const loadHi = load(SECCOMP_DATA.argHigh(arg.index));
  const loadLo = load(SECCOMP_DATA.argLow(arg.index));
  const pass = asm.label();
  switch (arg.op) {
    case 'SCMP_CMP_EQ': // hi == vhi && lo == vlo
      asm.emit(loadHi).jump(OP.JEQ_K, hi, NEXT, fail);
      asm.emit(loadLo).jump(OP.JEQ_K, lo, NEXT, fail);
      break;
    case 'SCMP_CMP_NE': // hi != vhi || lo != vlo
      asm.emit(loadHi).jump(OP.JEQ_K, hi, NEXT, pass);
      asm.emit(loadLo).jump(OP.JEQ_K, lo, fail, NEXT);
      break;
    case 'SCMP_CMP_GT': // hi > vhi || (hi == vhi && lo > vlo)
      asm.emit(loadHi).jump(OP.JGT_K, hi, pass, NEXT).jump(OP.JEQ_K, hi, NEXT, fail);
      asm.emit(loadLo).jump(OP.JGT_K, lo, NEXT, fail);
      break;
    case 'SCMP_CMP_GE': // hi > vhi || (hi == vhi && lo >= vlo)
      asm.emit(loadHi).jump(OP.JGT_K, hi, pass, NEXT).jump(OP.JEQ_K, hi, NEXT, fail);
      asm.emit(loadLo).jump(OP.JGE_K, lo, NEXT, fail);
      break;
    case 'SCMP_CMP_LT': // hi < vhi || (hi == vhi && lo < vlo)
      asm.emit(loadHi).jump(OP.JGT_K, hi, fail, NEXT).jump(OP.JEQ_K, hi, NEXT, pass);
      asm.emit(loadLo).jump(OP.JGE_K, lo, fail, NEXT);
      break;
    case 'SCMP_CMP_LE': // hi < vhi || (hi == vhi && lo <= vlo)
      asm.emit(loadHi).jump(OP.JGT_K, hi, fail, NEXT).jump(OP.JEQ_K, hi, NEXT, pass);
      asm.emit(loadLo).jump(OP.JGT_K, lo, fail, NEXT);
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      // value is the mask, valueTwo the expected result: (arg & value) == valueTwo, per half.
      const wantHi = Number(arg.valueTwo >> 32n);
      const wantLo = Number(arg.valueTwo & 0xffffffffn);
      asm.emit(loadHi).emit(stmt(OP.AND_K, hi)).jump(OP.JEQ_K, wantHi, NEXT, fail);
      asm.emit(loadLo).emit(stmt(OP.AND_K, lo)).jump(OP.JEQ_K, wantLo, NEXT, fail);
      break;
    }
  }
  asm.place(pass);
}

function stmt(code: number, k: number): SockFilter {
  return { code, jt: 0, jf: 0, k: k >>> 0 };
}

function load(offset: number): SockFilter {
  return stmt(OP.LD_W_ABS, offset);
}

function ret(value: number): SockFilter {
  return stmt(OP.RET_K, value);
}

function jump(code: number, k: number, jt: number, jf: number): SockFilter {
  if (jt > MAX_JUMP || jf > MAX_JUMP) {
    throw new NsxError(`seccomp: internal error: jump of ${Math.max(jt, jf)} instructions`, {
      hint: 'this is a bug in compile.ts',
    });
  }
  return { code, jt, jf, k: k >>> 0 };
}

/** A jump target inside one block, placed later; NEXT means "the following instruction". */
interface Label {
  pos?: number;
}
const NEXT = Symbol('next instruction');
type Target = Label | typeof NEXT;

/**
 * Collects one block's instructions with symbolic forward jumps, then resolves them, checking
 * each against the 8-bit limit. Why labels: the fail target of an argument check is the next
 * rule, whose distance depends on code not emitted yet.
 */
class Assembler {
  private readonly items: Array<SockFilter | { code: number; k: number; jt: Target; jf: Target }> = [];
  constructor(private readonly context: string) {}

  label(): Label {
    return {};
  }

  place(label: Label): void {
    label.pos = this.items.length;
  }

  emit(ins: SockFilter): this {
    this.items.push(ins);
    return this;
  }

  jump(code: number, k: number, jt: Target, jf: Target): this {
    this.items.push({ code, k: k >>> 0, jt, jf });
    return this;
  }

  finish(): SockFilter[] {
    return this.items.map((item, pc) => {
      if (typeof item.jt === 'number' && typeof item.jf === 'number') return item as SockFilter;
      const offset = (t: Target): number => {
        if (t === NEXT) return 0;
        if (t.pos === undefined || t.pos <= pc)
          throw new NsxError(`${this.context}: internal error: unplaced or backward jump`, {
            hint: 'this is a bug in compile.ts',
          });
        const off = t.pos - pc - 1;
        if (off > MAX_JUMP) {
          throw new NsxError(
            `${this.context}: a jump of ${off} instructions is longer than classic BPF's ${MAX_JUMP}`,
            {
              hint: 'simplify the argument conditions for this syscall',
            },
          );
        }
        return off;
      };
      return { code: item.code, k: item.k, jt: offset(item.jt as Target), jf: offset(item.jf as Target) };
    });
  }
}
