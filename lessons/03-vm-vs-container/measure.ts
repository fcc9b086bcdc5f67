// Runs a program the way the lesson measures both machines: in a process group of its own (so
// everything it starts can be ended together), its PID noted in the lab (the teardown ends it if
// this helper is killed first), each line of its output stamped with the seconds since it was
// started, and ended after a time limit. Timing with performance.now(), a monotonic clock.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Line {
  /** Seconds since the program was started. */
  t: number;
  text: string;
}

export interface Measured {
  lines: Line[];
  /** Seconds to its first byte of output; undefined: it printed nothing. */
  firstOutput?: number;
  /** Seconds until it exited (or was ended). */
  ended: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why this helper ended it, if it did. */
  endedBecause?: string;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  /** Where to note its PID (a file named after it), removed once it is gone. */
  pidDir?: string;
  /** Ended (SIGKILL to its group) after this many seconds. */
  seconds: number;
  /** Ended if it printed nothing after this many seconds. */
  silentSeconds?: number;
  /** Each complete line as it arrives; may write to its stdin. */
  onLine?: (line: Line, io: { stdin: NodeJS.WritableStream; pid: number }) => void | Promise<void>;
  /** Called every 100 ms while it runs (e.g. to read its memory). */
  sample?: (pid: number) => void;
  /** Printed as they arrive, stamped (the learner watches the boot). */
  echo?: (line: Line) => void;
}

/** The groups this helper started and that still run: ended if it is told to stop (q, Ctrl-C). */
const running = new Set<number>();

export function endAll(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export const stamp = (t: number) => `[${t.toFixed(2).padStart(6)} s]`;

export function measure(argv: string[], o: MeasureOptions): Promise<Measured> {
  return new Promise((resolve) => {
    const lines: Line[] = [];
    let firstOutput: number | undefined;
    let endedBecause: string | undefined;
    let partial = '';
    const t0 = performance.now();
    const now = () => (performance.now() - t0) / 1000;
    const child = spawn(argv[0], argv.slice(1), {
      env: o.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // setsid(2): its own session and process group
    });
    const pid = child.pid;
    const note = pid && o.pidDir ? join(o.pidDir, String(pid)) : undefined;
    if (pid) running.add(pid);
    if (note) writeFileSync(note, '');
    const end = (why: string) => {
      endedBecause ??= why;
      try {
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const limit = setTimeout(() => end(`still running after ${o.seconds} s`), o.seconds * 1000);
    const silence = o.silentSeconds
      ? setTimeout(() => firstOutput === undefined && end(`no output in ${o.silentSeconds} s`), o.silentSeconds * 1000)
      : undefined;
    const sampler = o.sample && pid ? setInterval(() => o.sample!(pid), 100) : undefined;
    if (o.sample && pid) o.sample(pid);
    let queue = Promise.resolve();
    const take = (d: Buffer) => {
      const t = now();
      firstOutput ??= t;
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const raw of parts) {
        const line = { t, text: raw.replace(/\r$/, '') };
        lines.push(line);
        o.echo?.(line);
        if (o.onLine && pid) queue = queue.then(() => o.onLine!(line, { stdin: child.stdin, pid }));
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.stdin.on('error', () => undefined); // it may exit before reading what it was sent
    child.on('error', (e) => lines.push({ t: now(), text: `${argv[0]}: ${e.message}` }));
    child.on('close', (code, signal) => {
      const ended = now();
      clearTimeout(limit);
      if (silence) clearTimeout(silence);
      if (sampler) clearInterval(sampler);
      if (partial) lines.push({ t: ended, text: partial });
      if (pid) running.delete(pid);
      if (note) rmSync(note, { force: true });
      void queue.then(() => resolve({ lines, firstOutput, ended, code, signal, endedBecause }));
    });
  });
}

/** The "key: value" lines of the facts script (lab.ts), by key. */
export function factsOf(lines: Line[]): Record<string, Line> {
  const out: Record<string, Line> = {};
  for (const l of lines) {
    const m = /^(kernel release|boot id|memory seen|cpu|machine|pci devices): ?(.*)$/.exec(l.text);
    if (m && !out[m[1]]) out[m[1]] = { t: l.t, text: m[2] };
  }
  return out;
}
