// The limitations lesson's foreign executables (lessons/41-limitations/formats.ts): the headers
// are what their formats say, and a binfmt_misc handler that would run the foreign ELF is found,
// so the lesson tells the truth on a machine with qemu-user registered.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  binfmtHandlerFor,
  foreignArch,
  linuxElf,
  macosMachO,
  windowsPe,
} from '../../lessons/41-limitations/formats.js';

// As qemu-user-static registers it (Documentation/admin-guide/binfmt-misc.rst; the entry's file).
const QEMU_AARCH64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;

function binfmtDir(entries: Record<string, string>, status = 'enabled'): string {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-binfmt-'));
  writeFileSync(join(dir, 'status'), `${status}\n`);
  writeFileSync(join(dir, 'register'), '');
  for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('limitations: the foreign executables', () => {
  it('the other architecture: aarch64 on x86_64, x86_64 on arm64', () => {
    expect(foreignArch('x64')).toEqual({ name: 'aarch64', machine: 183 });
    expect(foreignArch('arm64')).toEqual({ name: 'x86_64', machine: 62 });
  });

  it('writes the headers of a PE, a Mach-O and an ELF', () => {
    const pe = windowsPe();
    expect(pe.subarray(0, 2).toString('latin1')).toBe('MZ');
    const at = pe.readUInt32LE(0x3c);
    expect(pe.subarray(at, at + 4).toString('latin1')).toBe('PE\0\0');
    expect(pe.readUInt16LE(at + 4)).toBe(0x8664);
    expect(macosMachO().readUInt32LE(0)).toBe(0xfeedfacf);
    const elf = linuxElf(183);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect([elf[4], elf[5], elf.readUInt16LE(16), elf.readUInt16LE(18)]).toEqual([2, 1, 2, 183]);
    expect(elf.readBigUInt64LE(32)).toBe(64n); // the program header right after the ELF header
  });

  it("finds a binfmt_misc handler that takes the foreign ELF, and only an enabled one's", () => {
    const dirs: string[] = [];
    const at = (entries: Record<string, string>, status?: string) => {
      const d = binfmtDir(entries, status);
      dirs.push(d);
      return d;
    };
    try {
      const qemu = at({ 'qemu-aarch64': QEMU_AARCH64 });
      expect(binfmtHandlerFor(linuxElf(183), qemu)).toEqual({
        name: 'qemu-aarch64',
        interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P',
      });
      expect(binfmtHandlerFor(linuxElf(62), qemu)).toBeUndefined(); // another e_machine
      expect(binfmtHandlerFor(windowsPe(), qemu)).toBeUndefined();
      expect(
        binfmtHandlerFor(linuxElf(183), at({ 'qemu-aarch64': QEMU_AARCH64.replace('enabled', 'disabled') })),
      ).toBeUndefined();
      expect(binfmtHandlerFor(linuxElf(183), at({ 'qemu-aarch64': QEMU_AARCH64 }, 'disabled'))).toBeUndefined();
      expect(binfmtHandlerFor(linuxElf(183), join(tmpdir(), 'nsx-no-such-binfmt'))).toBeUndefined();
      // A handler for PE files (Wine's, by magic "MZ") takes the PE and nothing else.
      const wine = at({ wine: 'enabled\ninterpreter /usr/bin/wine\nflags: \noffset 0\nmagic 4d5a\n' });
      expect(binfmtHandlerFor(windowsPe(), wine)?.name).toBe('wine');
      expect(binfmtHandlerFor(macosMachO(), wine)).toBeUndefined();
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
