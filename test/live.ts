// A running container seen from the host, for the integration tests that need one alive: find its
// PID 1 below nsx, hold its command until the test has looked (HOLD), then release it.
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { TEST_ROOTFS, nsx } from './helpers.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const readOr = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
export const exeOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};
export const pids = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
export const childrenOf = (ppid: number) =>
  pids().filter((p) => new RegExp(`^PPid:\\s+${ppid}$`, 'm').test(readOr(`/proc/${p}/status`)));
export const nsPidsOf = (pid: number) =>
  (/^NSpid:\s+(.*)$/m.exec(readOr(`/proc/${pid}/status`))?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);

/** The shim's program, also after a rebuild replaced the file under a running shim. */
export const SHIM_EXE = /\/nsx-shim( \(deleted\))?$/;

/** All processes below `pid` (children, theirs, ...). */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (let todo = [pid]; todo.length;) {
    const kids = childrenOf(todo.pop()!);
    out.push(...kids);
    todo.push(...kids);
  }
  return out;
}

/** The host PID of the container's PID 1 once its command runs: the process below nsx (and its
 *  nsx-shim) that is PID 1 of a PID namespace of its own and no longer runs the shim's code. */
export async function containerInit(nsxPid: number, timeoutMs = 10000): Promise<number> {
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
export const HOLD = 'i=0; while [ ! -e /tmp/release ] && [ $i -lt 800 ]; do usleep 25000; i=$((i+1)); done';

/** Polls until `ok()` holds or `ms` have passed (a busy machine starts containers slowly). */
export async function waitFor(ok: () => boolean, ms = 8000): Promise<void> {
  for (const end = Date.now() + ms; !ok() && Date.now() < end;) await sleep(20);
}

/** Runs a container whose command waits with HOLD; `during` sees it live (by its PID 1's host PID), then
 *  releases it (or, if `during` failed, kills it). */
export async function live<T>(
  options: string[],
  command: string[],
  during: (init: number) => Promise<T> | T,
  rootfs = TEST_ROOTFS,
) {
  let nsxPid = 0;
  const running = nsx(['runtime', 'run', '--rm', '--rootfs', rootfs, ...options, ...command], {
    onSpawn: (p) => (nsxPid = p),
  });
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
    else if (init)
      process.kill(init, 'SIGKILL'); // a failed check: end the container now
    else process.kill(nsxPid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const r = await running;
  if (failure) throw new Error(`${(failure as Error)?.message ?? failure}\n(nsx exit ${r.code}, stderr: ${r.stderr})`);
  return { r, value: value as T };
}
