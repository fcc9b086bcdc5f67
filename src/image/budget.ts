// How much a layer may still write while it is unpacked. Two bounds, both checked on each tar
// header BEFORE a byte of its data is read or written, so a decompression bomb (a few MB of gzip
// that inflate to a file of many GB) is refused at its header instead of after gigabytes:
//   - the unpack bound (ExtractOptions.maxBytes): the data the entries declare, summed, may not
//     exceed it (a header's size is exact: tar-stream delivers exactly that many bytes, no more);
//   - the free space of the filesystem holding the store, less a reserve: the blocks the layer
//     writes may not take it below the reserve, so a pull never fills the disk.
// Free space is statfs(2)'s f_bavail × f_bsize, the blocks an unprivileged process may still take:
// the blocks ext4 reserves for root (mke2fs -m, 5% by default) stay for the system even when nsx
// runs as root. It is read again after every STATFS_EVERY bytes, to see other writers on the disk.
import { statfsSync } from 'node:fs';

/** The filesystem holding a directory, in bytes. */
export interface FsSpace {
  /** Bytes an unprivileged process may still write (statfs f_bavail × f_bsize). */
  free: number;
  /** The filesystem's size (f_blocks × f_bsize). */
  size: number;
  /** Its block size (f_bsize): a file's data takes whole blocks. */
  blockSize: number;
}

/** statfs(2) of the filesystem holding `dir` (Node's fs.statfsSync). */
export function statfsSpace(dir: string): FsSpace {
  const s = statfsSync(dir);
  return { free: s.bavail * s.bsize, size: s.blocks * s.bsize, blockSize: s.bsize };
}

/** The reserve nsx leaves free: 5% of the filesystem, at most 512 MiB. */
export function defaultReserve(size: number): number {
  return Math.min(512 * 1024 ** 2, Math.floor(size / 20));
}

/** Free space is read again after this many bytes were claimed since the last reading. */
export const STATFS_EVERY = 64 * 1024 ** 2;

/** Why an entry may not be written: the words for LayerError, or undefined when it fits. */
export interface Refusal {
  why: string;
  hint: string;
}

export function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

export class UnpackBudget {
  /** Data the entries so far declared (against maxBytes). */
  private declared = 0;
  /** Blocks claimed since free space was last read. */
  private sinceStat = 0;
  private space: FsSpace;
  private readonly reserve: number;

  constructor(
    /** A directory on the store's filesystem (the layers directory). */
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly spaceOf: (dir: string) => FsSpace = statfsSpace,
    reserve?: number,
  ) {
    this.space = spaceOf(dir);
    this.reserve = reserve ?? defaultReserve(this.space.size);
  }

  /**
   * Claims room for an entry whose header declares `size` bytes of data; `writes` is what it will
   * take on disk: its data for a file, one block for a directory, nothing for links, whiteouts and
   * the rest. Called before any of the entry is written.
   */
  claim(size: number, writes: 'data' | 'block' | 'nothing'): Refusal | undefined {
    const left = this.maxBytes - this.declared;
    if (size > left) {
      return {
        why:
          `its header declares ${humanBytes(size)} of data, more than the ${humanBytes(left)} left of the ` +
          `${humanBytes(this.maxBytes)} a layer may unpack to`,
        hint:
          'a decompression bomb, or a layer larger than nsx unpacks: it was refused at this header, before ' +
          'a byte of it was written; unpack larger layers only from an image you trust (ExtractOptions.maxBytes)',
      };
    }
    this.declared += size;
    const bs = this.space.blockSize || 4096;
    const blocks = writes === 'data' ? Math.ceil(size / bs) * bs : writes === 'block' ? bs : 0;
    if (blocks === 0) return undefined;
    if (this.sinceStat + blocks > STATFS_EVERY) {
      this.space = this.spaceOf(this.dir);
      this.sinceStat = 0;
    }
    const room = this.space.free - this.reserve - this.sinceStat;
    if (blocks > room) {
      return {
        why:
          `${humanBytes(blocks)} would leave less than ${humanBytes(this.reserve)} free on the filesystem of ` +
          `${this.dir} (${humanBytes(Math.max(0, this.space.free - this.sinceStat))} free)`,
        hint:
          `nsx leaves ${humanBytes(this.reserve)} free so a pull cannot fill the disk; it was refused before a byte ` +
          'of this entry was written: free space there (nsx rmi removes images), or move the store (NSX_ROOT)',
      };
    }
    this.sinceStat += blocks;
    return undefined;
  }
}
