// Leftover cgroups of a killed nsx (empty, older than 5 s) are swept before a container's cgroup is
// made (src/runtime/runtime.ts sweepStale): at the first join of a process, then at most every 5 s,
// not at every container's start (each sweep stats and reads every container cgroup there is).
// Real cgroups, a real engine: a leftover made by hand under nsx/ in one hierarchy.
import { afterAll, describe, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout, STALE_CGROUP_AGE_MS } from '../../src/runtime/cgroups/index.js';
import { TestEngine } from '../engine.js';
import { itRoot, TEST_ROOTFS } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('leftover cgroups, swept before a join', () => {
  const engine = new TestEngine();
  const made: string[] = [];
  afterAll(async () => {
    await engine.stop();
    for (const dir of made) if (existsSync(dir)) rmdirSync(dir);
  });

  const life = async () => {
    const id = await engine.run(TEST_ROOTFS, ['/bin/true']);
    expect((await engine.api('POST', `/containers/${id}/wait`)).body.StatusCode).toBe(0);
    expect((await engine.api('DELETE', `/containers/${id}`)).status).toBe(204);
  };

  itRoot(
    'at the engine’s first container, then not again within 5 s, then again',
    async () => {
      const layout = detectLayout();
      const mount = Object.values(layout.v1)[0] ?? layout.unified!;
      mkdirSync(join(mount, 'nsx'), { recursive: true });
      const leftover = (name: string) => {
        const dir = join(mount, 'nsx', `sweep-test-${process.pid}-${name}`);
        mkdirSync(dir);
        made.push(dir);
        return dir;
      };
      const first = leftover('a');
      const second = leftover('b');
      // The second holds a process until the first sweep is past: not empty, so not a leftover yet.
      const holder = spawn('sleep', ['60']);
      await new Promise((r) => holder.once('spawn', r));
      writeFileSync(join(second, 'cgroup.procs'), String(holder.pid));
      await engine.start();
      await sleep(STALE_CGROUP_AGE_MS + 300); // both older than a sweep takes

      await life(); // the engine's first join sweeps: the empty one goes
      expect(existsSync(first)).toBe(false);
      expect(existsSync(second)).toBe(true);
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));

      await life(); // within 5 s of that sweep: none
      expect(existsSync(second)).toBe(true);

      await sleep(STALE_CGROUP_AGE_MS + 300);
      await life(); // 5 s later: swept
      expect(existsSync(second)).toBe(false);
    },
    30000,
  );
});
