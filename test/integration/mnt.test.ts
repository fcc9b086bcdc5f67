// The mount namespace (mount_namespaces(7)) and the root filesystem: mounts made inside stay inside,
// every mount is private, /proc is the container's own, pivot_root leaves only the container's tree,
// and Docker's masked and read-only paths are in place.
import { afterEach, describe, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_MASKED_PATHS } from '../../src/runtime/spec.js';
import { TEST_ROOTFS, evidenceAfter, itRoot, run } from '../helpers.js';
import { readOr, HOLD, waitFor, live } from '../live.js';

const ROOTFS = realpathSync(TEST_ROOTFS);
const mountPoints = (mountinfo: string) =>
  mountinfo
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]);

describe('mount namespace', () => {
  itRoot('keeps a tmpfs mounted inside invisible to the host', async () => {
    const source = `nsxmnttest${randomBytes(4).toString('hex')}`;
    const script = `mkdir -p /tmp/x && mount -t tmpfs ${source} /tmp/x && echo mounted; ${HOLD}`;
    const { r, value } = await live(
      ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined'],
      ['/bin/sh', '-c', script],
      async (init) => {
        // Wait until the container has mounted it (seen in its own mount table), then look from the host.
        await waitFor(() => readOr(`/proc/${init}/mountinfo`).includes(source));
        return {
          inside: readOr(`/proc/${init}/mountinfo`).includes(source),
          host: readOr('/proc/self/mountinfo').includes(source),
          hostInit: readOr('/proc/1/mountinfo').includes(source),
        };
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('mounted');
    expect(value).toEqual({ inside: true, host: false, hostInit: false });
  });

  describe('on a rootfs inside a shared mount (as on systemd hosts)', () => {
    let dir = '';
    afterEach(() => {
      if (!dir) return;
      spawnSync('umount', ['-R', dir]);
      rmSync(dir, { recursive: true, force: true });
      dir = '';
    });

    itRoot(
      'makes every mount private (mount-private step), so mounts made inside do not propagate to the host',
      async () => {
        dir = mkdtempSync(join(tmpdir(), 'nsx-shared-'));
        chmodSync(dir, 0o755);
        expect(spawnSync('mount', ['-t', 'tmpfs', 'nsxsharedtest', dir]).status).toBe(0);
        expect(spawnSync('mount', ['--make-shared', dir]).status).toBe(0);
        expect(spawnSync('cp', ['-a', TEST_ROOTFS, `${dir}/rootfs`]).status).toBe(0);
        const hostLine = readOr('/proc/self/mountinfo')
          .split('\n')
          .find((l) => l.split(' ')[4] === dir)!;
        expect(hostLine.split(' - ')[0]).toMatch(/shared:/); // without the step, the container's copy would be shared too
        const source = `nsxproptest${randomBytes(4).toString('hex')}`;
        const script = `mount -t tmpfs ${source} /home && echo mounted; ${HOLD}`;
        const { r, value } = await live(
          ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined'],
          ['/bin/sh', '-c', script],
          async (init) => {
            await waitFor(() => readOr(`/proc/${init}/mountinfo`).includes(source));
            return { inside: readOr(`/proc/${init}/mountinfo`), host: readOr('/proc/self/mountinfo') };
          },
          `${dir}/rootfs`,
        );
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('mounted');
        expect(value.inside).toContain(source);
        expect(value.host).not.toContain(source);
        const lines = value.inside.split('\n').filter(Boolean);
        for (const l of lines) expect(l.split(' - ')[0]).not.toMatch(/shared:/);
        const ev = evidenceAfter(r, 'mount-private')!;
        expect(ev.process.ns.mnt).toMatch(/^mnt:\[\d+\]$/);
        expect(ev.process.ns.mnt).not.toBe(ev.host.ns.mnt);
      },
    );
  });

  itRoot('gives the container a /proc of its own PID namespace', async () => {
    const r = await run([], ['/bin/sh', '-c', 'ls /proc; echo ===; cat /proc/1/cmdline; exit 0']);
    expect(r.code).toBe(0);
    const [ls, cmdline] = r.stdout.split('===\n');
    const procPids = ls
      .split(/\s+/)
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
    expect(procPids).toContain(1);
    expect(procPids.length).toBeLessThanOrEqual(5); // sh, ls and the pipeline's helpers at most
    for (const p of procPids) expect(p).toBeLessThanOrEqual(10);
    expect(cmdline.split('\0')[0]).toBe('/bin/sh'); // PID 1 is the container's shell, not the host's init
    const ev = evidenceAfter(r, 'proc')!;
    expect(ev.process.mounts).toContain(`${ROOTFS}/proc`);
  });

  itRoot('switches the root with pivot_root: "/" is the rootfs and no host mount is left', async () => {
    const r = await run([], ['/bin/sh', '-c', 'stat -c "%d %i" /']);
    expect(r.code).toBe(0);
    const st = statSync(ROOTFS);
    expect(r.stdout.trim()).toBe(`${st.dev} ${st.ino}`);
    const before = evidenceAfter(r, 'tmp')!.process.mounts; // still the host's tree, rootfs mounts under it
    expect(before).toContain('/');
    expect(before).toContain(`${ROOTFS}/proc`);
    const after = evidenceAfter(r, 'pivot-root')!.process.mounts;
    expect(after).toContain('/');
    expect(after).toContain('/proc');
    expect(after.filter((m) => m.startsWith(ROOTFS))).toEqual([]);
    const containerPoints = /^\/(proc|dev|sys|tmp)?(\/|$)/;
    expect(after.filter((m) => !containerPoints.test(m))).toEqual([]);
    expect(after.length).toBeLessThan(before.length);
  });

  // readlink of /proc/PID/root says only "/" after pivot_root; the evidence names the rootfs by
  // matching device and inode (observe.ts rootOf), and counts the namespace's mounts apart.
  itRoot("records the rootfs as the process's root in the pivot-root evidence", async () => {
    const r = await run([], ['/bin/true']);
    expect(r.code).toBe(0);
    const ev = evidenceAfter(r, 'pivot-root')!;
    expect(ev.process.root).toBe(ROOTFS);
  });

  itRoot("masks Docker's masked paths: files read empty, directories are empty read-only tmpfs", async () => {
    const present = DOCKER_MASKED_PATHS.filter((p) => existsSync(p));
    expect(present.length).toBeGreaterThan(0); // /proc/keys, /proc/interrupts… exist on every kernel
    const script = present
      .map(
        (p) =>
          `if [ -d ${p} ]; then echo "${p} dir $(ls -A ${p} | wc -l)"; elif [ -e ${p} ]; then echo "${p} file $(cat ${p} | wc -c)"; else echo "${p} absent"; fi`,
      )
      .join('; ');
    const r = await run([], ['/bin/sh', '-c', `${script}; echo ===; cat /proc/self/mountinfo`]);
    expect(r.code).toBe(0);
    const [report, mountinfo] = r.stdout.split('===\n');
    const expected = present.map((p) => `${p} ${statSync(p).isDirectory() ? 'dir' : 'file'} 0`);
    expect(report.trim().split('\n')).toEqual(expected);
    const points = mountPoints(mountinfo);
    for (const p of present) expect(points).toContain(p);
    if (existsSync('/proc/keys')) {
      const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/proc/keys')!;
      expect(line.split(' ')[3]).toBe('/null'); // a bind mount of /dev/null
    }
  });

  itRoot('makes /proc/sys read-only', async () => {
    const r = await run([], ['/bin/sh', '-c', 'echo 1 > /proc/sys/kernel/ns_last_pid']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Read-only file system');
    expect(evidenceAfter(r, 'mask-paths')!.process.mounts).toContain('/proc/sys');
  });
});
