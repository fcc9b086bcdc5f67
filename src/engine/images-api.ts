// nsxd's image endpoints, in the Docker Engine API v1.43's shapes: GET /images/json, POST
// /images/create (a pull, streamed as docker's progress JSON lines), GET /images/{name}/json and
// DELETE /images/{name}. What they do is what `nsx images`, `nsx pull`, `nsx image inspect` and
// `nsx rmi` do (src/image/verbs.ts); this module only shapes it as docker's daemon answers it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PullEvent } from '../image/pull.js';
import { isValidTag } from '../image/reference.js';
import type { ImageStore } from '../image/store.js';
import type { ImageSummary } from '../image/types.js';
import { progressText } from '../render/pull.js';
import { NsxError } from '../runtime/errors.js';
import { ApiError } from './errors.js';

/** What the route table lends its routes (server.ts's helpers). */
export interface Http {
  send(res: ServerResponse, status: number, body?: unknown): void;
  flag(q: URLSearchParams, k: string): boolean;
  version: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, q: URLSearchParams, name: string) => Promise<void> | void;

/** The image routes, in the shape of server.ts's routes(): [method, path, handler]. The store is the
 *  one `nsx images` sees ($NSX_ROOT/images; /var/lib/nsx/images as root). */
export function imageRoutes(
  http: Http,
  openStore: () => Promise<ImageStore> = defaultStore,
): [method: string, path: RegExp, handler: Handler][] {
  return [
    [
      'GET',
      /^\/images\/json$/,
      async (_req, res, q) => {
        const store = await openStore();
        // docker's intermediate images (a build's steps: nameless, and the parent of another image)
        // are listed with all=1 only.
        const { parentIds } = await import('../image/prune.js');
        const parents = http.flag(q, 'all') ? new Set<string>() : parentIds(store);
        http.send(
          res,
          200,
          imageSummaries(
            store
              .list()
              .filter((row) => row.ref !== undefined || !parents.has(row.id))
              .map((row) => ({ row, names: store.namesOf(row.manifestDigest), labels: labelsOf(store, row.id) })),
          ),
        );
      },
    ],
    ['POST', /^\/images\/create$/, async (_req, res, q) => createImage(http, res, q, await openStore())],
    // Names have slashes and colons ("localhost:5000/team/app:1"): docker's {name:.*}.
    [
      'GET',
      /^\/images\/(.+)\/json$/,
      async (_req, res, _q, name) => {
        const { inspectImage } = await import('../image/verbs.js');
        const store = await openStore();
        const doc = asApiError(() => inspectImage(store, name));
        if (!doc) {
          const { displayRef } = await import('../image/store.js');
          throw new ApiError(
            404,
            `No such image: ${displayRef(name)}`,
            'GET /images/json lists the store; POST /images/create?fromImage=NAME pulls it',
          );
        }
        http.send(res, 200, doc);
      },
    ],
    [
      'DELETE',
      /^\/images\/(.+)$/,
      async (_req, res, q, name) => {
        const { removeImage } = await import('../image/verbs.js');
        const store = await openStore();
        http.send(res, 200, deleteResponse(asApiError(() => removeImage(store, name, http.flag(q, 'force')))));
      },
    ],
  ];
}

async function defaultStore(): Promise<ImageStore> {
  const { ImageStore } = await import('../image/store.js');
  return new ImageStore();
}

function labelsOf(store: ImageStore, configDigest: string): Record<string, string> | null {
  try {
    return store.readJson<{ config?: { Labels?: Record<string, string> } }>(configDigest).config?.Labels ?? null;
  } catch {
    return null; // listed by store.list() a moment ago: gone meanwhile
  }
}

/** POST /images/create?fromImage=NAME[&tag=TAG][&platform=os/arch]: docker pull through the engine.
 *  An error before the first line is docker's {"message"} with its status; after it, docker's
 *  {"errorDetail": …, "error": …} line (the status, 200, is sent by then). */
async function createImage(http: Http, res: ServerResponse, q: URLSearchParams, store: ImageStore): Promise<void> {
  const from = q.get('fromImage');
  if (!from) {
    throw new ApiError(
      400,
      q.get('fromSrc') ? 'importing an image (fromSrc) is not supported by nsx' : 'fromImage is required',
      'e.g. POST /images/create?fromImage=busybox&tag=latest',
    );
  }
  const { pullImage } = await import('../image/verbs.js');
  const name = asApiError(() => pullName(from, q.get('tag') ?? ''));
  const line = (doc: unknown) => {
    if (!res.headersSent) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': http.version });
    }
    if (!res.destroyed) res.write(JSON.stringify(doc) + '\r\n'); // docker's stream ends its lines so
  };
  try {
    await pullImage(store, name, {
      platform: q.get('platform') || undefined,
      onEvent: (e) => {
        const doc = progressLine(e);
        if (doc) line(doc);
      },
    });
  } catch (e) {
    const err = toApiError(e);
    if (!res.headersSent) throw err;
    line(errorLine(err.message));
  }
  res.end();
}

// ------------------------------------------------------------------ pure shaping (unit-tested)

/** docker's ImageSummary (GET /images/json), API v1.43: untagged images have [] (not "<none>:<none>"). */
export interface DockerImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

export interface ImageFacts {
  /** A row of the store's listing: one per name. */
  row: ImageSummary;
  names: { repoTags: string[]; repoDigests: string[] };
  labels: Record<string, string> | null;
}

/** The store's rows (one per name) as docker's list: one entry per image id, with all its names,
 *  in the store's order (newest first). */
export function imageSummaries(facts: ImageFacts[]): DockerImageSummary[] {
  const byId = new Map<string, DockerImageSummary>();
  for (const { row, names, labels } of facts) {
    let s = byId.get(row.id);
    if (!s) {
      const created = row.created ? Date.parse(row.created) : NaN;
      s = {
        Id: row.id,
        ParentId: '',
        RepoTags: [],
        RepoDigests: [],
        Created: Number.isFinite(created) ? Math.floor(created / 1000) : 0,
        Size: row.size,
        SharedSize: -1,
        Labels: labels,
        Containers: -1,
      };
      byId.set(row.id, s);
    }
    for (const t of names.repoTags) if (!s.RepoTags.includes(t)) s.RepoTags.push(t);
    for (const d of names.repoDigests) if (!s.RepoDigests.includes(d)) s.RepoDigests.push(d);
  }
  return [...byId.values()];
}

/** What to pull for fromImage and tag, as docker's postImagesCreate joins them: a tag replaces the
 *  name's; a digest "tag" (sha256:…) replaces its tag and digest. The name stays as written, so an
 *  unqualified one is still looked up in registries.json's search list. */
export function pullName(fromImage: string, tag: string): string {
  if (!tag) return fromImage;
  const m = /^(.*?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(fromImage)!;
  const [, repo, , digest] = m;
  if (/^sha256:[a-f0-9]{64}$/.test(tag)) return `${repo}@${tag}`;
  if (!isValidTag(tag))
    throw new NsxError(`invalid tag "${tag}"`, {
      hint: 'a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, or a digest sha256:<64 hex>',
    });
  return `${repo}:${tag}${digest ? `@${digest}` : ''}`;
}

/** One pull event as docker's progress JSON (jsonmessage.JSONMessage), or nothing for what docker
 *  does not tell (which registry is asked, the platform picked). */
export function progressLine(e: PullEvent): Record<string, unknown> | undefined {
  switch (e.type) {
    case 'pulling-from':
      return { status: `Pulling from ${e.repository}`, id: e.tag };
    case 'layer': {
      const counted = e.total !== undefined && e.current !== undefined;
      return {
        status: e.status,
        progressDetail: counted ? { current: e.current, total: e.total } : {},
        ...(counted && e.total ? { progress: progressText(e.current!, e.total!) } : {}),
        id: e.id,
      };
    }
    case 'digest':
      return { status: `Digest: ${e.digest}` };
    case 'status':
      return { status: `Status: ${e.message}` };
    case 'missing-locally':
    case 'resolving':
    case 'platform':
      return undefined;
  }
}

/** docker's error line in a stream that has begun (streamformatter.FormatError): its errorDetail is a
 *  jsonmessage.JSONError, whose code (omitted when 0) docker's CLI exits with (`docker build`: a
 *  failing RUN's exit status). */
export function errorLine(
  message: string,
  code?: number,
): { errorDetail: { code?: number; message: string }; error: string } {
  return { errorDetail: code ? { code, message } : { message }, error: message };
}

/** DELETE /images/{name}'s body from the store's lines: [{"Untagged": …}, {"Deleted": …}]. */
export function deleteResponse(lines: string[]): ({ Untagged: string } | { Deleted: string })[] {
  return lines.map((l) => {
    const m = /^(Untagged|Deleted): (.*)$/.exec(l);
    if (!m) throw new Error(`unexpected line from the image store: ${l}`);
    return m[1] === 'Untagged' ? { Untagged: m[2] } : { Deleted: m[2] };
  });
}

/** The store's and the registry's errors with docker's status codes: not found 404, a conflict
 *  (an image a container uses) 409, a bad name or parameter 400, anything else (the registry cannot
 *  be reached, sent corrupt data) 500. The message without the CLI's "Error response from daemon: ". */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (!(e instanceof NsxError)) throw e; // a bug: server.ts answers 500 with the stack
  const message = e.message.replace(/^Error response from daemon: /, '');
  const kind = 'kind' in e ? e.kind : undefined; // a RegistryError's
  const status =
    kind === 'not-found' || kind === 'denied' || /^No such image: /.test(message)
      ? 404
      : /^conflict: /.test(message)
        ? 409
        : /^invalid (reference format|repository name|platform|tag)|is ambiguous/.test(message)
          ? 400
          : 500;
  return new ApiError(status, message, e.info.hint);
}

function asApiError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toApiError(e);
  }
}
