// COPY and ADD of local files: the sources, found inside the build context only, written straight
// into a layer tar (no container is needed to copy files): the destination's missing parent
// directories, then each source file or directory's tree, owned by root (docker's default without
// --chown), with their modes and times. The cache key of the step is the sources' contents and modes
// (docker's rule: "the contents of the files are examined and a checksum is calculated for each
// file; the last-modified and last-accessed times are not considered").
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { secureJoin } from '../../runtime/securejoin.js';
import { DockerfileError, splitWords, substitute, type Instruction } from '../../image/dockerfile.js';

type Header = Parameters<ReturnType<typeof pack>['entry']>[0];

export interface CopyPlan {
  /** Entries of the layer, in order: [name in the layer, header fields, the file on the host]. */
  entries: { name: string; stat: Stats; host: string; link?: string }[];
  /** The destination's parents that the image does not have. */
  parents: string[];
  /** sha256 of the sources (paths, modes, contents): part of the step's cache key. */
  checksum: string;
  dest: string;
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz|tar\.zst)$/i;

/** Where COPY SRC... DEST takes its files from (inside CONTEXT) and puts them (in the image). */
export function planCopy(
  i: Instruction,
  context: string,
  workdir: string,
  vars: Record<string, string>,
  imageHas: (path: string) => boolean,
): CopyPlan {
  const words = i.json ?? splitWords(i.args).map((w) => w.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'));
  const flag = words.find((w) => w.startsWith('--'));
  if (flag)
    throw new DockerfileError(`line ${i.line}: nsx's ${i.name} takes no options (${flag.split('=')[0]})`, {
      hint: 'files are copied owned by root, from the build context only',
    });
  if (words.length < 2) throw new DockerfileError(`line ${i.line}: ${i.name} requires at least two arguments`);
  const all = words.map((w) => substitute(w, vars));
  const sources = all.slice(0, -1);
  let dest = all[all.length - 1];
  const dirDest = dest.endsWith('/') || sources.length > 1;
  dest = posix.resolve(workdir || '/', dest);
  const entries: CopyPlan['entries'] = [];
  const hash = createHash('sha256');
  for (const src of sources) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src))
      throw new DockerfileError(`line ${i.line}: ADD of a URL (${src}): nsx's builder copies local files only`);
    if (/[*?[]/.test(src))
      throw new DockerfileError(`line ${i.line}: ${i.name} ${src}: nsx's builder takes no wildcards`, {
        hint: 'name each file or directory',
      });
    if (i.name === 'ADD' && ARCHIVE.test(src))
      throw new DockerfileError(
        `line ${i.line}: ADD ${src}: docker would unpack this archive into the image; nsx's builder does not`,
        { hint: 'COPY it (copied as it is), or unpack it in a RUN' },
      );
    const host = secureJoin(context, src); // symlinks resolved inside the context, never out of it
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch {
      throw new DockerfileError(`line ${i.line}: ${i.name} failed: file not found in build context: ${src}`, {
        hint: 'sources are paths inside the directory docker build was given (its .dockerignore applied)',
      });
    }
    const base = st.isDirectory() || dirDest ? dest : posix.dirname(dest);
    const name = st.isDirectory() ? '' : dirDest ? posix.basename(host) : posix.basename(dest);
    const walk = (h: string, inImage: string, s: Stats) => {
      hash.update(`${inImage}\0${s.mode}\0`);
      if (s.isDirectory()) {
        if (inImage !== base || !st.isDirectory() || !imageHas(inImage))
          entries.push({ name: inImage, stat: s, host: h });
        for (const n of readdirSync(h).sort())
          walk(posix.join(h, n), posix.join(inImage, n), lstatSync(posix.join(h, n)));
      } else if (s.isSymbolicLink()) {
        const link = readlinkSync(h);
        hash.update(link);
        entries.push({ name: inImage, stat: s, host: h, link });
      } else if (s.isFile()) {
        hash.update(readFileSync(h));
        entries.push({ name: inImage, stat: s, host: h });
      }
      // sockets, devices and fifos of the context are left out, as docker's context tar leaves them
    };
    walk(host, name ? posix.join(base, name) : base, st);
  }
  const parents: string[] = [];
  const top = entries.length ? posix.dirname(entries[0].name) : dest;
  for (let p = top; p !== '/' && !imageHas(p); p = posix.dirname(p)) parents.unshift(p);
  return { entries, parents, checksum: hash.digest('hex'), dest };
}

/** The plan as a layer tar (owned by root, modes and times kept). */
export function copyTar(plan: CopyPlan): Readable {
  const p = pack();
  const add = (h: Header, body?: Buffer) =>
    new Promise<void>((res, rej) => {
      const cb = (e?: Error | null) => (e ? rej(e) : res());
      if (body) p.entry(h, body, cb);
      else (p.entry(h, cb) as unknown as { end(): void }).end();
    });
  const rel = (n: string) => n.replace(/^\//, '');
  void (async () => {
    const now = new Date();
    for (const d of plan.parents) await add({ name: `${rel(d)}/`, type: 'directory', mode: 0o755, mtime: now });
    for (const e of plan.entries) {
      const h = { name: rel(e.name), mode: e.stat.mode & 0o7777, mtime: e.stat.mtime, uid: 0, gid: 0 };
      if (e.stat.isDirectory()) await add({ ...h, name: `${h.name}/`, type: 'directory' });
      else if (e.link !== undefined) await add({ ...h, type: 'symlink', linkname: e.link });
      else await add({ ...h, type: 'file' }, readFileSync(e.host));
    }
  })().then(
    () => p.finalize(),
    (e: Error) => p.destroy(e),
  );
  return Readable.from(p as AsyncIterable<Buffer>, { objectMode: false });
}
