// --unsafe-chroot: chroot(2) instead of pivot_root(2). The command runs, but the host's whole mount
// table stays in the container's mount namespace, merely out of sight below the new "/". With
// pivot_root the old root is detached and only the container's mounts are left. (The escape itself
// is the chroot lesson's job; here only the structural difference is checked.)
import { describe, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { TEST_ROOTFS, evidenceAfter, eventsOf, itRoot, nsx, run } from '../helpers.js';

// ---- a running container seen from the host (the same few lines are in each file that needs them) ----
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readOr = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
const exeOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};
const pids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
const childrenOf = (ppid: number) => pids().filter((p) => new RegExp(`^PPid:\\s+${ppid}$`, 'm').test(readOr(`/proc/${p}/status`)));
const nsPidsOf = (pid: number) => (/^NSpid:\s+(.*)$/m.exec(readOr(`/proc/${pid}/status`))?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);

/** The shim's program, also after a rebuild replaced the file under a running shim. */
const SHIM_EXE = /\/nsx-shim( \(deleted\))?$/;

/** All processes below `pid` (children, theirs, ...). */
function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (let todo = [pid]; todo.length; ) {
    const kids = childrenOf(todo.pop()!);
    out.push(...kids);
    todo.push(...kids);
  }
  return out;
}

/** The host PID of the container's PID 1 once its command runs: the process below nsx (and its
 *  nsx-shim) that is PID 1 of a PID namespace of its own and no longer runs the shim's code. */
async function containerInit(nsxPid: number, timeoutMs = 10000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const p of descendantsOf(nsxPid)) {
      const ns = nsPidsOf(p);
      if (ns.length > 1 && ns[ns.length - 1] === 1 && exeOf(p) && !SHIM_EXE.test(exeOf(p))) return p;
    }
    if (!readOr(`/proc/${nsxPid}/status`)) break;
    await sleep(20);
  }
  throw new Error(`no container PID 1 under nsx (pid ${nsxPid})`);
}

/** Container commands end with HOLD: they wait until the test releases them (a file in their private /tmp). */
const HOLD = 'i=0; while [ ! -e /tmp/release ] && [ $i -lt 800 ]; do usleep 25000; i=$((i+1)); done';

/** Polls until `ok()` holds or `ms` have passed (a busy machine starts containers slowly). */
async function waitFor(ok: () => boolean, ms = 8000): Promise<void> {
  for (const end = Date.now() + ms; !ok() && Date.now() < end; ) await sleep(20);
}

/** Runs a container whose command waits with HOLD; `during` sees it live (by its PID 1's host PID), then
 *  releases it (or, if `during` failed, kills it). */
async function live<T>(options: string[], command: string[], during: (init: number) => Promise<T> | T, rootfs = TEST_ROOTFS) {
  let nsxPid = 0;
  const running = nsx(['run', '--rm', '--rootfs', rootfs, ...options, ...command], { onSpawn: (p) => (nsxPid = p) });
  let init = 0;
  let value: T | undefined;
  let failure: unknown;
  try {
    init = await containerInit(nsxPid);
    value = await during(init);
  } catch (e) {
    failure = e;
  }
  try {
    if (init && !failure) writeFileSync(`/proc/${init}/root/tmp/release`, '');
    else if (init) process.kill(init, 'SIGKILL'); // a failed check: end the container now
    else process.kill(nsxPid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const r = await running;
  if (failure) throw new Error(`${(failure as Error)?.message ?? failure}\n(nsx exit ${r.code}, stderr: ${r.stderr})`);
  return { r, value: value as T };
}
// ---- end of the shared lines ----
const ROOTFS = realpathSync(TEST_ROOTFS);

/** Every mount point of the mount namespace of `pid`, from that namespace's own root: nsenter joins
 *  its mount namespace (which sets the root to the namespace's root) and its PID namespace (so that
 *  /proc/self resolves whichever /proc is there). */
function namespaceMountPoints(pid: number): string[] {
  const text = execFileSync('nsenter', ['-t', String(pid), '-m', '-p', 'cat', '/proc/self/mountinfo'], { encoding: 'utf8' });
  return text.split('\n').filter(Boolean).map((l) => l.split(' ')[4]);
}

/** Mount points only the host has (the container mounts no cgroup filesystems, for one). */
const hostOnly = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter((l) => / - cgroup2? /.test(l))
  .map((l) => l.split(' ')[4]);

describe('--unsafe-chroot', () => {
  itRoot('runs the command, in a step titled UNSAFE that uses chroot(2)', async () => {
    const r = await run(['--unsafe-chroot'], ['/probe', 'whoami']);
    expect(r.stderr).toBe('');
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

  itRoot('leaves the host\'s mounts in the namespace with chroot, and none with pivot_root', async () => {
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
  itRoot('shows that the host\'s mounts are still in the namespace after chroot, and gone after pivot_root', async () => {
    const chroot = evidenceAfter(await run(['--unsafe-chroot'], ['/bin/true']), 'pivot-root')!;
    const pivot = evidenceAfter(await run([], ['/bin/true']), 'pivot-root')!;
    expect(chroot.process.namespaceMounts!).toBeGreaterThan(chroot.process.mounts.length);
    expect(chroot.process.root).toBe(TEST_ROOTFS);
    expect(pivot.process.root).toBe(TEST_ROOTFS);
    expect(pivot.process.mounts).not.toContain('/work');
  });
});
