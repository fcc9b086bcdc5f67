// The user-namespace lesson end to end on the real kernel: rootless as the user behind sudo (the
// test plays that user with SUDO_UID/SUDO_GID; the kernel needs no passwd entry), and as root with
// nobody behind it (a private user namespace, said so). Then its check before and after a solution.
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findLesson } from '../../src/learn/course.js';
import { countOnlyStartedSince } from '../../src/learn/kernel.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { UNPRIVILEGED_UID, itRoot } from '../helpers.js';
import { commandOutput, demoOutputs, evidence, playForTest, type Played } from './play.js';

const U = UNPRIVILEGED_UID;

/** The first subordinate uid root maps with --userns private (/etc/subuid, else 100000). */
function subordinateStart(): number {
  try {
    const line = readFileSync('/etc/subuid', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('root:') || l.startsWith('0:'));
    if (line) return Number(line.split(':')[1]);
  } catch {
    /* no such file */
  }
  return 100000;
}

const runAs = (p: Played) => p.events.find((e): e is Extract<PlayerEvent, { type: 'run-as' }> => e.type === 'run-as');

/** "-rw-r--r-- 1 1000 1000 0 …" → ["1000", "1000"] */
const owners = (lsLine: string) => lsLine.trim().split(/\s+/).slice(2, 4);

/** What every run shows, whoever 0 maps to outside. */
function expectRootIsOnlyRootInside(p: Played, outside: number) {
  const [touched, passwd, mknod] = demoOutputs(p, 'hostname');
  const [onHost] = demoOutputs(p, 'hostname', 'host');
  expect(owners(touched)).toEqual(['0', '0']); // root's, inside
  expect(owners(onHost)).toEqual([String(outside), String(outside)]); // the mapped uid's, outside
  expect(onHost).toMatch(/\/proc\/\d+\/root\/tmp\/made-inside$/);
  const [passwdLine, denied] = passwd.split('\n');
  expect(owners(passwdLine)).toEqual(['65534', '65534']); // host root: unmapped, the overflow id
  expect(denied).toBe("sh: can't create /etc/passwd: Permission denied");
  expect(mknod).toBe('mknod: /tmp/disk: Operation not permitted');
  expect(evidence(p, 'hostname')!.inside!.hostname).toBe('rootless'); // its own UTS namespace: allowed
}

describe('lesson: user', () => {
  itRoot('rootless as the user behind sudo: 0 inside is that uid outside, and no more than that', async () => {
    const p = await playForTest('user', { env: { SUDO_UID: String(U), SUDO_GID: String(U) } });
    expect(p.completed).toBe(true);
    expect(runAs(p)).toMatchObject({ how: 'invoking-user', uid: U, gid: U });
    expect(p.transcript).toContain(`The container runs rootless, as the user who typed sudo (uid ${U}, gid ${U})`);
    const ev = evidence(p, 'userns')!;
    expect(ev.process.uid).toEqual([U, U, U, U]); // what the host sees
    expect(ev.inside!.uid).toBe(0); // what the process sees
    expect(ev.process.uidMap).toBe(`0 ${U} 1`);
    expect(ev.process.gidMap).toBe(`0 ${U} 1`);
    expect(ev.process.ns.user).not.toBe(ev.host.ns.user);
    const ps = demoOutputs(p, 'userns', 'host')[0].split('\n');
    expect(ps[1].trim().split(/\s+/).slice(1, 2)).toEqual([String(U)]);
    expect(ps[1]).toMatch(/nsx-shim$/);
    expectRootIsOnlyRootInside(p, U);
    expect(commandOutput(p)).toBe(`inside: uid=0(root) gid=0(root)\nuid_map: 0 ${U} 1\n`);
    expect(p.events.some((e) => e.type === 'step-skipped' && e.step.id === 'cgroup')).toBe(true); // rootless: no cgroup
  });

  itRoot('as root with nobody behind it: a private user namespace instead, and the transcript says so', async () => {
    const sub = subordinateStart();
    const p = await playForTest('user', { env: {} });
    expect(p.completed).toBe(true);
    expect(runAs(p)).toMatchObject({ how: 'root-userns' });
    expect(p.transcript).toMatch(/You are root, and no SUDO_UID names the user behind it/);
    const ev = evidence(p, 'userns')!;
    expect(ev.process.uidMap).toBe(`0 ${sub} 65536`);
    expect(ev.process.uid[0]).toBe(sub);
    expect(ev.inside!.uid).toBe(0);
    expectRootIsOnlyRootInside(p, sub);
  });

  describe('nsx check user', () => {
    let solution: ChildProcess | undefined;
    afterEach(async () => {
      // Gone before the next test looks: a check must not find the previous test's solution.
      const s = solution;
      solution = undefined;
      if (s && s.exitCode === null && s.signalCode === null) {
        const gone = new Promise((res) => s.once('exit', res));
        s.kill('SIGKILL');
        await gone;
      }
    });

    itRoot('fails before the task is done and passes after a correct solution', async () => {
      const { check } = findLesson('user').lesson;
      expect((await check()).ok).toBe(false);
      // The learner's solution, as a normal user: root in a user namespace of their own.
      solution = spawn('unshare', ['--user', '--map-root-user', 'sleep', '60'], { uid: U, gid: U, stdio: 'ignore' });
      let r = await check();
      for (let i = 0; i < 50 && !r.ok; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await check();
      }
      expect(r.ok).toBe(true);
      expect(r.message).toContain(
        `Process ${solution.pid} (sleep) is root in its own user namespace and uid ${U} outside (uid_map: 0 ${U} 1)`,
      );
    });

    itRoot('passes on a root-only machine too: another uid through setpriv, as the task says', async () => {
      const { check } = findLesson('user').lesson;
      // A uid with no account: setpriv(1) needs none, and neither does the check.
      const args = ['--reuid=54321', '--regid=54321', '--clear-groups', 'unshare', '--user', '--map-root-user'];
      // As nsx check does: only what was started from now on counts (other tests' processes do not).
      countOnlyStartedSince(Date.now() - 1000);
      try {
        solution = spawn('setpriv', [...args, 'sleep', '60'], { stdio: 'ignore' });
        let r = await check();
        for (let i = 0; i < 50 && !r.ok; i++) {
          await new Promise((res) => setTimeout(res, 100));
          r = await check();
        }
        expect(r.ok).toBe(true);
        expect(r.message).toContain('uid 54321 outside (uid_map: 0 54321 1)');
      } finally {
        countOnlyStartedSince(undefined);
      }
    });

    itRoot('names the near misses: no mapping, or root mapped to root', async () => {
      const { check } = findLesson('user').lesson;
      solution = spawn('unshare', ['--user', 'sleep', '60'], { uid: U, gid: U, stdio: 'ignore' });
      let r = await check();
      for (let i = 0; i < 50 && !/nothing is mapped/.test(r.message); i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await check();
      }
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(/is in a new user namespace, but nothing is mapped there/);
      solution.kill('SIGKILL');
      solution = spawn('unshare', ['--user', '--map-root-user', 'sleep', '60'], { stdio: 'ignore' }); // as root: 0 → 0
      for (let i = 0; i < 50 && !/root outside too/.test(r.message); i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await check();
      }
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(/root outside too \(0 maps to 0\)/);
    });
  });
});
