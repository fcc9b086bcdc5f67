#!/usr/bin/env node
// The command line's start-up, run by hand (sudo node bench/cli.mjs after npm run build), never by
// the tests. Every command is timed from spawn to exit, in this one invocation, and printed as the
// median of BENCH_N runs (default 20) after BENCH_WARMUP runs that are not counted (default 3); the
// commands take turns, run by run, so that others using the machine slow them all alike:
//   1. `node -e 0`, the floor: Node's own start-up;
//   2. `nsx --version`: yargs and the command table, nothing else;
//   3. (as root; npm run sandbox builds the rootfs when it is missing) `nsx run --rm --rootfs
//      sandbox/rootfs/busybox /bin/true` through a private nsxd (started first, as test/global-setup.ts
//      starts the suite's): the client's start-up and the engine's create, attach, start, wait, remove;
//   4. (as root) `nsx runtime run --rm --rootfs … /bin/true`: a whole container, in-process (no engine);
//   5. where /usr/local/bin/docker exists (as root): `nsx run --rm busybox true` against
//      `docker run --rm busybox true`, docker's CLI driving the same nsxd (DOCKER_HOST=unix://…) on a
//      private store holding the sandbox images (scripts/build-sandbox-images.mjs --load): the same
//      image, the same kernel work, both clients of the same engine (nsx run is docker run).
// Goals (issue "nsx run is docker run"): --version <= 1.3x node -e 0; run --rootfs <= 1.5x node -e 0.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nsx = join(root, 'bin', 'nsx.cjs');
const nsxd = join(root, 'dist', 'bundle', 'nsxd.mjs');
const N = Number(process.env.BENCH_N ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const DOCKER = '/usr/local/bin/docker';
const isRoot = process.getuid?.() === 0;

if (!existsSync(join(root, 'dist', 'bundle', 'nsx.cjs'))) {
  console.error('bench: not built yet: run `npm run build` first');
  process.exit(1);
}

/** The environment of the commands timed: without NODE_EXTRA_CA_CERTS, with which every node start
 *  reads and parses those certificates before running anything (node::crypto::UseExtraCaCerts; a
 *  system bundle of ~140 certificates took ~35 ms here, a third of `node -e 0`): both sides would pay
 *  it, and the ratios would say less about nsx's own start-up. */
const { NODE_EXTRA_CA_CERTS: extraCaCerts, ...timedEnv } = process.env;
if (extraCaCerts !== undefined) console.log('bench: NODE_EXTRA_CA_CERTS is left out of the commands timed');

const TIME = '/usr/bin/time'; // GNU time: the child's CPU time, which others' load inflates less than its wall time

/** Milliseconds from spawn to exit, and of CPU (user + system, when GNU time is installed); a failing
 *  command stops the bench (its time would mean nothing). */
function once({ name, cmd, args, env }) {
  const timed = existsSync(TIME) ? [TIME, ['-f', '%U %S', cmd, ...args]] : [cmd, args];
  const t = process.hrtime.bigint();
  const r = spawnSync(timed[0], timed[1], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...timedEnv, ...env } });
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${name}: exit ${r.status ?? r.signal}: ${r.stderr}`);
  const last = String(r.stderr).trim().split('\n').at(-1); // GNU time's "%U %S", after the command's own stderr
  const cpu = timed[0] === TIME ? last.split(' ').reduce((a, x) => a + Number(x) * 1000, 0) : NaN;
  return { wall, cpu };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Each case WARMUP times, then N rounds in which every case runs once, in turn: the medians. */
function measure(cases) {
  for (const c of cases) for (let i = 0; i < WARMUP; i++) once(c);
  const runs = cases.map(() => []);
  for (let i = 0; i < N; i++) cases.forEach((c, j) => runs[j].push(once(c)));
  const medians = (rs) => ({ wall: median(rs.map((r) => r.wall)), cpu: median(rs.map((r) => r.cpu)) });
  return new Map(cases.map((c, j) => [c.name, medians(runs[j])]));
}

function report(title, results, base) {
  console.log(`\n${title} (median of ${N}, after ${WARMUP} warm-up runs; CPU: user + system, GNU time's)`);
  const b = results.get(base);
  for (const [name, { wall, cpu }] of results) {
    const ratio = name === base ? '' : `  ${(wall / b.wall).toFixed(2)}x (CPU ${(cpu / b.cpu).toFixed(2)}x) ${base}`;
    console.log(`  ${wall.toFixed(1).padStart(8)} ms (CPU ${cpu.toFixed(0).padStart(4)} ms)  ${name}${ratio}`);
  }
}

function goal(results, name, base, max) {
  const ratio = results.get(name).wall / results.get(base).wall;
  console.log(`  goal: ${name} <= ${max}x ${base}: ${ratio.toFixed(2)}x ${ratio <= max ? 'met' : 'NOT met'}`);
}

const node = { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] };
const version = { name: 'nsx --version', cmd: process.execPath, args: [nsx, '--version'] };
const cases = [node, version];
const rootfs = join(root, 'sandbox', 'rootfs', 'busybox');
const runRootfs = 'nsx run --rm --rootfs R /bin/true';
const runtimeRootfs = 'nsx runtime run --rm --rootfs R /bin/true';
const dir = mkdtempSync(join(tmpdir(), 'nsx-bench-'));
/** The private engine's socket and state, and the private image store (NSX_ROOT). */
const env = {
  NSX_ROOT: join(dir, 'root'),
  NSX_ENGINE_SOCKET: join(dir, 'engine', 'nsxd.sock'),
  NSX_ENGINE_STATE: join(dir, 'engine', 'state'),
};
let engine;
try {
  if (isRoot) {
    if (!existsSync(join(rootfs, 'bin', 'true'))) {
      execFileSync('bash', [join(root, 'sandbox', 'build-busybox-rootfs.sh')], { stdio: 'inherit' });
    }
    mkdirSync(join(dir, 'engine'), { mode: 0o711 });
    engine = spawn(process.execPath, [nsxd], { env: { ...process.env, ...env }, stdio: 'ignore' });
    await untilAnswers(env.NSX_ENGINE_SOCKET);
    const args = ['run', '--rm', '--rootfs', rootfs, '/bin/true'];
    cases.push({ name: runRootfs, cmd: process.execPath, args: [nsx, ...args], env });
    cases.push({ name: runtimeRootfs, cmd: process.execPath, args: [nsx, 'runtime', ...args] });
  }
  const start = measure(cases);
  report('Start-up', start, node.name);
  goal(start, version.name, node.name, 1.3);
  if (isRoot) goal(start, runRootfs, node.name, 1.5);
  else console.log(`  skipped: ${runRootfs} (it makes namespaces and cgroups: run the bench as root)`);

  if (!isRoot) console.log(`\nskipped: nsx run against docker run (root only: it starts a private engine)`);
  else if (!existsSync(DOCKER)) console.log(`\nskipped: nsx run against docker run (${DOCKER} is not installed)`);
  else await againstDocker();
} finally {
  if (engine && engine.exitCode === null) {
    // SIGTERM: nsxd stops what it still runs and removes its socket (src/engine/nsxd.ts).
    engine.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => (engine.kill('SIGKILL'), r()), 10_000);
      engine.once('exit', () => (clearTimeout(t), r()));
    });
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The sandbox images loaded into the private store, then docker's CLI and nsx's on the private engine. */
async function againstDocker() {
  const images = join(root, 'scripts', 'build-sandbox-images.mjs');
  execFileSync(process.execPath, [images, '--out', join(dir, 'oci'), '--load'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const viaNsx = {
    name: 'nsx run --rm busybox true',
    cmd: process.execPath,
    args: [nsx, 'run', '--rm', 'busybox', 'true'],
    env,
  };
  const viaDocker = {
    name: 'docker run --rm busybox true',
    cmd: DOCKER,
    args: ['run', '--rm', 'busybox', 'true'],
    env: { DOCKER_HOST: `unix://${env.NSX_ENGINE_SOCKET}`, DOCKER_CONFIG: join(dir, 'docker') },
  };
  const results = measure([viaDocker, viaNsx]);
  report('nsx run against docker run, on one private engine and store', results, viaDocker.name);
}

async function untilAnswers(socketPath) {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const req = request({ socketPath, path: '/_ping' }, (res) => (res.resume(), resolve(res.statusCode === 200)));
      req.on('error', () => resolve(false));
      req.end();
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the bench's engine did not answer on ${socketPath}`);
}
