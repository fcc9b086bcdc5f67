// Images made by nsxd, driven by the real docker CLI (v28, /usr/local/bin/docker) and over the API
// (issue 12): docker commit (the container's upper directory becomes a layer: the new image runs and
// has the file), docker history, DOCKER_BUILDKIT=0 docker build (each RUN a container of the engine;
// built twice, the second from the cache; an instruction outside nsx's subset refused by name and
// line), docker image prune. The engine has a store of its own, loaded with the sandbox images.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { demux } from '../engine.js';
import { ImageTestEngine } from '../image-engine.js';
import { isRoot, nsx } from '../helpers.js';
import { makeTar } from '../tars.js';
import { request } from 'node:http';
import { haveRegistry, startRegistry, type RunningRegistry } from '../registry.js';

const DOCKER = '/usr/local/bin/docker';
const why = !isRoot
  ? 'needs root: the engine runs image containers as root here'
  : !existsSync('/bin/busybox')
    ? 'no /bin/busybox to build the sandbox images from (apt-get install busybox-static)'
    : '';
const whyDocker = why || (existsSync(DOCKER) ? '' : `needs the docker CLI at ${DOCKER} (it is not installed here)`);
if (why || whyDocker) console.log(`docker-image-build.test.ts: skipped: ${why || whyDocker}`);
const itApi: typeof it = ((n: string, fn: any, t?: number) =>
  why ? it.skip(`${n} [skipped: ${why}]`, fn, t) : it(n, fn, t)) as any;
const itDocker: typeof it = ((n: string, fn: any, t?: number) =>
  whyDocker ? it.skip(`${n} [skipped: ${whyDocker}]`, fn, t) : it(n, fn, t)) as any;

const engine = new ImageTestEngine();
const store = engine.store;
const env = engine.images;
const config = mkdtempSync(join(tmpdir(), 'nsx-docker-config-'));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function docker(args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}) {
  return new Promise<Result>((resolve) => {
    const child = spawn(DOCKER, args, {
      cwd: opts.cwd,
      env: {
        PATH: process.env.PATH,
        DOCKER_HOST: `unix://${engine.socket}`,
        DOCKER_CONFIG: config,
        HOME: config,
        ...opts.env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
const legacy = { DOCKER_BUILDKIT: '0' };

/** A build context directory with these files (names may have directories). */
function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-build-ctx-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** docker run --rm IMAGE CMD through the API: its stdout. */
async function runOut(image: string, cmd: string[]): Promise<string> {
  const c = await engine.api('POST', '/containers/create', { Image: image, Cmd: cmd });
  if (c.status !== 201) throw new Error(`create: ${c.status} ${c.text}`);
  await engine.api('POST', `/containers/${c.body.Id}/start`);
  await engine.api('POST', `/containers/${c.body.Id}/wait`);
  const out = demux((await engine.api('GET', `/containers/${c.body.Id}/logs`)).raw).stdout;
  await engine.api('DELETE', `/containers/${c.body.Id}?force=1`);
  return out;
}

const containersDir = () => (existsSync(join(store, 'containers')) ? readdirSync(join(store, 'containers')) : []);

// One engine and store for the whole file (both describes).
beforeAll(async () => {
  if (why) return;
  await engine.startWithImages(); // the engine (and nsx) inherit NSX_ROOT and the registries
}, 120000);
afterAll(async () => {
  await engine.stopAndRemove();
  rmSync(config, { recursive: true, force: true });
});

describe('images made by nsxd', () => {
  itApi(
    'POST /commit: the upper directory is a new layer; the image runs with the file, and its history says how',
    async () => {
      const c = await engine.api('POST', '/containers/create?name=to-commit', {
        Image: 'busybox',
        Cmd: ['sh', '-c', 'echo committed > /greeting && rm /etc/group'],
      });
      expect(c.status).toBe(201);
      await engine.api('POST', `/containers/${c.body.Id}/start`);
      expect((await engine.api('POST', `/containers/${c.body.Id}/wait`)).body.StatusCode).toBe(0);
      const commit = await engine.api(
        'POST',
        `/commit?container=to-commit&repo=committed&tag=v1&comment=${encodeURIComponent('a greeting')}&changes=${encodeURIComponent('CMD ["cat", "/greeting"]')}`,
      );
      expect(commit.status).toBe(201);
      expect(commit.body.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
      const inspect = (await engine.api('GET', '/images/committed:v1/json')).body;
      expect(inspect.Id).toBe(commit.body.Id);
      expect(inspect.Config.Cmd).toEqual(['cat', '/greeting']);
      expect(inspect.Config.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
      const base = (await engine.api('GET', '/images/busybox/json')).body;
      expect(inspect.RootFS.Layers.slice(0, -1)).toEqual(base.RootFS.Layers);
      expect(inspect.RootFS.Layers).toHaveLength(base.RootFS.Layers.length + 1);
      expect(await runOut('committed:v1', ['cat', '/greeting'])).toBe('committed\n');
      expect(await runOut('committed:v1', ['sh', '-c', 'test -e /etc/group && echo there || echo gone'])).toBe(
        'gone\n',
      );
      const history = (await engine.api('GET', '/images/committed:v1/history')).body;
      expect(history[0]).toEqual(
        expect.objectContaining({ Id: commit.body.Id, Comment: 'a greeting', Tags: ['committed:v1'] }),
      );
      expect(history[0].CreatedBy).toContain('echo committed > /greeting');
      expect(history[0].Size).toBeGreaterThan(0);
      expect(history[1].Id).toBe(base.Id);
      expect((await engine.api('GET', '/images/no-such/history')).status).toBe(404);
      expect((await engine.api('POST', '/commit?container=no-such')).status).toBe(404);
      await engine.api('DELETE', `/containers/${c.body.Id}`);
    },
  );

  itDocker(
    'docker commit, then docker run of the new image sees the file; docker history shows the layer',
    async () => {
      const run = await docker(['run', '--name', 'dc-commit', 'busybox', 'sh', '-c', 'echo from-docker > /made']);
      expect(run.code).toBe(0);
      const commit = await docker(['commit', '-m', 'made a file', 'dc-commit', 'dc-committed:1']);
      expect(commit.code).toBe(0);
      expect(commit.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      const again = await docker(['run', '--rm', 'dc-committed:1', 'cat', '/made']);
      expect(again).toEqual(expect.objectContaining({ code: 0, stdout: 'from-docker\n' }));
      const history = await docker(['history', 'dc-committed:1']);
      expect(history.code).toBe(0);
      const lines = history.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
      expect(lines[1]).toMatch(new RegExp(`^${commit.stdout.slice(7, 19)} .*made a file$`));
      const nsxHistory = await nsx(['history', 'dc-committed:1'], { env: { ...engine.env, ...env } });
      expect(nsxHistory.code).toBe(0);
      // The same columns as docker's (the widths follow the contents: "1 second ago" or "2 seconds ago").
      const columns = (s: string) => s.split('\n').map((l) => l.split(/ {3,}/));
      expect(columns(nsxHistory.stdout)[0]).toEqual(columns(history.stdout)[0]);
      expect(columns(nsxHistory.stdout)[2]).toEqual(columns(history.stdout)[2]);
      expect(nsxHistory.stdout.split('\n')[0]).toMatch(/^IMAGE {10}CREATED {2,}CREATED BY {38}SIZE {6}COMMENT$/);
      expect((await docker(['rm', 'dc-commit'])).code).toBe(0);
    },
  );

  itDocker(
    'DOCKER_BUILDKIT=0 docker build: each step, RUN in a container; built again, every step from the cache',
    async () => {
      const dir = context({
        Dockerfile: 'FROM busybox\nRUN echo built > /built && echo RUN-OUTPUT\nCMD ["cat", "/built"]\n',
      });
      try {
        const first = await docker(['build', '-t', 'dc-built', '.'], { cwd: dir, env: legacy });
        expect(first.code).toBe(0);
        expect(first.stdout).toContain('Step 1/3 : FROM busybox\n');
        expect(first.stdout).toMatch(
          /Step 2\/3 : RUN echo built > \/built && echo RUN-OUTPUT\n ---> Running in [0-9a-f]{12}\n/,
        );
        expect(first.stdout).toContain('RUN-OUTPUT\n');
        expect(first.stdout).toContain('RUN has no network');
        expect(first.stdout).toMatch(/Successfully built [0-9a-f]{12}\nSuccessfully tagged dc-built:latest\n$/);
        expect(first.stdout).not.toContain('Using cache');
        const second = await docker(['build', '-t', 'dc-built', '.'], { cwd: dir, env: legacy });
        expect(second.code).toBe(0);
        expect(second.stdout.match(/ ---> Using cache\n/g)).toHaveLength(2);
        const id = (s: string) => /Successfully built ([0-9a-f]{12})/.exec(s)![1];
        expect(id(second.stdout)).toBe(id(first.stdout));
        expect(await runOut('dc-built', [])).toBe('built\n');
        expect(containersDir().length).toBe(0); // the RUN's container went
        const images = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
        expect(images.stdout).toContain('dc-built:latest');
        expect(images.stdout).not.toContain('<none>'); // the steps' images are intermediate: hidden
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  itDocker('docker build of an instruction outside the subset: refused by name and line', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nRUN true\nHEALTHCHECK CMD true\n' });
    const unknown = context({ Dockerfile: 'FROM busybox\nFOO bar\n' });
    try {
      const r = await docker(['build', '.'], { cwd: dir, env: legacy });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Dockerfile line 3: nsx's builder does not support HEALTHCHECK");
      expect(r.stdout).not.toContain('Step 1/');
      const u = await docker(['build', '.'], { cwd: unknown, env: legacy });
      expect(u.code).toBe(1);
      expect(u.stderr).toContain('dockerfile parse error on line 2: unknown instruction: FOO');
      // nsx build exits as docker's CLI does: 1 for any error of the daemon's.
      const n = await nsx(['build', dir], { env: { ...engine.env, ...env } });
      expect(n.code).toBe(1);
      expect(n.stderr).toContain("Dockerfile line 3: nsx's builder does not support HEALTHCHECK");
      const nu = await nsx(['build', unknown], { env: { ...engine.env, ...env } });
      expect(nu.code).toBe(1);
      expect(nu.stderr).toContain('dockerfile parse error on line 2: unknown instruction: FOO');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(unknown, { recursive: true, force: true });
    }
  });

  itDocker("docker build of a failing RUN: the error line carries RUN's status, docker exits with it", async () => {
    const bad = context({ Dockerfile: 'FROM busybox\nRUN exit 3\n' });
    try {
      const r = await docker(['build', '.'], { cwd: bad, env: legacy });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("The command '/bin/sh -c exit 3' returned a non-zero code: 3");
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  itDocker(
    '.dockerignore: nsx build sends the context docker build sends; both builds copy the same files',
    async () => {
      const dir = context({
        Dockerfile: 'FROM busybox\nCOPY . /ctx\n',
        '.dockerignore':
          '# what the image does not need\n*.log\n!keep.log\nsecret\ndocs\n!docs/README.md\nDockerfile\n.dockerignore\n',
        'a.log': 'left out\n',
        'keep.log': 'taken back by !keep.log\n',
        'secret/key': 'left out with its directory\n',
        'docs/README.md': 'taken back\n',
        'docs/other.md': 'left out\n',
        'src/main.c': 'int main(void) { return 0; }\n',
        'src/debug.log': '*.log is for the top directory only\n',
      });
      try {
        const d = await docker(['build', '-t', 'dc-ignore', '.'], { cwd: dir, env: legacy });
        expect(d.code).toBe(0);
        const n = await nsx(['build', '-t', 'nsx-ignore', dir], { env: { ...engine.env, ...env } });
        expect(n.code).toBe(0);
        const list = ['sh', '-c', 'cd /ctx && find . | sort'];
        const want = './docs ./docs/README.md ./keep.log ./src ./src/debug.log ./src/main.c';
        expect((await runOut('dc-ignore', list)).split('\n').join(' ').trim()).toBe(`. ${want}`);
        expect((await runOut('nsx-ignore', list)).split('\n').join(' ').trim()).toBe(`. ${want}`);
        // A pattern Go's filepath.Match refuses: the build does not start.
        writeFileSync(join(dir, '.dockerignore'), 'a[\n');
        const bad = await nsx(['build', dir], { env: { ...engine.env, ...env } });
        expect([bad.code, bad.stderr.trim()]).toEqual([1, 'nsx: syntax error in pattern: a[']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  itApi('nsx build: COPY from the context, ENV, WORKDIR; a failing RUN names its exit code', async () => {
    const dir = context({
      Dockerfile:
        'FROM busybox\nENV GREETING=hello\nWORKDIR /app\nCOPY msg.txt ./\nWORKDIR deeper/still\nRUN cat ../../msg.txt > copied\n',
      'msg.txt': 'from the context\n',
    });
    const bad = context({ Dockerfile: 'FROM busybox\nRUN exit 3\n' });
    const escape = context({ Dockerfile: 'FROM busybox\nCOPY ../../etc/passwd /x\n' });
    try {
      const b = await nsx(['build', '-t', 'nsx-built:1', dir], { env: { ...engine.env, ...env } });
      expect(b.code).toBe(0);
      expect(b.stdout).toContain('Step 4/6 : COPY msg.txt ./\n');
      expect(b.stdout).toContain('Successfully tagged nsx-built:1\n');
      expect(await runOut('nsx-built:1', ['sh', '-c', 'echo $GREETING; pwd; cat copied'])).toBe(
        'hello\n/app/deeper/still\nfrom the context\n',
      );
      // A failing RUN: its exit status, as docker's CLI exits with the error's code (moby: RUN's).
      const f = await nsx(['build', bad], { env: { ...engine.env, ...env } });
      expect(f.code).toBe(3);
      expect(f.stderr).toContain("The command '/bin/sh -c exit 3' returned a non-zero code: 3");
      const e = await nsx(['build', escape], { env: { ...engine.env, ...env } });
      expect(e.code).toBe(1);
      expect(e.stderr).toContain('file not found in build context: ../../etc/passwd');
      const none = join(tmpdir(), `nsx-no-context-${process.pid}`);
      const n = await nsx(['build', none], { env: { ...engine.env, ...env } });
      expect([n.code, n.stderr.trim()]).toEqual([1, `nsx: unable to prepare context: path "${none}" not found`]);
    } finally {
      for (const d of [dir, bad, escape]) rmSync(d, { recursive: true, force: true });
    }
  });

  itApi(
    'POST /build: a context tar that climbs out is refused (the layer checks); COPY through a symlink stays inside',
    async () => {
      const post = (body: Buffer) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = request(
            {
              socketPath: engine.socket,
              method: 'POST',
              path: '/build',
              headers: { 'Content-Type': 'application/x-tar' },
            },
            (res) => {
              let text = '';
              res.on('data', (d) => (text += d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      const climbing = await post(
        await makeTar([
          { name: 'Dockerfile', body: 'FROM scratch\nCOPY x /x\n' },
          { name: '../x', body: 'out' },
        ]),
      );
      expect(climbing.status).toBe(400);
      expect(climbing.text).toContain('would climb out');
      const linked = await post(
        await makeTar([
          { name: 'Dockerfile', body: 'FROM busybox\nCOPY etc/passwd /stolen\n' },
          { name: 'etc', type: 'symlink', linkname: '/etc' },
        ]),
      );
      expect(linked.status).toBe(200);
      // etc -> /etc is resolved inside the context: etc is the link itself again, never the host's /etc.
      expect(linked.text).toContain('"error":"too many levels of symbolic links in etc/passwd"');
      expect(linked.text).not.toContain('Successfully built');
    },
  );

  itDocker('docker image prune -f removes the dangling images and says what it reclaimed', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nRUN echo one > /v\n' });
    try {
      expect((await docker(['build', '-t', 'dc-prune', '.'], { cwd: dir, env: legacy })).code).toBe(0);
      writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo two > /v\n');
      expect((await docker(['build', '-t', 'dc-prune', '.'], { cwd: dir, env: legacy })).code).toBe(0);
      const before = (await engine.api('GET', '/images/json')).body.filter((i: any) => i.RepoTags.length === 0);
      expect(before.length).toBe(1); // the first dc-prune, untagged by the second
      const p = await docker(['image', 'prune', '-f']);
      expect(p.code).toBe(0);
      expect(p.stdout).toContain('Deleted Images:\n');
      expect(p.stdout).toContain(`deleted: ${before[0].Id}\n`);
      expect(p.stdout).toMatch(/Total reclaimed space: \d/);
      const after = (await engine.api('GET', '/images/json')).body.filter((i: any) => i.RepoTags.length === 0);
      expect(after).toEqual([]);
      expect(await runOut('dc-prune', ['cat', '/v'])).toBe('two\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A bcrypt hash for an htpasswd file (libcrypt's, through Python's crypt module), or undefined. */
function bcrypt(password: string): string | undefined {
  const r = spawnSync(
    'python3',
    [
      '-W',
      'ignore',
      '-c',
      'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
      password,
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0 && r.stdout.startsWith('$2') ? r.stdout.trim() : undefined;
}

describe('login against a registry that asks for a password', () => {
  const hash = why ? undefined : bcrypt('s3cret');
  const whyLogin =
    why ||
    (!haveRegistry ? 'needs docker-registry (apt-get install docker-registry)' : '') ||
    (!hash ? "needs python3's crypt module to make the htpasswd file" : '');
  const itLogin: typeof it = ((n: string, fn: any, t?: number) =>
    whyLogin ? it.skip(`${n} [skipped: ${whyLogin}]`, fn, t) : it(n, fn, t)) as any;
  let registry: RunningRegistry | undefined;
  const clientConfig = mkdtempSync(join(tmpdir(), 'nsx-login-config-'));
  beforeAll(async () => {
    if (whyLogin) return;
    registry = await startRegistry({ htpasswd: `learner:${hash}\n` });
  }, 30000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(clientConfig, { recursive: true, force: true });
  });

  itLogin('POST /auth checks the password at the registry: 200 Login Succeeded, or 401', async () => {
    const ok = await engine.api('POST', '/auth', {
      username: 'learner',
      password: 's3cret',
      serveraddress: registry!.host,
    });
    expect([ok.status, ok.body.Status]).toEqual([200, 'Login Succeeded']);
    const bad = await engine.api('POST', '/auth', {
      username: 'learner',
      password: 'wrong',
      serveraddress: registry!.host,
    });
    expect(bad.status).toBe(401);
    expect(bad.body.message).toContain(`login attempt to ${registry!.host} failed with status: 401 Unauthorized`);
  });

  itLogin('docker login asks the engine: a good password logs in, a bad one is refused', async () => {
    const ok = await docker(['login', '-u', 'learner', '--password-stdin', registry!.host], { input: 's3cret' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    const bad = await docker(['login', '-u', 'learner', '--password-stdin', registry!.host], { input: 'wrong' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('401 Unauthorized');
  });

  itLogin("nsx login stores docker's config.json (0600, base64 user:password), and pulls use it", async () => {
    const e = { ...engine.env, ...env, DOCKER_CONFIG: clientConfig };
    const bad = await nsx(['login', '-u', 'learner', '--password-stdin', registry!.host], { env: e, input: 'nope' });
    expect(bad.code).toBe(1);
    const ok = await nsx(['login', '-u', 'learner', '--password-stdin', registry!.host], { env: e, input: 's3cret\n' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('Login Succeeded\n');
    const file = join(clientConfig, 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).auths[registry!.host]).toEqual({
      auth: Buffer.from('learner:s3cret').toString('base64'),
    });
    const name = `${registry!.host}/learner/bb:1`;
    expect((await nsx(['tag', 'busybox', name], { env: e })).code).toBe(0);
    const push = await nsx(['push', name], { env: e });
    expect(push.code).toBe(0);
    expect((await nsx(['rmi', name], { env: e })).code).toBe(0);
    const anonymous = await nsx(['pull', name], { env: { ...e, DOCKER_CONFIG: join(clientConfig, 'none') } });
    expect(anonymous.code).not.toBe(0);
    const pull = await nsx(['pull', name], { env: e });
    expect(pull.code).toBe(0);
    expect((await nsx(['rmi', name], { env: e })).code).toBe(0);
  });
});
