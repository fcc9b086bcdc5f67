// The mount-namespace lesson end to end on the real kernel, and its try-it-yourself check before and
// after a correct solution, and with a solution whose mount propagated to the host. A shared mount
// of the test's own (like systemd's) makes the propagation demos meaningful on any host.
import { afterEach, beforeEach, describe, expect } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLesson } from '../../src/learn/course.js';
import { itRoot } from '../helpers.js';
import { descendantsOf } from '../live.js';
import type { CheckResult } from '../../src/learn/lesson.js';
import { commandOutput, demoOutputs, evidence, playForTest, checkUntil } from './play.js';

const hostMounts = () => readFileSync('/proc/self/mountinfo', 'utf8');
const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });

/** A tmpfs of the test's own on the host, made shared (as systemd makes every mount). */
let shared: string | undefined;
function makeShared(): string {
  shared = mkdtempSync(join(tmpdir(), 'lesson-mnt-'));
  const r = sh(`mount -t tmpfs lesson-mnt-test ${shared} && mount --make-shared ${shared}`);
  expect(r.stderr).toBe('');
  return shared;
}
function removeShared() {
  if (!shared) return;
  // Whatever was mounted under it (a propagated mount) goes with it.
  sh(`umount -R ${shared}`);
  rmSync(shared, { recursive: true, force: true });
  shared = undefined;
}

describe('lesson: mnt', () => {
  afterEach(removeShared);

  itRoot(
    'copies the mount table, makes it private, keeps a tmpfs inside from the host, and shows two /procs',
    async () => {
      makeShared();
      const p = await playForTest('mnt');
      expect(p.completed).toBe(true);

      const ns = evidence(p, 'namespaces')!;
      expect(ns.process.ns.mnt).not.toBe(ns.host.ns.mnt);

      // The copy keeps the host's shared mounts shared; the step makes them private; the host keeps its own.
      const [sharedBefore] = demoOutputs(p, 'namespaces').map(Number);
      expect(sharedBefore).toBeGreaterThanOrEqual(1);
      const [sharedAfter, , listedInside] = demoOutputs(p, 'mount-private');
      const [sharedOnHost, listedOnHost] = demoOutputs(p, 'mount-private', 'host');
      expect(Number(sharedAfter)).toBe(0);
      expect(Number(sharedOnHost)).toBeGreaterThanOrEqual(1);

      // A tmpfs mounted inside is there inside, and nowhere on the host (then or now).
      expect(listedInside).toMatch(/^inside-only on \/mnt type tmpfs/);
      expect(listedOnHost).toBe('no inside-only on the host');
      expect(hostMounts()).not.toContain('inside-only');

      // Two proc filesystems: the host's PID 1 and the container's.
      const [comms] = demoOutputs(p, 'proc');
      expect(comms.split('\n')).toEqual([readFileSync('/proc/1/comm', 'utf8').trim(), 'nsx-shim']);

      // At the end the container's mount table is its own: container paths only.
      const out = commandOutput(p);
      expect(out).toMatch(/^the container's \d+ mount points:/);
      const points = out.split('\n').slice(1).join(' ').split(/\s+/).filter(Boolean);
      expect(points).toEqual(expect.arrayContaining(['/', '/proc', '/dev', '/tmp', '/sys']));
      for (const m of points) expect(m).toMatch(/^\/(proc|dev|sys|tmp)?(\/|$)/);
      expect(points).not.toContain('/mnt');
      expect(p.transcript).toContain('Rule: a mount namespace is a private copy of the mount table');
    },
  );

  describe('nsx check mnt', () => {
    let solution: ChildProcess | undefined;
    let dir: string | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'lesson-mnt-task-'));
    });
    afterEach(() => {
      if (solution?.pid) {
        for (const q of descendantsOf(solution.pid)) {
          try {
            process.kill(q, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        solution.kill('SIGKILL');
      }
      solution = undefined;
      removeShared();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const until = (ok: (r: CheckResult) => boolean) => checkUntil('mnt', ok);

    itRoot('fails before the task is done and passes after a correct solution', async () => {
      const { check } = findLesson('mnt').lesson;
      expect((await check()).ok).toBe(false);
      solution = spawn('unshare', ['--mount', 'sh', '-c', `mount -t tmpfs mytmp ${dir} && exec sleep 60`], {
        stdio: 'ignore',
      });
      const r = await until((x) => x.ok);
      expect(r.ok).toBe(true);
      expect(r.message).toContain(`has the tmpfs "mytmp" at ${dir} in a mount namespace of its own`);
      expect(hostMounts()).not.toContain(' mytmp ');
    });

    itRoot('fails when the mount propagated to the host through a shared mount', async () => {
      const top = makeShared();
      mkdirSync(join(top, 'sub'));
      solution = spawn(
        'unshare',
        ['--mount', '--propagation', 'unchanged', 'sh', '-c', `mount -t tmpfs mytmp ${top}/sub && exec sleep 60`],
        { stdio: 'ignore' },
      );
      const r = await until((x) => /host sees/.test(x.message));
      expect(r.ok).toBe(false);
      expect(r.message).toContain(`the host sees a "mytmp" too, at ${top}/sub`);
      expect(hostMounts()).toContain(' mytmp ');
    });
  });
});
