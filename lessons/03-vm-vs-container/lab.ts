// The vm-vs-container lesson's lab: one temporary directory holding a busybox root filesystem (from
// Debian's busybox-static, offline), the same tree packed as a VM's initramfs, and the lesson's
// commands on PATH (nsx, and vm-lab: boots the VM, runs the container, compares, see vm-lab.ts).
// The teardown kills whatever the lab's commands started and left running — a qemu (by the PID
// it wrote with -pidfile) or an nsx runtime run — and removes the directory.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { processRuns } from '../../src/learn/kernel.js';
import type { TourLab } from '../../src/learn/lesson.js';
import { packageRoot } from '../../src/paths.js';
import { newcArchive, type CpioEntry } from './cpio.js';

export const BUSYBOX = '/bin/busybox';

/** The questions both machines answer, the same script in both (proc(5), sysfs(5)): the kernel's
 *  release (uname(2)), this boot's random id (the kernel makes a new one at every boot:
 *  Documentation/admin-guide/sysctl/kernel.rst, "random"), the memory the kernel manages, the CPU
 *  and the machine (DMI: the firmware's description), and the PCI devices it found. */
export const FACTS_SCRIPT = `#!/bin/sh
# The same questions, asked of whichever kernel runs this script.
echo "kernel release: $(uname -r)"
echo "boot id: $(cat /proc/sys/kernel/random/boot_id)"
echo "memory seen: $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "cpu: \${cpu:-$(uname -m)}, $(grep -c ^processor /proc/cpuinfo) of them"
if [ -r /sys/class/dmi/id/sys_vendor ]; then
  echo "machine: $(cat /sys/class/dmi/id/sys_vendor) $(cat /sys/class/dmi/id/product_name)"
else
  echo "machine: no DMI table (/sys/class/dmi/id)"
fi
ids=""
for d in /sys/bus/pci/devices/*; do
  [ -r "$d/vendor" ] && ids="$ids $(cut -c3- "$d/vendor"):$(cut -c3- "$d/device")"
done
echo "pci devices:\${ids:- none}"
`;

/** The VM's first and only program: the kernel runs /init from the initramfs as PID 1, with no
 *  PATH (Documentation/filesystems/ramfs-rootfs-initramfs.rst); it mounts /proc and /sys, answers,
 *  and powers the machine off (busybox poweroff -f: reboot(2) with RB_POWER_OFF, no shutdown). */
export const INIT_SCRIPT = `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
/facts.sh
poweroff -f
`;

const DIRS = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root'];

/** The applets busybox has, at the paths it reports them (bin/sh, sbin/poweroff, ...). */
function applets(busybox: string): string[] {
  return execFileSync(busybox, ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'bin/busybox');
}

/** Writes the root filesystem at dir (busybox, a link per applet, /facts.sh, /init). */
export function buildRootfs(dir: string, busybox = BUSYBOX): void {
  for (const d of DIRS) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'bin/busybox'), readFileSync(busybox), { mode: 0o755 });
  for (const a of applets(busybox)) {
    mkdirSync(join(dir, dirname(a)), { recursive: true });
    symlinkSync('/bin/busybox', join(dir, a));
  }
  writeFileSync(join(dir, 'facts.sh'), FACTS_SCRIPT, { mode: 0o755 });
  writeFileSync(join(dir, 'init'), INIT_SCRIPT, { mode: 0o755 });
}

/** The same tree as a gzipped newc archive, plus /dev/console (character device 5:1), which the
 *  kernel opens as init's stdin, stdout and stderr before it runs /init. */
export function buildInitramfs(rootfs: string, busybox = BUSYBOX): Buffer {
  const entries: CpioEntry[] = DIRS.map((d) => ({ name: d, type: 'dir' as const }));
  entries.push({ name: 'dev/console', type: 'char', major: 5, minor: 1 });
  entries.push({ name: 'bin/busybox', type: 'file', data: readFileSync(busybox), mode: 0o755 });
  for (const a of applets(busybox)) entries.push({ name: a, type: 'symlink', target: '/bin/busybox' });
  for (const f of ['facts.sh', 'init'])
    entries.push({ name: f, type: 'file', data: readFileSync(join(rootfs, f)), mode: 0o755 });
  return gzipSync(newcArchive(entries), { level: 9 });
}

/** Where vm-lab keeps the PIDs of the process groups it started (one empty file per PID). */
export const pidDir = (lab: string) => join(lab, 'pids');

/** The PIDs the lab's commands started that still run this lab's programs (their command line
 *  names the lab's directory: a PID reused by something else since is left alone). */
export function labProcesses(lab: string): number[] {
  const pids = new Set<number>();
  try {
    for (const f of readdirSync(pidDir(lab))) if (/^\d+$/.test(f)) pids.add(Number(f));
  } catch {
    /* none started */
  }
  try {
    const p = Number(readFileSync(join(lab, 'qemu.pid'), 'utf8').trim());
    if (p > 0) pids.add(p);
  } catch {
    /* no VM booted */
  }
  return [...pids].filter((pid) => {
    try {
      return processRuns(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(lab);
    } catch {
      return false;
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ends them: SIGTERM (nsx runtime run then removes its container; qemu exits), SIGKILL to the
 *  process group of what is still there after 10 s. Returns one line per process it ended. */
export async function endLabProcesses(lab: string): Promise<string[]> {
  const pids = labProcesses(lab);
  const names = new Map(pids.map((p) => [p, readComm(p)]));
  for (const p of pids) signal(p, 'SIGTERM');
  for (let i = 0; i < 100 && pids.some(processRuns); i++) await sleep(100);
  for (const p of pids.filter(processRuns)) if (!signal(-p, 'SIGKILL')) signal(p, 'SIGKILL');
  for (let i = 0; i < 50 && pids.some(processRuns); i++) await sleep(100);
  return pids.map((p) => `ended ${names.get(p)} (pid ${p}), left running by the lesson's command`);
}

function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'a process';
  }
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** The lab: the directory, its root filesystem and initramfs, and the commands on PATH. */
export async function startVmLab(): Promise<TourLab> {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-vm-'));
  const teardown = async () => {
    const removed = await endLabProcesses(dir);
    rmSync(dir, { recursive: true, force: true });
    removed.push(`removed ${dir} (the root filesystem, the initramfs, the measurements)`);
    return removed;
  };
  try {
    const bin = join(dir, 'bin');
    const rootfs = join(dir, 'rootfs');
    mkdirSync(bin);
    mkdirSync(pidDir(dir));
    buildRootfs(rootfs);
    const initramfs = join(dir, 'initramfs.cpio.gz');
    writeFileSync(initramfs, buildInitramfs(rootfs));
    const wrapper = (name: string, script: string) =>
      writeFileSync(join(bin, name), `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`, { mode: 0o755 });
    wrapper('nsx', join(packageRoot(), 'bin', 'nsx.cjs'));
    wrapper('vm-lab', join(packageRoot(), 'dist', 'lessons', '03-vm-vs-container', 'vm-lab.js'));
    return {
      vars: { dir, rootfs, facts: join(rootfs, 'facts.sh'), initramfs },
      env: {
        PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
        NSX_VM_LAB: dir,
        NO_COLOR: '1',
      },
      teardown,
    };
  } catch (e) {
    await teardown();
    throw e;
  }
}
