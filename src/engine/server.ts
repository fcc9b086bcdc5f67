// nsxd's HTTP+JSON API on a Unix socket: the Docker Engine API's paths and shapes where they overlap
// (docs.docker.com/reference/api/engine/). Errors are docker's {"message": ...} with docker's status
// codes (400 bad request, 404 no such container, 409 conflict, 500 the engine failed).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApiError } from './errors.js';
import { Engine, type CreateBody } from './engine.js';
import { imageRoutes } from './images-api.js';

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
  res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION, 'Content-Length': Buffer.byteLength(text) }).end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `invalid JSON in the request body: ${(e as Error).message}`, 'send a JSON object, e.g. {"Rootfs": "/srv/rootfs", "Cmd": ["echo", "hi"]}');
  }
}

export function routes(engine: Engine): [method: string, path: RegExp, handler: Handler][] {
  return [
    ['GET', /^\/_ping$/, (_q, res) => void res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': API_VERSION }).end('OK')],
    ['HEAD', /^\/_ping$/, (_q, res) => void res.writeHead(200, { 'Api-Version': API_VERSION }).end()],
    ['GET', /^\/version$/, (_q, res) => send(res, 200, { Version: '0.1.0', ApiVersion: API_VERSION, Os: 'linux', Arch: process.arch, Pid: process.pid })],
    ['GET', /^\/events$/, (req, res) => {
      // docker's event stream: one JSON object per line, as they happen, until the client goes.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
      res.flushHeaders();
      const listener = (e: unknown) => res.write(JSON.stringify(e) + '\n');
      engine.events.on('event', listener);
      req.on('close', () => engine.events.off('event', listener));
    }],
    ['GET', /^\/containers\/json$/, (_req, res, q) =>
      send(res, 200, engine.list(flag(q, 'all')).map((r) => ({
        Id: r.Id,
        Names: [`/${r.Name}`],
        Image: r.Image || r.Rootfs,
        ImageID: '',
        Command: [r.Path, ...r.Args].join(' '),
        Created: Math.floor(Date.parse(r.Created) / 1000),
        Ports: [],
        Labels: {},
        State: r.State.Status,
        Status: Engine.statusText(r),
        HostConfig: { NetworkMode: r.HostConfig.NetworkMode ?? 'none' },
      })))],
    ['POST', /^\/containers\/create$/, async (req, res, q) => {
      const body = (await readJson(req)) as CreateBody;
      const r = await engine.create(body, q.get('name') ?? undefined);
      send(res, 201, { Id: r.Id, Warnings: [] });
    }],
    ['POST', /^\/containers\/([^/]+)\/start$/, async (_req, res, _q, id) => send(res, (await engine.start(id)) === 'already' ? 304 : 204)],
    ['POST', /^\/containers\/([^/]+)\/stop$/, async (_req, res, q, id) => {
      const t = q.has('t') ? Number(q.get('t')) : 10;
      if (!Number.isFinite(t) || t < 0) throw new ApiError(400, `invalid value for t: ${q.get('t')}`);
      send(res, (await engine.stop(id, t)) === 'already' ? 304 : 204);
    }],
    ['POST', /^\/containers\/([^/]+)\/kill$/, (_req, res, q, id) => {
      engine.kill(id, q.get('signal') || 'SIGKILL');
      send(res, 204);
    }],
    ['POST', /^\/containers\/([^/]+)\/wait$/, async (_req, res, _q, id) => send(res, 200, await engine.wait(id))],
    ['GET', /^\/containers\/([^/]+)\/json$/, (_req, res, _q, id) => send(res, 200, engine.inspect(id))],
    ['GET', /^\/containers\/([^/]+)\/top$/, (_req, res, _q, id) => send(res, 200, engine.top(id))],
    ['GET', /^\/containers\/([^/]+)\/stats$/, (req, res, q, id) => stats(engine, req, res, q, id)],
    ['GET', /^\/containers\/([^/]+)\/logs$/, (req, res, q, id) => logs(engine, req, res, q, id)],
    ['DELETE', /^\/containers\/([^/]+)$/, async (_req, res, q, id) => {
      await engine.remove(id, flag(q, 'force'));
      send(res, 204);
    }],
  ];
}

/** The log file as it is (stdout and stderr in the order written; docker's raw stream, as for a tty
 *  container); with follow=1 new output follows until the container exits. */
async function logs(engine: Engine, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, id: string): Promise<void> {
  if (q.has('stdout') || q.has('stderr')) {
    if (!flag(q, 'stdout') && !flag(q, 'stderr')) throw new ApiError(400, 'You must choose at least one stream');
  }
  const log = engine.logPath(id);
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Api-Version': API_VERSION });
  let at = 0;
  const copy = async () => {
    if (!existsSync(log.path)) return;
    const size = statSync(log.path).size;
    if (size <= at) return;
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(log.path, { start: at, end: size - 1 });
      s.on('data', (d) => res.write(d));
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
async function stats(engine: Engine, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, id: string): Promise<void> {
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
  const table = [...routes(engine), ...imageRoutes({ send, flag, version: API_VERSION })];
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://nsxd');
    const path = url.pathname.replace(/^\/v1\.\d+(?=\/)/, '');
    try {
      const match = table.map(([m, re, h]) => [m, re.exec(path), h] as const).filter(([, m]) => m);
      if (!match.length) throw new ApiError(404, `page not found: ${req.method} ${path}`);
      const hit = match.find(([m]) => m === req.method);
      if (!hit) throw new ApiError(405, `${req.method} is not allowed on ${path}`);
      const [, m, handler] = hit;
      await handler(req, res, url.searchParams, decodeURIComponent(m![1] ?? ''));
    } catch (e) {
      if (res.headersSent) return void res.end();
      if (e instanceof ApiError) send(res, e.status, { message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
      else send(res, 500, { message: `the engine failed (a bug in namespace-explorer): ${(e as Error)?.stack ?? e}` });
    }
  });
}
