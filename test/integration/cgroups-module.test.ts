// The cgroup module against this machine's real kernel: whatever layout it has (v1, v2 or hybrid)
// is detected, a container cgroup is made, limits are read back, a process is moved in and the
// cgroup is removed again. Needs root; skipped otherwise.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { ContainerCgroup, detectLayout, processCgroups, removeStaleCgroups } from '../../src/runtime/cgroups/index.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn('cgroups-module integration tests skipped: creating cgroups needs root (run the tests with sudo)');
const describeAsRoot = isRoot ? describe : describe.skip;

const MiB = 1024 * 1024;
const randomId = () => `test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  // Every test cleans up even if it failed half-way: children killed first, then cgroups removed.
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (e) {
      console.warn('cleanup failed:', e);
    }
  }
});

function track(cg: ContainerCgroup): ContainerCgroup {
  cleanups.push(() => cg.remove());
  return cg;
}

function spawnTracked(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = once(child, 'exit');
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describeAsRoot('cgroups on this machine', () => {
  const layout = isRoot ? detectLayout() : undefined!;

  it('creates a cgroup with memory, pids and cpu limits, holds a process in it and removes it', async () => {
    const id = randomId();
    const limits = { memoryBytes: 32 * MiB, pidsMax: 20, cpuQuotaUs: 50000, cpuPeriodUs: 100000 };
    const cg = track(ContainerCgroup.create(layout, id, limits));
    expect(cg.paths.length).toBeGreaterThan(0);
    for (const p of cg.paths) {
      expect(p.endsWith(`/nsx/${id}`)).toBe(true);
      expect(existsSync(p)).toBe(true);
    }
    expect(cg.facts()).toMatchObject({
      memoryLimit: 32 * MiB,
      pidsMax: 20,
      cpuQuotaUs: 50000,
      cpuPeriodUs: 100000,
      pidsCurrent: 0,
      oomKills: 0,
    });
    expect(cg.oomKilled()).toBe(false);

    const child = spawnTracked('sleep', ['60']);
    cg.addProcess(child.pid!);
    const where = processCgroups(child.pid!);
    for (const c of ['memory', 'pids', 'cpu']) {
      const entry = where.find((e) => e.controllers.includes(c)) ?? where.find((e) => e.id === 0);
      expect(entry?.path).toBe(`/nsx/${id}`);
    }
    if (layout.unified !== undefined) expect(where.find((e) => e.id === 0)?.path).toBe(`/nsx/${id}`);
    const facts = cg.facts();
    expect(facts.pidsCurrent).toBe(1);
    // Not > 0: on v1 the memory sleep already had stays charged to its old cgroup unless
    // memory.move_charge_at_immigrate is set; only new allocations count here.
    expect(typeof facts.memoryCurrent).toBe('number');

    await kill(child);
    await cg.remove();
    for (const p of cg.paths) expect(existsSync(p)).toBe(false);
  });

  it('the memory limit holds: a process that allocates past it is OOM-killed and counted', async () => {
    const cg = track(ContainerCgroup.create(layout, randomId(), { memoryBytes: 32 * MiB }));
    // The shell waits for a line on stdin so it is inside the cgroup before anything allocates;
    // tail (last 10 lines) must buffer all input that has no newline: 128 MiB of anonymous memory.
    const child = spawnTracked('sh', ['-c', 'read go; head -c 134217728 /dev/zero | tail >/dev/null']);
    const exited = once(child, 'exit');
    cg.addProcess(child.pid!);
    child.stdin!.end('go\n');
    const [code] = await exited;
    expect(code).toBe(137); // the pipeline's status is tail's: killed by SIGKILL (128 + 9)
    expect(cg.facts().oomKills).toBeGreaterThanOrEqual(1);
    expect(cg.oomKilled()).toBe(true);
  });

  it('removeStaleCgroups removes an empty leftover and keeps the others', () => {
    const id = randomId();
    const leftover = track(ContainerCgroup.create(layout, id, {}));
    const kept = track(ContainerCgroup.create(layout, randomId(), {}));
    // Other test runs may have cgroups here too: only ours may go.
    expect(removeStaleCgroups(layout, { keep: (name) => name !== id })).toEqual([]); // too young
    const removed = removeStaleCgroups(layout, { minAgeMs: 0, keep: (name) => name !== id });
    expect(removed.sort()).toEqual([...leftover.paths].sort());
    for (const p of leftover.paths) expect(existsSync(p)).toBe(false);
    for (const p of kept.paths) expect(existsSync(p)).toBe(true);
  });
});
