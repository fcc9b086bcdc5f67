// The work of nsx build, commit, history, image prune and login, printing what docker's CLI prints.
// build and commit are clients of nsxd (a RUN needs a container, a commit a container's layer);
// history and prune read and change the store here, as nsx images does; login asks the registry.
import { request } from 'node:http';
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pack } from 'tar-stream';
import { engineClient } from '../../engine/client.js';
import { NsxError } from '../../runtime/errors.js';
import { created, table } from '../image/messages.js';
import { compilePatterns, keepBuildFiles, readIgnoreFile, walkDecision } from '../../image/dockerignore.js';
import { humanSize } from '../../render/pull.js';

const out = (s: string) => process.stdout.write(s);

async function ask(prompt: string): Promise<string> {
  out(prompt);
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((r) => {
    rl.once('line', r);
    rl.once('close', () => r(''));
  });
  rl.close();
  return answer;
}

export async function commit(a: {
  container: string;
  repository?: string;
  message?: string;
  author?: string;
  change?: string[];
  pause?: boolean;
}): Promise<number> {
  const q = new URLSearchParams({ container: a.container });
  if (a.repository) {
    const m = /^(.*?)(?::([\w][\w.-]{0,127}))?$/.exec(a.repository)!;
    q.set('repo', m[1]);
    if (m[2]) q.set('tag', m[2]);
  }
  if (a.message) q.set('comment', a.message);
  if (a.author) q.set('author', a.author);
  for (const c of a.change ?? []) q.append('changes', c);
  if (a.pause === false) q.set('pause', '0');
  const client = engineClient();
  const r = await client.call<{ Id: string }>('POST', `/commit?${q}`);
  out(`${r?.Id}\n`);
  return 0;
}

export async function history(a: { image: string; 'no-trunc'?: boolean; quiet?: boolean; human?: boolean }) {
  const { ImageStore } = await import('../../image/store.js');
  const { imageHistory } = await import('../../image/history.js');
  const store = new ImageStore();
  const image = store.resolve(a.image);
  if (!image) throw new NsxError(`Error response from daemon: No such image: ${a.image}`, { exitCode: 1 });
  const rows = imageHistory(store, image);
  const id = (i: string) => (i === '<missing>' || a['no-trunc'] ? i : i.slice(7, 19));
  if (a.quiet) return (out(rows.map((r) => `${id(r.Id)}\n`).join('')), 0);
  const by = (s: string) => {
    const t = s.replace(/\t/g, ' ');
    return a['no-trunc'] || [...t].length <= 45 ? t : `${[...t].slice(0, 44).join('')}…`;
  };
  out(
    table(
      [
        ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
        ...rows.map((r) => [
          id(r.Id),
          a.human === false
            ? new Date(r.Created * 1000).toISOString()
            : created(new Date(r.Created * 1000).toISOString()),
          by(r.CreatedBy),
          a.human === false ? String(r.Size) : humanSize(r.Size, 3),
          r.Comment,
        ]),
      ],
      10,
    ),
  );
  return 0;
}

export async function prune(a: { all?: boolean; force?: boolean }): Promise<number> {
  if (!a.force) {
    const what = a.all ? 'all images without at least one container associated to them' : 'all dangling images';
    const answer = await ask(`WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) return 0;
  }
  const { ImageStore } = await import('../../image/store.js');
  const { pruneImages } = await import('../../image/prune.js');
  const { removeImage } = await import('../../image/verbs.js');
  const { containerUsing } = await import('../../image/rootfs.js');
  const store = new ImageStore();
  const r = pruneImages(store, {
    all: a.all,
    remove: (ref) => removeImage(store, ref),
    inUse: (d) => containerUsing(store.root, d),
  });
  if (r.ImagesDeleted?.length)
    out(
      `Deleted Images:\n${r.ImagesDeleted.map((d) => ('Untagged' in d ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`)).join('\n')}\n\n`,
    );
  out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed, 4)}\n`);
  return 0;
}

/** The context directory as a tar, less what its .dockerignore leaves out, as docker's client sends
 *  it (docker/cli's RunBuild: ReadDockerignore, TrimBuildFilesFromExcludes, then moby's
 *  archive.TarWithOptions with those patterns; ../../image/dockerignore.ts). */
function contextTar(dir: string, dockerfile: string): AsyncIterable<Buffer> {
  const p = pack();
  let ignore: string[] = [];
  try {
    ignore = readIgnoreFile(readFileSync(join(dir, '.dockerignore'), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const patterns = compilePatterns(keepBuildFiles(ignore, dockerfile));
  const walk = (d: string): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((n) => {
        const full = join(d, n);
        const isDir = lstatSync(full).isDirectory();
        const what = walkDecision(patterns, relative(dir, full), isDir);
        if (what === 'skip') return [];
        const below = isDir ? walk(full) : [];
        return what === 'send' ? [full, ...below] : below;
      });
  const entries = walk(dir); // here, so that a bad pattern is this command's error
  void (async () => {
    for (const full of entries) {
      const st = lstatSync(full);
      const name = relative(dir, full);
      const h = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
      await new Promise<void>((res, rej) => {
        const cb = (e?: Error | null) => (e ? rej(e) : res());
        if (st.isFile()) p.entry({ ...h, type: 'file' }, readFileSync(full), cb);
        else if (st.isDirectory()) (p.entry({ ...h, type: 'directory' }, cb) as unknown as { end(): void }).end();
        else if (st.isSymbolicLink())
          (p.entry({ ...h, type: 'symlink', linkname: readlinkSync(full) }, cb) as unknown as { end(): void }).end();
        else res(); // sockets, fifos, devices: not in a context
      });
    }
  })().then(
    () => p.finalize(),
    (e: Error) => p.destroy(e),
  );
  return p as AsyncIterable<Buffer>;
}

export async function build(a: {
  path: string;
  tag?: string[];
  file?: string;
  'build-arg'?: string[];
  'no-cache'?: boolean;
  quiet?: boolean;
}): Promise<number> {
  const dir = resolve(a.path);
  // docker's words and status (docker/cli cli/command/image/build.go, RunBuild: a plain error, 1).
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new NsxError(`unable to prepare context: path "${a.path}" not found`, { exitCode: 1 });
  const q = new URLSearchParams();
  for (const t of a.tag ?? []) q.append('t', t);
  if (a.file) q.set('dockerfile', relative(dir, resolve(a.file)));
  if (a['no-cache']) q.set('nocache', '1');
  const args = Object.fromEntries(
    (a['build-arg'] ?? []).map((kv) => [
      kv.split('=')[0],
      kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : (process.env[kv] ?? ''),
    ]),
  );
  if (Object.keys(args).length) q.set('buildargs', JSON.stringify(args));
  const context = contextTar(dir, a.file ? relative(dir, resolve(a.file)) : 'Dockerfile');
  const client = engineClient();
  return new Promise<number>((done, fail) => {
    const req = request(
      {
        socketPath: client.socket,
        method: 'POST',
        path: `/build?${q}`,
        headers: { 'Content-Type': 'application/x-tar' },
      },
      (res) => {
        let buf = '';
        let status = 0;
        let id = '';
        const body: string[] = [];
        res.on('data', (d: Buffer) => {
          if ((res.statusCode ?? 0) >= 400) return void body.push(d.toString('utf8'));
          buf += d.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const m = JSON.parse(line) as {
              stream?: string;
              error?: string;
              errorDetail?: { code?: number };
              aux?: { ID?: string };
            };
            if (m.aux?.ID) id = m.aux.ID;
            if (m.stream && !a.quiet) out(m.stream);
            if (m.error) {
              process.stderr.write(`${m.error}\n`);
              // As docker's CLI: the error's code (a failing RUN's exit status), else 1.
              status = m.errorDetail?.code || 1;
            }
          }
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) {
            let message = body.join('');
            try {
              message = (JSON.parse(message) as { message: string }).message;
            } catch {
              /* as it came */
            }
            process.stderr.write(`Error response from daemon: ${message}\n`);
            // Refused before the stream began (a Dockerfile nsx's builder does not take, an unknown
            // instruction): docker's CLI exits 1 for any error of the daemon's (RunBuild returns it).
            return done(1);
          }
          if (a.quiet && id && !status) out(`${id}\n`);
          done(status);
        });
      },
    );
    req.on('error', fail);
    (async () => {
      for await (const c of context) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch((e: Error) => req.destroy(e));
  });
}

export async function login(a: {
  server?: string;
  username?: string;
  password?: string;
  'password-stdin'?: boolean;
}): Promise<number> {
  const { checkLogin, registryName, storeLogin } = await import('../../image/login.js');
  const registry = registryName(a.server);
  const username = a.username ?? (await ask('Username: ')).trim();
  let password = a.password;
  if (a['password-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  } else if (password !== undefined)
    process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  else password = await ask('Password: ');
  if (!username || !password) throw new NsxError('Error: Username and password are required', { exitCode: 1 });
  await checkLogin(registry, { username, password });
  const file = storeLogin(registry, { username, password });
  process.stderr.write(`WARNING! Your password will be stored unencrypted in ${file}.\n`);
  out('Login Succeeded\n');
  return 0;
}
