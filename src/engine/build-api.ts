// nsxd's endpoints that make images and manage the store around them, in the Docker Engine API's
// shapes (docs.docker.com/reference/api/engine/): POST /commit (docker commit), GET
// /images/{name}/history (docker history), POST /images/prune (docker image prune), POST /build (the
// legacy builder: DOCKER_BUILDKIT=0 docker build) and POST /auth (docker login).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import type { Engine } from './engine.js';
import { ApiError } from './errors.js';
import { errorLine, toApiError, type Http } from './images-api.js';
import { commit } from './verbs/commit.js';

type Handler = (req: IncomingMessage, res: ServerResponse, q: URLSearchParams, name: string) => Promise<void> | void;
type Route = [method: string, path: RegExp, handler: Handler];

const openStore = async () => new (await import('../image/store.js')).ImageStore();

/** A request body of JSON (small: POST /auth's). */
async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1 << 20) throw new ApiError(413, 'request body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const v = text.trim() ? (JSON.parse(text) as unknown) : {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ApiError(400, `invalid JSON in the request body: ${(e as Error).message}`);
  }
}

function asApi<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof NsxError
      ? new ApiError(400, e.message.replace(/^Error response from daemon: /, ''), e.info.hint)
      : e;
  }
}

export function buildRoutes(engine: Engine, http: Http): Route[] {
  const { send, flag } = http;
  return [
    [
      'POST',
      /^\/commit$/,
      async (_req, res, q) => {
        const ref = q.get('container');
        if (!ref) throw new ApiError(400, 'container is required', 'POST /commit?container=ID&repo=NAME&tag=TAG');
        const created = await commit(engine, engine.find(ref), {
          repo: q.get('repo') || undefined,
          tag: q.get('tag') || undefined,
          comment: q.get('comment') || undefined,
          author: q.get('author') || undefined,
          changes: q
            .getAll('changes')
            .flatMap((c) => c.split('\n'))
            .filter((c) => c.trim()),
          pause: q.has('pause') ? flag(q, 'pause') : true,
        });
        send(res, 201, created);
      },
    ],
    [
      'GET',
      /^\/images\/(.+)\/history$/,
      async (_req, res, _q, name) => {
        const store = await openStore();
        const image = store.resolve(name);
        if (!image) {
          const { displayRef } = await import('../image/store.js');
          throw new ApiError(404, `No such image: ${displayRef(name)}`);
        }
        const { imageHistory } = await import('../image/history.js');
        send(res, 200, imageHistory(store, image));
      },
    ],
    [
      'POST',
      /^\/images\/prune$/,
      async (_req, res, q) => {
        const { filtersOf } = await import('./system-api.js');
        const f = filtersOf(q);
        const unknown = Object.keys(f).filter((k) => k !== 'dangling');
        if (unknown.length)
          throw new ApiError(400, `nsx's image prune takes only the dangling filter, not ${unknown[0]}`);
        const all = (f.dangling ?? []).some((v) => ['false', '0'].includes(v));
        const store = await openStore();
        const { pruneImages } = await import('../image/prune.js');
        const { removeImage } = await import('../image/verbs.js');
        const { containerUsing } = await import('../image/rootfs.js');
        send(
          res,
          200,
          asApi(() =>
            pruneImages(store, {
              all,
              remove: (ref) => removeImage(store, ref),
              inUse: (d) => containerUsing(store.root, d),
            }),
          ),
        );
      },
    ],
    ['POST', /^\/build$/, (req, res, q) => build(engine, http, req, res, q)],
    [
      'POST',
      /^\/auth$/,
      async (req, res) => {
        const body = await jsonBody(req);
        const username = typeof body.username === 'string' ? body.username : '';
        const password = typeof body.password === 'string' ? body.password : '';
        if (!username || !password) throw new ApiError(400, 'username and password are required');
        const { checkLogin, registryName } = await import('../image/login.js');
        const registry = registryName(typeof body.serveraddress === 'string' ? body.serveraddress : undefined);
        try {
          await checkLogin(registry, { username, password });
        } catch (e) {
          if (e instanceof NsxError) throw new ApiError(/401/.test(e.message) ? 401 : 500, e.message, e.info.hint);
          throw e;
        }
        // The engine keeps no credentials: the client stores them (docker's config.json).
        send(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
      },
    ],
  ];
}

/** POST /build: the context tar in, docker's JSON progress lines out. */
async function build(
  engine: Engine,
  http: Http,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  if (q.get('version') === '2')
    throw new ApiError(
      501,
      'nsx does not implement BuildKit (version=2): its builder is the legacy one; run DOCKER_BUILDKIT=0 docker build',
    );
  const { receiveContext, dropIgnoredBuildFiles } = await import('./build/context.js');
  const { Builder, RunFailed, readDockerfile } = await import('./build/builder.js');
  const { parseReference, familiarName, withDefaultTag } = await import('../image/reference.js');
  let buildArgs: Record<string, string> = {};
  try {
    buildArgs = JSON.parse(q.get('buildargs') || '{}') as Record<string, string>;
  } catch {
    throw new ApiError(400, `invalid buildargs: ${q.get('buildargs')}`);
  }
  const tags = q.getAll('t').map((t) => asApi(() => withDefaultTag(parseReference(t))));
  const ctx = await receiveContext(req, join(engine.dir, 'builds'));
  try {
    const dockerfile = q.get('dockerfile') || 'Dockerfile';
    const steps = asApi(() => readDockerfile(ctx.dir, dockerfile));
    dropIgnoredBuildFiles(ctx.dir, dockerfile);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': http.version });
    const line = (doc: unknown) => void (res.destroyed || res.write(JSON.stringify(doc) + '\r\n'));
    const say = (text: string) => line({ stream: text });
    try {
      const store = await openStore();
      const id = await new Builder(
        engine,
        store,
        ctx.dir,
        { dockerfile, tags: q.getAll('t'), buildArgs, noCache: http.flag(q, 'nocache') },
        say,
      ).build(steps);
      line({ aux: { ID: id } });
      say(`Successfully built ${id.slice(7, 19)}\n`);
      for (const t of tags) {
        store.tag(id, t.tag !== undefined ? `${familiarName(t)}:${t.tag}` : familiarName(t));
        say(`Successfully tagged ${familiarName(t)}:${t.tag}\n`);
      }
    } catch (e) {
      const err = e instanceof NsxError || e instanceof ApiError ? toApiError(e) : undefined;
      if (!err) throw e;
      line(errorLine(err.message, e instanceof RunFailed ? e.status : undefined));
    }
    res.end();
  } finally {
    ctx.remove();
  }
}
