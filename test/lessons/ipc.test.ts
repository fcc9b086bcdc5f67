// The IPC lesson end to end on the real kernel: the host's queue seen until unshare(CLONE_NEWIPC) and
// not after, the container's queues never on the host, a POSIX queue on the container's /dev/mqueue,
// the host's demo queue removed at the end; and its check before and after a correct solution.
import { afterEach, describe, expect } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { parseSysvipc } from '../../lessons/13-ipc/sysvipc.js';
import { itRoot } from '../helpers.js';
import { commandOutput, demoOutputs, evidence, playForTest } from './play.js';

/** msqids listed by `ipcs -q` (rows start with the 0x key). */
const ipcsIds = (out: string) =>
  out
    .split('\n')
    .filter((l) => /^0x/.test(l))
    .map((l) => Number(l.split(/\s+/)[1]));
const hostQueues = () => parseSysvipc(readFileSync('/proc/sysvipc/msg', 'utf8'));

describe('lesson: ipc', () => {
  const leftovers: string[] = [];
  afterEach(() => {
    // Only if the lesson's own cleanup failed: the queue it made on the host.
    for (const id of leftovers.splice(0))
      if (hostQueues().some((q) => q.id === Number(id))) execFileSync('ipcrm', ['-q', id]);
  });

  itRoot(
    "shows the host's queue vanish at unshare, the container's never on the host, and removes its own",
    async () => {
      const before = hostQueues();
      const p = await playForTest('ipc');
      const [made] = demoOutputs(p, 'cgroup', 'host');
      const hostId = /Message queue id: (\d+)/.exec(made)?.[1];
      expect(hostId).toBeDefined();
      leftovers.push(hostId!);
      expect(p.completed).toBe(true);
      // Before the unshare, the runtime's process lists the host's queue; right after, nothing.
      expect(ipcsIds(demoOutputs(p, 'cgroup')[0])).toContain(Number(hostId));
      const [afterUnshare, madeInside] = demoOutputs(p, 'namespaces');
      expect(afterUnshare).toMatch(/Message Queues/);
      expect(ipcsIds(afterUnshare)).toEqual([]);
      expect(madeInside).toMatch(/^Message queue id: \d+$/);
      const ev = evidence(p, 'namespaces')!;
      expect(ev.process.ns.ipc).not.toBe(ev.host.ns.ipc);
      // The container's command lists its queue (still there after ipcmk exited) and the POSIX one.
      const out = commandOutput(p).trim().split('\n');
      const inside = parseSysvipc(out.slice(0, -1).join('\n'));
      expect(inside).toHaveLength(1);
      expect(out[out.length - 1]).toBe('inbox');
      // The host never listed the container's queue (keys are random, so they tell the two apart).
      const hostListing = demoOutputs(p, 'namespaces', 'host')[0];
      expect(ipcsIds(hostListing)).toContain(Number(hostId));
      expect(hostListing).not.toContain(inside[0].key);
      expect(demoOutputs(p, 'pivot-root')[0]).toMatch(/^QSIZE:0\s+NOTIFY:0/);
      // The demo's queue on the host is gone again, and nothing else changed there.
      expect(p.events).toContainEqual(
        expect.objectContaining({
          type: 'demo-cleanup',
          command: ['ipcrm', '-q', hostId!],
          status: 0,
        } satisfies Partial<PlayerEvent>),
      );
      expect(hostQueues()).toEqual(before);
      expect(p.transcript).toContain('Rule: IPC objects belong to a namespace');
    },
  );

  describe('nsx check ipc', () => {
    let solution: ChildProcess | undefined;
    afterEach(() => {
      solution?.kill('SIGKILL'); // the namespace's last process: its queue goes with it
      solution = undefined;
    });

    itRoot('fails before the task is done and passes after a correct solution', async () => {
      const { check } = findLesson('ipc').lesson;
      const before = hostQueues();
      expect((await check()).ok).toBe(false);
      solution = spawn('unshare', ['--ipc', 'sh', '-c', 'ipcmk -Q >/dev/null && exec sleep 60'], { stdio: 'ignore' });
      let r = await check();
      for (let i = 0; i < 50 && !r.ok; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await check();
      }
      expect(r.ok).toBe(true);
      expect(r.message).toMatch(/message queue \d+ \(key 0x[0-9a-f]{8}\)/);
      expect(hostQueues()).toEqual(before); // made in the new namespace, not on the host
    });
  });
});
