// The PID lesson end to end on the real kernel, and its try-it-yourself check before and after a
// correct solution (and a half-way one: a PID namespace that still has the host's /proc).
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { TEST_ROOTFS, itRoot, nsx } from '../helpers.js';
import { HOLD, containerInit, pids } from '../live.js';
import type { CheckResult } from '../../src/learn/lesson.js';
import { commandOutput, demoOutputs, evidence, playForTest, checkUntil, killTree } from './play.js';

const inode = (ns: string) => /\[(\d+)\]/.exec(ns)![1];

describe('lesson: pid', () => {
  itRoot(
    "shows PID 1 inside and the host PID outside, ps before and after the container's /proc, no way to signal the host, and the kernel killing what PID 1 left behind",
    async () => {
      const t0 = Date.now();
      const p = await playForTest('pid');
      expect(p.completed).toBe(true);
      expect(p.exitCode).toBe(0);
      expect(Date.now() - t0).toBeLessThan(15000); // nobody waited for the sleep 300

      // fork: one process, two PIDs.
      const fork = evidence(p, 'fork')!;
      expect(fork.process.nsPids).toEqual([fork.process.pid, 1]);
      expect(fork.inside!.pid).toBe(1);
      expect(fork.process.ns.pid).not.toBe(fork.host.ns.pid);
      const pidns = inode(fork.process.ns.pid!);
      const [hostPs] = demoOutputs(p, 'fork', 'host');
      expect(hostPs.split('\n')[1].trim().split(/\s+/)).toEqual([String(fork.process.pid), pidns, 'nsx-shim']);

      // Before the container has its own /proc, ps lists the host's processes (the host's PID 1 first).
      const [early] = demoOutputs(p, 'fork');
      const firstRow = early.split('\n')[1].trim().split(/\s+/);
      expect(firstRow).toEqual(['1', readFileSync('/proc/1/comm', 'utf8').trim()]);

      // After pivot_root: /proc is the container's: PID 1 and ps, both with a parent outside.
      const [late, kill] = demoOutputs(p, 'pivot-root');
      const rows = late
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/));
      expect([late, rows.map((r) => r[2])]).toEqual([late, ['nsx-shim', 'ps']]);
      expect(rows[0].slice(0, 2)).toEqual(['1', '0']);
      expect(rows[1][1]).toBe('0');
      expect(Number(rows[1][0])).toBeLessThan(20);

      // The host PID of this process does not exist inside.
      expect(kill).toMatch(new RegExp(`can't kill pid ${process.pid}: No such process`));
      const killEvent = p.events.find(
        (e): e is Extract<PlayerEvent, { type: 'demo' }> => e.type === 'demo' && e.command[0] === 'kill',
      )!;
      expect(killEvent.status).not.toBe(0);

      // PID 1 exited: looked at before nsx cleaned up, no sleep is left in its namespace.
      expect(commandOutput(p)).toContain('started a background sleep');
      const [after] = demoOutputs(p, 'exit', 'host');
      expect(after.split('\n')[0]).toMatch(/PID\s+PIDNS\s+COMMAND/);
      expect(after).not.toContain(pidns);
      const left = pids().filter((q) => {
        try {
          return readlinkSync(`/proc/${q}/ns/pid`) === fork.process.ns.pid;
        } catch {
          return false;
        }
      });
      expect(left).toEqual([]);
      expect(p.transcript).toContain('Rule: a PID namespace numbers its processes from 1');
    },
  );

  describe('nsx check pid', () => {
    let solution: ChildProcess | undefined;
    const stop = () => {
      killTree(solution);
      solution = undefined;
    };
    afterEach(stop);

    const until = (ok: (r: CheckResult) => boolean) => checkUntil('pid', ok);

    itRoot(
      "fails before the task is done, names a PID 1 that still has the host's /proc, and passes after a correct solution",
      async () => {
        const { check } = findLesson('pid').lesson;
        expect((await check()).ok).toBe(false);

        solution = spawn('unshare', ['--pid', '--fork', '--kill-child', 'sleep', '60'], { stdio: 'ignore' });
        const half = await until((r) => /still the host's/.test(r.message));
        expect(half.ok).toBe(false);
        expect(half.message).toMatch(/is PID 1 of a PID namespace of its own, but its \/proc is still the host's/);
        stop();

        solution = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'sleep', '60'], {
          stdio: 'ignore',
        });
        const r = await until((x) => x.ok);
        expect(r.ok).toBe(true);
        expect(r.message).toMatch(/\(sleep\) is PID 1 of its own PID namespace/);
      },
    );

    itRoot("does not count an nsx container's PID 1", async () => {
      let nsxPid = 0;
      const running = nsx(['runtime', 'run', '--rm', '--rootfs', TEST_ROOTFS, '/bin/sh', '-c', HOLD], {
        onSpawn: (q) => (nsxPid = q),
      });
      const init = await containerInit(nsxPid);
      try {
        const r = await findLesson('pid').lesson.check();
        expect(r.ok).toBe(false);
        expect(r.message).not.toContain(`Process ${init} `);
      } finally {
        process.kill(init, 'SIGKILL');
        await running;
      }
    });
  });
});
