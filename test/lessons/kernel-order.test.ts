// The kernel-order lesson end to end on the real kernel: every step applied in STEP_ORDER with the
// evidence of why it is there; its "break" variant failing at the rootfs mount with EPERM and the
// runtime's hint, leaving nothing behind; and its check against a container paused by nsx run --step.
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { apparmorEnabled } from '../../src/runtime/lsm/apparmor.js';
import { STEP_IDS } from '../../src/runtime/steps.js';
import { NSX, TEST_ROOTFS, itRoot } from '../helpers.js';
import { leftovers } from '../leaks.js';
import { useTestEngine } from '../engine.js';
import { commandOutput, demoOutputs, evidence, playForTest } from './play.js';

const applied = (events: PlayerEvent[]) =>
  events
    .filter((e): e is Extract<RuntimeEvent, { type: 'step-applied' }> => e.type === 'step-applied')
    .map((e) => e.step.id);
const gone = (pid: number) =>
  !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

useTestEngine(); // the check's container comes from nsx run --step, through the engine

describe('lesson: kernel-order', () => {
  itRoot("applies every step in the runtime's order and shows why each is where it is", async () => {
    const p = await playForTest('kernel-order');
    expect(p.completed).toBe(true);
    // Every step does something, but the lsm step needs AppArmor: without it, skipped (and says why).
    const aa = apparmorEnabled();
    expect(applied(p.events)).toEqual(STEP_IDS.filter((id) => aa || id !== 'lsm'));
    const skipped = p.events.filter(
      (e): e is Extract<RuntimeEvent, { type: 'step-skipped' }> => e.type === 'step-skipped',
    );
    expect(skipped.map((e) => [e.step.id, e.reason])).toEqual(
      aa ? [] : [['lsm', expect.stringMatching(/AppArmor is not enabled on this machine/)]],
    );

    // The user namespace first: uid 0 inside is another uid outside.
    expect(evidence(p, 'userns')!.process.uidMap).toMatch(/^0 [1-9]\d* \d+$/);
    // The cgroup namespace made after the cgroup join: the container's cgroup is its root.
    const [hostView] = demoOutputs(p, 'namespaces', 'host');
    const [insideView] = demoOutputs(p, 'namespaces');
    expect(hostView).toMatch(/:\/nsx\/[0-9a-f]{64}$/m);
    for (const line of insideView.split('\n')) expect(line).toMatch(/:\/$/);
    // Every mount private before the first mount is made.
    expect(demoOutputs(p, 'mount-private')).toEqual(['private']);
    // pivot_root changed the root; the capabilities step dropped CAP_SYS_ADMIN; then the filter.
    expect(evidence(p, 'pivot-root')!.process.root).toBe(TEST_ROOTFS);
    expect(evidence(p, 'hostname')!.process.capEff).toContain('CAP_SYS_ADMIN');
    expect(evidence(p, 'capabilities')!.process.capEff).not.toContain('CAP_SYS_ADMIN');
    expect(evidence(p, 'capabilities')!.process.seccomp).toBe(0);
    expect(evidence(p, 'seccomp')!.process.seccomp).toBe(2);
    expect(evidence(p, 'no-new-privs')!.process.noNewPrivs).toBe(true);
    const out = commandOutput(p);
    expect(out).toContain('uid 0, hostname inorder');
    expect(out).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(out).toMatch(/^Seccomp:\s+2$/m);
    expect(p.transcript).toContain('Another way: nsx lesson kernel-order --variant break');
  });

  itRoot(
    '--variant break: capabilities before the mounts, the rootfs mount fails with EPERM, nothing is left',
    async () => {
      const p = await playForTest('kernel-order', { variant: 'break' });
      expect(p.completed).toBe(true); // it failed where it was meant to
      expect(p.events[0]).toMatchObject({ type: 'lesson-started', variant: 'break' });
      expect(applied(p.events)).toEqual([
        'cgroup',
        'devices',
        'userns',
        'namespaces',
        'network',
        'fork',
        'capabilities',
      ]);
      const failed = p.events.find(
        (e): e is Extract<RuntimeEvent, { type: 'step-failed' }> => e.type === 'step-failed',
      )!;
      expect(failed.step.id).toBe('rootfs');
      expect(failed.error).toMatchObject({ syscall: 'mount', errnoName: 'EPERM' });
      expect(failed.error.hint).toMatch(
        /^rootfs needs CAP_SYS_ADMIN, and the capabilities step, already applied, has dropped it/,
      );
      expect(p.transcript).toContain('failed: rootfs: mount');
      expect(p.transcript).toContain('The bind mount failed with EPERM');
      expect(p.transcript).not.toContain('What you saw');

      // Nothing left: the container's processes, its cgroup in every hierarchy.
      const created = p.events.find((e): e is Extract<RuntimeEvent, { type: 'created' }> => e.type === 'created')!;
      const pids = p.events.flatMap((e) => (e.type === 'step-applied' && e.evidence ? [e.evidence.process.pid] : []));
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of new Set(pids)) expect(gone(pid)).toBe(true);
      expect(leftovers().cgroups.filter((c) => basename(c) === created.id)).toEqual([]);
      expect(p.events.some((e) => e.type === 'cleaned-up')).toBe(true);
    },
  );

  describe('nsx check kernel-order', () => {
    let nsx: ChildProcess | undefined;
    let dir: string | undefined;
    afterEach(async () => {
      if (nsx && nsx.exitCode === null && nsx.signalCode === null) {
        const exited = new Promise((r) => nsx!.once('exit', r));
        nsx.kill('SIGTERM'); // nsx removes the container on SIGTERM
        await Promise.race([exited, sleep(5000)]);
        if (nsx.exitCode === null && nsx.signalCode === null) nsx.kill('SIGKILL'); // then its shim cleans up
      }
      nsx = undefined;
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    /** The events nsx has written so far. */
    const events = (file: string): RuntimeEvent[] =>
      (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').flatMap((l) => {
        try {
          return l ? [JSON.parse(l) as RuntimeEvent] : [];
        } catch {
          return []; // half written
        }
      });
    async function until(file: string, what: string, f: (e: RuntimeEvent[]) => boolean): Promise<void> {
      for (const end = Date.now() + 15000; Date.now() < end; await sleep(20)) if (f(events(file))) return;
      throw new Error(`nsx run --step: ${what} did not happen`);
    }
    const started = (id: string) => (e: RuntimeEvent[]) => e.some((x) => x.type === 'step-started' && x.step.id === id);

    itRoot('fails before the task is done and passes with a container paused right after pivot-root', async () => {
      const { check } = findLesson('kernel-order').lesson;
      expect((await check()).ok).toBe(false);

      // The solution: nsx run --step, Enter until pivot-root is applied and nsx waits before mask-paths.
      dir = mkdtempSync(join(tmpdir(), 'nsx-kernel-order-'));
      const file = join(dir, 'events.jsonl');
      nsx = spawn(process.execPath, [NSX, 'run', '--step', '--events', file, '--rootfs', TEST_ROOTFS, '/bin/sh'], {
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { ...process.env, NO_COLOR: '1' },
      });
      nsx.stdin!.on('error', () => {});
      const prompted = async () => {
        await until(file, 'the first prompt', (e) => e.some((x) => x.type === 'step-started'));
        const created = events(file).find(
          (x): x is Extract<RuntimeEvent, { type: 'created' }> => x.type === 'created',
        )!;
        return created.steps.filter((s) => !s.skip).map((s) => s.id);
      };
      const steps = await prompted();
      for (const id of steps.slice(0, steps.indexOf('pivot-root') + 1)) {
        expect((await check()).ok).toBe(false); // not yet past pivot-root
        nsx.stdin!.write('\n');
        const next = steps[steps.indexOf(id) + 1];
        await until(file, `step ${id}`, started(next));
      }
      const r = await check();
      expect(r.ok).toBe(true);
      expect(r.message).toMatch(/^Process \d+ is paused right after pivot-root/);

      // One step more, and it is past the point asked for.
      nsx.stdin!.write('\n');
      await until(file, 'mask-paths', started(steps[steps.indexOf('mask-paths') + 1]));
      const past = await check();
      expect(past.ok).toBe(false);
      expect(past.message).toMatch(/has gone past pivot-root: mask-paths has already covered \/proc\//);

      nsx.stdin!.write('q');
      const code = await new Promise((res) => nsx!.once('exit', (c) => res(c)));
      expect(code).toBe(130);
    });
  });
});
