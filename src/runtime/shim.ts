// The TypeScript side of the shim protocol (see the comment at the top of shim/nsx-shim.c).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { NsxError, errnoMessage, errnoName } from './errors.js';
import { encodeShimOp, type ShimOp } from './shim-ops.js';
import { shimPath } from '../paths.js';

export interface ShimReply {
  ok: boolean;
  fields: string[];
}

export interface ShimFailure {
  errno: number;
  syscall: string;
  detail: string;
  stage: string;
}

/** A user on the host, by number (the kernel needs no passwd entry). */
export interface HostUser {
  uid: number;
  gid: number;
}

export type ExitStatus = { code: number; signal?: undefined } | { code?: undefined; signal: number };

/** Frames messages: "<length>\n" then NUL-separated fields. */
export function encodeMessage(fields: string[]): Buffer {
  const body = Buffer.from(fields.join('\0'));
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

/** Splits a byte stream into messages; returns the messages and what is left over. */
export function decodeMessages(buf: Buffer): { messages: string[][]; rest: Buffer } {
  const messages: string[][] = [];
  let at = 0;
  for (;;) {
    const nl = buf.indexOf(10, at);
    if (nl < 0) break;
    const len = Number(buf.subarray(at, nl).toString());
    if (buf.length < nl + 1 + len) break;
    messages.push(
      buf
        .subarray(nl + 1, nl + 1 + len)
        .toString()
        .split('\0'),
    );
    at = nl + 1 + len;
  }
  return { messages, rest: buf.subarray(at) };
}

/** A line-reader for one socket of the protocol: every message, and EOF. */
class Channel {
  private buf: Buffer = Buffer.alloc(0);
  private queue: string[][] = [];
  private waiters: ((m: string[] | null) => void)[] = [];
  private ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const { messages, rest } = decodeMessages(Buffer.concat([this.buf, chunk]));
      this.buf = rest;
      for (const m of messages) this.push(m);
    });
    const end = () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  private push(m: string[]) {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }

  /** The next message, or null at EOF. */
  next(): Promise<string[] | null> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(fields: string[]): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(fields));
  }

  /** Several messages in one write (writev(2) of the corked socket): the shim wakes once for them all. */
  sendMany(list: string[][]): void {
    if (this.socket.destroyed || !list.length) return;
    this.socket.cork();
    for (const fields of list) this.socket.write(encodeMessage(fields));
    this.socket.uncork();
  }
}

export class ShimError extends NsxError {
  constructor(
    readonly failure: ShimFailure,
    hint?: string,
  ) {
    super(
      `${failure.syscall}${failure.detail ? ` ${failure.detail}` : ''}: ${errnoMessage(failure.errno)} (${errnoName(failure.errno)})`,
      {
        syscall: failure.syscall,
        errno: failure.errno,
        detail: failure.detail,
        hint,
      },
    );
  }
}

/** A running shim: the supervisor (the process we start) and its worker; instructions go over fd 3
 *  to the worker (then to PID 1), supervision over fd 4. See the comment at the top of nsx-shim.c. */
export class Shim {
  readonly process: ChildProcess;
  /** The worker: the process that unshares; after fork, initPid is the container's PID 1. */
  pid = 0;
  initPid?: number;
  private readonly cmd: Channel;
  private readonly sup: Channel;
  private exited?: Promise<ExitStatus>;
  private execDone = false;
  /** Instructions sent ahead (sendAhead) whose replies no callMany has read yet, oldest first. */
  private ahead: string[][] = [];

  private constructor(proc: ChildProcess) {
    this.process = proc;
    this.cmd = new Channel(proc.stdio[3] as Socket);
    this.sup = new Channel(proc.stdio[4] as Socket);
  }

  /** Starts the shim and waits for its worker. stdio 0-2 become the container's standard streams.
   *  With `as`, the shim runs as that host user (rootless on their behalf: nsx, as root, only watches). */
  static async start(stdio: StdioOptions = 'inherit', as?: HostUser): Promise<Shim> {
    const path = shimPath();
    if (!existsSync(path)) {
      throw new NsxError(`the runtime's shim is not built (${path} is missing)`, {
        hint: 'run `npm ci` (it compiles shim/nsx-shim.c; needs a C compiler: apt-get install build-essential)',
      });
    }
    const base = (Array.isArray(stdio) ? stdio : [stdio, stdio, stdio]).slice(0, 3);
    const proc = spawn(path, [], {
      stdio: [...base, 'pipe', 'pipe'],
      env: {},
      ...(as ? { uid: as.uid, gid: as.gid } : {}),
    });
    if (!proc.pid) throw new NsxError(`cannot start ${path}`, { hint: 'is it executable? run `npm ci` again' });
    const shim = new Shim(proc);
    const hello = await shim.sup.next();
    if (!hello || hello[0] !== 'worker')
      throw new NsxError(`${path} did not start its worker`, {
        hint: 'run `nsx doctor`; the shim needs fork(2) and prctl(PR_SET_CHILD_SUBREAPER)',
      });
    shim.pid = Number(hello[1]);
    return shim;
  }

  /** Tells the supervisor to remove these directories if nsx dies before removing them itself. */
  registerCleanup(...dirs: string[]): void {
    this.sup.sendMany(dirs.map((dir) => ['cleanup_dir', dir]));
  }

  /** A terminal's new size: the supervisor, which holds the pty's master, sets it (TIOCSWINSZ). */
  resize(rows: number, cols: number): void {
    this.sup.send(['resize', String(rows), String(cols)]);
  }

  /** Sends one instruction and waits for the reply; a failure becomes a ShimError. */
  async call(o: ShimOp): Promise<string[]> {
    const op = o.op;
    this.checkNothingAhead(op);
    this.cmd.send(encodeShimOp(o));
    const reply = await this.cmd.next();
    if (reply === null) {
      const st = await this.waitExit();
      throw new NsxError(`the runtime's shim exited during ${op} (${describeExit(st)})`, {
        hint: 'this is a bug in namespace-explorer or a kernel refusal it did not expect',
      });
    }
    if (reply[0] === 'ok') return reply.slice(1);
    const [, errno, syscall, detail, stage] = reply;
    throw new ShimError({ errno: Number(errno), syscall, detail, stage });
  }

  /** Sends several instructions at once and then reads their replies (one each, in order). The shim
   *  executes nothing after a failure, so the first error is the one that counts. */
  async callMany(ops: ShimOp[]): Promise<void> {
    const now: string[][] = [];
    for (const o of ops) {
      const op = o.op;
      const fields = encodeShimOp(o);
      const sent = this.ahead.shift();
      if (sent === undefined) now.push(fields);
      else if (sent.length !== fields.length || sent.some((f, i) => f !== fields[i])) {
        throw new NsxError(`internal error: ${op} is not the instruction that was sent ahead (${sent[0]})`, {
          hint: 'this is a bug in namespace-explorer',
        });
      }
    }
    this.cmd.sendMany(now);
    let first: ShimError | undefined;
    for (const { op } of ops) {
      const reply = await this.cmd.next();
      if (reply === null) {
        const st = await this.waitExit();
        throw (
          first ??
          new NsxError(`the runtime's shim exited during ${op} (${describeExit(st)})`, {
            hint: 'this is a bug in namespace-explorer or a kernel refusal it did not expect',
          })
        );
      }
      if (reply[0] !== 'ok' && !first) {
        const [, errno, syscall, detail, stage] = reply;
        first = new ShimError({ errno: Number(errno), syscall, detail, stage });
      }
    }
    if (first) throw first;
  }

  /** Sends instructions now whose replies later callMany calls read, given the same instructions in
   *  the same order (pipelining across steps: the shim need not wait for nsx between two steps).
   *  Never across fork or exec: their replies come from another process. */
  sendAhead(ops: ShimOp[]): void {
    const now: string[][] = [];
    try {
      for (const o of ops) {
        this.checkNothingAhead(o.op, o.op === 'fork' || o.op === 'exec');
        const fields = encodeShimOp(o);
        now.push(fields);
        this.ahead.push(fields);
      }
    } finally {
      this.cmd.sendMany(now); // those before a refused one went out, as ahead says
    }
  }

  /** Whether instructions sent ahead still wait for their replies to be read. */
  get sentAhead(): boolean {
    return this.ahead.length > 0;
  }

  private checkNothingAhead(op: string, never = this.ahead.length > 0): void {
    if (never)
      throw new NsxError(
        `internal error: ${op} sent while instructions sent ahead are unanswered, or ahead of its turn`,
        { hint: 'this is a bug in namespace-explorer' },
      );
  }

  /** fork: afterwards instructions go to the child (PID 1 of the new PID namespace). */
  async fork(): Promise<number> {
    const [pid] = await this.call({ op: 'fork' });
    this.initPid = Number(pid);
    return this.initPid;
  }

  /** Sends exec; resolves when the command has started (EOF: the socket closed on exec), or throws with exec's error. */
  async exec(o: Extract<ShimOp, { op: 'exec' }>): Promise<void> {
    this.checkNothingAhead('exec');
    this.cmd.send(encodeShimOp(o));
    const reply = await this.cmd.next();
    this.execDone = true;
    if (reply === null) return;
    const [, errno, syscall, detail, stage] = reply;
    throw new ShimError({ errno: Number(errno), syscall, detail, stage });
  }

  /** How the container (or, before fork, the worker) ended, as the supervisor reports it. */
  waitExit(): Promise<ExitStatus> {
    if (this.exited) return this.exited;
    this.exited = (async () => {
      const m = await this.sup.next();
      if (m && m[0] === 'exit') return m[1] === 'signal' ? { signal: Number(m[2]) } : { code: Number(m[2]) };
      return new Promise<ExitStatus>((resolve) => {
        if (this.process.exitCode !== null || this.process.signalCode !== null) resolve(childStatus(this.process));
        else this.process.once('exit', () => resolve(childStatus(this.process)));
      });
    })();
    return this.exited;
  }

  /** Kills the container, or before fork the worker (through the supervisor, which reaps them, so
   *  no PID can be reused under us). */
  kill(signal = 9): void {
    if (!this.sup.socket.destroyed) this.sup.send(['kill', String(signal)]);
    else if (this.process.exitCode === null) this.process.kill(signal);
  }

  /** Whether the command is running (exec went through). */
  get started(): boolean {
    return this.execDone;
  }

  /** Closes our ends; an orphaned supervisor kills the container and removes its cleanup dirs. */
  close(): void {
    this.cmd.socket.destroy();
    this.sup.socket.destroy();
  }

  /** Waits for the shim process itself to be gone. */
  async gone(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await new Promise((r) => this.process.once('exit', r));
  }
}

/** A shim started before it is needed: `nsx run` starts it and then builds the plan, so the shim's
 *  own start-up (its exec, the worker's fork, the hello: ~0.7 ms) overlaps that work. Only the
 *  spawn itself cannot: Node's spawn returns once the child has exec'd. */
export interface EarlyShim {
  /** What Shim.start resolves with; a failure is reported by whoever awaits it (Container.run). */
  readonly shim: Promise<Shim>;
  /** Not needed after all (the plan could not be built): the orphaned supervisor ends the worker and exits. */
  cancel(): void;
}

export function startShimEarly(stdio: StdioOptions = 'inherit', as?: HostUser): EarlyShim {
  const shim = Shim.start(stdio, as);
  shim.catch(() => {}); // not unhandled while the plan is built: run() awaits it and reports it
  return {
    shim,
    cancel: () =>
      void shim.then(
        (s) => s.close(),
        () => {},
      ),
  };
}

/** The supervisor ended without reporting the container's end. Killed by a signal, it took the
 *  container with it (PR_SET_PDEATHSIG): that signal. Exited on its own (its channel closed, a start-up
 *  failure), its code is its own, never the container's: 125, docker's "the runtime failed", and never
 *  0 for a command that may not have run. */
function childStatus(p: ChildProcess): ExitStatus {
  if (p.signalCode) return { signal: signalNumber(p.signalCode) };
  return { code: 125 };
}

export function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 0;
}
export function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

export function describeExit(st: ExitStatus): string {
  return st.signal !== undefined ? `killed by ${signalName(st.signal)}` : `exit code ${st.code}`;
}
