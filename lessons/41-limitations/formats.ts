// The foreign executables of the limitations lesson: a few bytes each, only the headers a loader
// reads first, so that whatever refuses them refuses the format, not a damaged file. Pure: the lab
// writes them, the tests look at them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** ELF e_machine values (the System V gABI's list; elf(5)). */
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

/** The other of the two architectures nsx runs on: aarch64 on x86_64, x86_64 on anything else. */
export function foreignArch(arch: string = process.arch): { name: 'aarch64' | 'x86_64'; machine: number } {
  return arch === 'arm64' ? { name: 'x86_64', machine: EM_X86_64 } : { name: 'aarch64', machine: EM_AARCH64 };
}

/** A Windows PE executable's headers: the MS-DOS header ("MZ", e_lfanew at 0x3c pointing just past
 *  it), then "PE\0\0" and a COFF file header for x86-64 (machine 0x8664; Microsoft's PE format spec). */
export function windowsPe(): Buffer {
  const b = Buffer.alloc(64 + 4 + 20);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(64, 0x3c);
  b.write('PE\0\0', 64, 'latin1');
  b.writeUInt16LE(0x8664, 68); // Machine: IMAGE_FILE_MACHINE_AMD64
  b.writeUInt16LE(0x22, 68 + 18); // Characteristics: EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
  return b;
}

/** A macOS Mach-O executable's header (mach_header_64 of <mach-o/loader.h>): MH_MAGIC_64
 *  0xfeedfacf, CPU_TYPE_ARM64 0x0100000c, MH_EXECUTE, no load commands. */
export function macosMachO(): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(0xfeedfacf, 0);
  b.writeUInt32LE(0x0100000c, 4);
  b.writeUInt32LE(2, 12); // filetype MH_EXECUTE
  return b;
}

/** A Linux ELF executable for `machine`: an ELF64 little-endian header (elf(5)) and one PT_LOAD
 *  program header. The kernel's ELF loader checks e_machine first (elf_check_arch, fs/binfmt_elf.c). */
export function linuxElf(machine: number): Buffer {
  const b = Buffer.alloc(64 + 56);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // ELFDATA2LSB
  b[6] = 1; // EV_CURRENT
  b.writeUInt16LE(2, 16); // e_type ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeUInt32LE(1, 20); // e_version
  b.writeBigUInt64LE(0x400078n, 24); // e_entry: just past the headers
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(64, 52); // e_ehsize
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  b.writeUInt32LE(1, 64); // p_type PT_LOAD
  b.writeUInt32LE(5, 68); // p_flags R|X
  b.writeBigUInt64LE(0x400000n, 80); // p_vaddr
  b.writeBigUInt64LE(BigInt(b.length), 96); // p_filesz
  b.writeBigUInt64LE(BigInt(b.length), 104); // p_memsz
  return b;
}

/** An enabled binfmt_misc handler that takes `file` (Documentation/admin-guide/binfmt-misc.rst: a
 *  magic, under its mask, at an offset), or undefined. Such a handler (qemu-user's, as Docker
 *  Desktop registers them) makes the kernel run a foreign ELF through an emulator. */
export function binfmtHandlerFor(
  file: Buffer,
  dir = '/proc/sys/fs/binfmt_misc',
): { name: string; interpreter: string } | undefined {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n !== 'status' && n !== 'register');
  } catch {
    return undefined;
  }
  try {
    if (readFileSync(join(dir, 'status'), 'utf8').trim() !== 'enabled') return undefined;
  } catch {
    return undefined;
  }
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue;
    }
    const field = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(text)?.[1]?.trim();
    const magic = field('magic');
    if (!/^enabled$/m.test(text) || !magic) continue;
    const m = Buffer.from(magic, 'hex');
    const mask = field('mask') ? Buffer.from(field('mask')!, 'hex') : Buffer.alloc(m.length, 0xff);
    const at = Number(field('offset') ?? 0);
    const hit = [...m].every((byte, i) => ((file[at + i] ?? -1) & mask[i]) === (byte & mask[i]));
    if (hit) return { name, interpreter: field('interpreter') ?? '?' };
  }
  return undefined;
}
