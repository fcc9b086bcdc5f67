#!/usr/bin/env node
// Benchmarks, run by hand (sudo npm run bench), never by the tests. Everything is measured in this
// one invocation and printed as ratios against a baseline measured alongside it:
//   1. starting /bin/true in a container: nsx's runtime (in-process: Node's own start-up excluded;
//      as `nsx runtime run` does it: the shim started before the plan is built, instructions pipelined)
//      vs `unshare … chroot … /bin/true` vs `runc run` (when installed) on the same rootfs, taking
//      turns in rounds (BENCH_ROUNDS, default 5; BENCH_N runs each in all, default 20) so that the
//      spread of the per-round ratios shows how much others using the machine disturbed them;
//   2. the shim's resident memory while a container is paused before exec;
//   3. the slowest step (apply + observe).
// Goals (issue 2): nsx's cost at most half of runc's; the shim under 1 MiB resident.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', 'src', p);
const { planContainer } = await import(dist('runtime/make.js'));
const { Container } = await import(dist('runtime/runtime.js'));
const { isRealRoot } = await import(dist('runtime/host.js'));
const { loadSeccomp } = await import(dist('runtime/seccomp-host.js'));
const { startShimEarly } = await import(dist('runtime/shim.js'));

const N = Number(process.env.BENCH_N ?? 20);
const rootfs = join(root, 'sandbox', 'rootfs', 'busybox');
if (!isRealRoot()) {
  console.error('bench: run as root (sudo npm run bench): it compares against runc and unshare as root');
  process.exit(1);
}
if (!existsSync(join(rootfs, 'bin', 'true')))
  execFileSync('bash', [join(root, 'sandbox', 'build-busybox-rootfs.sh')], { stdio: 'inherit' });

function container(command, extra = {}) {
  // As `nsx runtime run` does: the shim started before the plan is built (by the one plan builder,
  // planContainer), no evidence collected (nobody shows it), instructions pipelined.
  const early = startShimEarly('ignore');
  const { spec, plan } = planContainer({ rootfs, command, loadSeccomp, root: true, ...extra });
  return new Container(spec, plan, 'ignore', extra.observing ?? false, undefined, early.shim);
}

function check(r, what) {
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`);
}

// Others may be using the machine: the three take turns, ROUNDS times N/ROUNDS runs each, so a busy
// moment weighs on all of them alike; each ratio is also given per round (its spread: min–max).
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const contenders = [
  [
    'nsx',
    'nsx runtime (in-process, Docker defaults)',
    async () => {
      const r = await container(['/bin/true']).run();
      if (r.exitCode !== 0) throw new Error(`nsx run failed: ${r.error?.message}`);
    },
  ],
  [
    'unshare',
    'unshare -fpmuin chroot (no cgroup/seccomp)',
    async () =>
      check(
        spawnSync('unshare', ['--fork', '--pid', '--mount', '--uts', '--ipc', '--net', 'chroot', rootfs, '/bin/true']),
        'unshare',
      ),
  ],
];
let bundle;
if (spawnSync('runc', ['--version']).status === 0) {
  bundle = mkdtempSync(join(tmpdir(), 'nsx-bench-'));
  execFileSync('runc', ['spec', '--bundle', bundle]);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.root = { path: rootfs, readonly: true };
  config.process.args = ['/bin/true'];
  config.process.terminal = false;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  let i = 0;
  contenders.push([
    'runc',
    'runc run (its default spec)',
    async () =>
      check(
        spawnSync('runc', ['run', '--bundle', bundle, `nsx-bench-${process.pid}-${i++}`], { encoding: 'utf8' }),
        'runc',
      ),
  ]);
}

console.log(`1. /bin/true in a container, mean of ${N} runs (${ROUNDS} rounds, taking turns)`);
const perRound = Object.fromEntries(contenders.map(([key]) => [key, []]));
try {
  for (const [, , fn] of contenders) await fn(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    const n = Math.ceil(N / ROUNDS);
    for (const [key, , fn] of contenders) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await fn();
      perRound[key].push(Number(process.hrtime.bigint() - t0) / 1e6 / n);
    }
  }
} finally {
  if (bundle) rmSync(bundle, { recursive: true, force: true });
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs, digits) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
for (const [key, label] of contenders)
  console.log(
    `  ${label.padEnd(44)} ${mean(perRound[key]).toFixed(2).padStart(8)} ms  (rounds ${spread(perRound[key], 1)})`,
  );
if (!bundle) console.log('  runc: not installed (apt-get install runc) — skipped');
const ratio = (a, b) => [mean(perRound[a]) / mean(perRound[b]), perRound[a].map((x, i) => x / perRound[b][i])];
const [toUnshare, toUnshareRounds] = ratio('nsx', 'unshare');
console.log(`  ratio nsx / unshare+chroot: ${toUnshare.toFixed(2)}  (rounds ${spread(toUnshareRounds, 2)})`);
if (bundle) {
  const [toRunc, toRuncRounds] = ratio('nsx', 'runc');
  console.log(`  ratio nsx / runc: ${toRunc.toFixed(2)}  (rounds ${spread(toRuncRounds, 2)})  (goal ≤ 0.50)`);
}

console.log("\n2. the shim's resident memory, paused before exec");
{
  const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  let readings;
  const c = container(['/bin/true']);
  await c.run({
    beforeStep: async (step) => {
      if (step.id === 'exec') {
        const shim = c.pid;
        const supervisor = Number(readFileSync(`/proc/${shim}/status`, 'utf8').match(/PPid:\s+(\d+)/)[1]);
        readings = { init: rss(shim), supervisor: rss(supervisor) };
      }
      return 'apply';
    },
  });
  const baseline = rss(process.pid);
  console.log(`  container PID 1 (shim, before exec)  ${readings.init} KiB`);
  console.log(`  supervisor (shim)                    ${readings.supervisor} KiB`);
  console.log(`  ratio shim / this Node process: ${(readings.init / baseline).toFixed(4)}  (goal: shim < 1024 KiB)`);
}

console.log('\n3. the slowest step (apply + observe), mean of 5 runs');
{
  const totals = new Map();
  for (let i = 0; i < 5; i++) {
    const c = container(['/bin/true'], { memory: '64m', observing: true });
    let t = 0;
    c.on((e) => {
      if (e.type === 'step-started') t = performance.now();
      if (e.type === 'step-applied') totals.set(e.step.id, (totals.get(e.step.id) ?? 0) + (performance.now() - t) / 5);
    });
    await c.run();
  }
  const sorted = [...totals].sort((a, b) => b[1] - a[1]);
  const all = sorted.reduce((s, [, ms]) => s + ms, 0);
  for (const [id, ms] of sorted.slice(0, 5))
    console.log(`  ${id.padEnd(16)} ${ms.toFixed(2).padStart(8)} ms  (${((ms / all) * 100).toFixed(0)}% of all steps)`);
}
