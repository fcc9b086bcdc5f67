// Exit codes, docker's way (docker run reference, "Exit status"): the command's own code; 127 when
// the command is not found; 126 when it cannot be executed; 128+N when signal N killed it. The
// `exited` event carries the code or the signal.
import { describe, expect } from '@jest/globals';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { TEST_ROOTFS, eventsOf, itRoot, nsx, run } from '../helpers.js';

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
describe('exit codes', () => {
  itRoot('passes the command\'s exit code through', async () => {
    const r = await run([], ['/bin/sh', '-c', 'exit 7']);
    expect(r.code).toBe(7);
    expect(eventsOf(r, 'exited')).toEqual([expect.objectContaining({ exitCode: 7, code: 7, oomKilled: false })]);
    expect(eventsOf(r, 'exited')[0].signal).toBeUndefined();
    expect(r.stderr).toBe('');
  });

  itRoot('exits 0 when the command succeeds', async () => {
    const r = await run([], ['/bin/true']);
    expect(r.code).toBe(0);
    expect(eventsOf(r, 'exited')).toEqual([expect.objectContaining({ exitCode: 0, code: 0 })]);
  });

  itRoot('exits 127 when the command is not in the root filesystem, saying which', async () => {
    for (const cmd of ['nsx-no-such-command', '/bin/nsx-no-such-command']) {
      const r = await run([], [cmd]);
      expect(r.code).toBe(127);
      const [first, hint] = r.stderr.trimEnd().split('\n');
      expect(first).toMatch(/^nsx: /);
      expect(first).toContain(`"${cmd}"`);
      expect(first).toMatch(/not found/);
      expect(hint).toBeTruthy();
      expect(r.stderr).not.toContain('    at ');
      expect(eventsOf(r, 'started')).toEqual([]);
    }
  });

  itRoot('exits 126 when the command is not executable', async () => {
    const r = await run([], ['/etc/passwd']);
    expect(r.code).toBe(126);
    expect(r.stderr.split('\n')[0]).toMatch(/^nsx: .*\/etc\/passwd.*Permission denied \(EACCES\)/);
    const failed = eventsOf(r, 'step-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].step.id).toBe('exec');
    expect(failed[0].error.errnoName).toBe('EACCES');
    expect(eventsOf(r, 'exited')).toEqual([]); // the command never ran
    expect(eventsOf(r, 'cleaned-up')).toHaveLength(1);
  });

  itRoot('exits 137 when SIGKILL from the host kills PID 1, and the exited event names the signal', async () => {
    let killed = 0;
    const { r } = await live([], ['/bin/sh', '-c', 'sleep 30 & wait'], (init) => {
      expect(exeOf(init)).toMatch(/busybox$/);
      expect(nsPidsOf(init)).toEqual([init, 1]);
      process.kill(init, 'SIGKILL');
      killed = init;
    });
    expect(r.code).toBe(137);
    expect(eventsOf(r, 'started')[0].pid).toBe(killed);
    const exited = eventsOf(r, 'exited');
    expect(exited).toEqual([expect.objectContaining({ exitCode: 137, signal: 'SIGKILL', oomKilled: false })]);
    expect(exited[0].code).toBeUndefined();
  });
});
