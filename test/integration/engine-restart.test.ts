// The engine's death and the next start (issue 5): a SIGKILLed engine takes its containers with it
// (each shim's supervisor sees its socket close and kills PID 1), leaves no mounts, cgroups or shim
// processes, and the next engine, reading the state file, knows what existed and how it ended.
// And a verb that finds no engine starts one, saying so.
import { afterAll, describe, expect } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestEngine, alive, until } from '../engine.js';
import { TEST_ROOTFS, itRoot, nsx } from '../helpers.js';
import { leftovers } from '../leaks.js';

describe('the engine dies and starts again', () => {
  const engine = new TestEngine();
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot(
    'SIGKILL on the engine kills its containers; the next engine marks them exited and nothing is left',
    async () => {
      const before = leftovers();
      await engine.start();
      const a = await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'doomed-a', {
        HostConfig: { Memory: 64 * 1024 * 1024, PidsLimit: 32 },
      });
      const b = await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'doomed-b');
      await engine.api('POST', '/containers/create?name=never-started', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
      const pids = await Promise.all(
        [a, b].map(async (id) => (await engine.api('GET', `/containers/${id}/json`)).body.State.Pid as number),
      );
      expect(pids.every(alive)).toBe(true);
      expect(leftovers().cgroups.length).toBeGreaterThan(before.cgroups.length); // doomed-a's cgroup exists

      await engine.stop('SIGKILL');
      expect(await until(() => !pids.some(alive))).toBe(true);
      const saved = JSON.parse(readFileSync(join(engine.state, 'containers.json'), 'utf8'));
      expect(saved.containers.filter((c: any) => c.State.Status === 'running')).toHaveLength(2); // what the dead engine last wrote

      await engine.start();
      expect(engine.log).toMatch(/died with the previous engine/);
      for (const id of [a, b]) {
        const info = (await engine.api('GET', `/containers/${id}/json`)).body;
        expect(info.State).toEqual(
          expect.objectContaining({ Status: 'exited', Running: false, Pid: 0, ExitCode: 137 }),
        );
      }
      expect((await engine.api('GET', '/containers/never-started/json')).body.State.Status).toBe('created');
      const ps = await nsx(['ps', '-a'], { env: engine.env });
      expect(ps.stdout).toMatch(/Exited \(137\) .* doomed-a\n/);
      expect(ps.stdout).toMatch(/Created .* never-started\n/);
      // The supervisors cleaned up as they exited: compare with what was there before this engine.
      expect(await until(() => JSON.stringify(leftovers()) === JSON.stringify(before))).toBe(true);
      expect(leftovers()).toEqual(before);

      // The engine's own state: the old containers can be started again, and removed.
      expect((await engine.api('POST', '/containers/never-started/start')).status).toBe(204);
      expect((await engine.api('POST', '/containers/never-started/wait')).body.StatusCode).toBe(0);
      for (const n of ['doomed-a', 'doomed-b', 'never-started'])
        expect((await engine.api('DELETE', `/containers/${n}`)).status).toBe(204);
    },
  );

  itRoot('SIGTERM stops the engine and its containers; the socket goes with it', async () => {
    if (!engine.process || engine.process.exitCode !== null) await engine.start();
    const id = await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'with-the-engine');
    const pid = (await engine.api('GET', `/containers/${id}/json`)).body.State.Pid;
    await engine.stop('SIGTERM');
    expect(alive(pid)).toBe(false);
    const saved = JSON.parse(readFileSync(join(engine.state, 'containers.json'), 'utf8'));
    expect(saved.containers.find((c: any) => c.Id === id).State).toEqual(
      expect.objectContaining({ Status: 'exited', ExitCode: 137 }),
    );
    expect(() => readFileSync(engine.socket)).toThrow();
  });
});

describe("restart policies across the engine's restarts", () => {
  const engine = new TestEngine();
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot(
    'a container whose policy is always comes back with the next engine; one stopped by hand does not',
    async () => {
      await engine.start();
      await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'comes-back', {
        HostConfig: { RestartPolicy: { Name: 'always' } },
      });
      await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'stays-down', {
        HostConfig: { RestartPolicy: { Name: 'always' } },
      });
      expect((await engine.api('POST', '/containers/stays-down/stop?t=0')).status).toBe(204);
      const state = async (name: string) => (await engine.api('GET', `/containers/${name}/json`)).body.State;
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        const old = (await state('comes-back')).Pid;
        expect(old).toBeGreaterThan(0);
        await engine.stop(signal);
        expect(await until(() => !alive(old))).toBe(true);
        await engine.start();
        for (let i = 0; i < 50 && (await state('comes-back')).Status !== 'running'; i++)
          await new Promise((r) => setTimeout(r, 100));
        const now = await state('comes-back');
        expect([signal, now.Status]).toEqual([signal, 'running']);
        expect(now.Pid).not.toBe(old);
        expect((await state('stays-down')).Status).toBe('exited');
      }
      expect(engine.log).toMatch(/started again \(its restart policy\)/);
      for (const n of ['comes-back', 'stays-down'])
        expect((await engine.api('DELETE', `/containers/${n}?force=1`)).status).toBe(204);
    },
  );
});

describe('a verb finding no engine', () => {
  const engine = new TestEngine();
  afterAll(async () => {
    let pid = 0; // the engine the CLI started, if the test left it running
    try {
      pid = Number(readFileSync(join(engine.state, 'nsxd.pid'), 'utf8'));
    } catch {
      /* stopped: it removed its pid file */
    }
    if (pid && alive(pid)) process.kill(pid, 'SIGTERM');
    await until(() => !pid || !alive(pid));
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot('starts one and says so; engine status and stop manage it', async () => {
    const ps = await nsx(['ps'], { env: engine.env });
    expect(ps.code).toBe(0);
    expect(ps.stderr).toMatch(/^nsx: started the engine \(nsxd, pid \d+\)\n$/);
    expect(ps.stdout.split('\n')[0]).toMatch(/^CONTAINER ID/);
    const pid = Number(/pid (\d+)/.exec(ps.stderr)![1]);
    expect(alive(pid)).toBe(true);
    const again = await nsx(['ps'], { env: engine.env });
    expect(again.stderr).toBe(''); // the same engine answers
    const status = await nsx(['engine', 'status'], { env: engine.env });
    expect(status.stdout).toMatch(new RegExp(`running \\(nsxd, pid ${pid}\\)`));
    const start = await nsx(['engine', 'start'], { env: engine.env });
    expect(start.stderr).toMatch(/already running/);
    const stop = await nsx(['engine', 'stop'], { env: engine.env });
    expect(stop.stderr).toMatch(/stopped the engine/);
    expect(await until(() => !alive(pid))).toBe(true);
    const after = await nsx(['engine', 'status'], { env: engine.env });
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/not running/);
  });
});
