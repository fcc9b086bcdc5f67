// The chroot lesson end to end on the real kernel: the classic escape out of a chroot (as root, and
// as the command with Docker's default capabilities), the same steps staying inside a pivot_root
// container; and its check before and after a correct pivot_root by hand, and after two wrong ones.
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { TEST_ROOTFS, itRoot } from '../helpers.js';
import type { CheckResult } from '../../src/learn/lesson.js';
import { commandOutput, demoOutputs, evidence, playForTest, checkUntil, killTree } from './play.js';

const ROOTFS = realpathSync(TEST_ROOTFS);
const listing = (dir: string) =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();
const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();

describe('lesson: chroot', () => {
  itRoot(
    "escapes the chroot (as root and with Docker's default capabilities) and not a pivot_root container",
    async () => {
      const p = await playForTest('chroot');
      expect(p.completed).toBe(true);
      expect(p.exitCode).toBe(0);

      // chroot: the root is a directory of the host's tree, and the host's mounts are all still there.
      const ev = evidence(p, 'pivot-root')!;
      expect(ev.process.root).toBe(ROOTFS);
      expect(ev.process.namespaceMounts!).toBeGreaterThan(ev.process.mounts.length);

      const [jail, made, escaped] = demoOutputs(p, 'pivot-root');
      expect(jail.split(' ').sort()).toEqual(listing(ROOTFS).map((n) => `/${n}`));
      expect(made).toBe('');
      // The climb ends at the host's "/": ls lists the host's root directory.
      expect(lines(escaped)).toEqual(listing('/'));
      expect(lines(escaped)).not.toEqual(listing(ROOTFS));

      // The same steps in a pivot_root container: its own tree.
      const [second] = demoOutputs(p, 'pivot-root', 'host');
      expect(lines(second)).toEqual(listing(ROOTFS));
      const run = p.events.find((e): e is Extract<PlayerEvent, { type: 'demo' }> => e.type === 'demo' && e.onHost)!;
      expect(run.command[0]).toMatch(/\/bin\/nsx\.cjs$/);
      expect(run.command.slice(1, 4)).toEqual(['run', '--rootfs', ROOTFS]);
      expect(run.status).toBe(0);

      // The command, with Docker's default capabilities, reads the host's /etc/hostname after the escape.
      const caps = evidence(p, 'capabilities')!.process.capBnd;
      expect(caps).toContain('CAP_SYS_CHROOT');
      expect(caps).not.toContain('CAP_SYS_ADMIN');
      const out = commandOutput(p).trim().split('\n');
      expect(out[0]).toBe(`inside the jail: ${readFileSync(`${ROOTFS}/etc/hostname`, 'utf8').trim()}`);
      // A host without /etc/hostname: cat prints nothing, and the escape shows that absence.
      const hostName = existsSync('/etc/hostname') ? readFileSync('/etc/hostname', 'utf8').trim() : '';
      expect(out[1]).toBe(`after the escape: ${hostName}`.trim()); // the output was trimmed
      expect(p.transcript).toContain('Rule: chroot only changes where paths start');
    },
  );

  describe('nsx check chroot', () => {
    let solution: ChildProcess | undefined;
    const stop = () => {
      killTree(solution);
      solution = undefined;
    };
    afterEach(stop);

    const until = (ok: (r: CheckResult) => boolean) => checkUntil('chroot', ok);
    const inMountNs = (script: string) => spawn('unshare', ['--mount', 'sh', '-c', script], { stdio: 'ignore' });

    itRoot(
      'fails before the task, for a chroot, for a pivot_root that kept the old root, and passes after a correct pivot_root',
      async () => {
        const { check } = findLesson('chroot').lesson;
        expect((await check()).ok).toBe(false);

        solution = inMountNs(`exec chroot ${ROOTFS} /bin/sleep 60`);
        let r = await until((x) => x.message.includes(`(${ROOTFS}), but`));
        expect(r.ok).toBe(false);
        expect(r.message).toContain(`(${ROOTFS}), but ".." above it still leads into the host's tree`);
        stop();

        solution = inMountNs(
          `mount --bind ${ROOTFS} ${ROOTFS} && cd ${ROOTFS} && pivot_root . . && exec /bin/sleep 60`,
        );
        r = await until((x) => /still mounted/.test(x.message));
        expect(r.ok).toBe(false);
        expect(r.message).toContain(
          "switched to a new root, but the host's root filesystem is still mounted in its namespace, at /",
        );
        stop();

        solution = inMountNs(
          `mount --bind ${ROOTFS} ${ROOTFS} && cd ${ROOTFS} && pivot_root . . && umount -l . && exec /bin/sleep 60`,
        );
        r = await until((x) => x.ok);
        expect(r.ok).toBe(true);
        expect(r.message).toMatch(/\((sleep|sh)\) has a root of its own at the top of its own mount namespace/); // the shell or its sleep: both live in that root
      },
    );
  });
});
