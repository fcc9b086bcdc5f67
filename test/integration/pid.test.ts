// The PID namespace (pid_namespaces(7)): the command is PID 1 inside while the host knows it by
// another PID; ps inside sees only the container; the container cannot signal host processes; when
// PID 1 exits the kernel kills everything else in the namespace.
import { describe, expect } from '@jest/globals';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
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

  itRoot('lets ps inside see only the container\'s processes', async () => {
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
