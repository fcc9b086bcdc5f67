// The bigger-picture lesson end to end on the real kernel (--print): the killed service restarted by
// its policy (die and restart events, RestartCount 0 → 1), the killed engine started again and the
// service with it, a stalled service marked unhealthy (a health_status event) and healthy again after
// a restart, the rolling update answering every request (or saying how many failed), the reconcile
// loop restoring a removed replica; afterwards, and after a Ctrl-C in the middle, nothing of the lab is
// left: its engine, containers, veth pairs and directory. And nsx check bigger-picture.
import { describe, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { alive, until, useCheckEngine } from '../engine.js';
import { TEST_ROOTFS, itRoot } from '../helpers.js';
import { playForTest, playTourUntil } from './play.js';

type Demo = Extract<PlayerEvent, { type: 'demo' }>;
const demosOf = (events: PlayerEvent[]) => events.filter((e): e is Demo => e.type === 'demo');
const flat = (s: string) => s.replace(/\n\s*/g, ' ');

/** What the lab's teardown said it removed, and that it is all gone: the directory, every engine it
 *  stopped, and the veth pairs of the containers the demos listed (nsxh<first 8 of the id>). */
async function expectGone(events: PlayerEvent[]) {
  const removed = events.find((e) => e.type === 'lab-removed');
  const said = removed && 'removed' in removed ? removed.removed.join('\n') : '';
  const dir = /removed (\/tmp\/nsx-lab-[A-Za-z0-9]+)/.exec(said)?.[1];
  expect(dir).toEqual(expect.any(String));
  expect(existsSync(dir!)).toBe(false);
  const engines = [...said.matchAll(/nsxd, pid (\d+)/g)].map((m) => Number(m[1]));
  expect(engines.length).toBeGreaterThan(0);
  expect(await until(() => !engines.some(alive), 10000)).toBe(true);
  const ids = new Set(demosOf(events).flatMap((d) => [...d.output.matchAll(/^ *([0-9a-f]{12}) /gm)].map((m) => m[1])));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  expect([...ids].filter((id) => links.includes(`nsxh${id.slice(0, 8)}`))).toEqual([]);
}

describe('lesson: bigger-picture', () => {
  itRoot(
    'restarts by policy, the engine again, health, a rolling update without failures, reconcile; nothing left',
    async () => {
      const p = await playForTest('bigger-picture');
      expect(p.completed).toBe(true);
      const demos = demosOf(p.events);
      const at = (stop: string) => demos.filter((d) => d.after === stop).map((d) => d.output);

      // Life cycle: PID 1 killed → die (137) and restart events; RestartCount 0, then 1, a new PID.
      const [, before, watched, after] = at('restart');
      expect(before).toMatch(/"RestartCount": 0/);
      const pid = /"Pid": (\d+)/.exec(before)![1];
      expect(flat(watched)).toMatch(
        /container die [0-9a-f]{64} \(exitCode=137, image=nsx-sandbox\/server:1, name=svc\)/,
      );
      expect(flat(watched)).toMatch(/container restart [0-9a-f]{64} \(image=nsx-sandbox\/server:1, name=svc\)/);
      expect(after).toMatch(/"RestartCount": 1/);
      expect(/"Pid": (\d+)/.exec(after)![1]).not.toBe(pid);

      // The engine killed: its container exited with it; the next engine started it by its policy.
      const [, engine] = at('engine');
      expect(engine).toMatch(/started the engine \(nsxd, pid \d+\)/);
      expect(flat(engine)).toMatch(/Exited \(137\) .*svc .*Up .*svc/);

      // Health: healthy, then (a stopped web server) unhealthy with its event, healthy after a restart.
      const [, healthy, stalled, restarted] = at('health');
      expect(flat(healthy)).toMatch(/\(healthy\) +sick/);
      expect(flat(stalled)).toMatch(
        /container health_status: unhealthy [0-9a-f]{64} \(image=nsx-sandbox\/server:1, name=sick\)/,
      );
      expect(flat(stalled)).toMatch(/\(unhealthy\) +sick/);
      expect(restarted).toMatch(/"Status": "unhealthy"/);
      expect(flat(restarted.slice(restarted.indexOf('CONTAINER ID')))).toMatch(/\((healthy|health: starting)\) +sick/);

      // Replicas and the rolling update: every request answered, by both versions.
      const [made, rollout, ps] = at('replicas');
      expect(made).toContain('reconcile: 3 replicas of nsx-sandbox/server:1 running');
      const count = /rollout: (\d+) requests: (\d+) by server 1\.0, (\d+) by server 2\.0; (\d+) failed/.exec(rollout);
      expect(count).not.toBeNull();
      const [sent, v1, v2, failed] = count!.slice(1).map(Number);
      expect(failed).toBe(0);
      expect([v1 > 0, v2 > 0, v1 + v2 + failed]).toEqual([true, true, sent]);
      for (const n of [1, 2, 3]) expect(flat(ps)).toMatch(new RegExp(`nsx-sandbox/server:2 .*web-${n}`));

      // Desired state: the loop is shown, a removed replica comes back.
      const [code, , reconciled] = at('desired');
      expect(code).toContain('export async function reconcile');
      expect(reconciled).toContain('reconcile: started web-2 (nsx-sandbox/server:2)');
      expect(reconciled).toContain('reconcile: 3 replicas of nsx-sandbox/server:2 running');

      // Visibility: each replica's cgroup in stats, its httpd in top, its version in logs.
      const [stats, top, logs] = at('visibility');
      for (const n of [1, 2, 3]) expect(stats).toMatch(new RegExp(`web-${n} +\\d+\\.\\d\\d%`));
      expect(flat(top)).toContain('httpd -f -p 8080');
      expect(logs.trim()).toBe('server 2.0 (/usr/lib/server/VERSION)');

      await expectGone(p.events);
    },
    300000,
  );

  itRoot(
    'Ctrl-C with three replicas running: the engine, replicas, veth pairs and lab are gone all the same',
    async () => {
      const r = await playTourUntil('bigger-picture', (e) => e.type === 'demo' && e.command[0] === 'reconcile');
      const events = r.events;
      expect([r.completed, r.exitCode]).toEqual([false, 130]);
      expect(demosOf(events).at(-1)!.command[0]).toBe('reconcile'); // nothing ran after Ctrl-C
      await expectGone(events);
    },
    240000,
  );

  describe('nsx check bigger-picture', () => {
    const engine = useCheckEngine();

    itRoot(
      'fails without an engine and without a restarted, health-checked service; passes with one',
      async () => {
        const { check } = findLesson('bigger-picture').lesson;
        expect((await check()).message).toMatch(/No engine answers/);
        await engine.start();
        expect((await check()).message).toMatch(/No container made since the task was shown/);
        const id = await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'mine', {
          HostConfig: { RestartPolicy: { Name: 'always' } },
          Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 200e6 },
        });
        let r = await check();
        for (let i = 0; i < 50 && /has not run yet/.test(r.message); i++)
          r = (await until(() => false, 100), await check());
        expect(r).toEqual({ ok: false, message: expect.stringMatching(/never restarted by its policy/) });
        const pid = (await engine.api('GET', `/containers/${id}/json`)).body.State.Pid;
        process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 50 && !r.ok; i++) r = (await until(() => false, 100), await check());
        expect(r).toEqual({
          ok: true,
          message: expect.stringMatching(/^mine: restarted 1 time\(s\) by its "always" policy/),
        });
        await engine.api('DELETE', `/containers/${id}?force=true`);
      },
      60000,
    );
  });
});
