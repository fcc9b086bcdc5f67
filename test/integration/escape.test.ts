// The escape suite (issue 10, "Containment made real"): what an attacker in a container would try
// first, on the real kernel. Each case runs in a DEFAULT container, where it must fail with the
// specific error of the wall that stops it, and with --privileged, where Docker documents it to
// succeed (docker run --privileged: every capability, every device, no seccomp filter, no masked
// paths, no AppArmor profile). All cases run in one container per way in, from one shell script
// that prints one "case: result" line each:
//   - `nsx run` (the container's own command);
//   - the engine: `nsx run -d` then `nsx exec` (docker exec's path: setns into the container,
//     its capabilities and seccomp filter, its cgroup and so its device rules).
// The walls, and where they come from:
//   block device, /dev/kmsg  the device cgroup (steps/devices.ts): mknod is allowed (b/c *:* m), open is
//                            EPERM (Documentation/admin-guide/cgroup-v1/devices.rst, cgroup-v2.rst);
//   mount                    no CAP_SYS_ADMIN (mount(2)); the seccomp profile also refuses it;
//   /proc/sys, sysrq-trigger bound read-only (Docker's readonlyPaths, steps/mask-paths.ts): EROFS;
//   /sys                     sysfs mounted read-only (steps/sys.ts): EROFS;
//   finit_module, keyctl, unshare(CLONE_NEWUSER), open_by_handle_at, clock_settime
//                            Docker's default seccomp profile answers EPERM (and the capabilities they
//                            need, CAP_SYS_MODULE, CAP_DAC_READ_SEARCH, CAP_SYS_TIME, are not in the set);
//   the chroot climb         pivot_root(2) and the detach of the old root: ".." of the namespace's root is
//                            itself. The control: the same climb under --unsafe-chroot escapes.
// The block device is a loop device over a 64 KiB file the test owns, attached with `losetup -f
// --show` and detached afterwards; the nodes are made in the container's /dev (a tmpfs of its own,
// gone with it: the host's /tmp is nodev). In --privileged: the disk's first block is read (the
// test's own file), one marker line is written to the kernel log (and found there with dmesg),
// /proc/sys/vm/overcommit_ratio is written with the value it already has, the clock is set to the
// time just read, finit_module is given a file that is no module. Nothing else is changed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestEngine } from '../engine.js';
import { apparmorEnabled } from '../../src/runtime/lsm/apparmor.js';
import { TEST_ROOTFS, isRoot, nsx, run } from '../helpers.js';

const hasLoop = spawnSync('losetup', ['--version']).status === 0;
const why = !isRoot ? 'needs root' : !hasLoop ? 'losetup (util-linux) is not installed' : undefined;
const itReady = (why === undefined
  ? it
  : (name: string, fn: never) => it.skip(`${name} [skipped: ${why}]`, fn)) as never as typeof it;

/** /proc/sysrq-trigger exists only with CONFIG_MAGIC_SYSRQ: where the host has none, the case says so. */
const hasSysrq = existsSync('/proc/sysrq-trigger');
const MARK = `nsx-escape-test-${process.pid}`;

/** One line per case: "name: ok" or "name: <what the shell or the probe said>". $1 is the loop
 *  device's "major:minor", $2 the kernel log marker. */
const SCRIPT = `
say() { if [ -s /tmp/e ]; then echo "$1: $(cat /tmp/e)"; else echo "$1: ok"; fi; }
mknod /dev/escape-disk b \${1%:*} \${1#*:} 2>/tmp/e; say mknod-disk
dd if=/dev/escape-disk of=/dev/null count=1 2>/tmp/e >/dev/null && : >/tmp/e; say disk-read
mknod /dev/escape-kmsg c 1 11 2>/tmp/e; say mknod-kmsg
(echo "<6>$2" > /dev/escape-kmsg) 2>/tmp/e; say kmsg-write
echo "mount: $(/probe try mount)"
v=$(cat /proc/sys/vm/overcommit_ratio); (echo $v > /proc/sys/vm/overcommit_ratio) 2>/tmp/e; say proc-sys
if [ -e /proc/sysrq-trigger ]; then (echo h > /proc/sysrq-trigger) 2>/tmp/e; say sysrq; else echo "sysrq: absent"; fi
v=$(cat /sys/kernel/mm/ksm/run); (echo $v > /sys/kernel/mm/ksm/run) 2>/tmp/e; say sys
for t in finit_module keyctl unshare-user open_by_handle_at clock_settime; do echo "$t: $(/probe try $t)"; done
echo "climb: $(/probe climb)"
`;

/** The script's lines as { case: result }. */
function results(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
  );
}

const eperm = /Operation not permitted/;
const erofs = /Read-only file system/;

/** What a default container must answer: every case refused, each by its own wall. */
function expectContained(r: Record<string, string>) {
  expect(r['mknod-disk']).toBe('ok'); // b *:* m: mknod is allowed, as Docker's rules
  expect(r['disk-read']).toMatch(eperm); // ...but opening it is not
  expect(r['mknod-kmsg']).toBe('ok');
  expect(r['kmsg-write']).toMatch(eperm);
  expect(r.mount).toBe('EPERM');
  expect(r['proc-sys']).toMatch(erofs);
  expect(r.sysrq).toMatch(hasSysrq ? erofs : /^absent$/);
  expect(r.sys).toMatch(erofs);
  for (const c of ['finit_module', 'keyctl', 'unshare-user', 'open_by_handle_at', 'clock_settime'])
    expect([c, r[c]]).toEqual([c, 'EPERM']);
  expect(r.climb).toBe('contained');
}

/** What --privileged is documented to allow (and the walls it keeps: nsx mounts /sys read-only even
 *  then, where Docker's --privileged mounts it read-write; pivot_root still holds). */
function expectPrivileged(r: Record<string, string>, mark: string) {
  expect(r['disk-read']).toBe('ok');
  expect(r['kmsg-write']).toBe('ok');
  expect(spawnSync('dmesg', { encoding: 'utf8' }).stdout).toContain(mark);
  expect(r.mount).toBe('ok');
  expect(r['proc-sys']).toBe('ok');
  expect(r.sys).toMatch(erofs);
  // Past the permission checks the kernel judges the file itself: no module (ENOEXEC...), or no
  // module support at all (ENOSYS): anything but EPERM.
  expect(r.finit_module).toMatch(/^E/);
  expect(r.finit_module).not.toMatch(/^(EPERM|EACCES)$/);
  for (const c of ['keyctl', 'unshare-user', 'open_by_handle_at', 'clock_settime'])
    expect([c, r[c]]).toEqual([c, 'ok']);
  expect(r.climb).toBe('contained');
}

describe('the escape suite: a default container is contained, --privileged is not', () => {
  let dir = '';
  let device = '';
  let loop = ''; // "major:minor"
  const engine = new TestEngine();
  const cli = (args: string[]) => nsx(args, { events: false, env: engine.env });

  beforeAll(async () => {
    if (why) return;
    dir = mkdtempSync(join(tmpdir(), 'nsx-escape-'));
    writeFileSync(join(dir, 'disk.img'), Buffer.alloc(64 * 1024));
    const attach = spawnSync('losetup', ['-f', '--show', join(dir, 'disk.img')], { encoding: 'utf8' });
    if (attach.status !== 0) throw new Error(`losetup -f --show: ${attach.stderr.trim()}`);
    device = attach.stdout.trim();
    const rdev = statSync(device).rdev;
    loop = `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((rdev >>> 12) & 0xfff00)}`;
    await engine.start();
  });

  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
    if (device) {
      const detach = spawnSync('losetup', ['-d', device], { encoding: 'utf8' });
      if (detach.status !== 0) console.error(`losetup -d ${device}: ${detach.stderr.trim()}`);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The script as a container's command through nsx run. */
  async function viaRun(options: string[], mark: string) {
    const r = await run(options, ['/bin/sh', '-c', SCRIPT, 'sh', loop, mark], { events: false });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return results(r.stdout);
  }

  /** The script through the engine: a container started with run -d, the script by nsx exec. */
  async function viaEngine(options: string[], name: string, mark: string) {
    const d = await cli(['run', '-d', '--name', name, ...options, '--rootfs', TEST_ROOTFS, '/bin/sleep', '60']);
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 0, stderr: '' });
    try {
      const e = await cli(['exec', name, '/bin/sh', '-c', SCRIPT, 'sh', loop, mark]);
      expect({ code: e.code, stderr: e.stderr }).toEqual({ code: 0, stderr: '' });
      return results(e.stdout);
    } finally {
      await cli(['rm', '-f', name]);
    }
  }

  itReady('nsx run, default: every escape fails with its own error', async () => {
    expectContained(await viaRun([], `${MARK}-run-default`));
  });

  itReady('nsx run --privileged: the same calls succeed, as Docker documents', async () => {
    expectPrivileged(await viaRun(['--privileged'], `${MARK}-run-privileged`), `${MARK}-run-privileged`);
  });

  itReady('the engine (run -d, exec), default: every escape fails with its own error', async () => {
    expectContained(await viaEngine([], 'escape-default', `${MARK}-engine-default`));
  });

  itReady('the engine (run -d, exec) --privileged: the same calls succeed', async () => {
    expectPrivileged(
      await viaEngine(['--privileged'], 'escape-privileged', `${MARK}-engine-privileged`),
      `${MARK}-engine-privileged`,
    );
  });

  itReady('the climb is a real test: after chroot (--unsafe-chroot) instead of pivot_root it escapes', async () => {
    const r = await run(['--unsafe-chroot'], ['/probe', 'climb'], { events: false });
    expect(r.stdout).toBe('escaped\n');
  });

  // AppArmor's wall, alone: with --cap-add SYS_ADMIN the capability and Docker's seccomp profile both
  // allow mount(2), so only nsx-default's "deny mount," stops it (EACCES, apparmor.rst); unconfined, it
  // succeeds. Only where the kernel has AppArmor (the VM; CI's kernel and this kind of machine have none).
  const aaWhy =
    why ??
    (apparmorEnabled()
      ? undefined
      : 'AppArmor is not enabled on this machine (/sys/module/apparmor/parameters/enabled)');
  const itAppArmor = (aaWhy === undefined
    ? it
    : (name: string, fn: never) => it.skip(`${name} [skipped: ${aaWhy}]`, fn)) as never as typeof it;

  itAppArmor('AppArmor: nsx-default refuses mount even with CAP_SYS_ADMIN; apparmor=unconfined does not', async () => {
    const script = 'cat /proc/self/attr/current; /probe try mount';
    const confined = await run(['--cap-add', 'SYS_ADMIN'], ['/bin/sh', '-c', script], { events: false });
    expect(confined.stdout).toBe('nsx-default (enforce)\nEACCES\n');
    const free = await run(
      ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'],
      ['/bin/sh', '-c', script],
      {
        events: false,
      },
    );
    expect(free.stdout).toBe('unconfined\nok\n');
  });
});
