// The PID namespace (pid_namespaces(7)): the command is PID 1 inside while the host knows it by
// another PID; ps inside sees only the container; the container cannot signal host processes; when
// PID 1 exits the kernel kills everything else in the namespace.
import { describe, expect } from '@jest/globals';
import { readlinkSync } from 'node:fs';
import { evidenceAfter, eventsOf, itRoot, run } from '../helpers.js';
import { readOr, pids, nsPidsOf, HOLD, live } from '../live.js';

describe('PID namespace', () => {
  itRoot('runs the command as PID 1 inside, while the host knows it by its real PID', async () => {
    const r = await run([], ['/probe', 'whoami']);
    expect(r.code).toBe(0);
    const [pid, ppid] = r.stdout.trim().split(' ');
    expect(pid).toBe('1');
    expect(ppid).toBe('0'); // its parent (the supervisor) is outside the namespace
    const started = eventsOf(r, 'started')[0];
    expect(started.pid).toBeGreaterThan(1);
    const fork = evidenceAfter(r, 'fork')!;
    expect(fork.process.nsPids).toEqual([started.pid, 1]);
    expect(fork.inside!.pid).toBe(1);
    expect(fork.process.ns.pid).not.toBe(fork.host.ns.pid);
    // Before the fork the shim shared the host's PID namespace and had a single PID.
    expect(evidenceAfter(r, 'network')!.process.nsPids).toHaveLength(1);
  });

  itRoot('reports as `started` the host PID that /proc shows for the running PID 1', async () => {
    const { r, value } = await live([], ['/bin/sh', '-c', HOLD], (init) => ({ init, nsPids: nsPidsOf(init) }));
    expect(r.code).toBe(0);
    expect(value.nsPids).toEqual([value.init, 1]);
    expect(eventsOf(r, 'started')[0].pid).toBe(value.init);
  });

  itRoot("lets ps inside see only the container's processes", async () => {
    const r = await run([], ['/bin/sh', '-c', 'sleep 1 & ps -o pid,comm']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0].trim()).toMatch(/^PID\s+COMMAND$/);
    const seen = lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(seen).toContain(1);
    expect(seen.length).toBeGreaterThanOrEqual(2); // the shell (or ps it became) and the sleep
    expect(seen.length).toBeLessThanOrEqual(3);
    for (const p of seen) expect(p).toBeLessThanOrEqual(10);
    expect(seen).not.toContain(process.pid);
    expect(pids().length).toBeGreaterThan(seen.length); // the host has more than these
  });

  itRoot('cannot signal host processes: their PIDs do not exist inside', async () => {
    expect(process.pid).toBeGreaterThan(10); // never one of the container's few PIDs
    const r = await run([], ['/bin/sh', '-c', `kill -0 ${process.pid}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No such process');
  });

  itRoot('kills every other process of the namespace when PID 1 exits', async () => {
    const t0 = Date.now();
    const r = await run([], ['/bin/sh', '-c', 'sleep 300 & echo $!; exit 0']);
    expect(r.code).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(1); // the sleep ran, with a PID of the container
    expect(Date.now() - t0).toBeLessThan(15000); // nobody waited for the sleep
    const ns = evidenceAfter(r, 'fork')!.process.ns.pid!;
    expect(ns).toMatch(/^pid:\[\d+\]$/);
    const left = pids().filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/pid`) === ns;
      } catch {
        return false;
      }
    });
    expect(left.map((p) => `${p} ${readOr(`/proc/${p}/cmdline`).replace(/\0/g, ' ')}`)).toEqual([]);
  });
});
