// The image verbs' handlers (loaded lazily by their command modules). Like docker's client, they
// exit 1 on failure (nsx run exits 125 when its pull fails, as docker run does).
import { NsxError } from '../../runtime/errors.js';
import { familiarName, parseReference } from '../../image/reference.js';
import { parentIds } from '../../image/prune.js';
import { ImageStore } from '../../image/store.js';
import { inspectImage, pullImage, removeImage } from '../../image/verbs.js';
import { pullRenderer, pushRenderer } from '../../render/pull.js';
import { imagesTable } from './messages.js';
import type { PullArgs } from '../pull/index.js';
import type { PushArgs } from '../push/index.js';
import type { ImagesArgs } from '../images/index.js';
import type { RmiArgs } from '../rmi/index.js';
import type { TagArgs } from '../tag/index.js';
import type { InspectArgs } from './index.js';

/** docker's client exits 1 on errors; an NsxError keeps its message and hint. */
function asClientError(e: unknown): never {
  if (e instanceof NsxError) throw new NsxError(e.message, { ...e.info, exitCode: 1 });
  throw e;
}

export async function pullHandler(args: PullArgs): Promise<number> {
  const store = new ImageStore();
  try {
    const ref = parseReference(args.name);
    const render = pullRenderer(process.stdout, { quiet: args.quiet });
    if (!args.quiet && ref.tag === undefined && ref.digest === undefined)
      process.stdout.write('Using default tag: latest\n');
    try {
      const result = await pullImage(store, args.name, { platform: args.platform, onEvent: (e) => render.onEvent(e) });
      render.finish();
      if (!args.quiet) process.stdout.write(result.ref + '\n');
    } finally {
      render.finish();
    }
    return 0;
  } catch (e) {
    asClientError(e);
  }
}

export async function pushHandler(args: PushArgs): Promise<number> {
  const { push } = await import('../../image/push.js');
  const store = new ImageStore();
  const render = pushRenderer(process.stdout, { quiet: args.quiet });
  try {
    await push(args.name, { store, onEvent: (e) => render.onEvent(e) });
    return 0;
  } catch (e) {
    asClientError(e);
  } finally {
    render.finish();
  }
}

export function imagesHandler(args: ImagesArgs): number {
  const store = new ImageStore();
  let rows = store.list();
  if (!args.all) {
    // docker's intermediate images (a build's steps: nameless, and the parent of another image).
    const parents = parentIds(store);
    rows = rows.filter((r) => r.ref !== undefined || !parents.has(r.id));
  }
  if (args.repository) {
    let wanted: { repo: string; tag?: string };
    try {
      const r = parseReference(args.repository);
      wanted = { repo: familiarName(r), tag: r.tag };
    } catch (e) {
      asClientError(e);
    }
    rows = rows.filter((r) => r.repository === wanted.repo && (wanted.tag === undefined || r.tag === wanted.tag));
  }
  if (args.quiet) {
    const ids = [...new Set(rows.map((r) => (args['no-trunc'] ? r.id : r.id.slice(7, 19))))];
    process.stdout.write(ids.map((i) => i + '\n').join(''));
    return 0;
  }
  process.stdout.write(imagesTable(rows, { digests: args.digests, noTrunc: args['no-trunc'] }));
  return 0;
}

export function rmiHandler(args: RmiArgs): number {
  const store = new ImageStore();
  let status = 0;
  for (const ref of args.images) {
    try {
      const lines = removeImage(store, ref, args.force);
      for (const line of lines) process.stdout.write(line + '\n');
    } catch (e) {
      if (!(e instanceof NsxError)) throw e;
      // docker goes on with the other images and exits 1 at the end.
      process.stderr.write(`nsx: ${e.describe()}\n`);
      status = 1;
    }
  }
  return status;
}

export function tagHandler(args: TagArgs): number {
  try {
    new ImageStore().tag(args.source, args.target);
    return 0;
  } catch (e) {
    asClientError(e);
  }
}

export function inspectHandler(args: InspectArgs): number {
  const store = new ImageStore();
  const docs: unknown[] = [];
  const missing: string[] = [];
  for (const name of args.images) {
    const doc = inspectImage(store, name);
    if (doc) docs.push(doc);
    else missing.push(name);
  }
  process.stdout.write(JSON.stringify(docs, null, 4) + '\n');
  for (const m of missing) process.stderr.write(`Error: No such image: ${m}\n`);
  return missing.length ? 1 : 0;
}
