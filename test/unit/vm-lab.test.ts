// The vm-vs-container lesson's parts that need no VM: the initramfs archive (read back by busybox's
// own cpio), the choice of kernel image and emulator and why one is missing, qemu's command line,
// and the side-by-side view of measured results (test/lessons/vm-vs-container.test.ts boots for real).
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newcArchive } from '../../lessons/03-vm-vs-container/cpio.js';
import { emulator, kernelImage, qemuArgv } from '../../lessons/03-vm-vs-container/machine.js';
import { factsOf } from '../../lessons/03-vm-vs-container/measure.js';
import { comparison, type ContainerResult, type VmResult } from '../../lessons/03-vm-vs-container/vm-lab.js';

const BUSYBOX = '/bin/busybox';

describe('the initramfs archive (newc)', () => {
  const archive = newcArchive([
    { name: 'bin', type: 'dir' },
    { name: 'bin/hello', type: 'file', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', target: '/bin/busybox' },
    { name: 'odd', type: 'file', data: Buffer.from('12345') }, // not a multiple of 4: padded
  ]);

  it('is what cpio -H newc reads: names, modes, data, links, the trailer', () => {
    expect(archive.subarray(0, 6).toString()).toBe('070701');
    expect(archive.length % 4).toBe(0);
    expect(archive.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
    const list = execFileSync(BUSYBOX, ['cpio', '-t'], { input: archive, encoding: 'utf8' });
    expect(list.trim().split('\n')).toEqual(['bin', 'bin/hello', 'bin/sh', 'odd']);
    const dir = mkdtempSync(join(tmpdir(), 'nsx-cpio-'));
    try {
      execFileSync(BUSYBOX, ['cpio', '-i', '-d'], { input: archive, cwd: dir, stdio: ['pipe', 'ignore', 'ignore'] });
      expect(readFileSync(join(dir, 'bin/hello'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
      expect(readFileSync(join(dir, 'odd'), 'utf8')).toBe('12345');
      expect(readlinkSync(join(dir, 'bin/sh'))).toBe('/bin/busybox');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds a character device as a header only (/dev/console: 5, 1)', () => {
    const a = newcArchive([{ name: 'dev/console', type: 'char', major: 5, minor: 1 }]);
    const h = a.subarray(6, 110).toString();
    const field = (i: number) => parseInt(h.slice(i * 8, i * 8 + 8), 16);
    expect(field(1).toString(8)).toBe('20600'); // S_IFCHR | 0600
    expect([field(6), field(9), field(10)]).toEqual([0, 5, 1]); // no data; rdev 5:1
  });
});

describe('what the VM needs', () => {
  it('boots the running release from /boot if it is there, else the newest', () => {
    const boot = mkdtempSync(join(tmpdir(), 'nsx-boot-'));
    try {
      expect(kernelImage(boot, '6.18.0')).toMatchObject({
        ok: false,
        why: expect.stringContaining('has no kernel image'),
      });
      for (const r of ['6.1.0-9-amd64', '6.1.0-57-amd64', '6.1.0-10-amd64'])
        writeFileSync(join(boot, `vmlinuz-${r}`), '');
      mkdirSync(join(boot, 'grub'));
      expect(kernelImage(boot, '6.18.0')).toEqual({
        ok: true,
        path: join(boot, 'vmlinuz-6.1.0-57-amd64'),
        release: '6.1.0-57-amd64',
        sameAsHost: false,
      });
      expect(kernelImage(boot, '6.1.0-10-amd64')).toMatchObject({ release: '6.1.0-10-amd64', sameAsHost: true });
    } finally {
      rmSync(boot, { recursive: true, force: true });
    }
  });

  it("names the emulator's Debian package when it is missing, and refuses other architectures", () => {
    expect(emulator('x64', '/nonexistent')).toEqual({
      ok: false,
      why: "qemu-system-x86_64 is not installed: it is Debian's qemu-system-x86 package",
    });
    expect(emulator('arm64', '/nonexistent')).toEqual({
      ok: false,
      why: "qemu-system-aarch64 is not installed: it is Debian's qemu-system-arm package",
    });
    expect(emulator('riscv64')).toMatchObject({ ok: false, why: expect.stringContaining('x86_64 and arm64 only') });
  });

  it('gives qemu no network, no disk, no display, the serial console on stdio, and no reboot', () => {
    const argv = qemuArgv({
      program: 'qemu-system-x86_64',
      console: 'ttyS0',
      kernel: '/boot/vmlinuz-x',
      initrd: '/lab/i.gz',
      accel: 'tcg',
      memoryMiB: 256,
      pidfile: '/lab/qemu.pid',
    }).join(' ');
    expect(argv).toBe(
      'qemu-system-x86_64 -accel tcg -smp 1 -m 256 -nodefaults -no-user-config -nic none -display none ' +
        '-serial stdio -no-reboot -kernel /boot/vmlinuz-x -initrd /lab/i.gz -append console=ttyS0 quiet panic=-1 ' +
        '-pidfile /lab/qemu.pid',
    );
    const arm = qemuArgv({
      program: 'qemu-system-aarch64',
      console: 'ttyAMA0',
      kernel: 'k',
      initrd: 'i',
      accel: 'kvm',
      memoryMiB: 256,
      pidfile: 'p',
    });
    expect(arm.slice(0, 7)).toEqual(['qemu-system-aarch64', '-machine', 'virt', '-cpu', 'host', '-accel', 'kvm']);
  });
});

describe('the side-by-side view', () => {
  const host = {
    'kernel release': '6.18.4',
    'boot id': 'aaaaaaaa-0000-0000-0000-000000000000',
    'memory seen': '24000000 kB',
    cpu: 'AMD EPYC, 2 of them',
    machine: 'no DMI table (/sys/class/dmi/id)',
    'pci devices': ' 1af4:1041',
  };
  const container: ContainerResult = {
    firstOutput: 0.5,
    factsAt: 0.6,
    ended: 0.8,
    exitCode: 0,
    facts: { ...host },
    memory: { dir: '/x', peakFile: '/x/memory.peak', peakBytes: 1024 * 1024, limitBytes: 256 * 1024 * 1024 },
  };

  it('counts one kernel without a VM, and says why there was none', () => {
    const lines = comparison(host, { ran: false, why: 'qemu-system-x86_64 is not installed' }, container).join('\n');
    expect(lines).toContain('No VM here: qemu-system-x86_64 is not installed.');
    expect(lines).toContain(`  container  ${host['boot id']}  (the host's: the same kernel answered)`);
    expect(lines).toContain("  container  its cgroup's peak 1.0 MiB  (limit 256.0 MiB)");
    expect(lines).toMatch(
      /kernels that answered \(distinct boot ids\)\n {2}1: the host's \(the container is its process\)$/,
    );
  });

  it('counts two with a VM, and tells an equal release apart by the boot id', () => {
    const vm: VmResult = {
      ran: true,
      accel: 'tcg',
      accelWhy: 'TCG',
      kernel: '/boot/vmlinuz-6.18.4',
      kernelRelease: '6.18.4',
      sameRelease: true,
      memoryMiB: 256,
      firstOutput: 6,
      factsAt: 6.5,
      ended: 7,
      poweredOff: true,
      rssPeakKiB: 200 * 1024,
      facts: { ...host, 'boot id': 'bbbbbbbb-0000-0000-0000-000000000000', 'memory seen': '210000 kB' },
    };
    const lines = comparison(host, vm, container).join('\n');
    expect(lines).toContain("the same release as the host's, from /boot: only the boot id tells the kernels apart");
    expect(lines).toContain('  VM         bbbbbbbb-0000-0000-0000-000000000000  (another boot: another kernel)');
    expect(lines).toContain("  VM         qemu's resident set 200.0 MiB at its peak  (configured RAM 256 MiB)");
    expect(lines).toContain('  the VM took 12 times as long to say anything');
    expect(lines).toMatch(/ {2}2: the host's \(the container is its process\), and the VM's own/);
  });

  it("reads the facts script's lines, the first of each", () => {
    const f = factsOf([
      { t: 1, text: '[ 0.5] some kernel line' },
      { t: 2, text: 'boot id: x' },
      { t: 3, text: 'boot id: y' },
    ]);
    expect(f).toEqual({ 'boot id': { t: 2, text: 'x' } });
  });
});
