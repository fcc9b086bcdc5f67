// The engine's shims, forked by a resident zygote instead of spawned one by one. Node's spawn forks the
// whole engine (clone(2) copies the page tables of its 60-70 MiB) and returns only once the child has
// exec'd: ~7 ms of nsxd's main thread per container. `nsx-shim zygote SOCKET`, started once, forks
// itself (a ~1 MiB static program) and its child runs the shim as a spawned one would: see "the
// zygote" in shim/nsx-shim.c for what the child does and the protocol on its fd 3.
//
// Node receives descriptors only on its own IPC channel, so a child cannot be handed the channels:
// it connects to SOCKET once per channel (a Unix socket in the engine's state directory, mode 0700, so
// only the engine's user reaches it; never an abstract socket, which anything sharing the host's
// network namespace could reach: unix(7)) and says "TOKEN FD\n" first. TOKEN is random, given in the
// spawn request; a connection with any other is closed unread. The process tree becomes
// nsxd → nsx-shim zygote → nsx-shim (supervisor) → PID 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { StdioOptions } from 'node:child_process';
import { NsxError } from './errors.js';
import { shimPath } from '../paths.js';
import {
  decodeMessages,
  describeExit,
  encodeMessage,
  spawnLauncher,
  type ExitStatus,
  type HostUser,
  type ShimLauncher,
  type ShimProcess,
} from './shim.js';

/** The longest path bind(2) takes for a Unix socket (unix(7): sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;
/** "TOKEN FD\n": 32 hex digits, a space, the descriptor (0-4) the connection becomes in the child. */
const HELLO_LENGTH = 35;

interface Launch {
  token: string;
  zygote: Zygote;
  /** The channels still to come, by the descriptor each becomes in the child. */
  want: Set<number>;
  got: (Socket | undefined)[];
  pid?: number;
  settle: (err?: Error) => void;
}

interface Zygote {
  proc: ChildProcess;
  channel: Socket;
  /** Its children whose end it has not reported yet. */
  exits: Map<number, (st: ExitStatus | undefined) => void>;
  /** Spawn requests it has not answered yet, by token. */
  spawns: Map<string, { spawned: (pid: number) => void; failed: (errno: number) => void }>;
}

export class ZygoteLauncher implements ShimLauncher {
  private server?: Promise<Server>;
  private zygote?: Zygote;
  private readonly launches = new Map<string, Launch>();
  /** Set once the zygote could not be started: shims are spawned from then on. */
  private broken = false;
  private closed = false;

  constructor(
    /** The Unix socket the zygote's children connect to, in a directory only the engine's user can enter. */
    readonly socketPath: string,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`nsxd: ${line}\n`),
    /** A launch with neither its channels nor an answer by then is given up: a create never hangs on it. */
    private readonly timeoutMs = 10000,
  ) {}

  /** The zygote's PID while it runs (for the lessons and tests). */
  get pid(): number | undefined {
    return this.zygote?.proc.pid;
  }

  /** Starts the zygote now rather than at the first shim (nsxd does, once it listens: the first
   *  container then does not wait for Node's spawn of it). A failure is said in the log, once; shims
   *  are spawned from then on. */
  async prepare(path = shimPath()): Promise<void> {
    if (this.broken || this.closed) return;
    try {
      await this.ready(path);
    } catch (e) {
      this.broken = true;
      this.log(`cannot start the shims' zygote (${(e as Error).message}): spawning each shim instead`);
    }
  }

  async launch(path: string, stdio: StdioOptions, as?: HostUser): Promise<ShimProcess> {
    const modes = stdioModes(stdio);
    if (modes) await this.prepare(path);
    const z = this.zygote;
    if (!modes || !z || this.broken || this.closed) return spawnLauncher.launch(path, stdio, as);
    try {
      return await this.forkFrom(z, modes, as);
    } catch (e) {
      if (!(e instanceof ZygoteGone)) throw e;
      return spawnLauncher.launch(path, stdio, as); // the zygote died meanwhile (said in the log): this one spawned
    }
  }

  /** Stops the zygote (EOF on its channel) and the socket, and waits (at most a second) for the zygote
   *  to be gone; the shims it forked are not touched. */
  async close(): Promise<void> {
    this.closed = true;
    const z = this.zygote;
    z?.channel.destroy();
    const server = await this.server?.catch(() => undefined);
    server?.close();
    rmSync(this.socketPath, { force: true });
    if (z && z.proc.exitCode === null && z.proc.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise((r) => z.proc.once('exit', r)),
        new Promise((r) => (timer = setTimeout(r, 1000))),
      ]);
      clearTimeout(timer);
    }
  }

  private forkFrom(z: Zygote, modes: ('pipe' | 'null')[], as?: HostUser): Promise<ShimProcess> {
    const token = randomBytes(16).toString('hex');
    const want = new Set([0, 1, 2, 3, 4].filter((fd) => fd > 2 || modes[fd] === 'pipe'));
    return new Promise<ShimProcess>((resolve, reject) => {
      // A zygote that does not answer (stopped, stuck): said, killed (the next launch starts a new one),
      // and this shim spawned instead.
      const timer = setTimeout(() => {
        this.log(`the shims' zygote (pid ${z.proc.pid}) started no shim within ${this.timeoutMs} ms: killing it`);
        launch.settle(new ZygoteGone());
        z.proc.kill('SIGKILL');
      }, this.timeoutMs);
      let exited: Promise<ExitStatus | undefined> | undefined;
      const launch: Launch = {
        token,
        zygote: z,
        want,
        got: [],
        settle: (err) => {
          if (!this.launches.delete(token)) return;
          clearTimeout(timer);
          if (err) {
            for (const s of launch.got) s?.destroy();
            if (launch.pid) this.send(z, ['kill', String(launch.pid), '9']);
            return reject(err);
          }
          const pid = launch.pid!;
          const [stdin, stdout, stderr, cmd, sup] = launch.got;
          void exited!.then(() => stdin?.destroy()); // as Node's ChildProcess does at its child's exit
          resolve({
            pid,
            stdin: stdin ?? null,
            stdout: stdout ?? null,
            stderr: stderr ?? null,
            cmd: cmd!,
            sup: sup!,
            exited: exited!,
            kill: (signal) => {
              if (z.exits.has(pid)) this.send(z, ['kill', String(pid), String(signal)]);
            },
          });
        },
      };
      // Its end, reported by the zygote; before its channels are all there, its failure.
      const spawned = (pid: number) => {
        launch.pid = pid;
        exited = new Promise((res) => z.exits.set(pid, res));
        void exited.then((st) => {
          if (this.launches.has(token))
            launch.settle(
              st === undefined
                ? new ZygoteGone()
                : new NsxError(
                    `the shim forked by the zygote ended before its channels connected (${describeExit(st)})`,
                    {
                      hint: "nsxd's log has the shim's own words (its stderr is nsxd's until then)",
                    },
                  ),
            );
        });
        if (!want.size) launch.settle();
      };
      this.launches.set(token, launch);
      z.spawns.set(token, { spawned, failed: (errno) => launch.settle(forkFailed(errno)) });
      this.send(z, ['spawn', token, ...modes, as ? String(as.uid) : '', as ? String(as.gid) : '']);
    });
  }

  private send(z: Zygote, fields: string[]): void {
    if (!z.channel.destroyed) z.channel.write(encodeMessage(fields));
  }

  /** The running zygote, started (with the socket) when there is none. */
  private async ready(path: string): Promise<Zygote> {
    await (this.server ??= this.listen());
    if (this.zygote && !this.zygote.channel.destroyed) return this.zygote;
    const proc = spawn(path, ['zygote', this.socketPath], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env: {} });
    proc.on('error', () => {}); // a spawn that failed: no pid, said below
    if (!proc.pid) throw new Error(`cannot start ${path} zygote`);
    const channel = proc.stdio[3] as Socket;
    const z: Zygote = { proc, channel, exits: new Map(), spawns: new Map() };
    this.zygote = z;
    let buf: Buffer = Buffer.alloc(0);
    channel.on('data', (chunk: Buffer) => {
      const { messages, rest } = decodeMessages(buf.length ? Buffer.concat([buf, chunk]) : chunk);
      buf = rest;
      for (const m of messages) this.heard(z, m);
    });
    channel.on('error', () => {});
    // Its channel closed: it is gone (or going), and nothing more can come from it. The next launch
    // starts a new one; the ends it has not reported cannot be told any more; its launches fail over.
    channel.once('close', () => {
      if (this.zygote === z) this.zygote = undefined;
      for (const done of z.exits.values()) done(undefined);
      z.exits.clear();
      for (const l of [...this.launches.values()]) if (l.zygote === z && !l.pid) l.settle(new ZygoteGone());
    });
    proc.once('exit', (code, signal) => {
      channel.destroy();
      if (!this.closed)
        this.log(
          `the shims' zygote (pid ${proc.pid}) ended (${signal ?? `exit code ${code}`}): ` +
            'its shims run on; the next one comes from a new zygote',
        );
    });
    return z;
  }

  private heard(z: Zygote, m: string[]): void {
    if (m[0] === 'exit') {
      const pid = Number(m[1]);
      const done = z.exits.get(pid);
      z.exits.delete(pid);
      done?.(m[2] === 'signal' ? { signal: Number(m[3]) } : { code: Number(m[3]) });
      return;
    }
    const p = z.spawns.get(m[1]);
    z.spawns.delete(m[1]);
    if (m[0] === 'spawned') p?.spawned(Number(m[2]));
    else if (m[0] === 'failed') p?.failed(Number(m[2]));
  }

  private listen(): Promise<Server> {
    if (this.socketPath.length > MAX_SOCKET_PATH)
      return Promise.reject(new Error(`${this.socketPath} is longer than a Unix socket's path may be`));
    rmSync(this.socketPath, { force: true }); // one left by an engine that was killed
    const server = createServer((sock) => this.connected(sock));
    return new Promise<Server>((resolve, reject) => {
      server.once('error', reject);
      // Mode 0600 from bind(2) on (the umask): the directory is the engine's alone already.
      const umask = process.umask(0o177);
      server.listen(this.socketPath, () => {
        process.umask(umask);
        server.removeListener('error', reject);
        server.on('error', (e) => this.log(`the shims' socket: ${e.message}`));
        resolve(server);
      });
    });
  }

  /** A child's channel: "TOKEN FD\n", read exactly (what follows stays for the channel's reader, and
   *  an end already there is not consumed), then handed over; anything else is closed unread. */
  private connected(sock: Socket): void {
    sock.on('error', () => {});
    const onReadable = () => {
      const hello = sock.read(HELLO_LENGTH) as Buffer | null;
      if (hello === null) {
        if (sock.readableEnded || sock.destroyed) sock.destroy();
        return;
      }
      sock.removeListener('readable', onReadable);
      const text = hello.toString('latin1');
      const launch =
        hello.length === HELLO_LENGTH && text[34] === '\n' ? this.launches.get(text.slice(0, 32)) : undefined;
      const fd = Number(text[33]);
      if (!launch || text[32] !== ' ' || !launch.want.delete(fd)) return void sock.destroy();
      launch.got[fd] = sock;
      if (!launch.want.size && launch.pid) launch.settle();
    };
    sock.on('readable', onReadable);
  }
}

/** The zygote ended (or was given up) during a launch: the launch spawns its shim instead. */
class ZygoteGone extends NsxError {
  constructor() {
    super("the shims' zygote ended during a launch");
  }
}

function forkFailed(errno: number): NsxError {
  return new NsxError(`the shims' zygote could not fork (errno ${errno})`, {
    syscall: 'fork',
    errno,
    hint: 'the machine may be out of memory or processes (ulimit -u, pids.max)',
  });
}

/** What the zygote can give each of fds 0-2: a socket to the engine ('pipe') or /dev/null ('ignore');
 *  undefined for anything else ('inherit', a descriptor): such a shim is spawned. */
function stdioModes(stdio: StdioOptions): ('pipe' | 'null')[] | undefined {
  const base = (Array.isArray(stdio) ? stdio : [stdio, stdio, stdio]).slice(0, 3);
  const modes = base.map((s) => (s === 'pipe' ? 'pipe' : s === 'ignore' ? 'null' : undefined));
  return modes.every((m) => m !== undefined) ? (modes as ('pipe' | 'null')[]) : undefined;
}
