// The read-only kernel-state helpers that `nsx check` uses: mountinfo parsing, NSpid, and telling
// nsx's own containers apart from what a learner built by hand.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { inNsxContainer, mountInfo, newestFirst, nsPidsOf, parseMountInfo, startTime } from '../../src/learn/kernel.js';

describe('mountinfo', () => {
  it('splits a line into its fields, optional fields included, octal escapes decoded', () => {
    const text = [
      '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
      '88 27 0:51 / /mnt/my\\040dir rw,relatime shared:5 master:2 - tmpfs mytmp rw',
      '90 88 0:52 / /srv rw - proc proc rw',
      '',
    ].join('\n');
    expect(parseMountInfo(text)).toEqual([
      {
        id: 27,
        parent: 1,
        dev: '254:0',
        root: '/',
        mountPoint: '/',
        optional: ['shared:1'],
        fstype: 'ext4',
        source: '/dev/vda',
      },
      {
        id: 88,
        parent: 27,
        dev: '0:51',
        root: '/',
        mountPoint: '/mnt/my dir',
        optional: ['shared:5', 'master:2'],
        fstype: 'tmpfs',
        source: 'mytmp',
      },
      { id: 90, parent: 88, dev: '0:52', root: '/', mountPoint: '/srv', optional: [], fstype: 'proc', source: 'proc' },
    ]);
  });

  it("reads a live process's mounts, its root among them", () => {
    expect(mountInfo('self').map((m) => m.mountPoint)).toContain('/');
  });
});

describe('processes', () => {
  it("NSpid has one entry per PID namespace level: one for a process of the host's", () => {
    const ns = nsPidsOf(process.pid);
    expect(ns[0]).toBe(process.pid);
  });

  it('a process outside any nsx container is not counted as one', () => {
    expect(inNsxContainer(process.pid)).toBe(false);
    expect(inNsxContainer(1)).toBe(false);
  });

  it('sorts the newest process first, by start time', async () => {
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect(startTime(child.pid!)).toBeGreaterThanOrEqual(startTime(process.pid));
      expect(newestFirst([{ pid: 1 }, { pid: child.pid! }, { pid: process.pid }]).map((p) => p.pid)).toEqual([
        child.pid,
        process.pid,
        1,
      ]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('what nsx check counts', () => {
  it("knows when a process started (proc(5) starttime + btime), within the boot time's second", async () => {
    const { startedAt } = await import('../../src/learn/kernel.js');
    const started = Date.now() - process.uptime() * 1000;
    expect(Math.abs(startedAt(process.pid)! - started)).toBeLessThan(1500);
    expect(startedAt(2 ** 22 + 1)).toBeUndefined(); // above pid_max's ceiling: no such process
  });
  it('counts only processes started after the task was shown, once told when that was', async () => {
    const { countOnlyStartedSince, processes } = await import('../../src/learn/kernel.js');
    try {
      expect(processes().map((p) => p.pid)).toContain(process.pid);
      countOnlyStartedSince(Date.now() + 60_000);
      expect(processes().map((p) => p.pid)).not.toContain(process.pid);
      countOnlyStartedSince(Date.now() - process.uptime() * 1000 - 5_000);
      expect(processes().map((p) => p.pid)).toContain(process.pid);
    } finally {
      countOnlyStartedSince(undefined);
    }
  });
});
