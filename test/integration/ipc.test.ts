// The IPC namespace (ipc_namespaces(7)): System V IPC objects and POSIX message queues of the host
// are invisible inside, and the container's are invisible on the host. Inside, /proc/sysvipc/msg
// lists the System V message queues of the reader's IPC namespace (busybox has no ipcs).
import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TEST_ROOTFS, evidenceAfter, isRoot, itRoot } from '../helpers.js';
import { readOr, HOLD, waitFor, live } from '../live.js';

/** The msqid column of /proc/sysvipc/msg (its first line is a header). */
const msqids = (text: string) =>
  text
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => Number(l.trim().split(/\s+/)[1]));
const msqKeys = (text: string) =>
  text
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/)[0]);

/** Runs a shell command on the host with the host's POSIX message queues mounted at /mnt, in a
 *  throwaway mount namespace (unshare makes its mounts private, so nothing shows on the host). */
function hostMqueue(cmd: string): string {
  return execFileSync('unshare', ['-m', 'sh', '-c', `mount -t mqueue none /mnt && cd /mnt && ${cmd}`], {
    encoding: 'utf8',
  });
}

const hasTool = (name: string) =>
  ['bin', 'sbin', 'usr/bin', 'usr/sbin'].some((d) => existsSync(join(TEST_ROOTFS, d, name)));

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
    const { r, value } = await live([], ['/bin/sh', '-c', `cat /proc/sysvipc/msg; ${HOLD}`], (init) =>
      readlinkSync(`/proc/${init}/ns/ipc`),
    );
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
      const { r, value } = await live(
        [],
        ['/bin/sh', '-c', `ipcmk -Q >/dev/null && cat /proc/sysvipc/msg; ${HOLD}`],
        () => msqKeys(readFileSync('/proc/sysvipc/msg', 'utf8')),
      );
      expect(r.code).toBe(0);
      const inside = msqKeys(r.stdout);
      expect(inside).toHaveLength(1);
      expect(value).not.toContain(inside[0]); // read on the host while the container's queue existed
    },
  );

  itRoot("mounts a fresh, empty /dev/mqueue: the host's POSIX message queues are not there", async () => {
    const name = `nsx-host-q-${randomBytes(4).toString('hex')}`;
    hostMqueue(`touch ${name}`);
    cleanups.push(() => hostMqueue(`rm -f ${name}`));
    expect(hostMqueue('ls -A')).toContain(name);
    const { r } = await live(
      [],
      ['/bin/sh', '-c', `grep " /dev/mqueue " /proc/mounts; echo ===; ls -A /dev/mqueue; ${HOLD}`],
      () => undefined,
    );
    expect(r.code).toBe(0);
    const [mounts, listing] = r.stdout.split('===\n');
    expect(mounts).toMatch(/^mqueue \/dev\/mqueue mqueue /m);
    expect(listing.trim()).toBe('');
  });

  itRoot('hides from the host a POSIX message queue made inside', async () => {
    const name = `nsx-inside-q-${randomBytes(4).toString('hex')}`;
    cleanups.push(() => hostMqueue(`rm -f ${name}`)); // only if it leaked
    // open(O_CREAT) on an mqueue filesystem creates a queue (mq_overview(7)).
    const { r, value } = await live(
      [],
      ['/bin/sh', '-c', `touch /dev/mqueue/${name} && echo made; ${HOLD}`],
      async (init) => {
        const inContainer = `/proc/${init}/root/dev/mqueue/${name}`;
        await waitFor(() => existsSync(inContainer));
        return { inside: existsSync(inContainer), queue: readOr(inContainer), host: hostMqueue('ls -A') };
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('made');
    expect(value.inside).toBe(true);
    expect(value.queue).toMatch(/^QSIZE:0/); // a real queue, not a plain file
    expect(value.host).not.toContain(name);
  });
});
