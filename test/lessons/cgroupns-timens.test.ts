// The cgroup and time namespace lesson end to end on the real kernel: /proc/PID/cgroup read from the
// host and from inside the new cgroup namespace; a time namespace made but not entered by the
// runtime's process, offsets written before the fork, PID 1's uptime a week ahead; and its check
// before and after a correct solution.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { findLesson } from '../../src/learn/course.js';
import { itRoot } from '../helpers.js';
import { commandOutput, demoOutputs, evidence, playForTest } from './play.js';

const WEEK = 604800;
const uptime = (text: string) => Number(text.trim().split(/\s+/)[0]);
const timeNsSupported = (() => {
  try {
    readFileSync('/proc/self/timens_offsets');
    return true;
  } catch {
    return false;
  }
})();
const itTime: typeof itRoot = timeNsSupported
  ? itRoot
  : (((name: string, fn: never) =>
      it.skip(`${name} [skipped: this kernel has no time namespaces (CONFIG_TIME_NS)]`, fn)) as never);

describe('lesson: cgroupns-timens', () => {
  itTime("shows the cgroup re-rooted inside and PID 1's clocks a week ahead", async () => {
    const p = await playForTest('cgroupns-timens');
    expect(p.completed).toBe(true);
    const created = p.events.find((e) => e.type === 'created');
    const id = created?.type === 'created' ? created.id : '';
    // Read from the host: the container's cgroup by its full path; from inside: the root.
    const [fromHost] = demoOutputs(p, 'cgroup', 'host');
    expect(fromHost).toMatch(new RegExp(`^0::/nsx/${id}$`, 'm'));
    const [fromInside, nsenterOwn] = demoOutputs(p, 'namespaces');
    expect(fromInside.split('\n').every((l) => l.endsWith(':/'))).toBe(true);
    expect(nsenterOwn).toMatch(/^0::\/\.\./m); // nsenter's cat is outside the namespace's root
    const ev = evidence(p, 'namespaces')!;
    expect(ev.process.ns.cgroup).not.toBe(ev.host.ns.cgroup);
    // unshare(CLONE_NEWTIME): the caller stays, its children go; the offsets are in before the fork.
    const [links, offsets] = demoOutputs(p, 'namespaces', 'host');
    const [own, forChildren] = links.split('\n');
    expect(own).toBe(readlinkSync('/proc/self/ns/time'));
    expect(forChildren).not.toBe(own);
    expect(ev.process.ns.time).toBe(ev.host.ns.time);
    expect(offsets).toMatch(new RegExp(`^boottime\\s+${WEEK}\\s+0$`, 'm'));
    const forked = evidence(p, 'fork')!;
    expect(forked.process.ns.time).toBe(forChildren);
    // PID 1's uptime (read first) is a week ahead of the host's (read right after).
    const [inside] = demoOutputs(p, 'fork');
    const [host] = demoOutputs(p, 'fork', 'host');
    expect(uptime(inside) - uptime(host)).toBeGreaterThan(WEEK - 5);
    expect(uptime(inside) - uptime(host)).toBeLessThanOrEqual(WEEK);
    // The command, PID 1 itself: every cgroup line at the root, the uptime a week longer.
    const out = commandOutput(p).trim().split('\n');
    expect(out.slice(0, -1).every((l) => l.endsWith(':/'))).toBe(true);
    expect(uptime(out[out.length - 1])).toBeGreaterThan(WEEK);
  });

  describe('nsx check cgroupns-timens', () => {
    let solution: ChildProcess | undefined;
    afterEach(() => {
      // The process group: unshare and the child it forked into the time namespace.
      if (solution?.pid) process.kill(-solution.pid, 'SIGKILL');
      solution = undefined;
    });
    const check = () => findLesson('cgroupns-timens').lesson.check();
    const start = (args: string[]) =>
      spawn('unshare', ['--time', '--fork', '--kill-child', ...args, 'sleep', '60'], {
        stdio: 'ignore',
        detached: true,
      });
    const until = async (ok: (r: Awaited<ReturnType<typeof check>>) => boolean) => {
      let r = await check();
      for (let i = 0; i < 50 && !ok(r); i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await check();
      }
      return r;
    };

    itTime('fails before the task is done, and with too small an offset', async () => {
      expect((await check()).ok).toBe(false);
      solution = start([]);
      const r = await until((x) => /offset by only/.test(x.message));
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(
        /\(sleep\) is in a time namespace of its own, but its boot-time clock is offset by only 0 s/,
      );
    });

    itTime('passes with a process whose boot-time clock is two days ahead', async () => {
      solution = start(['--boottime', String(2 * 86400)]);
      const r = await until((x) => x.ok);
      expect(r.ok).toBe(true);
      expect(r.message).toMatch(/\(sleep\) is in a time namespace whose boot-time clock is 2\.0 days ahead/);
    });
  });
});
