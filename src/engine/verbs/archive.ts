// docker cp and docker export: the container's files as tar streams (moby's daemon/archive.go).
//   HEAD /containers/{id}/archive?path=P   the path's stat (header X-Docker-Container-Path-Stat)
//   GET  /containers/{id}/archive?path=P   that stat, and a tar of the path (a directory with its tree)
//   PUT  /containers/{id}/archive?path=DIR a tar extracted into the directory DIR
//   GET  /containers/{id}/export           the whole root filesystem as a tar
// Paths are the container's, resolved inside its root (fs/inroot.ts). docker's rules for P: a last
// component that is a symlink is the symlink itself (the CLI follows it with -L by asking again for
// its linkTarget), unless P ends in "/" or "/." which resolve it; the tar's top entry is named as P's
// last component ("." for "/." — the CLI then copies a directory's contents, not the directory).
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Pack } from 'tar-stream';
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import { openRoot, withRoot, type RootAccess } from '../fs/container-root.js';
import { lstatQuiet, type InRoot } from '../fs/inroot.js';
import { pathStat, type PathStat } from '../fs/stat.js';
import { untarInto } from '../fs/tar-in.js';
import { tarStream, tarTree } from '../fs/tar-out.js';

/** The container path as docker makes it absolute, its trailing "/" or "/." kept
 *  (archive.PreserveTrailingDotOrSeparator). */
export function absolutePath(path: string): string {
  if (!path) throw new ApiError(400, 'Path cannot be empty');
  const clean = posix.normalize('/' + path);
  if (clean === '/') return '/';
  if (path.endsWith('/.')) return clean.replace(/\/?$/, '/.');
  if (path.endsWith('/')) return clean.replace(/\/?$/, '/');
  return clean.replace(/\/$/, '');
}

/** Go's filepath.Base: the last element, trailing slashes dropped; "/" for the root. */
function base(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t === '' ? '/' : t.slice(t.lastIndexOf('/') + 1);
}

interface Found {
  parts: string[];
  st: Stats;
  stat: PathStat;
}

function notFound(path: string, c: EngineContainer): ApiError {
  return new ApiError(404, `Could not find the file ${path} in container ${c.record.Name || c.id}`);
}

/** The path's components in the root and its stat, as moby's ResolvePath and StatPath find them. */
export function findPath(fs: InRoot, c: EngineContainer, path: string): Found {
  const abs = absolutePath(path);
  const last = abs.slice(abs.lastIndexOf('/') + 1);
  const follow = last === '' || last === '.';
  const parts = fs.resolve(abs, !follow ? false : true);
  const st = lstatQuiet(fs.host(parts));
  if (!st || (follow && abs !== '/' && !st.isDirectory())) throw notFound(path, c);
  const linkTarget = st.isSymbolicLink() ? '/' + fs.resolve(abs, true).join('/') : '';
  return { parts, st, stat: pathStat(base(abs), st, linkTarget) };
}

export async function statPath(engine: Engine, c: EngineContainer, path: string): Promise<PathStat> {
  return withRoot(engine, c, false, async (a) => findPath(a.fs, c, path).stat);
}

/** GET …/archive: the stat at once (a 404 before anything is sent), then the tar as it is read. The
 *  root is released when the stream ends. */
export async function getArchive(
  engine: Engine,
  c: EngineContainer,
  path: string,
): Promise<{ stat: PathStat; tar: Pack }> {
  const a = await openRoot(engine, c, false);
  let found: Found;
  try {
    found = findPath(a.fs, c, path);
  } catch (e) {
    a.release();
    throw e;
  }
  const name = found.stat.name === '/' ? '.' : found.stat.name;
  return {
    stat: found.stat,
    tar: released(
      a,
      tarStream((p) => tarTree(a.fs, found.parts, name, p)),
    ),
  };
}

/** GET …/export: every file of the container's root, names relative to it (as docker export's). */
export async function exportRoot(engine: Engine, c: EngineContainer): Promise<Pack> {
  const a = await openRoot(engine, c, false);
  return released(
    a,
    tarStream((p) => tarTree(a.fs, [], '', p, { oneFileSystem: a.how === 'process' })),
  );
}

function released(a: RootAccess, tar: Pack): Pack {
  let done = false;
  const release = () => {
    if (!done) a.release();
    done = true;
  };
  tar.once('end', release);
  tar.once('close', release);
  tar.once('error', release);
  return tar;
}

export interface PutOptions {
  noOverwriteDirNonDir: boolean;
}

/** PUT …/archive: the tar on INPUT extracted into the directory PATH (which must exist). */
export async function putArchive(
  engine: Engine,
  c: EngineContainer,
  path: string,
  input: Readable,
  o: PutOptions,
): Promise<void> {
  const abs = absolutePath(path);
  await withRoot(engine, c, true, async (a) => {
    const parts = a.fs.resolve(abs, true);
    const st = lstatQuiet(a.fs.host(parts));
    if (!st) throw notFound(path, c);
    if (!st.isDirectory()) throw new ApiError(400, 'extraction point is not a directory');
    try {
      await untarInto(a.fs, '/' + parts.join('/'), input, {
        noOverwriteDirNonDir: o.noOverwriteDirNonDir,
        chown: engine.root,
      });
    } catch (e) {
      if (e instanceof ApiError || (e as NodeJS.ErrnoException).code) throw e; // ours, or the filesystem's
      throw new ApiError(400, `the request body is not a readable tar archive: ${(e as Error).message}`);
    }
  });
}
