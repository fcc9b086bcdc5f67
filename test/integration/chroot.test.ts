// --unsafe-chroot: chroot(2) instead of pivot_root(2). The command runs, but the host's whole mount
// table stays in the container's mount namespace, merely out of sight below the new "/". With
// pivot_root the old root is detached and only the container's mounts are left. (The escape itself
// is the chroot lesson's job; here only the structural difference is checked.)
import { describe, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { UNSAFE_CHROOT_WARNING } from '../../src/runtime/steps/pivot-root.js';
import { useTestEngine } from '../engine.js';
import { TEST_ROOTFS, evidenceAfter, eventsOf, itRoot, nsx, run, stripAnsi } from '../helpers.js';
import { HOLD, live } from '../live.js';

const ROOTFS = realpathSync(TEST_ROOTFS);

/** Every mount point of the mount namespace of `pid`, from that namespace's own root: nsenter joins
 *  its mount namespace (which sets the root to the namespace's root) and its PID namespace (so that
 *  /proc/self resolves whichever /proc is there). */
function namespaceMountPoints(pid: number): string[] {
  const text = execFileSync('nsenter', ['-t', String(pid), '-m', '-p', 'cat', '/proc/self/mountinfo'], {
    encoding: 'utf8',
  });
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]);
}

/** Mount points only the host has (the container mounts no cgroup filesystems, for one). */
const hostOnly = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter((l) => / - cgroup2? /.test(l))
  .map((l) => l.split(' ')[4]);

describe('--unsafe-chroot', () => {
  itRoot('runs the command, in a step titled UNSAFE that uses chroot(2)', async () => {
    const r = await run(['--unsafe-chroot'], ['/probe', 'whoami']);
    expect(r.stderr).toBe(`nsx: ${UNSAFE_CHROOT_WARNING}\n`); // one line, why it is unsafe
    expect(r.code).toBe(0);
    expect(r.stdout.split(' ')[0]).toBe('1');
    const step = eventsOf(r, 'step-applied').find((e) => e.step.id === 'pivot-root')!.step;
    expect(step.title).toMatch(/UNSAFE/);
    expect(step.title).toMatch(/chroot/);
    expect(step.syscalls.join(' ')).toContain('chroot(');
    expect(step.syscalls.join(' ')).not.toContain('pivot_root');
    expect(step.manPage).toBe('chroot(2)');
    // With chroot the root is still a directory of the host's tree, and /proc/PID/root says which.
    expect(evidenceAfter(r, 'pivot-root')!.process.root).toBe(ROOTFS);
  });

  itRoot("leaves the host's mounts in the namespace with chroot, and none with pivot_root", async () => {
    const chroot = await live(['--unsafe-chroot'], ['/bin/sh', '-c', HOLD], (init) => namespaceMountPoints(init));
    const pivot = await live([], ['/bin/sh', '-c', HOLD], (init) => namespaceMountPoints(init));
    expect(chroot.r.code).toBe(0);
    expect(pivot.r.code).toBe(0);

    // chroot: the host's tree is all there, the rootfs is a mount in it at its host path.
    expect(chroot.value).toContain('/');
    expect(chroot.value).toContain(ROOTFS);
    expect(chroot.value).toContain(`${ROOTFS}/proc`);
    for (const m of hostOnly) expect(chroot.value).toContain(m);

    // pivot_root: only the container's own mounts, at container paths.
    expect(pivot.value).toContain('/');
    expect(pivot.value).toContain('/proc');
    expect(pivot.value.filter((m) => m.startsWith(ROOTFS))).toEqual([]);
    for (const m of hostOnly) expect(pivot.value).not.toContain(m);
    expect(pivot.value.filter((m) => !/^\/(proc|dev|sys|tmp)?(\/|$)/.test(m))).toEqual([]);
    expect(pivot.value.length).toBeLessThan(chroot.value.length);
  });
});

describe('chroot evidence', () => {
  itRoot(
    "shows that the host's mounts are still in the namespace after chroot, and gone after pivot_root",
    async () => {
      const chroot = evidenceAfter(await run(['--unsafe-chroot'], ['/bin/true']), 'pivot-root')!;
      const pivot = evidenceAfter(await run([], ['/bin/true']), 'pivot-root')!;
      expect(chroot.process.namespaceMounts!).toBeGreaterThan(chroot.process.mounts.length);
      expect(chroot.process.root).toBe(TEST_ROOTFS);
      expect(pivot.process.root).toBe(TEST_ROOTFS);
      expect(pivot.process.mounts).not.toContain('/work');
    },
  );
});

describe('--unsafe-chroot through the engine', () => {
  const engine = useTestEngine();
  itRoot('nsx run --step --unsafe-chroot warns on stderr too, once, before the first step', async () => {
    // Enter applies a step; enough of them for every step (the input's end quits what is left).
    const r = await nsx(['run', '--step', '--unsafe-chroot', '--rootfs', TEST_ROOTFS, '/bin/true'], {
      input: '\n'.repeat(40),
      env: engine.env,
      events: false,
    });
    const lines = stripAnsi(r.stderr).split('\n');
    expect(lines[0]).toBe(`nsx: ${UNSAFE_CHROOT_WARNING}`);
    expect(lines.filter((l) => l.includes('WARNING: --unsafe-chroot'))).toHaveLength(1);
    expect(r.code).toBe(0);
  });
});
