#!/usr/bin/env node
// Benchmark, run by hand (npm run build first; as root it also chowns, as nsx does): unpacking one
// large gzipped layer with nsx's extractor (src/image/extract.ts: path checks, diff id, whiteouts)
// against `tar -xzf` of the same file, alternately, in this one invocation. Issue 4's goal: within
// 1.25× of tar.
//   node bench/unpack.mjs [SOURCE_DIR]      (default /usr/share; BENCH_N=3 rounds)
//   TMPDIR=/dev/shm node bench/unpack.mjs   (in memory: the CPU cost alone, without a noisy disk)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { extractLayer } = await import(join(root, 'dist', 'src', 'image', 'extract.js'));

const source = process.argv[2] ?? '/usr/share';
const N = Number(process.env.BENCH_N ?? 3);
const work = mkdtempSync(join(tmpdir(), 'nsx-bench-unpack-'));
try {
  const tar = join(work, 'layer.tar');
  execFileSync('tar', ['-C', source, '-cf', tar, '.'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(tar)) hash.update(chunk);
  const diffId = `sha256:${hash.digest('hex')}`;
  execFileSync('gzip', ['-6', tar]);
  const blob = `${tar}.gz`;
  console.log(`layer: ${source}, ${(statSync(blob).size / 1e6).toFixed(1)} MB gzipped`);

  // Both are timed until their data is on disk (sync), so neither leaves its writeback to the other.
  const time = async (fn) => {
    execFileSync('sync');
    const t = process.hrtime.bigint();
    await fn();
    execFileSync('sync');
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const tarTimes = [];
  const nsxTimes = [];
  for (let i = 0; i < N; i++) {
    const dest = join(work, 'tar');
    mkdirSync(dest);
    tarTimes.push(await time(() => execFileSync('tar', ['-C', dest, '-xzf', blob])));
    rmSync(dest, { recursive: true, force: true });
    const store = join(work, 'store');
    nsxTimes.push(await time(() => extractLayer(store, blob, diffId)));
    rmSync(store, { recursive: true, force: true });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ratio = median(nsxTimes) / median(tarTimes);
  console.log(
    `tar -xzf        median ${median(tarTimes).toFixed(2)} s  (${tarTimes.map((t) => t.toFixed(2)).join(', ')})`,
  );
  console.log(
    `nsx extractLayer median ${median(nsxTimes).toFixed(2)} s  (${nsxTimes.map((t) => t.toFixed(2)).join(', ')})`,
  );
  console.log(`ratio ${ratio.toFixed(2)}× tar (goal: at most 1.25×) ${ratio <= 1.25 ? 'ok' : 'MISSED'}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
