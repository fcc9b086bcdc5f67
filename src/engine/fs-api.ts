// nsxd's endpoints for a container's files and for images as tar archives, in the Docker Engine API's
// shapes (docs.docker.com/reference/api/engine/, v1.43):
//   GET  /containers/{id}/changes        docker diff: [{"Path", "Kind"}] (0 modified, 1 added, 2 deleted)
//   HEAD /containers/{id}/archive?path=  docker cp's stat: header X-Docker-Container-Path-Stat
//   GET  /containers/{id}/archive?path=  docker cp out: that header, and a tar (application/x-tar)
//   PUT  /containers/{id}/archive?path=  docker cp in: a tar extracted into the directory path
//   GET  /containers/{id}/export         docker export: the root filesystem as a tar
//   GET  /images/get?names=…, /images/{name}/get   docker save: docker's tar (manifest.json + OCI layout)
//   POST /images/load[?quiet=1]          docker load: docker's JSON message lines
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { NsxError } from '../runtime/errors.js';
import type { Engine } from './engine.js';
import { ApiError } from './errors.js';
import type { Http } from './images-api.js';
import { PATH_STAT_HEADER, statHeader } from './fs/stat.js';
import { exportRoot, getArchive, putArchive, statPath } from './verbs/archive.js';
import { changes } from './verbs/changes.js';

type Handler = (req: IncomingMessage, res: ServerResponse, q: URLSearchParams, id: string) => Promise<void> | void;
type Route = [method: string, path: RegExp, handler: Handler];

const openStore = async () => new (await import('../image/store.js')).ImageStore();

/** The rest of a request's body, read and dropped: answered before it is all read, the client
 *  still writing would see its connection reset instead of the answer. */
function drain(req: IncomingMessage): Promise<void> {
  if (req.complete || req.readableEnded) return Promise.resolve();
  return new Promise<void>((done) => {
    req.once('end', done).once('error', done).once('close', done);
    req.resume();
  });
}

/** A tar (or any stream) as the answer; an error once it has begun cuts the connection (the client
 *  sees the tar end short, as with docker's daemon). */
function streamOut(
  res: ServerResponse,
  http: Http,
  src: Readable,
  headers: Record<string, string> = {},
): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Api-Version': http.version, ...headers });
  return new Promise<void>((resolve) => {
    src.on('error', (e) => {
      process.stderr.write(`nsxd: a tar stream failed: ${(e as Error).message}\n`);
      res.destroy();
      resolve();
    });
    res.once('close', () => {
      src.destroy();
      resolve();
    });
    src.pipe(res);
  });
}

const pathOf = (q: URLSearchParams) => q.get('path') ?? '';

/** A store's or an archive's error as the API's: a name not there is 404, a bad archive 400. */
function imageError(e: unknown): unknown {
  if (e instanceof ApiError || !(e instanceof NsxError)) return e;
  const message = e.message.replace(/^Error response from daemon: /, '');
  // The docker CLI prints the message only: the way out goes into it.
  const hint = e.info.hint;
  return new ApiError(/^No such image/.test(message) ? 404 : 400, hint ? `${message}; ${hint}` : message);
}

export function fsRoutes(engine: Engine, http: Http): Route[] {
  return [
    ['GET', /^\/containers\/([^/]+)\/changes$/, (_req, res, _q, id) => http.send(res, 200, changes(engine.find(id)))],
    [
      'HEAD',
      /^\/containers\/([^/]+)\/archive$/,
      async (_req, res, q, id) => {
        const stat = await statPath(engine, engine.find(id), pathOf(q));
        res.writeHead(200, { [PATH_STAT_HEADER]: statHeader(stat), 'Api-Version': http.version }).end();
      },
    ],
    [
      'GET',
      /^\/containers\/([^/]+)\/archive$/,
      async (_req, res, q, id) => {
        const { stat, tar } = await getArchive(engine, engine.find(id), pathOf(q));
        await streamOut(res, http, tar as unknown as Readable, { [PATH_STAT_HEADER]: statHeader(stat) });
      },
    ],
    [
      'PUT',
      /^\/containers\/([^/]+)\/archive$/,
      async (req, res, q, id) => {
        try {
          await putArchive(engine, engine.find(id), pathOf(q), req, {
            noOverwriteDirNonDir: http.flag(q, 'noOverwriteDirNonDir'),
          });
        } catch (e) {
          req.unpipe();
          await drain(req);
          throw e;
        }
        http.send(res, 200);
      },
    ],
    [
      'GET',
      /^\/containers\/([^/]+)\/export$/,
      async (_req, res, _q, id) =>
        streamOut(res, http, (await exportRoot(engine, engine.find(id))) as unknown as Readable),
    ],
    ...[/^\/images\/get$/, /^\/images\/(.+)\/get$/].map((re): Route => [
      'GET',
      re,
      async (_req, res, q, name) => {
        const names = name ? [name] : q.getAll('names');
        if (!names.length) throw new ApiError(400, 'no image names given', 'GET /images/get?names=busybox');
        const { imagesToSave, saveTar } = await import('../image/archive.js');
        const store = await openStore();
        let images;
        try {
          images = imagesToSave(store, names);
        } catch (e) {
          throw imageError(e);
        }
        await streamOut(res, http, saveTar(store, images) as unknown as Readable);
      },
    ]),
    [
      'POST',
      /^\/images\/load$/,
      async (req, res, q) => {
        const { loadTar } = await import('../image/archive.js');
        let lines: string[];
        try {
          lines = (await loadTar(await openStore(), req)).lines;
        } catch (e) {
          req.unpipe();
          await drain(req);
          throw imageError(e);
        }
        res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': http.version });
        // docker's daemon: progress bars unless quiet, then one {"stream"} line per image loaded.
        void http.flag(q, 'quiet');
        for (const l of lines) res.write(JSON.stringify({ stream: `${l}\n` }) + '\r\n');
        res.end();
      },
    ],
  ];
}
