// A client of nsxd: HTTP over its Unix socket (what the docker CLI does with /var/run/docker.sock).
// Errors become NsxErrors in the engine's words; an engine that is not there can be started.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import { packageRoot } from '../paths.js';
import { privateDir, socketPath, stateDir } from './config.js';

/** The TLS server name (SNI) of a request: none, for a Unix socket. Left out, Node's http agent
 *  works one out from the host ("localhost") and drops it if it is an IP address (calculateServerName
 *  in Node's lib/_http_agent.js): net.isIP's first call compiles its IPv6 regular expression, ~9 ms
 *  of the first request of every nsx command measured here. An empty one skips that. */
const NO_SERVERNAME: { servername: string } = { servername: '' }; // https.RequestOptions' member, which http passes on

export interface Reply {
  status: number;
  body: string;
  json<T = unknown>(): T;
}

export class EngineClient {
  /** The engine this client started (engineClient's), once: requests that found none wait for it. */
  #started?: Promise<void>;

  /** `autostart`: start an engine when a request finds none, and say so with it (engineClient). */
  constructor(
    readonly socket: string = socketPath(),
    private readonly autostart?: (line: string) => void,
  ) {}

  /** One request; rejects with a clear NsxError when the socket cannot be reached. */
  request(method: string, path: string, body?: unknown, onData?: (chunk: Buffer) => void): Promise<Reply> {
    return this.#whenUp(() => this.#request(method, path, body, onData));
  }

  /** Sends; where no engine listens (nothing was sent, so sending again is safe) and this client may
   *  start one, starts it (one start for all its requests) and sends again. */
  async #whenUp<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      if (!this.autostart || !(e instanceof NsxError) || e.info.errno !== -1) throw e;
      this.#started ??= this.#start(this.autostart);
      await this.#started;
      return send();
    }
  }

  async #start(say: (line: string) => void): Promise<void> {
    const pid = await startEngine(this);
    // A user's engine: say where its socket is (it may be the /tmp fallback, see config.ts).
    say(`nsx: started the engine (nsxd, pid ${pid}${process.getuid?.() === 0 ? '' : `, on unix://${this.socket}`})`);
  }

  #request(method: string, path: string, body?: unknown, onData?: (chunk: Buffer) => void): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = httpRequest(
        {
          socketPath: this.socket,
          // A connection of its own per request: Node's global agent keeps idle connections alive
          // (Node 19+), and one reused just as the engine closes it after its keep-alive timeout
          // (5 s) fails with EPIPE or ECONNRESET — seen under load. A unix connect costs microseconds.
          agent: false,
          ...NO_SERVERNAME,
          method,
          path,
          headers:
            data !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => (onData && (res.statusCode ?? 0) < 400 ? onData(c) : chunks.push(c)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T });
          });
          res.on('error', reject);
        },
      );
      req.on('error', (e) => reject(connectError(this.socket, e as NodeJS.ErrnoException)));
      req.end(data);
    });
  }

  /** docker's hijack: POST with "Upgrade: tcp"; once the engine answers 101 the connection is a
   *  raw two-way stream (the container's output in, its input out). Anything else is its error. */
  hijack(path: string, body?: unknown): Promise<{ socket: Socket; head: Buffer }> {
    return this.#whenUp(() => this.#hijack(path, body));
  }

  #hijack(path: string, body?: unknown): Promise<{ socket: Socket; head: Buffer }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? '' : JSON.stringify(body);
      const req = httpRequest({
        socketPath: this.socket,
        agent: false,
        ...NO_SERVERNAME,
        method: 'POST',
        path,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'tcp',
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(data),
        },
      });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => resolve({ socket, head }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          reject(apiError({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T }));
        });
      });
      req.on('error', (e) => reject(connectError(this.socket, e as NodeJS.ErrnoException)));
      req.end(data);
    });
  }

  /** A request whose answer must be a success: anything else throws the engine's message. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    const r = await this.request(method, path, body);
    if (r.status >= 400) throw apiError(r);
    return r.body ? r.json<T>() : undefined;
  }

  /** Whether an engine answers on the socket. */
  async ping(): Promise<boolean> {
    try {
      return (await this.#request('GET', '/_ping')).status === 200; // never starts one
    } catch (e) {
      if (e instanceof NsxError && e.info.errno === -1) return false; // not there
      throw e; // there, but not ours to talk to (permission)
    }
  }
}

/** The engine's {"message", "hint"} as an NsxError (docker's words, e.g. "No such container: x"). */
export function apiError(r: Reply): NsxError {
  let message = r.body.trim();
  let hint: string | undefined;
  try {
    const b = r.json<{ message?: string; hint?: string }>();
    message = b.message ?? message;
    hint = b.hint;
  } catch {
    /* not JSON: the text as it is */
  }
  return new NsxError(`Error response from daemon: ${message}`, { hint, exitCode: 1 });
}

function connectError(socket: string, e: NodeJS.ErrnoException): NsxError {
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new NsxError(`permission denied while trying to connect to the nsx engine socket at unix://${socket}`, {
      hint: "the engine's socket is mode 0600: only its owner may use it (root's engine: use sudo; or start your own rootless engine with NSX_ENGINE_SOCKET unset)",
      exitCode: 1,
    });
  }
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    return new NsxError(`Cannot connect to the nsx engine at unix://${socket}. Is the engine running?`, {
      hint: 'start it with: nsx engine start',
      errno: -1,
      exitCode: 1,
    });
  }
  return new NsxError(`cannot talk to the nsx engine at unix://${socket}: ${e.message}`, { exitCode: 1 });
}

/** The engine's program: the bundle (scripts/build-cli.mjs: one file and the chunks it shares with
 *  the CLI, faster to start), or tsc's dist/ where no bundle was built. */
export function nsxdPath(): string {
  const bundle = join(packageRoot(), 'dist', 'bundle', 'nsxd.mjs');
  return existsSync(bundle) ? bundle : join(packageRoot(), 'dist', 'src', 'engine', 'nsxd.js');
}

/** Starts nsxd in the background (its own session, output to nsxd.log in the state dir) and waits
 *  until it answers. Returns its pid. */
export async function startEngine(client = new EngineClient(), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const dir = stateDir(env);
  // A user's engine keeps its socket in a directory of their own (maybe under /tmp: config.ts):
  // checked here too, so a bad one is this command's error rather than an engine that exits at once.
  if (process.getuid?.() !== 0) privateDir(dirname(client.socket));
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const log = openSync(join(dir, 'nsxd.log'), 'a', 0o600);
  const child = spawn(process.execPath, [nsxdPath()], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...env, NSX_ENGINE_SOCKET: client.socket, NSX_ENGINE_STATE: dir },
  });
  closeSync(log);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();
  // Asked every 20 ms for up to 10 s: the bundled nsxd answers within some tens of ms, and the run
  // that started it waits for the first answer only.
  for (let i = 0; i < 500; i++) {
    if (exited !== null)
      throw new NsxError(`the engine exited at once (code ${exited})`, { hint: `see ${join(dir, 'nsxd.log')}` });
    if (await client.ping()) return child.pid!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new NsxError('the engine did not answer within 10 seconds', { hint: `see ${join(dir, 'nsxd.log')}` });
}

/** A client of the engine, which starts one (and says so on stderr) when its first request finds
 *  none listening: no round trip to ask first. (The docker CLI pings first to negotiate the API
 *  version, moby's client/ping.go; nsx and its engine are one program's two halves, one version.) */
export function engineClient(say: (line: string) => void = (l) => process.stderr.write(l + '\n')): EngineClient {
  return new EngineClient(socketPath(), say);
}
