// Shared by the engine tests: an nsxd on a private socket and state dir, and its API over HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder } from '../src/engine/stream.js';
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import { ROOT } from './helpers.js';

const isRoot = () => process.getuid?.() === 0;

export const NSXD = join(ROOT, 'dist', 'src', 'engine', 'nsxd.js');

export interface ApiReply {
  status: number;
  text: string;
  body: any;
  /** The bytes as they came (a multiplexed stream is not text). */
  raw: Buffer;
}

/** docker's multiplexed stream (logs, attach without a terminal) split into its two streams. */
export function demux(raw: Buffer): { stdout: string; stderr: string } {
  const parts = { stdout: '', stderr: '' };
  const d = new FrameDecoder((s, data) => (parts[s === 1 ? 'stdout' : 'stderr'] += data.toString('utf8')));
  d.push(raw);
  if (d.pending) throw new Error(`a cut frame at the end: ${d.pending} bytes`);
  return parts;
}

export class TestEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'nsx-engine-'));
  readonly socket = join(this.dir, 'nsxd.sock');
  readonly state = join(this.dir, 'state');
  process?: ChildProcess;
  log = '';

  constructor() {
    chmodSync(this.dir, 0o711); // others may reach the socket's name; its own mode decides
  }

  /** NSX_ENGINE_SOCKET and NSX_ENGINE_STATE for a CLI talking to this engine. */
  get env(): Record<string, string> {
    return { NSX_ENGINE_SOCKET: this.socket, NSX_ENGINE_STATE: this.state };
  }

  /** Starts nsxd (as root, or as a user: rootless) and waits until it answers /_ping. */
  async start(opts: { uid?: number } = {}): Promise<ChildProcess> {
    if (opts.uid !== undefined) chownSync(this.dir, opts.uid, opts.uid); // a user's engine makes its state there
    const child = spawn(process.execPath, [NSXD], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
    });
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    this.process = child;
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`nsxd exited: ${this.log}`);
      try {
        if ((await this.api('GET', '/_ping')).status === 200) return child;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nsxd did not answer: ${this.log}`);
  }

  /** Stops it: SIGTERM (its containers go with it), SIGKILL if it lingers. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await gone;
    clearTimeout(timer);
  }

  api(method: string, path: string, body?: unknown): Promise<ApiReply> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socket,
          agent: false,
          method,
          path,
          headers: data ? { 'Content-Type': 'application/json' } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            const text = raw.toString('utf8');
            let parsed: any;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, text, body: parsed, raw });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  /** POST /containers/create + start; returns the id. */
  async run(rootfs: string, cmd: string[], name?: string, extra: Record<string, unknown> = {}): Promise<string> {
    const c = await this.api('POST', `/containers/create${name ? `?name=${name}` : ''}`, {
      Rootfs: rootfs,
      Cmd: cmd,
      ...extra,
    });
    if (c.status !== 201) throw new Error(`create: ${c.status} ${c.text}`);
    const s = await this.api('POST', `/containers/${c.body.Id}/start`);
    if (s.status !== 204) throw new Error(`start: ${s.status} ${s.text}`);
    return c.body.Id;
  }
}

/** An engine of this test file's own for every nsx it spawns (nsx run --step goes through the
 *  engine): started before the file's tests, named in process.env for their children, stopped after. */
export function useTestEngine(): TestEngine {
  const engine = new TestEngine();
  const saved = { NSX_ENGINE_SOCKET: process.env.NSX_ENGINE_SOCKET, NSX_ENGINE_STATE: process.env.NSX_ENGINE_STATE };
  beforeAll(async () => {
    if (!isRoot()) return; // the tests that need it are skipped (and say why)
    await engine.start();
    Object.assign(process.env, engine.env);
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await engine.stop();
  });
  return engine;
}

/** An engine for a lesson's check (nsx check <id>) to ask instead of the machine's: named in
 *  NSX_ENGINE_SOCKET before each test, which starts it when it needs it; after each, stopped, its
 *  directory removed, and NSX_ENGINE_SOCKET as it was. */
export function useCheckEngine(): TestEngine {
  const engine = new TestEngine();
  const saved = process.env.NSX_ENGINE_SOCKET;
  beforeEach(() => {
    process.env.NSX_ENGINE_SOCKET = engine.socket; // the check asks this engine, not the machine's
  });
  afterEach(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.NSX_ENGINE_SOCKET;
    else process.env.NSX_ENGINE_SOCKET = saved;
  });
  return engine;
}

/** A process's parent pid (proc(5): the 4th field of /proc/PID/stat, after the parenthesised name). */
export function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** pid, its parent, its parent's parent, … up to 1. */
export function parentChain(pid: number): number[] {
  const chain = [pid];
  while (chain[chain.length - 1] > 1) chain.push(ppidOf(chain[chain.length - 1]));
  return chain;
}

/** Whether the process runs (a zombie counts as gone): the lessons' own check. */
export { processRuns as alive } from '../src/learn/kernel.js';

/** Follows the engine's GET /events (JSON lines): the events seen so far, and a stop. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function followEvents(socket: string): { seen: any[]; stop: () => void } {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const seen: any[] = [];
  const req = request({ socketPath: socket, path: '/events' }, (res) => {
    let buf = '';
    res.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        seen.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
  });
  req.end();
  return { seen, stop: () => req.destroy() };
}

export async function until(cond: () => boolean, ms = 10000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (cond()) return true;
  return cond();
}
