#!/usr/bin/env node
// The engine's benchmark (issue 5), run by hand (sudo node bench/engine.mjs), never by the tests:
//   1. containers started per second through the engine (create + start + wait + rm of /bin/true, in
//      turn), and for scale plain /bin/true processes spawned in turn in the same run;
//   2. the engine's resident memory with 1, 10 and 100 idle containers (sleep), and per container.
// Goal: per-container overhead in the engine at most 1 MiB. An engine of its own, on a temp socket.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api as engineApi } from './engine-api.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rootfs = join(root, 'sandbox', 'rootfs', 'busybox');
const N = Number(process.env.BENCH_N ?? 50);
if (process.getuid() !== 0) {
  console.error('bench: run as root (sudo node bench/engine.mjs)');
  process.exit(1);
}
if (!existsSync(join(rootfs, 'bin', 'true'))) {
  console.error(`bench: no ${rootfs}: build it with npm run sandbox`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'nsx-bench-engine-'));
const socket = join(dir, 'nsxd.sock');
// The bundled nsxd (dist/bundle/, npm run build), as nsx engine start runs it.
const engine = spawn(process.execPath, [join(root, 'dist', 'bundle', 'nsxd.mjs')], {
  env: { ...process.env, NSX_ENGINE_SOCKET: socket, NSX_ENGINE_STATE: join(dir, 'state') },
  stdio: 'ignore',
});

const api = (method, path, body) => engineApi(socket, method, path, body);
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${engine.pid}/status`, 'utf8'))[1]);
async function run(cmd) {
  const c = await api('POST', '/containers/create', { Rootfs: rootfs, Cmd: cmd });
  if (c.status !== 201) throw new Error(JSON.stringify(c.body));
  const s = await api('POST', `/containers/${c.body.Id}/start`);
  if (s.status !== 204) throw new Error(JSON.stringify(s.body));
  return c.body.Id;
}

try {
  for (let i = 0; i < 50; i++) {
    try {
      if ((await api('GET', '/_ping')).status === 200) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await api('DELETE', `/containers/${await run(['/bin/true'])}?force=1`); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const id = await run(['/bin/true']);
    await api('POST', `/containers/${id}/wait`);
    await api('DELETE', `/containers/${id}`);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `containers through the engine: ${(N / secs).toFixed(1)}/s (create + start + wait + rm of /bin/true, ${N} in turn; ${((secs / N) * 1000).toFixed(1)} ms each)`,
  );
  // For scale, on this machine now: plain processes (no container), started by Node in turn. A
  // loaded machine slows both; their ratio says more than either rate alone.
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await new Promise((r) => spawn('/bin/true', { stdio: 'ignore' }).once('exit', r));
  const plain = Number(process.hrtime.bigint() - t1) / 1e9;
  console.log(
    `  for scale: /bin/true without a container, spawned by node in turn: ${(N / plain).toFixed(1)}/s (a container costs ${(secs / plain).toFixed(1)}x a plain process)`,
  );

  global.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const base = rssKiB();
  const ids = [];
  const rows = [];
  for (const n of [1, 10, 100]) {
    while (ids.length < n) ids.push(await run(['/bin/sleep', '3600']));
    await new Promise((r) => setTimeout(r, 500));
    rows.push([n, rssKiB()]);
  }
  console.log(`engine resident memory, idle: ${(base / 1024).toFixed(1)} MiB with none`);
  for (const [n, kib] of rows)
    console.log(
      `  ${String(n).padStart(3)} running: ${(kib / 1024).toFixed(1)} MiB (+${((kib - base) / 1024 / n).toFixed(3)} MiB per container)`,
    );
  const per = (rows[2][1] - base) / 1024 / 100;
  console.log(
    `goal: at most 1 MiB per container in the engine: ${per <= 1 ? 'met' : 'NOT met'} (${per.toFixed(3)} MiB)`,
  );
  await Promise.all(ids.map((id) => api('DELETE', `/containers/${id}?force=1`)));
} finally {
  engine.kill('SIGTERM');
  await new Promise((r) => engine.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
