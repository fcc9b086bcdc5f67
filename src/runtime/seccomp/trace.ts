// The path one system call takes through a compiled filter, as the kernel would run it: which
// instructions, with what in the accumulator, to which return. Pure (runFilter and disassemble from
// bpf.ts), so the seccomp lesson and `nsx seccomp --trace` print it and tests check it apart from
// any kernel. The instructions are classic BPF over struct seccomp_data (seccomp(2); linux/filter.h).
import { OP, SECCOMP_DATA, decodeFilter, disassemble, runFilter, type SeccompData } from './bpf.js';

export interface TraceStep {
  /** The instruction's index. */
  pc: number;
  /** The accumulator A before it ran. */
  a: number;
}

export interface Trace {
  /** The filter's 32-bit return value. */
  ret: number;
  /** Every instruction run, in order; the last is the RET. */
  steps: TraceStep[];
}

export function traceFilter(filter: Buffer, data: SeccompData): Trace {
  const steps: TraceStep[] = [];
  const ret = runFilter(filter, data, (pc, a) => steps.push({ pc, a }));
  return { ret, steps };
}

/** What an ld [k] loads from struct seccomp_data (linux/seccomp.h), in words. */
export function seccompDataField(offset: number): string {
  if (offset === SECCOMP_DATA.nr) return 'nr';
  if (offset === SECCOMP_DATA.arch) return 'arch';
  if (offset === SECCOMP_DATA.instructionPointer) return 'instruction_pointer (low half)';
  if (offset === SECCOMP_DATA.instructionPointer + 4) return 'instruction_pointer (high half)';
  const i = Math.floor((offset - 16) / 8);
  return `args[${i}] (${offset % 8 === 0 ? 'low' : 'high'} half)`;
}

const JUMPS: ReadonlySet<number> = new Set([OP.JEQ_K, OP.JGT_K, OP.JGE_K, OP.JSET_K]);

export interface RenderTraceOptions {
  /** A syscall's name by number, to say which number a jeq compared nr with. */
  nameOf?: (nr: number) => string | undefined;
  /** A run of more jeq-not-taken than this (the search past other syscalls) is cut to its first and
   *  last, with one line for the ones between (default 3). */
  keep?: number;
}

/**
 * The path as lines: each instruction run, as disassemble() prints it, then what happened: the value
 * a load or an and put in A (and which field a load read), whether a jump was taken ("yes"/"no",
 * and the name of the syscall a jeq on nr compared with); a RET's line names its action already.
 */
export function renderTrace(filter: Buffer, trace: Trace, opts: RenderTraceOptions = {}): string[] {
  const program = decodeFilter(filter);
  const text = disassemble(filter);
  const keep = opts.keep ?? 3;
  // The notes line up after the longest instruction that gets one (a RET's line has none).
  const width = Math.max(
    0,
    ...trace.steps.filter((s) => program[s.pc].code !== OP.RET_K).map((s) => text[s.pc].length),
  );
  const lines: string[] = [];
  let loaded: number | undefined; // the offset A was last loaded from
  let run: string[] = [];
  let runNames: string[] = [];
  const flush = () => {
    if (run.length > keep) {
      const between = run.length - 2;
      const names = runNames.slice(1, -1).filter(Boolean);
      const which = names.length ? `: ${names[0]} … ${names[names.length - 1]}` : '';
      lines.push(run[0], `      … ${between} more jeq on nr, none equal${which} …`, run[run.length - 1]);
    } else lines.push(...run);
    run = [];
    runNames = [];
  };
  trace.steps.forEach((step, i) => {
    const ins = program[step.pc];
    const next = trace.steps[i + 1];
    const shown = text[step.pc].padEnd(width);
    if (ins.code === OP.LD_W_ABS) {
      flush();
      loaded = ins.k;
      const value = next ? next.a >>> 0 : undefined;
      const v = value === undefined ? '' : ` = ${value} (0x${value.toString(16)})`;
      lines.push(`${shown}   A = ${seccompDataField(ins.k)}${v}`);
      return;
    }
    if (JUMPS.has(ins.code) && next) {
      const taken = next.pc === step.pc + 1 + ins.jt && ins.jt !== ins.jf;
      const name = ins.code === OP.JEQ_K && loaded === SECCOMP_DATA.nr ? opts.nameOf?.(ins.k) : undefined;
      const line = `${shown}   ${taken ? 'yes' : 'no'}${name ? ` (${name})` : ''}`;
      if (ins.code === OP.JEQ_K && loaded === SECCOMP_DATA.nr && !taken) {
        run.push(line);
        runNames.push(name ?? '');
        return;
      }
      flush();
      lines.push(line);
      return;
    }
    flush();
    if (ins.code === OP.AND_K && next) lines.push(`${shown}   A = 0x${(next.a >>> 0).toString(16)}`);
    else lines.push(text[step.pc]); // a RET: the disassembly names its action already
  });
  flush();
  return lines;
}
