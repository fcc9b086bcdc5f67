// nsxd's HTTP+JSON API on a Unix socket: the Docker Engine API's paths and shapes where they overlap
// (docs.docker.com/reference/api/engine/). Errors are docker's {"message": ...} with docker's status
// codes (400 bad request, 404 no such container, 409 conflict, 500 the engine failed).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from './errors.js';
import type { Engine } from './engine.js';
import type { Hub } from './hub.js';
import { errorShape } from './shapes.js';
import * as validate from './validate.js';
import { buildRoutes } from './build-api.js';
import { imageRoutes } from './images-api.js';
import { fsRoutes } from './fs-api.js';
import { noSuchEndpoint, systemRoutes } from './system-api.js';
import { updateBody } from './verbs/update.js';
import { FrameDecoder, MULTIPLEXED_STREAM, RAW_STREAM, frame, upgradeHead } from './stream.js';

/** The API version nsx's shapes follow (docker 24's); a /v1.NN/ prefix on a path is accepted. */
export const API_VERSION = '1.43';

type Handler = (req: IncomingMessage, res: ServerResponse, q: URLSearchParams, id: string) => Promise<void> | void;

const flag = (q: URLSearchParams, k: string) => ['1', 'true', 'True'].includes(q.get(k) ?? '');

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { 'Api-Version': API_VERSION }).end();
    return;
  }
  const text = JSON.stringify(body) + '\n';
  res
    .writeHead(status, {
      'Content-Type': 'application/json',
      'Api-Version': API_VERSION,
      'Content-Length': Buffer.byteLength(text),
    })
    .end(text);
}

/** The largest JSON request body taken (413 over it). Not docker's (it sets none): big enough for any
 *  command execve(2) would run — its strings are at most 6 MiB in all (3/4 of _STK_LIM, fs/exec.c),
 *  and JSON's escapes can double them — and small enough that no client fills the engine's memory. */
export const MAX_BODY = 16 << 20;

function tooLarge(): ApiError {
  return new ApiError(
    413,
    `request body too large: the engine takes at most ${MAX_BODY >> 20} MiB of JSON`,
    'a create body that big holds a command execve(2) would refuse anyway (E2BIG)',
  );
}

/** The request's body, up to MAX_BODY: a bigger one (by its Content-Length, or as it comes) is
 *  refused with 413 and no more of it is read (the connection is then closed: see createApiServer). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const data = (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) return void chunks.push(c);
      req.off('data', data);
      req.pause();
      reject(tooLarge());
    };
    req.on('data', data);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(
      400,
      `invalid JSON in the request body: ${(e as Error).message}`,
      'send a JSON object, e.g. {"Rootfs": "/srv/rootfs", "Cmd": ["echo", "hi"]}',
    );
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  return parseJson((await readBody(req)).toString('utf8'));
}

/** A request that cannot be read as one (its target): answered 400, and the connection closed. */
class MalformedRequest extends ApiError {
  constructor(message: string, hint?: string) {
    super(400, message, hint);
  }
}

/** RFC 3986's characters of a path (pchar and "/"), with "%" only as the start of "%HH". */
const PATH_CHARS = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

/** A request's target (RFC 9112 3.2.1, origin-form: "/path?query"): the path as sent, /v1.NN/ taken
 *  off, and the query. Anything else, or a percent-encoding that does not decode (a "%" without two
 *  hex digits, bytes that are not UTF-8), is a 400: decodeURIComponent would otherwise throw later. */
export function parseTarget(raw: string | undefined): { path: string; query: URLSearchParams } {
  const target = raw ?? '';
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  const bad = (what: string) =>
    new MalformedRequest(
      `malformed request target ${JSON.stringify(target.slice(0, 200))}: ${what}`,
      'encode a path or query value with encodeURIComponent (RFC 3986)',
    );
  if (!path.startsWith('/') || !PATH_CHARS.test(path)) throw bad('not a path (RFC 3986: /segment/...)');
  try {
    decodeURIComponent(path);
    for (const part of query.split(/[&=]/)) decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw bad('invalid percent-encoding');
  }
  return { path: path.replace(/^\/v1\.\d+(?=\/)/, ''), query: new URLSearchParams(query) };
}

export function routes(engine: Engine): [method: string, path: RegExp, handler: Handler][] {
  return [
    [
      'GET',
      /^\/_ping$/,
      (_q, res) => void res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': API_VERSION }).end('OK'),
    ],
    ['HEAD', /^\/_ping$/, (_q, res) => void res.writeHead(200, { 'Api-Version': API_VERSION }).end()],
    [
      'GET',
      /^\/version$/,
      (_q, res) =>
        send(res, 200, {
          Version: '0.1.0',
          ApiVersion: API_VERSION,
          Os: 'linux',
          Arch: process.arch,
          Pid: process.pid,
        }),
    ],
    [
      'GET',
      /^\/events$/,
      (req, res) => {
        // docker's event stream: one JSON object per line, as they happen, until the client goes.
        res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
        res.flushHeaders();
        const listener = (e: unknown) => res.write(JSON.stringify(e) + '\n');
        engine.events.on('event', listener);
        req.on('close', () => engine.events.off('event', listener));
      },
    ],
    ['GET', /^\/containers\/json$/, (_req, res, q) => send(res, 200, engine.list(flag(q, 'all')))],
    [
      'POST',
      /^\/containers\/create$/,
      async (req, res, q) => {
        const body = validate.createBody(await readJson(req));
        send(res, 201, await engine.create(body, q.get('name') ?? undefined));
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/start$/,
      async (_req, res, _q, id) => send(res, (await engine.start(id)) === 'already' ? 304 : 204),
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/stop$/,
      async (_req, res, q, id) => send(res, (await engine.stop(id, timeout(q))) === 'already' ? 304 : 204),
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/kill$/,
      (_req, res, q, id) => {
        engine.kill(id, q.get('signal') || 'SIGKILL');
        send(res, 204);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/wait$/,
      async (_req, res, q, id) => {
        const waiting = engine.wait(id, q.get('condition') ?? undefined);
        // 404 and 400 come at once; otherwise the headers go now, as docker's do, so a client knows
        // the wait is registered before it starts the container, and the body when it exits.
        const early = await Promise.race([
          waiting.then(
            () => undefined,
            (e: unknown) => e,
          ),
          new Promise((r) => setImmediate(r, 'waiting')),
        ]);
        if (early !== 'waiting' && early !== undefined) throw early;
        res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
        res.flushHeaders();
        res.end(JSON.stringify(await waiting) + '\n');
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/pause$/,
      async (_req, res, _q, id) => {
        await engine.pause(id);
        send(res, 204);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/unpause$/,
      (_req, res, _q, id) => {
        engine.unpause(id);
        send(res, 204);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/restart$/,
      async (_req, res, q, id) => {
        await engine.restart(id, timeout(q));
        send(res, 204);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/rename$/,
      (_req, res, q, id) => {
        engine.rename(id, q.get('name') ?? '');
        send(res, 204);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/update$/,
      async (req, res, _q, id) => send(res, 200, engine.update(id, updateBody(await readJson(req)))),
    ],
    ['GET', /^\/containers\/([^/]+)\/json$/, (_req, res, _q, id) => send(res, 200, engine.inspect(id))],
    ['GET', /^\/containers\/([^/]+)\/top$/, (_req, res, _q, id) => send(res, 200, engine.top(id))],
    ['GET', /^\/containers\/([^/]+)\/stats$/, (req, res, q, id) => stats(engine, req, res, q, id)],
    ['GET', /^\/containers\/([^/]+)\/logs$/, (req, res, q, id) => logs(engine, req, res, q, id)],
    [
      'POST',
      /^\/containers\/([^/]+)\/attach$/,
      (req, res, q, id) => {
        // Without "Upgrade: tcp" there is no way back in: the output only, as a plain streamed answer.
        const { hub } = engine.attach(id);
        if (!flag(q, 'stream')) return send(res, 200); // logs=1 without stream: see GET /logs
        res.writeHead(200, { 'Content-Type': hub.tty ? RAW_STREAM : MULTIPLEXED_STREAM, 'Api-Version': API_VERSION });
        res.flushHeaders();
        follow(
          hub,
          req.socket,
          (d) => res.write(d),
          () => res.end(),
        );
      },
    ],
    [
      'GET',
      /^\/containers\/([^/]+)\/steps$/,
      (req, res, _q, id) => {
        // nsx: the runtime's events of a stepped container as JSON lines (those so far, then as they
        // come) until its run ends. This client owns the half-built container: if it goes first, so does the container.
        const f = engine.followSteps(id);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
        for (const e of f.events) res.write(JSON.stringify(e) + '\n');
        if (f.ended) return void res.end();
        const write = (e: { type: string }) => {
          res.write(JSON.stringify(e) + '\n');
          if (e.type === 'cleaned-up') finish(false);
        };
        const finish = (early: boolean) => {
          f.feed.off('event', write);
          if (early) f.leave();
          else res.end();
        };
        f.feed.on('event', write);
        res.once('close', () => finish(true));
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/step$/,
      (_req, res, q, id) => {
        engine.step(id, q.get('action') ?? 'apply', q.has('exit') ? Number(q.get('exit')) : undefined);
        send(res, 204);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/resize$/,
      (_req, res, q, id) => {
        engine.resize(id, size(q, 'h'), size(q, 'w'));
        send(res, 200);
      },
    ],
    [
      'POST',
      /^\/containers\/([^/]+)\/exec$/,
      async (req, res, _q, id) => {
        const e = engine.createExec(id, validate.execBody(await readJson(req)));
        send(res, 201, { Id: e.ID });
      },
    ],
    [
      'POST',
      /^\/exec\/([^/]+)\/start$/,
      async (req, res, _q, id) => {
        const body = validate.execStartBody(await readJson(req));
        const hub = engine.execHub(id);
        const { finished } = await engine.startExec(id, body.ConsoleSize);
        if (body.Detach) return send(res, 200);
        res.writeHead(200, { 'Content-Type': hub.tty ? RAW_STREAM : MULTIPLEXED_STREAM, 'Api-Version': API_VERSION });
        res.flushHeaders();
        await execOutput(hub, finished, (d) => res.write(d));
        res.end();
      },
    ],
    [
      'POST',
      /^\/exec\/([^/]+)\/resize$/,
      (_req, res, q, id) => {
        engine.resizeExec(id, size(q, 'h'), size(q, 'w'));
        send(res, 200);
      },
    ],
    ['GET', /^\/exec\/([^/]+)\/json$/, (_req, res, _q, id) => send(res, 200, engine.inspectExec(id))],
    [
      'DELETE',
      /^\/containers\/([^/]+)$/,
      async (_req, res, q, id) => {
        await engine.remove(id, flag(q, 'force'));
        send(res, 204);
      },
    ],
  ];
}

/** stop's and restart's ?t=: seconds before SIGKILL (default 10). */
function timeout(q: URLSearchParams): number {
  const t = q.has('t') ? Number(q.get('t')) : 10;
  if (!Number.isFinite(t) || t < 0) throw new ApiError(400, `invalid value for t: ${q.get('t')}`);
  return t;
}

function size(q: URLSearchParams, k: string): number {
  const n = Number(q.get(k));
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new ApiError(
      400,
      `invalid ${k === 'h' ? 'height' : 'width'}: ${q.get(k)}`,
      'give ?h=ROWS&w=COLUMNS, whole numbers',
    );
  return n;
}

/** Copies a hub's output to a client until the container's run ends (or the client goes). */
function follow(hub: Hub, socket: Duplex, write: (d: Buffer) => void, end: () => void): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    hub.off('data', write);
    hub.off('end', finish);
    end();
  };
  hub.on('data', write);
  // Attached to a container that is not running: its output comes when it starts, and ends when it
  // exits; one that never starts ends with the client.
  hub.once('end', finish);
  socket.once('close', finish);
}

/** docker's hijacked attach (and exec start) stream: POST with "Connection: Upgrade" and "Upgrade:
 *  tcp" is answered 101, then the connection carries the container's output one way and the
 *  client's input the other (stdin=1). The client half-closing ends the input. */
export async function upgrade(engine: Engine, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const fail = (e: unknown) => {
    const { status, body: shape } = errorShape(e);
    const body = JSON.stringify(shape) + '\n';
    socket.end(
      `HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${body}`,
    );
  };
  try {
    const { path, query: q } = parseTarget(req.url);
    const attach = /^\/containers\/([^/]+)\/attach$/.exec(path);
    const exec = /^\/exec\/([^/]+)\/start$/.exec(path);
    if (req.method !== 'POST' || (!attach && !exec))
      throw new ApiError(
        404,
        `no upgrade on ${req.method} ${path}`,
        'only POST /containers/{id}/attach and /exec/{id}/start upgrade the connection',
      );
    // The request's own body (exec start's JSON) comes first on the connection: read it off.
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_BODY) throw tooLarge();
    let buf = head;
    while (buf.length < length) {
      const chunk = await new Promise<Buffer | null>((r) => {
        socket.once('data', r);
        socket.once('end', () => r(null));
      });
      if (chunk === null) return;
      buf = Buffer.concat([buf, chunk]);
    }
    const rest = buf.subarray(length);
    const body = validate.execStartBody(parseJson(buf.subarray(0, length).toString('utf8')));
    if (attach) {
      const { hub } = engine.attach(decodeURIComponent(attach[1]));
      socket.write(upgradeHead(hub.tty));
      if (flag(q, 'stdin')) input(hub, socket, rest);
      if (flag(q, 'stream'))
        follow(
          hub,
          socket,
          (d) => socket.write(d),
          () => socket.end(),
        );
      else socket.end();
      return;
    }
    const id = decodeURIComponent(exec![1]);
    const hub = engine.execHub(id);
    const { finished } = await engine.startExec(id, body.ConsoleSize);
    socket.write(upgradeHead(hub.tty));
    input(hub, socket, rest);
    await execOutput(hub, finished, (d) => socket.write(d));
    socket.end();
  } catch (e) {
    fail(e);
  }
}

/** An exec's output to its client until the command has exited and its last output is through. */
async function execOutput(hub: Hub, finished: Promise<void>, write: (d: Buffer) => void): Promise<void> {
  const ended = new Promise<void>((r) => hub.once('end', r));
  hub.on('data', write);
  await Promise.all([finished, ended]);
  hub.off('data', write);
}

/** The client's input to the hub's stdin; its end (a half-close) ends the input. */
function input(hub: Hub, socket: Duplex, first: Buffer): void {
  if (first.length) hub.write(first);
  socket.on('data', (d: Buffer) => hub.write(d));
  socket.once('end', () => hub.inputEnded());
}

/** The log file: docker's multiplexed frames without a terminal (stdout=, stderr= pick streams),
 *  the raw stream with one; with follow=1 new output follows until the container exits. */
async function logs(
  engine: Engine,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
  id: string,
): Promise<void> {
  if (q.has('stdout') || q.has('stderr')) {
    if (!flag(q, 'stdout') && !flag(q, 'stderr')) throw new ApiError(400, 'You must choose at least one stream');
  }
  const want =
    q.has('stdout') || q.has('stderr')
      ? { stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr') }
      : { stdout: true, stderr: true };
  const log = engine.logPath(id);
  const tty = engine.attach(id).hub.tty;
  res.writeHead(200, { 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM, 'Api-Version': API_VERSION });
  // Picking one stream means reading the frames (they may be cut anywhere between two reads).
  const picker =
    tty || (want.stdout && want.stderr)
      ? undefined
      : new FrameDecoder((s, d) => {
          if ((s === 1 && want.stdout) || (s === 2 && want.stderr)) res.write(frame(s, d));
        });
  let at = 0;
  const copy = async () => {
    if (!existsSync(log.path)) return;
    const size = statSync(log.path).size;
    if (size <= at) return;
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(log.path, { start: at, end: size - 1 });
      s.on('data', (d) => (picker ? picker.push(d as Buffer) : res.write(d)));
      s.on('end', resolve);
      s.on('error', reject);
    });
    at = size;
  };
  await copy();
  if (flag(q, 'follow')) {
    let closed = false;
    req.on('close', () => (closed = true));
    res.on('close', () => (closed = true));
    while (!closed && log.running()) {
      await Promise.race([log.done, new Promise((r) => setTimeout(r, 200))]);
      await copy();
    }
    await copy();
  }
  res.end();
}

/** docker stats: one sample (stream=0: two, a second apart, so the CPU share can be computed, with
 *  the first as precpu_stats), or a sample a second until the client goes or the container stops. */
async function stats(
  engine: Engine,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
  id: string,
): Promise<void> {
  let prev = engine.stats(id); // 404/409 before anything is sent
  const stream = !['0', 'false', 'False'].includes(q.get('stream') ?? 'true');
  let closed = false;
  req.on('close', () => (closed = true));
  res.on('close', () => (closed = true));
  if (stream) res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
  for (;;) {
    await new Promise((r) => setTimeout(r, stream ? 1000 : 500));
    let now: Record<string, unknown>;
    try {
      now = engine.stats(id);
    } catch (e) {
      if (stream) return void res.end();
      throw e;
    }
    const sample = { ...now, precpu_stats: prev.cpu_stats, preread: prev.read };
    if (!stream) return send(res, 200, sample);
    if (closed) return;
    res.write(JSON.stringify(sample) + '\n');
    prev = now;
  }
}

export function createApiServer(engine: Engine): Server {
  const http = { send, flag, version: API_VERSION };
  // The system routes first: their POST /containers/prune and /images/{name}/tag would otherwise
  // be taken for a container's or an image's own path.
  const table = [
    ...buildRoutes(engine, http),
    ...systemRoutes(engine, http),
    ...fsRoutes(engine, http),
    ...routes(engine),
    ...imageRoutes(http),
  ];
  const server = createServer(async (req, res) => {
    try {
      const { path, query } = parseTarget(req.url);
      const match = table.map(([m, re, h]) => [m, re.exec(path), h] as const).filter(([, m]) => m);
      if (!match.length) throw noSuchEndpoint(req.method ?? 'GET', path);
      const hit = match.find(([m]) => m === req.method);
      if (!hit) throw new ApiError(405, `${req.method} is not allowed on ${path}`);
      const [, m, handler] = hit;
      await handler(req, res, query, decodeURIComponent(m![1] ?? ''));
    } catch (e) {
      if (res.headersSent) return void res.end();
      const { status, body } = errorShape(e);
      // A body not read to its end (413, or refused before it was read) leaves the connection out of
      // step: the answer closes it (RFC 9110 15.5.14: the server "MAY close the connection").
      if (!req.complete || status === 413 || e instanceof MalformedRequest) res.setHeader('Connection', 'close');
      send(res, status, body);
    }
  });
  // What Node's HTTP parser cannot read (a malformed request line or header, headers over its
  // limit) is answered here, in docker's error shape, and the connection closed; without this
  // listener Node answers a bare 400.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const [status, text] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
    const body = JSON.stringify({ message: `malformed HTTP request: ${err.message}` }) + '\n';
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(engine, req, socket, head));
  return server;
}
