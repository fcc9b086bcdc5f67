// The work of nsx diff, cp, export, save and load: clients of nsxd printing what docker's CLI prints.
// cp follows the docker CLI's rules (cli/command/container/cp.go, moby's pkg/archive/copy.go): the
// engine sends or takes a tar; which name the copy gets (the source's, into an existing directory;
// the destination's, as a new name; a directory's contents for SRC/.) is decided here, from the stat
// the engine sends (X-Docker-Container-Path-Stat) and the host's own files. The host side is walked
// and written with the same in-root code as the engine's (a root of "/": the user's own files).
import { createReadStream, createWriteStream, existsSync, lstatSync, statSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { apiError, engineClient, type EngineClient } from '../../engine/client.js';
import { InRoot } from '../../engine/fs/inroot.js';
import { GO_MODE, PATH_STAT_HEADER, type PathStat } from '../../engine/fs/stat.js';
import { untarInto } from '../../engine/fs/tar-in.js';
import { tarStream, tarTree } from '../../engine/fs/tar-out.js';
import { NsxError } from '../../runtime/errors.js';
import { UsageError } from '../types.js';

const enc = encodeURIComponent;
const KIND = ['C', 'A', 'D'];

/** A request whose body may be a stream and whose answer is the response itself (not read). */
function raw(client: EngineClient, method: string, path: string, body?: Readable): Promise<IncomingMessage> {
  return new Promise((res, rej) => {
    const req = request({
      socketPath: client.socket,
      method,
      path,
      headers: body ? { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } : {},
    });
    req.on('response', res);
    req.on('error', rej);
    if (body) {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    } else req.end();
  });
}

/** An answer of 400 or more as the engine's error (its body read). */
async function failed(r: IncomingMessage): Promise<NsxError> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return apiError({ status: r.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T });
}

function statOf(r: IncomingMessage): PathStat | undefined {
  const h = r.headers[PATH_STAT_HEADER.toLowerCase()];
  if (typeof h !== 'string') return undefined;
  return JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as PathStat;
}

const isDir = (s: PathStat) => s.mode >= GO_MODE.dir;
const isLink = (s: PathStat) => !isDir(s) && Math.floor(s.mode / GO_MODE.symlink) % 2 === 1;

// ------------------------------------------------------------------------------------------ diff

export async function diff(a: { container: string }): Promise<number> {
  const client = engineClient();
  const changes =
    (await client.call<{ Path: string; Kind: number }[]>('GET', `/containers/${enc(a.container)}/changes`)) ?? [];
  process.stdout.write(changes.map((c) => `${KIND[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  return 0;
}

// ------------------------------------------------------------------------------------------ cp

/** "CONTAINER:PATH" → [container, path]; a host path (absolute, ./, or without a colon) → [undefined, path]. */
export function splitCpArg(arg: string): [string | undefined, string] {
  if (arg.startsWith('/') || arg.startsWith('.')) return [undefined, arg];
  const i = arg.indexOf(':');
  if (i <= 0) return [undefined, arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export async function cp(a: { src: string; dest: string; followLink?: boolean; archive?: boolean }): Promise<number> {
  // yargs hands a positional "-" over as "" (it reads it as an empty option): "-" it was.
  const dash = (v: string) => (v === '' && process.argv.includes('-') ? '-' : v);
  const [sc, sp] = splitCpArg(dash(a.src));
  const [dc, dp] = splitCpArg(dash(a.dest));
  if (!sc && !sp)
    throw new UsageError('the source path is empty: give a host path, CONTAINER:PATH, or - for a tar on stdin');
  if (!dc && !dp)
    throw new UsageError('the destination path is empty: give a host path, CONTAINER:PATH, or - for stdout');
  if (sc && dc)
    throw new UsageError('copying between containers is not supported: copy to the host first, then into the other');
  if (!sc && !dc)
    throw new UsageError(
      'must specify at least one container source: nsx cp CONTAINER:SRC_PATH DEST_PATH, or nsx cp SRC_PATH CONTAINER:DEST_PATH',
    );
  if (sc && !sp) throw new UsageError('filepath cannot be empty: give the path in the container, e.g. web:/etc/passwd');
  if (dc && !dp) throw new UsageError('filepath cannot be empty: give the path in the container, e.g. web:/tmp/');
  const client = engineClient();
  return sc ? copyOut(client, sc, sp, dp, !!a.followLink) : copyIn(client, dc!, sp, dp);
}

async function copyOut(client: EngineClient, c: string, src: string, dest: string, follow: boolean): Promise<number> {
  const get = (p: string) => raw(client, 'GET', `/containers/${enc(c)}/archive?path=${enc(p)}`);
  let r = await get(src);
  if ((r.statusCode ?? 0) >= 400) throw await failed(r);
  let stat = statOf(r)!;
  let path = src;
  if (follow && isLink(stat)) {
    r.resume();
    path = stat.linkTarget;
    r = await get(path);
    if ((r.statusCode ?? 0) >= 400) throw await failed(r);
    stat = statOf(r)!;
  }
  if (dest === '-') {
    await pipeTo(r, process.stdout);
    return 0;
  }
  // The name the tar's top entry has, and where it goes (moby's CopyInfoDestinationPath).
  const top = stat.name === '/' ? '.' : stat.name;
  const target = resolvePath(dest);
  const there = existsSync(target) ? statSync(target) : undefined;
  let dir: string;
  let rebase: { from: string; to: string } | undefined;
  if (there?.isDirectory()) {
    dir = target;
  } else {
    if (dest.endsWith('/') || dest.endsWith('/.')) {
      r.resume();
      throw new NsxError(`destination directory ${dest} does not exist`, { exitCode: 1 });
    }
    if (there && isDir(stat)) {
      r.resume();
      throw new NsxError(`cannot copy a directory to a file: ${dest}`, { exitCode: 1 });
    }
    if (!existsSync(dirname(target))) {
      r.resume();
      throw new NsxError(`no such directory: ${dirname(target)}`, { exitCode: 1 });
    }
    dir = dirname(target);
    rebase = { from: top, to: basename(target) };
  }
  await untarInto(new InRoot('/'), dir, r, { noOverwriteDirNonDir: true, chown: process.getuid?.() === 0, rebase });
  done(dest);
  return 0;
}

async function copyIn(client: EngineClient, c: string, src: string, dest: string): Promise<number> {
  const head = (p: string) => raw(client, 'HEAD', `/containers/${enc(c)}/archive?path=${enc(p)}`);
  let destPath = dest;
  let h = await head(destPath);
  h.resume();
  let dstStat = (h.statusCode ?? 0) < 400 ? statOf(h) : undefined;
  if ((h.statusCode ?? 0) >= 400 && h.statusCode !== 404)
    throw new NsxError(`Error response from daemon: cannot stat ${c}:${dest} (HTTP ${h.statusCode})`, { exitCode: 1 });
  if (dstStat && isLink(dstStat)) {
    destPath = dstStat.linkTarget;
    h = await head(destPath);
    h.resume();
    dstStat = (h.statusCode ?? 0) < 400 ? statOf(h) : undefined;
  }
  let body: Readable;
  let into: string;
  if (src === '-') {
    if (!dstStat || !isDir(dstStat))
      throw new NsxError(`destination "${c}:${dest}" must be a directory`, { exitCode: 1 });
    body = process.stdin;
    into = destPath;
  } else {
    const local = resolvePath(src);
    let st;
    try {
      st = lstatSync(local);
    } catch {
      throw new NsxError(`no such file or directory: ${src}`, { exitCode: 1 });
    }
    const contents = src.endsWith('/.');
    const root = new InRoot('/');
    const parts = root.resolve(local + (contents ? '/.' : ''), contents);
    const srcName = contents ? '.' : basename(local);
    let top = srcName;
    if (dstStat && isDir(dstStat)) into = destPath;
    else {
      if (dstStat && st.isDirectory())
        throw new NsxError(`cannot copy a directory to a file: ${c}:${dest}`, { exitCode: 1 });
      if (!dstStat && (dest.endsWith('/') || dest.endsWith('/.')))
        throw new NsxError(`destination directory ${c}:${dest} does not exist`, { exitCode: 1 });
      into = dirname(destPath.replace(/\/+$/, '')) || '/';
      top = basename(destPath);
    }
    body = tarStream((p) => tarTree(root, parts, top, p)) as unknown as Readable;
  }
  const r = await raw(client, 'PUT', `/containers/${enc(c)}/archive?path=${enc(into)}&noOverwriteDirNonDir=true`, body);
  if ((r.statusCode ?? 0) >= 400) throw await failed(r);
  r.resume();
  done(`${c}:${dest}`);
  return 0;
}

/** docker cp's last line, shown on a terminal only (as docker's, which draws it as progress). */
function done(to: string): void {
  if ((process.stderr as NodeJS.WriteStream).isTTY) process.stderr.write(`Successfully copied to ${to}\n`);
}

// ------------------------------------------------------------------------------------------ export, save, load

function pipeTo(src: Readable, out: Writable): Promise<void> {
  return new Promise((res, rej) => {
    src.once('error', rej);
    out.once('error', rej);
    src.once('end', res);
    src.pipe(out, { end: out !== process.stdout });
  });
}

/** docker's refusal to write a tar to a terminal. */
function outputFor(o: string | undefined): Writable {
  if (o) return createWriteStream(o);
  if ((process.stdout as NodeJS.WriteStream).isTTY)
    throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  return process.stdout;
}

async function download(path: string, o: string | undefined): Promise<number> {
  const out = outputFor(o);
  const client = engineClient();
  const r = await raw(client, 'GET', path);
  if ((r.statusCode ?? 0) >= 400) throw await failed(r);
  await pipeTo(r, out);
  if (out !== process.stdout) await new Promise<void>((res) => (out as NodeJS.WritableStream).end(res));
  if (!r.complete)
    throw new NsxError('the engine ended the archive early: it is incomplete (the engine log says why)', {
      exitCode: 1,
    });
  return 0;
}

export const exportContainer = (a: { container: string; output?: string }) =>
  download(`/containers/${enc(a.container)}/export`, a.output);

export const save = (a: { images: string[]; output?: string }) =>
  download(`/images/get?${a.images.map((n) => `names=${enc(n)}`).join('&')}`, a.output);

export async function load(a: { input?: string; quiet?: boolean }): Promise<number> {
  let body: Readable;
  if (a.input) body = createReadStream(a.input);
  else {
    if ((process.stdin as NodeJS.ReadStream).isTTY)
      throw new UsageError(
        'requested load from stdin, but stdin is empty: nsx load -i FILE.tar, or nsx load < FILE.tar',
      );
    body = process.stdin;
  }
  const client = engineClient();
  const pass = new PassThrough();
  body.on('error', (e) => pass.destroy(e));
  body.pipe(pass);
  const r = await raw(client, 'POST', `/images/load${a.quiet ? '?quiet=1' : ''}`, pass);
  if ((r.statusCode ?? 0) >= 400) throw await failed(r);
  let text = '';
  for await (const c of r) text += (c as Buffer).toString('utf8');
  for (const line of text.split(/\r?\n/).filter(Boolean)) {
    const m = JSON.parse(line) as { stream?: string; error?: string };
    if (m.error) throw new NsxError(m.error, { exitCode: 1 });
    if (m.stream) process.stdout.write(m.stream);
  }
  return 0;
}
