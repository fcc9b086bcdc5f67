// nsx check judges only the learner's work: the cgroups task counts a process in `mylimits` only if
// it started after the task was shown (a service's or another container's does not pass), on fake
// v1 and v2 cgroup trees (test/fake-cgroups.ts); the net task counts a network namespace only if no
// process older than the task is in it and, when named, it was bound since.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TASK_CGROUP, checkTask } from '../../lessons/17-cgroups/check.js';
import {
  countOnlyStartedSince,
  namespaceMadeSinceTask,
  namespacesBeforeTask,
  startedSinceTask,
  startedAt,
} from '../../src/learn/kernel.js';
import type { CgroupLayout } from '../../src/runtime/cgroups/index.js';
import { fakeCgroupDirs, fakeV1Roots, fakeV2Root } from '../fake-cgroups.js';

const live: ChildProcess[] = [];
const temps: string[] = [];
afterEach(() => {
  countOnlyStartedSince(undefined);
  for (const p of live.splice(0)) p.kill('SIGKILL');
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** A process started now, whose start proc(5) already shows. */
async function newProcess(): Promise<number> {
  const p = spawn('sleep', ['60'], { stdio: 'ignore' });
  live.push(p);
  await new Promise((r) => p.once('spawn', r));
  return p.pid!;
}

/** The fake tree of a layout, with mylimits made in the hierarchy that holds pids. */
function fakeTree(version: 1 | 2): { layout: CgroupLayout; dir: string } {
  const fsRoot = mkdtempSync(join(tmpdir(), 'nsx-check-own-'));
  temps.push(fsRoot);
  let layout: CgroupLayout;
  if (version === 1) {
    fakeV1Roots(fsRoot, 'pids', 'memory');
    layout = {
      version: 'v1',
      unifiedControllers: [],
      v1: { pids: join(fsRoot, 'pids'), memory: join(fsRoot, 'memory') },
    };
  } else {
    fakeV2Root(fsRoot, 'unified', 'memory pids');
    writeFileSync(join(fsRoot, 'unified', 'cgroup.subtree_control'), '+memory +pids\n');
    layout = { version: 'v2', unified: join(fsRoot, 'unified'), unifiedControllers: ['memory', 'pids'], v1: {} };
  }
  // The layout's mount points are absolute already: the fake dirs' fsRoot is "/".
  const dirs = fakeCgroupDirs('/', layout);
  const dir = join(version === 1 ? layout.v1.pids : layout.unified!, TASK_CGROUP);
  dirs.mkdir(dir);
  writeFileSync(join(dir, 'pids.max'), '5\n');
  return { layout, dir };
}

describe('the cgroups check counts only processes started since the task was shown', () => {
  // PID 1 started at boot: long before any task was shown, and not the learner's.
  it('has a PID 1 that started before now', () => {
    expect(startedAt(1)).toBeLessThan(Date.now() - 2_000);
  });

  for (const version of [1, 2] as const) {
    it(`v${version}: a foreign process (PID 1) in mylimits does not pass; the learner's does`, async () => {
      const { layout, dir } = fakeTree(version);
      countOnlyStartedSince(Date.now() - 1_500); // btime has whole seconds: leave the new process room
      writeFileSync(join(dir, 'cgroup.procs'), '1\n');
      let r = await checkTask(layout);
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(
        new RegExp(
          `^${dir} allows at most 5 processes \\(pids\\.max\\), but the only processes in it, 1 \\(\\S+\\), started before the task was shown`,
        ),
      );
      const mine = await newProcess();
      expect(startedSinceTask(mine)).toBe(true);
      writeFileSync(join(dir, 'cgroup.procs'), `1\n${mine}\n`);
      r = await checkTask(layout);
      expect(r).toEqual({
        ok: true,
        message: `${dir} allows at most 5 processes (pids.max), and process ${mine} (sleep) is in it.`,
      });
    });
  }

  it('with no task shown yet, every live process counts (and says so in nsx check)', async () => {
    const { layout, dir } = fakeTree(2);
    writeFileSync(join(dir, 'cgroup.procs'), '1\n');
    expect((await checkTask(layout)).ok).toBe(true);
  });
});

describe('the net check counts only namespaces made since the task was shown', () => {
  it("knows the namespaces of processes older than the task, this one's among them", async () => {
    countOnlyStartedSince(startedAt(process.pid)! + 1); // the task was shown just after this process started
    const { readlinkSync } = await import('node:fs');
    expect(namespacesBeforeTask('net')).toContain(readlinkSync('/proc/self/ns/net'));
    countOnlyStartedSince(undefined);
    expect(namespacesBeforeTask('net').size).toBe(0);
  });
  it('counts a namespace bound since the task, not one that cannot be read', () => {
    countOnlyStartedSince(Date.now() + 60_000);
    expect(namespaceMadeSinceTask('/proc/self/ns/net')).toBe(false);
    countOnlyStartedSince(undefined);
    expect(namespaceMadeSinceTask('/proc/self/ns/net')).toBe(true);
    expect(namespaceMadeSinceTask('/nonexistent/ns')).toBe(false);
  });
});
