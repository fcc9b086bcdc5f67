// docker build's context: the tar the client sends as POST /build's body (the directory it was run
// in, less .dockerignore's), gzipped or not. It is written to a file (at most MAX_CONTEXT bytes, or
// 413), then unpacked with the very checks an image layer gets (src/image/extract.ts: no absolute
// names, no "..", nothing written through a symlink, hardlinks only to earlier entries, no device
// nodes, bounded size and entry count), into a private directory of the engine that goes when the
// build does. COPY and ADD read only from there, resolving every path inside it (secureJoin).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { ApiError } from '../errors.js';
import { compilePatterns, excluded, readIgnoreFile, type Pattern } from '../../image/dockerignore.js';
import { secureJoin } from '../../runtime/securejoin.js';

/** The largest build context taken, uncompressed (docker sets none; nsx's builds are lessons'). */
export const MAX_CONTEXT = 512 << 20;

export interface BuildContext {
  /** The unpacked context: COPY's sources are under it. */
  dir: string;
  /** Removes everything of it. */
  remove(): void;
}

/** The body's bytes, gunzipped when the client's --compress gzipped them (gzip's magic 1f 8b). */
async function* plainTar(req: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = req[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const all = (async function* () {
    yield first.value;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
  if (first.value[0] === 0x1f && first.value[1] === 0x8b) yield* Readable.from(all).pipe(createGunzip());
  else yield* all;
}

/** Reads the request's body (the context tar) and unpacks it under WORKDIR. */
export async function receiveContext(req: IncomingMessage, workdir: string): Promise<BuildContext> {
  const { extractLayer } = await import('../../image/extract.js');
  const { layerDiffDir } = await import('../../image/layers.js');
  const { removeTree } = await import('../../image/tree.js');
  const dir = join(workdir, `build-${randomBytes(8).toString('hex')}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const remove = () => removeTree(dir);
  try {
    const tar = join(dir, 'context.tar');
    const hash = createHash('sha256');
    const fd = openSync(tar, 'wx', 0o600);
    let size = 0;
    try {
      for await (const chunk of plainTar(req as AsyncIterable<Buffer>)) {
        size += chunk.length;
        if (size > MAX_CONTEXT)
          throw new ApiError(
            413,
            `the build context is larger than ${MAX_CONTEXT >> 20} MiB`,
            'build from a smaller directory, or list what the build does not need in .dockerignore',
          );
        hash.update(chunk);
        writeSync(fd, chunk);
      }
    } finally {
      closeSync(fd);
    }
    if (size === 0) throw new ApiError(400, 'the build context is empty: send the context as a tar');
    const diffId = `sha256:${hash.digest('hex')}`;
    try {
      await extractLayer(dir, tar, diffId, { maxBytes: MAX_CONTEXT, allowDevices: false });
    } catch (e) {
      if (e instanceof Error && 'info' in e) throw new ApiError(400, `the build context: ${e.message}`);
      throw e;
    }
    removeTree(tar);
    return { dir: layerDiffDir(dir, diffId), remove };
  } catch (e) {
    remove();
    throw e;
  }
}

/** moby's removeDockerfile (builder/remotecontext/detect.go), once the Dockerfile is read: the
 *  .dockerignore and the Dockerfile leave the context when the .dockerignore lists them (docker's
 *  CLI sends them all the same, for the daemon to read), so COPY . does not copy them. A missing
 *  .dockerignore, or one with a bad pattern, removes nothing (moby ignores the match's error). */
export function dropIgnoredBuildFiles(dir: string, dockerfile: string): void {
  let patterns: Pattern[];
  try {
    patterns = compilePatterns(readIgnoreFile(readFileSync(secureJoin(dir, '.dockerignore'), 'utf8')));
  } catch {
    return;
  }
  for (const file of ['.dockerignore', dockerfile])
    if (excluded(patterns, file)) rmSync(secureJoin(dir, file), { recursive: true, force: true });
}
