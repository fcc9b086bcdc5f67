// A cpio archive in the "new ASCII" format (newc), the one the kernel unpacks as an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte header of
// "070701" and 13 eight-digit hex fields, the NUL-terminated name padded to a multiple of 4, the
// data padded to a multiple of 4; the archive ends with an entry named "TRAILER!!!".
// Written here so the lesson needs no cpio(1) (not installed by default on Debian).

export type CpioEntry =
  | { name: string; type: 'dir'; mode?: number }
  | { name: string; type: 'file'; data: Buffer; mode?: number }
  | { name: string; type: 'symlink'; target: string }
  | { name: string; type: 'char'; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(f: {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  rmajor: number;
  rminor: number;
  name: string;
}): Buffer {
  // c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_maj c_min c_rmaj c_rmin c_namesize c_chksum
  const fields = [f.ino, f.mode, 0, 0, f.nlink, 0, f.size, 0, 0, f.rmajor, f.rminor, f.name.length + 1, 0];
  const head = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
  const name = Buffer.concat([Buffer.from(f.name, 'utf8'), Buffer.alloc(1)]);
  return Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))]);
}

/** The archive of these entries, in this order (a directory before what it holds), owned by root,
 *  with mtime 0 (the same bytes on every build). Names are relative ("bin/busybox"). */
export function newcArchive(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    let mode: number;
    let data: Buffer = Buffer.alloc(0);
    let rmajor = 0;
    let rminor = 0;
    if (e.type === 'dir') mode = S_IFDIR | (e.mode ?? 0o755);
    else if (e.type === 'file') {
      mode = S_IFREG | (e.mode ?? 0o644);
      data = e.data;
    } else if (e.type === 'symlink') {
      mode = S_IFLNK | 0o777;
      data = Buffer.from(e.target, 'utf8');
    } else {
      mode = S_IFCHR | (e.mode ?? 0o600);
      rmajor = e.major;
      rminor = e.minor;
    }
    const nlink = e.type === 'dir' ? 2 : 1;
    parts.push(header({ ino: i + 1, mode, nlink, size: data.length, rmajor, rminor, name: e.name }));
    parts.push(data, Buffer.alloc(pad4(data.length)));
  });
  parts.push(header({ ino: 0, mode: 0, nlink: 1, size: 0, rmajor: 0, rminor: 0, name: 'TRAILER!!!' }));
  return Buffer.concat(parts);
}
