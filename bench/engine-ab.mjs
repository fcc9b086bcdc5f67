#!/usr/bin/env node
// Two or more builds of the engine side by side, run by hand (sudo node bench/engine-ab.mjs DIR...):
// each DIR is a checkout built with `npm run build` (its dist/bundle/nsxd.mjs and shim/nsx-shim; an old
// commit: git archive COMMIT | tar -x -C DIR, link node_modules, npm run build). The builds take turns,
// ROUNDS times, each an engine of its own on a temporary socket running N cycles of bench/engine.mjs's
// create + start + wait + rm of /bin/true (C clients at once, default 1), and the medians are printed:
// the wall time per cycle and nsxd's own CPU time per cycle (user+sys from /proc/PID/stat, all its
// threads, its children not counted). On a machine others load, CPU time moves less than wall time.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api } from './engine-api.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rootfs = join(root, 'sandbox', 'rootfs', 'busybox');
const N = Number(process.env.BENCH_N ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const C = Number(process.env.BENCH_CLIENTS ?? 1);
const dirs = process.argv.slice(2).map((d) => resolve(d));
if (process.getuid() !== 0 || !dirs.length) {
  console.error('usage: sudo node bench/engine-ab.mjs DIR [DIR...]   (each DIR a built checkout)');
  process.exit(1);
}
for (const d of dirs)
  if (!existsSync(join(d, 'dist', 'bundle', 'nsxd.mjs'))) {
    console.error(`bench: no ${join(d, 'dist', 'bundle', 'nsxd.mjs')}: run npm run build there`);
    process.exit(1);
  }

/** utime + stime of a process, in ms (proc(5): fields 14 and 15, in clock ticks of 10 ms). */
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function round(dir) {
  const tmp = mkdtempSync(join(tmpdir(), 'nsx-bench-ab-'));
  const socket = join(tmp, 'nsxd.sock');
  const engine = spawn(process.execPath, [join(dir, 'dist', 'bundle', 'nsxd.mjs')], {
    env: { ...process.env, NSX_ENGINE_SOCKET: socket, NSX_ENGINE_STATE: join(tmp, 'state') },
    stdio: 'ignore',
  });
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if ((await api(socket, 'GET', '/_ping')).status === 200) break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const cycle = async () => {
      const c = await api(socket, 'POST', '/containers/create', { Rootfs: rootfs, Cmd: ['/bin/true'] });
      if (c.status !== 201) throw new Error(JSON.stringify(c.body));
      const s = await api(socket, 'POST', `/containers/${c.body.Id}/start`);
      if (s.status !== 204) throw new Error(JSON.stringify(s.body));
      await api(socket, 'POST', `/containers/${c.body.Id}/wait`);
      const d = await api(socket, 'DELETE', `/containers/${c.body.Id}`);
      if (d.status !== 204) throw new Error(JSON.stringify(d.body));
    };
    for (let i = 0; i < 3; i++) await cycle(); // warm-up
    const cpu0 = cpuMs(engine.pid);
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: C }, async () => {
        for (let i = 0; i < N / C; i++) await cycle();
      }),
    );
    return { wall: Number(process.hrtime.bigint() - t0) / 1e6 / N, cpu: (cpuMs(engine.pid) - cpu0) / N };
  } finally {
    engine.kill('SIGTERM');
    await new Promise((r) => engine.once('exit', r));
    rmSync(tmp, { recursive: true, force: true });
  }
}

const results = dirs.map(() => []);
for (let r = 0; r < ROUNDS; r++)
  for (const [i, dir] of dirs.entries()) {
    const x = await round(dir);
    results[i].push(x);
    console.log(`  ${dir}: ${x.wall.toFixed(1)} ms a cycle, nsxd CPU ${x.cpu.toFixed(1)} ms`);
  }
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`medians of ${ROUNDS} rounds, ${N} cycles each, ${C} client(s):`);
for (const [i, dir] of dirs.entries()) {
  const wall = median(results[i].map((x) => x.wall));
  console.log(
    `${dir}: ${(1000 / wall).toFixed(1)} containers/s (${wall.toFixed(1)} ms a cycle), nsxd CPU ${median(results[i].map((x) => x.cpu)).toFixed(1)} ms a cycle`,
  );
}
