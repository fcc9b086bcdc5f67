// The IPC namespace (ipc_namespaces(7)): System V IPC objects and POSIX message queues of the host
// are invisible inside, and the container's are invisible on the host. Inside, /proc/sysvipc/msg
// lists the System V message queues of the reader's IPC namespace (busybox has no ipcs).
import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TEST_ROOTFS, evidenceAfter, isRoot, itRoot, nsx } from '../helpers.js';

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
/** The msqid column of /proc/sysvipc/msg (its first line is a header). */
const msqids = (text: string) => text.trim().split('\n').slice(1).filter(Boolean).map((l) => Number(l.trim().split(/\s+/)[1]));
const msqKeys = (text: string) => text.trim().split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/)[0]);

/** Runs a shell command on the host with the host's POSIX message queues mounted at /mnt, in a
 *  throwaway mount namespace (unshare makes its mounts private, so nothing shows on the host). */
function hostMqueue(cmd: string): string {
  return execFileSync('unshare', ['-m', 'sh', '-c', `mount -t mqueue none /mnt && cd /mnt && ${cmd}`], { encoding: 'utf8' });
}

const hasTool = (name: string) => ['bin', 'sbin', 'usr/bin', 'usr/sbin'].some((d) => existsSync(join(TEST_ROOTFS, d, name)));

describe('IPC namespace', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch (e) {
        console.warn('cleanup failed:', e);
      }
    }
  });

  itRoot('hides a System V message queue made on the host', async () => {
    const out = execFileSync('ipcmk', ['-Q'], { encoding: 'utf8' });
    const id = Number(/id:\s*(\d+)/.exec(out)?.[1]);
    expect(Number.isInteger(id)).toBe(true);
    cleanups.push(() => execFileSync('ipcrm', ['-q', String(id)]));
    expect(msqids(readFileSync('/proc/sysvipc/msg', 'utf8'))).toContain(id);
    const { r, value } = await live([], ['/bin/sh', '-c', `cat /proc/sysvipc/msg; ${HOLD}`], (init) => readlinkSync(`/proc/${init}/ns/ipc`));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/msqid/); // the header: the file is there, and lists nothing
    expect(msqids(r.stdout)).toEqual([]);
    const ev = evidenceAfter(r, 'namespaces')!;
    expect(ev.process.ns.ipc).not.toBe(ev.host.ns.ipc);
    expect(value).toBe(ev.process.ns.ipc);
  });

  // busybox's ipcmk/ipcs are optional applets; the sandbox build has neither, and /probe makes no queues.
  const ipcmkInside = hasTool('ipcmk');
  (isRoot && ipcmkInside ? it : it.skip)(
    `hides from the host a System V message queue made inside${ipcmkInside ? '' : ' [skipped: the rootfs has no ipcmk (busybox built without it) and /probe makes no queues]'}`,
    async () => {
      const { r, value } = await live([], ['/bin/sh', '-c', `ipcmk -Q >/dev/null && cat /proc/sysvipc/msg; ${HOLD}`], () => msqKeys(readFileSync('/proc/sysvipc/msg', 'utf8')));
      expect(r.code).toBe(0);
      const inside = msqKeys(r.stdout);
      expect(inside).toHaveLength(1);
      expect(value).not.toContain(inside[0]); // read on the host while the container's queue existed
    },
  );

  itRoot('mounts a fresh, empty /dev/mqueue: the host\'s POSIX message queues are not there', async () => {
    const name = `nsx-host-q-${randomBytes(4).toString('hex')}`;
    hostMqueue(`touch ${name}`);
    cleanups.push(() => hostMqueue(`rm -f ${name}`));
    expect(hostMqueue('ls -A')).toContain(name);
    const { r } = await live([], ['/bin/sh', '-c', `grep " /dev/mqueue " /proc/mounts; echo ===; ls -A /dev/mqueue; ${HOLD}`], () => undefined);
    expect(r.code).toBe(0);
    const [mounts, listing] = r.stdout.split('===\n');
    expect(mounts).toMatch(/^mqueue \/dev\/mqueue mqueue /m);
    expect(listing.trim()).toBe('');
  });

  itRoot('hides from the host a POSIX message queue made inside', async () => {
    const name = `nsx-inside-q-${randomBytes(4).toString('hex')}`;
    cleanups.push(() => hostMqueue(`rm -f ${name}`)); // only if it leaked
    // open(O_CREAT) on an mqueue filesystem creates a queue (mq_overview(7)).
    const { r, value } = await live([], ['/bin/sh', '-c', `touch /dev/mqueue/${name} && echo made; ${HOLD}`], async (init) => {
      const inContainer = `/proc/${init}/root/dev/mqueue/${name}`;
      await waitFor(() => existsSync(inContainer));
      return { inside: existsSync(inContainer), queue: readOr(inContainer), host: hostMqueue('ls -A') };
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('made');
    expect(value.inside).toBe(true);
    expect(value.queue).toMatch(/^QSIZE:0/); // a real queue, not a plain file
    expect(value.host).not.toContain(name);
  });
});
