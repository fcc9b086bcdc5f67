// What booting a VM needs on this machine, found rather than assumed: the emulator for this
// architecture (qemu-system-x86_64 or qemu-system-aarch64), a kernel image in /boot, and whether
// KVM (hardware virtualization through /dev/kvm) can be offered to it; and the emulator's command
// line. Options as qemu-system(1) (upstream's qemu(1)) documents them (QEMU 7.2, Debian 12).
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { installed } from '../../src/learn/tour.js';

export type Found<T> = ({ ok: true } & T) | { ok: false; why: string };

/** The emulator, its Debian package and its machine options for the architecture nsx runs on. */
export function emulator(
  arch: string = process.arch,
  path = process.env.PATH,
): Found<{ program: string; package: string; console: string }> {
  if (arch === 'x64') {
    const program = 'qemu-system-x86_64';
    if (installed(program, path)) return { ok: true, program, package: 'qemu-system-x86', console: 'ttyS0' };
    return { ok: false, why: `${program} is not installed: it is Debian's qemu-system-x86 package` };
  }
  if (arch === 'arm64') {
    const program = 'qemu-system-aarch64';
    if (installed(program, path)) return { ok: true, program, package: 'qemu-system-arm', console: 'ttyAMA0' };
    return { ok: false, why: `${program} is not installed: it is Debian's qemu-system-arm package` };
  }
  return { ok: false, why: `this lesson boots VMs on x86_64 and arm64 only, and this machine is ${arch}` };
}

/** Orders kernel releases as versions: "6.1.0-57-amd64" after "6.1.0-9-amd64". */
const byVersion = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The kernel image to boot: /boot/vmlinuz-<the running release> if it is there, else the newest
 *  /boot/vmlinuz-* (Debian's linux-image packages install them there). */
export function kernelImage(
  boot = '/boot',
  running = release(),
): Found<{ path: string; release: string; sameAsHost: boolean }> {
  let names: string[] = [];
  try {
    names = readdirSync(boot).filter((n) => /^vmlinuz-.+/.test(n));
  } catch {
    /* no /boot at all: as good as an empty one */
  }
  const readable = names.filter((n) => {
    try {
      accessSync(join(boot, n), constants.R_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!readable.length) {
    const pkg = process.arch === 'arm64' ? 'linux-image-arm64' : 'linux-image-amd64';
    return {
      ok: false,
      why: names.length
        ? `the kernel images in ${boot} cannot be read by this user (run the lesson with sudo)`
        : `${boot} has no kernel image (vmlinuz-*): this machine was started with a kernel from elsewhere; Debian's ${pkg} package puts one there`,
    };
  }
  const releases = readable.map((n) => n.slice('vmlinuz-'.length)).sort(byVersion);
  const chosen = releases.includes(running) ? running : releases[releases.length - 1];
  return { ok: true, path: join(boot, `vmlinuz-${chosen}`), release: chosen, sameAsHost: chosen === running };
}

/** Whether to try KVM: /dev/kvm there and openable; and why not, in words, when it is not. */
export function kvm(): { tryIt: boolean; why: string } {
  const flags = /^flags\s*:(.*)$/m.exec(readText('/proc/cpuinfo'))?.[1].split(/\s+/) ?? [];
  const hw = flags.includes('vmx') ? 'vmx' : flags.includes('svm') ? 'svm' : undefined;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return { tryIt: true, why: `/dev/kvm is there${hw ? ` (the CPU offers ${hw})` : ''}` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return { tryIt: false, why: `/dev/kvm is there but cannot be opened (${code})` };
    if (process.arch !== 'x64') return { tryIt: false, why: 'there is no /dev/kvm' };
    return {
      tryIt: false,
      why: hw
        ? `there is no /dev/kvm, though the CPU offers ${hw} (the kvm module is not loaded)`
        : 'there is no /dev/kvm: the CPU offers no hardware virtualization here (no vmx or svm among its flags in /proc/cpuinfo)',
    };
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface VmConfig {
  program: string;
  console: string;
  kernel: string;
  initrd: string;
  accel: 'kvm' | 'tcg';
  memoryMiB: number;
  /** qemu writes its PID here (-pidfile): the lab's teardown finds it there, whatever happened. */
  pidfile: string;
}

/** The command line: one CPU, memoryMiB of RAM, the kernel and initramfs given directly (no
 *  firmware boot menu, no disk), no network card, no display, the first serial port on qemu's
 *  stdin/stdout, and exit instead of rebooting (the kernel's panic=-1 reboots at once on a panic). */
export function qemuArgv(c: VmConfig): string[] {
  const machine =
    c.program === 'qemu-system-aarch64' ? ['-machine', 'virt', '-cpu', c.accel === 'kvm' ? 'host' : 'max'] : [];
  return [
    c.program,
    ...machine,
    '-accel',
    c.accel,
    '-smp',
    '1',
    '-m',
    String(c.memoryMiB),
    '-nodefaults',
    '-no-user-config',
    '-nic',
    'none',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    c.kernel,
    '-initrd',
    c.initrd,
    '-append',
    `console=${c.console} quiet panic=-1`,
    '-pidfile',
    c.pidfile,
  ];
}
