// Safe layer extraction: hand-made tars that try to write outside the layer, bombs, damaged blobs,
// and the whiteout marks overlayfs and the copying fallback read. Every refused layer leaves the
// store as it was: no layer directory, no temporary directory, nothing outside.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { NsxError } from '../../src/runtime/errors.js';
import { statfsSpace, UnpackBudget } from '../../src/image/budget.js';
import { entryPath, extractLayer } from '../../src/image/extract.js';
import { layerDiffDir, layersDir, readLayerRecord, removeLayer, LayerError } from '../../src/image/layers.js';
import { isRoot, itRoot } from '../helpers.js';
import { layerBlob, makeTar, sha256, type TarEntry } from '../tars.js';

let work: string;
let root: string;
let outside: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'nsx-extract-'));
  root = join(work, 'store');
  outside = join(work, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

async function extract(entries: TarEntry[], opts: Parameters<typeof extractLayer>[3] = {}, gzip = true) {
  const { blob, diffId } = await layerBlob(work, entries, { gzip });
  const record = await extractLayer(root, blob, diffId, opts);
  return { record, diff: layerDiffDir(root, diffId), diffId };
}

async function refused(entries: TarEntry[], opts: Parameters<typeof extractLayer>[3] = {}): Promise<LayerError> {
  try {
    await extract(entries, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(LayerError);
    // The store is as it was: no layer, no half-written temporary directory.
    expect(existsSync(layersDir(root)) ? readdirSync(layersDir(root)) : []).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);
    return e as LayerError;
  }
  throw new Error('the layer was accepted');
}

/** getfattr comes with setfattr (Debian package attr, scripts/install-deps.sh), which extraction needs: absent is a failure. */
function getfattr(path: string, name: string) {
  const r = spawnSync('getfattr', ['-h', '--only-values', '-n', name, path], { encoding: 'utf8' });
  if (r.error) throw new Error(`getfattr: ${r.error.message}; install it: sudo apt-get install attr`);
  return r;
}

describe('entryPath', () => {
  it('takes relative names, with or without ./ and a trailing slash', () => {
    expect(entryPath('etc/passwd')).toEqual(['etc', 'passwd']);
    expect(entryPath('./etc/')).toEqual(['etc']);
    expect(entryPath('./')).toEqual([]);
    expect(entryPath('a//b/./c')).toEqual(['a', 'b', 'c']);
  });
  it('refuses absolute names (docker strips the "/"; nsx calls it bad input)', () => {
    expect(() => entryPath('/etc/passwd')).toThrow(/an absolute path/);
  });
  it('refuses any ".." component, even one that would stay inside', () => {
    expect(() => entryPath('../etc/passwd')).toThrow(/"\.\."/);
    expect(() => entryPath('a/../../b')).toThrow(/"\.\."/);
    expect(() => entryPath('a/../b')).toThrow(/"\.\."/);
    expect(entryPath('a/..b/c..')).toEqual(['a', '..b', 'c..']);
  });
  it('refuses NUL bytes', () => {
    expect(() => entryPath('a\0b')).toThrow(/NUL/);
  });
});

describe('extractLayer', () => {
  it('unpacks files, directories, symlinks and hardlinks with their modes and mtimes, once', async () => {
    const mtime = new Date('2020-01-02T03:04:05Z');
    const { record, diff, diffId } = await extract([
      { name: 'bin/', type: 'directory', mode: 0o755, mtime },
      { name: 'bin/tool', body: '#!/bin/sh\necho hi\n', mode: 0o4755, mtime },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool', mtime },
      { name: 'bin/same', type: 'link', linkname: 'bin/tool' },
      { name: 'etc/motd', body: 'hello\n', mode: 0o600 }, // etc/ comes implicitly
      { name: 'ro/', type: 'directory', mode: 0o555, mtime },
      { name: 'ro/inside', body: 'x' }, // written before ro/ becomes read-only
      { name: 'link-out', type: 'symlink', linkname: '/etc/shadow' }, // a symlink pointing out is data
    ]);
    expect(readFileSync(join(diff, 'bin/tool'), 'utf8')).toContain('echo hi');
    expect(statSync(join(diff, 'bin/tool')).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(diff, 'bin/tool')).mtime.toISOString()).toBe(mtime.toISOString());
    expect(statSync(join(diff, 'bin')).mtime.toISOString()).toBe(mtime.toISOString());
    expect(readlinkSync(join(diff, 'bin/alias'))).toBe('tool');
    expect(lstatSync(join(diff, 'bin/alias')).mtime.toISOString()).toBe(mtime.toISOString());
    expect(statSync(join(diff, 'bin/same')).ino).toBe(statSync(join(diff, 'bin/tool')).ino);
    expect(statSync(join(diff, 'etc/motd')).mode & 0o777).toBe(0o600);
    expect(statSync(join(diff, 'ro')).mode & 0o777).toBe(0o555);
    expect(readlinkSync(join(diff, 'link-out'))).toBe('/etc/shadow');
    expect(record).toMatchObject({ diffId, entries: 8, whiteouts: [], opaque: [] });
    expect(readLayerRecord(root, diffId)).toEqual(record);
    // Once: a second extraction finds it and leaves it alone.
    writeFileSync(join(diff, 'marker'), '');
    const { blob } = await layerBlob(work, [{ name: 'x', body: 'x' }]);
    expect(await extractLayer(root, blob, diffId)).toEqual(record);
    expect(existsSync(join(diff, 'marker'))).toBe(true);
    removeLayer(root, diffId); // a read-only directory inside does not stop the removal
    expect(readdirSync(layersDir(root))).toEqual([]);
  });

  itRoot("keeps the layer's owners as root, and gives every file to the invoking user rootless", async () => {
    const entries: TarEntry[] = [
      { name: 'd/', type: 'directory', uid: 1234, gid: 4321 },
      { name: 'd/f', body: 'x', uid: 1234, gid: 4321 },
      { name: 'l', type: 'symlink', linkname: 'd', uid: 77, gid: 77 },
    ];
    const { record, diff } = await extract(entries);
    expect(record.ownership).toBe('preserved');
    expect([statSync(join(diff, 'd')).uid, statSync(join(diff, 'd')).gid]).toEqual([1234, 4321]);
    expect([statSync(join(diff, 'd/f')).uid, statSync(join(diff, 'd/f')).gid]).toEqual([1234, 4321]);
    expect(lstatSync(join(diff, 'l')).uid).toBe(77);
    rmSync(root, { recursive: true });
    mkdirSync(root);
    const rootless = await extract(entries, { rootless: true });
    expect(rootless.record.ownership).toBe('invoking-user');
    expect(statSync(join(rootless.diff, 'd/f')).uid).toBe(process.getuid!());
  });

  it('refuses an entry with ".."', async () => {
    const e = await refused([
      { name: 'ok', body: 'x' },
      { name: '../../escaped', body: 'x' },
    ]);
    expect(e.message).toMatch(/"\.\.\/\.\.\/escaped": a "\.\." component/);
    expect(existsSync(join(work, 'escaped'))).toBe(false);
  });

  it('refuses an absolute entry', async () => {
    const e = await refused([{ name: `${outside}/abs`, body: 'x' }]);
    expect(e.message).toMatch(/an absolute path/);
  });

  it('refuses a file written through a symlink that points out of the layer', async () => {
    const e = await refused([
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/pwned', body: 'owned' },
    ]);
    expect(e.message).toMatch(/"evil\/pwned": would be written through the symlink evil → /);
  });

  it('refuses a relative symlink escape too, and one made by replacing a directory', async () => {
    await refused([
      { name: 'up', type: 'symlink', linkname: '../../../../../../..' + outside },
      { name: 'up/x', body: 'x' },
    ]);
    await refused([
      { name: 'd/', type: 'directory' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'd/x', body: 'x' },
    ]);
  });

  it('refuses a whiteout whose directory became a symlink pointing out', async () => {
    const e = await refused([{ name: 'd/.wh.x' }, { name: 'd', type: 'symlink', linkname: outside }]);
    expect(e.message).toMatch(/symlink d/);
  });

  it('refuses hardlinks to anything outside the layer', async () => {
    expect((await refused([{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }])).message).toMatch(
      /absolute path/,
    );
    expect(
      (await refused([{ name: 'passwd', type: 'link', linkname: '../../../../../../etc/passwd' }])).message,
    ).toMatch(/"\.\."/);
    expect((await refused([{ name: 'passwd', type: 'link', linkname: 'etc/passwd' }])).message).toMatch(
      /not in this layer|not an earlier entry/,
    );
    // through a symlink of the layer that points at the host's /etc
    const e = await refused([
      { name: 'hostetc', type: 'symlink', linkname: '/etc' },
      { name: 'passwd', type: 'link', linkname: 'hostetc/passwd' },
    ]);
    expect(e.message).toMatch(/through the symlink hostetc/);
  });

  it('refuses device nodes unless allowed', async () => {
    const dev: TarEntry = { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 };
    const e = await refused([dev]);
    expect(e.message).toMatch(/a device node \(b 8 0\): refused/);
    await refused([dev], { allowDevices: true, rootless: true });
  });

  itRoot('creates device nodes and FIFOs when allowed (as root)', async () => {
    const { diff } = await extract(
      [
        { name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        { name: 'pipe', type: 'fifo', mode: 0o600 },
      ],
      { allowDevices: true },
    );
    const st = statSync(join(diff, 'null'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe((1 << 8) | 3);
    expect(statSync(join(diff, 'pipe')).isFIFO()).toBe(true);
  });

  it('stops a decompression bomb at the bound (data after the end of the archive, no entry to refuse)', async () => {
    const tar = await makeTar([{ name: 'f', body: 'x' }]);
    const bomb = Buffer.concat([tar, Buffer.alloc(4 << 20)]);
    const blob = join(work, 'bomb.gz');
    writeFileSync(blob, gzipSync(bomb));
    const e = await extractLayer(root, blob, sha256(bomb), { maxBytes: 1 << 20 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LayerError);
    expect((e as Error).message).toMatch(/decompresses to more than 1048576 bytes/);
    expect(readdirSync(layersDir(root))).toEqual([]);
  });

  it('refuses at its header a file larger than what is left of the bound', async () => {
    const e = await refused(
      [
        { name: 'small', body: Buffer.alloc(100 << 10) },
        { name: 'bomb', body: Buffer.alloc(4 << 20) },
      ],
      { maxBytes: 1 << 20 },
    );
    expect(e.message).toMatch(
      /"bomb": its header declares 4\.0 MiB of data, more than the 924\.0 KiB left of the 1\.0 MiB a layer may unpack to/,
    );
    expect(e.info.hint).toMatch(/before a byte of it was written/);
  });

  it('decides from the header alone: a PAX size of 1 TiB with no data behind it is refused, not read', async () => {
    // Were the data read first, this would fail as a truncated tar ("Unexpected end of data") instead.
    const e = await refused([{ name: 'huge', size: 0, pax: { size: String(1024 ** 4) } }]);
    expect(e.message).toMatch(/"huge": its header declares 1\.0 TiB of data, more than the 8\.0 GiB left/);
  });

  describe('the free space of the store filesystem', () => {
    const MiB = 1024 ** 2;
    const space = (free: number) => () => ({ free, size: 100 * MiB, blockSize: 4096 });

    it('bounds what a layer may write, less a reserve of 5% (at most 512 MiB): a pull never fills the disk', async () => {
      // 10 MiB free, 5 MiB reserved: 5 MiB for the layer.
      const ok = await extract(
        [
          { name: 'a', body: Buffer.alloc(3 * MiB) },
          { name: 'd/', type: 'directory' },
        ],
        { fsSpace: space(10 * MiB) },
      );
      expect(statSync(join(ok.diff, 'a')).size).toBe(3 * MiB);
      removeLayer(root, ok.diffId);
      const e = await refused(
        [
          { name: 'a', body: Buffer.alloc(3 * MiB) },
          { name: 'b', body: Buffer.alloc(3 * MiB) },
        ],
        { fsSpace: space(10 * MiB) },
      );
      expect(e.message).toMatch(
        /"b": 3\.0 MiB would leave less than 5\.0 MiB free on the filesystem of .* \(7\.0 MiB free\)/,
      );
      expect(e.info.hint).toMatch(/free space there \(nsx rmi removes images\), or move the store \(NSX_ROOT\)/);
    });

    it('counts whole blocks, and takes a reserve it is given', async () => {
      // 1 MiB + 1 byte takes 257 blocks of 4 KiB; 1 MiB + 4 KiB are free beyond the reserve.
      const fits = [{ name: 'f', body: Buffer.alloc(MiB + 1) }];
      removeLayer(root, (await extract(fits, { fsSpace: space(2 * MiB + 4096), reserveBytes: MiB })).diffId);
      const e = await refused([...fits, { name: 'g', body: 'x' }], {
        fsSpace: space(2 * MiB + 4096),
        reserveBytes: MiB,
      });
      expect(e.message).toMatch(/"g": 4\.0 KiB would leave less than 1\.0 MiB free/);
    });

    it('reads the free space again after 64 MiB, to see other writers on the disk', () => {
      let free = 1024 * MiB;
      const calls: string[] = [];
      const budget = new UnpackBudget(
        '/store',
        8 * 1024 * MiB,
        (dir) => (calls.push(dir), { free, size: 4096 * MiB, blockSize: 4096 }),
      );
      expect(budget.claim(60 * MiB, 'data')).toBeUndefined();
      free = 100 * MiB; // another process wrote 924 MiB meanwhile
      expect(calls).toEqual(['/store']);
      expect(budget.claim(10 * MiB, 'data')?.why).toMatch(
        /10\.0 MiB would leave less than 204\.8 MiB free on the filesystem of \/store \(100\.0 MiB free\)/,
      );
      expect(calls).toEqual(['/store', '/store']);
    });

    it('reads statfs(2) by default', () => {
      const s = statfsSpace(work);
      expect(s.blockSize).toBeGreaterThan(0);
      expect(s.free).toBeGreaterThan(0);
      expect(s.size).toBeGreaterThanOrEqual(s.free);
    });
  });

  describe('sparse files', () => {
    it('refuses a GNU PAX 1.0 sparse entry, naming the real file', async () => {
      const pax = {
        'GNU.sparse.major': '1',
        'GNU.sparse.minor': '0',
        'GNU.sparse.name': 'usr/lib/hole.img',
        'GNU.sparse.realsize': '1048576',
      };
      const e = await refused([
        { name: 'usr/lib/', type: 'directory' },
        { name: 'usr/lib/GNUSparseFile.7/hole.img', pax, body: '1\n500000\n4\ndata' },
      ]);
      expect(e.message).toMatch(
        /"usr\/lib\/hole\.img" \(stored as "usr\/lib\/GNUSparseFile\.7\/hole\.img"\): a sparse file \(GNU tar's PAX sparse format 1\.0\): not supported/,
      );
      expect(e.info.hint).toMatch(/re-create the layer with a tar that stores files whole/);
    });

    it('refuses a GNU PAX 0.x sparse entry', async () => {
      const pax = {
        'GNU.sparse.size': '1048576',
        'GNU.sparse.numblocks': '1',
        'GNU.sparse.offset': '500000',
        'GNU.sparse.numbytes': '4',
      };
      const e = await refused([{ name: 'hole.img', pax, body: 'data' }]);
      expect(e.message).toMatch(
        /"hole\.img": a sparse file \(GNU tar's PAX sparse format 0\.0 or 0\.1\): not supported/,
      );
    });

    it('refuses the sparse file GNU tar --sparse --format=posix writes', () => {
      const src = join(work, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'hole.img'), '');
      truncateSync(join(src, 'hole.img'), 1 << 20);
      const fd = openSync(join(src, 'hole.img'), 'r+');
      writeSync(fd, 'data', 500000);
      closeSync(fd);
      const tarFile = join(work, 'sparse.tar');
      const r = spawnSync('tar', ['--sparse', '--format=posix', '-C', src, '-cf', tarFile, 'hole.img'], {
        encoding: 'utf8',
      });
      if (r.error) throw new Error(`tar: ${r.error.message} (GNU tar is essential in Debian: apt-get install tar)`);
      expect(r.status).toBe(0);
      const tar = readFileSync(tarFile);
      return expect(extractLayer(root, tarFile, sha256(tar))).rejects.toThrow(
        /"hole\.img" \(stored as "\.\/GNUSparseFile\.\d+\/hole\.img"\): a sparse file \(GNU tar's PAX sparse format 1\.0\)/,
      );
    });
  });

  it('bounds the number of entries', async () => {
    const e = await refused(
      Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, body: '' })),
      { maxEntries: 10 },
    );
    expect(e.message).toMatch(/more than 10 entries/);
  });

  it('refuses a corrupt gzip stream', async () => {
    const tar = await makeTar([{ name: 'f', body: 'x'.repeat(10000) }]);
    const gz = gzipSync(tar);
    gz.fill(0x55, 20, 60);
    const blob = join(work, 'bad.gz');
    writeFileSync(blob, gz);
    await expect(extractLayer(root, blob, sha256(tar))).rejects.toThrow(/not a valid gzip stream/);
    expect(readdirSync(layersDir(root))).toEqual([]);
  });

  it('refuses a truncated layer', async () => {
    const tar = await makeTar([{ name: 'f', body: randomBytes(100000) }]);
    const blob = join(work, 'short.gz');
    writeFileSync(blob, gzipSync(tar).subarray(0, 50000));
    await expect(extractLayer(root, blob, sha256(tar))).rejects.toThrow(/not a valid (gzip stream|tar archive)/);
    writeFileSync(blob, tar.subarray(0, 5000));
    await expect(extractLayer(root, blob, sha256(tar))).rejects.toThrow(/not a valid tar archive/);
    expect(readdirSync(layersDir(root))).toEqual([]);
  });

  it('refuses a layer whose digest is not the diff id, keeping nothing', async () => {
    const { blob } = await layerBlob(work, [{ name: 'f', body: 'x' }]);
    const wrong = sha256(Buffer.from('something else'));
    await expect(extractLayer(root, blob, wrong)).rejects.toThrow(/not the diff id the image config names/);
    expect(readdirSync(layersDir(root))).toEqual([]);
  });

  it('says zstd needs a newer Node when this one has no decoder', async () => {
    const blob = join(work, 'zstd');
    writeFileSync(blob, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    const p = extractLayer(root, blob, sha256(Buffer.alloc(0)));
    if ('createZstdDecompress' in (await import('node:zlib'))) await expect(p).rejects.toThrow(NsxError);
    else await expect(p).rejects.toThrow(/zstd-compressed layer: this Node.js .* has no zstd decoder/);
  });

  it('unpacks an uncompressed tar', async () => {
    const { diff } = await extract([{ name: 'plain', body: 'tar' }], {}, false);
    expect(readFileSync(join(diff, 'plain'), 'utf8')).toBe('tar');
  });
});

describe('whiteouts and opaque directories', () => {
  const layer: TarEntry[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.old.conf' },
    { name: 'var/lib/', type: 'directory' },
    { name: 'var/lib/.wh..wh..opq' },
    { name: 'var/lib/new', body: 'n' },
    { name: '.wh..wh.plnk' }, // aufs bookkeeping: ignored
    { name: 'same/.wh.kept' },
    { name: 'same/kept', body: 'this layer has it: the whiteout only hides lower layers' },
    { name: '.wh.gone' },
    { name: 'gone/again', body: 'a directory made after its whiteout replaces the lower one whole' },
  ];

  it('records them for the copying fallback', async () => {
    const { record, diff } = await extract(layer, { rootless: !isRoot });
    expect(record.whiteouts).toEqual(['etc/old.conf']);
    expect(record.opaque).toEqual(['gone', 'var/lib']);
    expect(existsSync(join(diff, 'var/lib/.wh..wh..opq'))).toBe(false);
    expect(existsSync(join(diff, 'etc/.wh.old.conf'))).toBe(false);
    expect(existsSync(join(diff, '.wh..wh.plnk'))).toBe(false);
    expect(readFileSync(join(diff, 'same/kept'), 'utf8')).toMatch(/this layer has it/);
  });

  it('marks them as overlayfs reads them: a 0/0 character device, overlay.opaque=y', async () => {
    const { record, diff } = await extract(layer, { rootless: !isRoot });
    expect(record.overlayUnavailable).toBeUndefined();
    const wh = lstatSync(join(diff, 'etc/old.conf'));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    const names = isRoot ? ['trusted.overlay.opaque', 'user.overlay.opaque'] : ['user.overlay.opaque'];
    expect(record.overlay).toEqual({ whiteouts: 'chardev-0-0', opaqueXattrs: names });
    for (const n of names) {
      expect(getfattr(join(diff, 'var/lib'), n).stdout).toBe('y');
      expect(getfattr(join(diff, 'gone'), n).stdout).toBe('y');
    }
    expect(getfattr(join(diff, 'etc'), names[0]).status).not.toBe(0);
  });

  itRoot('uses only user.overlay.opaque rootless (overlayfs mounted with userxattr reads that one)', async () => {
    const { record, diff } = await extract(layer, { rootless: true });
    expect(record.overlay?.opaqueXattrs).toEqual(['user.overlay.opaque']);
    expect(getfattr(join(diff, 'var/lib'), 'user.overlay.opaque').stdout).toBe('y');
    expect(getfattr(join(diff, 'var/lib'), 'trusted.overlay.opaque').status).not.toBe(0);
  });

  it('refuses a whiteout of nothing', async () => {
    await refused([{ name: 'd/.wh.' }]);
    await refused([{ name: 'd/.wh...' }]);
  });
});
