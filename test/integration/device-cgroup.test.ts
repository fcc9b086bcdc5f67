// The device cgroup on the real kernel: Docker's default rules (src/runtime/devices) applied to a cgroup
// of the test's own, then real mknod(2) and open(2) calls by a process inside it.
//   v2: the shim's cgroup_device_filter instruction attaches the compiled eBPF program to a directory
//       under the cgroup2 mount (Documentation/admin-guide/cgroup-v2.rst "Device controller");
//   v1: writeV1DeviceRules writes devices.deny/devices.allow of a directory under the v1 "devices"
//       hierarchy (Documentation/admin-guide/cgroup-v1/devices.rst).
// The probes are child processes that first move themselves into the cgroup (echo $$ > cgroup.procs)
// and then exec busybox: Node cannot put one of its own calls in another cgroup. The block device is a
// loop device the test attaches to a small file of its own; /dev/kmsg is c 1:11. Every node the
// cgroup refuses is also opened from outside it, so a refusal cannot come from anything else (a nodev
// mount, wrong numbers). Mount points come from /proc/self/mountinfo; a missing hierarchy skips its
// case and says why. Everything made is removed in afterEach, also after a failed assertion.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceFilterHint, deviceFilterOp, writeV1DeviceRules } from '../../src/runtime/devices/apply.js';
import { DEFAULT_DEVICE_RULES, PRIVILEGED_DEVICE_RULES, type DeviceRule } from '../../src/runtime/devices/rules.js';
import { Shim, type ShimError } from '../../src/runtime/shim.js';
import { isRoot } from '../helpers.js';

/** The cgroup2 mount and the v1 hierarchy with the devices controller, from mountinfo (proc(5)). */
function cgroupMounts(): { unified?: string; devicesV1?: string } {
  const out: { unified?: string; devicesV1?: string } = {};
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const mountPoint = pre.split(' ')[4];
    const [fstype, , superOpts] = post.split(' ');
    if (fstype === 'cgroup2') out.unified ??= mountPoint;
    if (fstype === 'cgroup' && superOpts.split(',').includes('devices')) out.devicesV1 ??= mountPoint;
  }
  return out;
}

const mounts = cgroupMounts();
const hasLoop = spawnSync('losetup', ['--version']).status === 0;
const skipWhy = (needs: string | undefined, what: string) =>
  !isRoot ? 'needs root' : !hasLoop ? 'losetup (util-linux) is not installed' : needs === undefined ? what : undefined;
const itIf = (why: string | undefined): typeof it =>
  (why === undefined ? it : (name: string, fn: never) => it.skip(`${name} [skipped: ${why}]`, fn)) as never;
const itV2 = itIf(skipWhy(mounts.unified, 'no cgroup2 filesystem in /proc/self/mountinfo'));
const itV1 = itIf(skipWhy(mounts.devicesV1, 'no v1 hierarchy with the devices controller in /proc/self/mountinfo'));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanups.splice(0).reverse()) {
    try {
      undo();
    } catch (err) {
      console.error(`device-cgroup cleanup: ${(err as Error).message}`);
    }
  }
});

/** A cgroup of the test's own under a hierarchy's root, removed afterwards (retrying while the last
 *  probe's exit is being accounted: rmdir(2) says EBUSY). */
function makeCgroup(root: string): string {
  const dir = join(root, `nsx-test-devices-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  cleanups.push(() => {
    for (let i = 0; ; i++) {
      try {
        return rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || i >= 50) throw err;
        spawnSync('sleep', ['0.02']);
      }
    }
  });
  return dir;
}

/** A directory for the nodes, and a loop device over a 64 KiB file in it: its major and minor. */
function scratch(): { dir: string; loop: { major: number; minor: number } } {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-devices-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'disk.img'), Buffer.alloc(64 * 1024));
  const attach = spawnSync('losetup', ['-f', '--show', join(dir, 'disk.img')], { encoding: 'utf8' });
  if (attach.status !== 0) throw new Error(`losetup -f --show: ${attach.stderr.trim()}`);
  const dev = attach.stdout.trim();
  cleanups.push(() => {
    const detach = spawnSync('losetup', ['-d', dev], { encoding: 'utf8' });
    if (detach.status !== 0) throw new Error(`losetup -d ${dev}: ${detach.stderr.trim()}`);
  });
  const rdev = statSync(dev).rdev;
  return { dir, loop: { major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) } };
}

interface Probe {
  status: number | null;
  stderr: string;
}

/** Runs busybox with these arguments in the cgroup (or, without one, where the test runs). */
function probe(cgroup: string | undefined, args: string[]): Probe {
  const join_ = 'echo $$ > "$0" || exit 99; exec busybox "$@"';
  const r =
    cgroup === undefined
      ? spawnSync('busybox', args, { encoding: 'utf8' })
      : spawnSync('sh', ['-c', join_, join(cgroup, 'cgroup.procs'), ...args], { encoding: 'utf8' });
  if (r.status === 99) throw new Error(`could not join ${cgroup}: ${r.stderr}`);
  return { status: r.status, stderr: r.stderr.trim() };
}

const read1 = (node: string) => ['dd', `if=${node}`, 'of=/dev/null', 'count=1'];
const openOnly = (node: string, dir: 'if' | 'of') => [
  'dd',
  `${dir}=${node}`,
  `${dir === 'if' ? 'of' : 'if'}=/dev/null`,
  'count=0',
];
const ok = { status: 0 };
const eperm = (node: string) => ({
  status: 1,
  stderr: expect.stringMatching(new RegExp(`can't open '${node}': Operation not permitted`)),
});

/** The checks both versions share, on a cgroup that has DEFAULT_DEVICE_RULES. */
function checkDefaultRules(cgroup: string) {
  const { dir, loop } = scratch();
  // What a container's /dev holds opens, for reading and for writing.
  expect(probe(cgroup, ['dd', 'if=/dev/null', 'of=/dev/null', 'count=1'])).toMatchObject(ok);
  expect(probe(cgroup, ['dd', 'if=/dev/zero', 'of=/dev/null', 'count=1'])).toMatchObject(ok);
  // A node for the (loop) disk can be made (b *:* m) but not opened.
  const disk = join(dir, 'disk');
  expect(probe(cgroup, ['mknod', disk, 'b', String(loop.major), String(loop.minor)])).toMatchObject(ok);
  expect(probe(cgroup, read1(disk))).toMatchObject(eperm(disk));
  expect(probe(cgroup, openOnly(disk, 'of'))).toMatchObject(eperm(disk));
  expect(probe(undefined, read1(disk))).toMatchObject(ok); // the same node, outside the cgroup
  // The kernel log: /dev/kmsg's numbers, c 1:11. Nothing is written: count=0 only opens.
  const kmsg = join(dir, 'kmsg');
  expect(probe(cgroup, ['mknod', kmsg, 'c', '1', '11'])).toMatchObject(ok);
  expect(probe(cgroup, openOnly(kmsg, 'of'))).toMatchObject(eperm(kmsg));
  expect(probe(cgroup, openOnly(kmsg, 'if'))).toMatchObject(eperm(kmsg));
  expect(probe(undefined, openOnly(kmsg, 'if'))).toMatchObject(ok);
  // /dev/fuse, c 10:229, is not in the list either.
  const fuse = join(dir, 'fuse');
  expect(probe(cgroup, ['mknod', fuse, 'c', '10', '229'])).toMatchObject(ok);
  expect(probe(cgroup, openOnly(fuse, 'if'))).toMatchObject(eperm(fuse));
  return { dir, loop };
}

/** Attaches the compiled rules to a cgroup2 directory through the shim, as the runtime would. */
async function attach(cgroup: string, rules: readonly DeviceRule[]): Promise<string[]> {
  const shim = await Shim.start('ignore');
  try {
    return await shim.call(deviceFilterOp(cgroup, rules));
  } finally {
    shim.close();
    await shim.gone();
  }
}

describe('device cgroup', () => {
  itV2('v2: the shim attaches the eBPF program; mknod works, open of a device outside the list is EPERM', async () => {
    const cgroup = makeCgroup(mounts.unified!);
    const [count] = await attach(cgroup, DEFAULT_DEVICE_RULES);
    expect(Number(count)).toBeGreaterThan(10);
    checkDefaultRules(cgroup);
  });

  itV2('v2: privileged rules let the same disk node be read', async () => {
    const cgroup = makeCgroup(mounts.unified!);
    await attach(cgroup, PRIVILEGED_DEVICE_RULES);
    const { dir, loop } = scratch();
    const disk = join(dir, 'disk');
    expect(probe(cgroup, ['mknod', disk, 'b', String(loop.major), String(loop.minor)])).toMatchObject(ok);
    expect(probe(cgroup, read1(disk))).toMatchObject(ok);
  });

  itV2('v2: the shim names the syscall when the directory is not a cgroup', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsx-devices-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const failure = { syscall: 'bpf', detail: `BPF_PROG_ATTACH ${dir}` };
    await expect(attach(dir, DEFAULT_DEVICE_RULES)).rejects.toMatchObject({ failure });
  });

  itV2('v2: refused after unshare(CLONE_NEWUSER): the devices step must come before the user namespace', async () => {
    const cgroup = makeCgroup(mounts.unified!);
    const shim = await Shim.start('ignore');
    try {
      await shim.call({ op: 'unshare', flags: 0x10000000 }); // CLONE_NEWUSER
      const err = await shim.call(deviceFilterOp(cgroup, DEFAULT_DEVICE_RULES)).then(
        () => undefined,
        (e: ShimError) => e,
      );
      expect(err?.failure).toMatchObject({ syscall: 'bpf', detail: 'BPF_PROG_LOAD', errno: 1 });
      expect(deviceFilterHint(err!.failure)).toMatch(/before unshare\(CLONE_NEWUSER\)/);
    } finally {
      shim.close();
      await shim.gone();
    }
  });

  itV1('v1: devices.deny/devices.allow; mknod works, open of a device outside the list is EPERM', () => {
    const cgroup = makeCgroup(mounts.devicesV1!);
    writeV1DeviceRules(cgroup, DEFAULT_DEVICE_RULES);
    const list = readFileSync(join(cgroup, 'devices.list'), 'utf8').trim().split('\n').sort();
    const want = ['b *:* m', 'c *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 136:* rwm'];
    expect(list).toEqual([...want, 'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm'].sort());
    checkDefaultRules(cgroup);
  });
});
