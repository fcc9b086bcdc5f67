// cgroup limits through nsx run (cgroups(7)): -m, --pids-limit and --cpus as the kernel enforces
// them on the probe, on whatever layout this machine has (v1, v2 or hybrid, detected, not assumed).
import { describe, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { detectLayout, type CgroupLayout } from '../../src/runtime/cgroups/index.js';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import {
  eventsOf,
  evidenceAfter,
  isRoot,
  itRoot,
  NSX,
  run,
  stripAnsi,
  TEST_ROOTFS,
  type NsxResult,
} from '../helpers.js';

const layout: CgroupLayout | undefined = isRoot ? detectLayout() : undefined;

/** Where a controller's files for container `id` are on this machine: its v1 hierarchy, else the unified one. */
function controllerDir(controller: 'memory' | 'pids' | 'cpu', id: string): { dir: string; version: 1 | 2 } {
  const v1 = layout!.v1[controller];
  if (v1) return { dir: join(v1, 'nsx', id), version: 1 };
  return { dir: join(layout!.unified!, 'nsx', id), version: 2 };
}

/** Every directory the container could have had: nsx/<id> in each hierarchy nsx uses. */
function allDirs(id: string): string[] {
  const mounts = new Set(
    [layout!.v1.memory, layout!.v1.pids, layout!.v1.cpu, layout!.unified].filter((m): m is string => !!m),
  );
  return [...mounts].map((m) => join(m, 'nsx', id));
}

function idOf(r: NsxResult): string {
  return eventsOf(r, 'created')[0].id;
}

/** After a run, nothing of the container's cgroups is left, and the clean-up said what it removed. */
function expectCgroupsGone(r: NsxResult): void {
  const id = idOf(r);
  expect(allDirs(id).filter((d) => existsSync(d))).toEqual([]);
  const removed = eventsOf(r, 'cleaned-up')[0]?.removed ?? [];
  for (const d of allDirs(id)) expect(removed).toContain(d);
}

/**
 * Starts nsx run and lets the test look at the host while the container runs: the events file is
 * read as it is written. Spawned in its own session, so a signal the container sends to "its"
 * process group (kill(0, …)) cannot reach jest.
 */
function startRun(options: string[], command: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-cg-'));
  const file = join(dir, 'events.jsonl');
  const child = spawn(
    process.execPath,
    [NSX, 'runtime', 'run', '--rm', '--events', file, '--rootfs', TEST_ROOTFS, ...options, ...command],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
      detached: true,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  const events = (): RuntimeEvent[] => {
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((l) => {
          try {
            return l ? [JSON.parse(l)] : [];
          } catch {
            return []; // a line still being written
          }
        });
    } catch {
      return [];
    }
  };
  return {
    events,
    async waitFor(type: RuntimeEvent['type'], ms = 10000): Promise<RuntimeEvent> {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
        const e = events().find((x) => x.type === type);
        if (e) return e;
      }
      throw new Error(`no ${type} event within ${ms} ms; stderr: ${stderr}`);
    },
    async done(): Promise<NsxResult> {
      const code = await closed;
      clearTimeout(timer);
      const result = { code, signal: null, stdout, stderr: stripAnsi(stderr), events: events() };
      rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
}

describe('cgroup limits', () => {
  itRoot(
    `detects this machine's layout (${layout?.version ?? 'not root'}) and puts the container in nsx/<id> of each hierarchy`,
    async () => {
      const r = await run(['-m', '64m'], ['/bin/true']);
      expect(r.code).toBe(0);
      const id = idOf(r);
      const ev = evidenceAfter(r, 'cgroup')!;
      for (const c of ['memory', 'pids', 'cpu'] as const) {
        const { version } = controllerDir(c, id);
        // /proc/PID/cgroup: "N:memory:/nsx/<id>" for a v1 controller, "0::/nsx/<id>" for v2.
        const line =
          version === 1
            ? ev.process.cgroups.find((l) => l.split(':')[1].split(',').includes(c))
            : ev.process.cgroups.find((l) => l.startsWith('0::'));
        expect(line?.split(':').slice(2).join(':')).toBe(`/nsx/${id}`);
      }
      if (layout!.unified) expect(ev.process.cgroups).toContain(`0::/nsx/${id}`);
      expect(eventsOf(r, 'step-applied').find((e) => e.step.id === 'cgroup')!.changed).toContain('cgroups');
      expectCgroupsGone(r);
    },
  );

  itRoot(
    '-m 32m and a 100 MiB memory hog: OOM-killed, exit 137, oomKilled in the exited event, and nsx says so',
    async () => {
      const r = await run(['-m', '32m'], ['/probe', 'memhog', '100']);
      expect(r.code).toBe(137);
      expect(r.stdout).not.toMatch(/survived/);
      const exited = eventsOf(r, 'exited');
      expect(exited).toHaveLength(1);
      expect(exited[0]).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: true });
      expect(r.stderr).toMatch(/killed by the kernel's OOM killer \(memory limit 33554432 bytes\)/);
      expectCgroupsGone(r);
    },
  );

  itRoot('-m 64m and an 8 MiB program: it survives, exit 0, not OOM-killed', async () => {
    const r = await run(['-m', '64m'], ['/probe', 'memhog', '8']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe('survived');
    expect(eventsOf(r, 'exited')[0]).toMatchObject({ exitCode: 0, oomKilled: false });
    expectCgroupsGone(r);
  });

  itRoot('--pids-limit 10: fork fails with EAGAIN before 10 children', async () => {
    // The probe ends by killing its process group (kill(0, SIGTERM)). It runs under setsid so that
    // group is its own: the container's PID 1 shares nsx's process group today (see
    // interrupts.test.ts, "the container's PID 1 leads its own session"), and the signal would
    // reach nsx. startRun's own session keeps it away from jest either way.
    const c = startRun(['--pids-limit', '10'], ['/bin/sh', '-c', '/usr/bin/setsid /probe forks 50 & wait']);
    const r = await c.done();
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const m = /^forked (\d+) errno (\w+)$/m.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(m![2]).toBe('EAGAIN');
    expect(Number(m![1])).toBeLessThan(10);
    expect(Number(m![1])).toBeGreaterThan(0);
    expectCgroupsGone(r);
  });

  itRoot(
    "--cpus 0.5: a 50 ms quota per 100 ms period in the container's cpu cgroup while it runs, gone after",
    async () => {
      const c = startRun(['--cpus', '0.5'], ['/bin/sleep', '2']);
      const created = (await c.waitFor('created')) as Extract<RuntimeEvent, { type: 'created' }>;
      await c.waitFor('started');
      const { dir, version } = controllerDir('cpu', created.id);
      // Inside, /sys/fs/cgroup is an empty directory of the read-only sysfs: read it from the host.
      if (version === 1) {
        expect(readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
        expect(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      } else {
        expect(readFileSync(join(dir, 'cpu.max'), 'utf8').trim()).toBe('50000 100000');
      }
      const r = await c.done();
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const ev = evidenceAfter(r, 'cgroup')!;
      const cpuLine =
        version === 1
          ? ev.process.cgroups.find((l) => l.split(':')[1].split(',').includes('cpu'))
          : ev.process.cgroups.find((l) => l.startsWith('0::'));
      expect(cpuLine).toMatch(new RegExp(`:/nsx/${created.id}$`));
      expect(existsSync(dir)).toBe(false);
      expectCgroupsGone(r);
    },
  );
});
