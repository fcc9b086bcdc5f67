// The image store: an OCI layout; blobs appear only whole and verified; index.json updated under a
// lock; docker's rmi semantics and garbage collection.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addToStore, buildImage, listing, sha } from '../../image-fixture.js';
import { chainIds, defaultRoot, ImageStore } from '../../../src/image/store.js';

const temps: string[] = [];
function newStore(): ImageStore {
  const d = mkdtempSync(join(tmpdir(), 'nsx-store-'));
  temps.push(d);
  return new ImageStore(d, { searchRegistries: ['docker.io'] });
}
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

const base = { 'etc/os-release': 'base\n' };
const imgA = buildImage({ layers: [base, { 'a.txt': 'a' }], created: '2024-01-01T00:00:00Z' });
const imgB = buildImage({ layers: [base, { 'b.txt': 'b' }], created: '2024-02-01T00:00:00Z' });

describe('where the store lives', () => {
  it('NSX_ROOT, else /var/lib/nsx as root, else XDG_DATA_HOME', () => {
    expect(defaultRoot({ NSX_ROOT: '/tmp/x' }, 0)).toBe('/tmp/x');
    expect(defaultRoot({}, 0)).toBe('/var/lib/nsx');
    expect(defaultRoot({ HOME: '/home/a' }, 1000)).toBe('/home/a/.local/share/nsx');
    expect(defaultRoot({ XDG_DATA_HOME: '/d' }, 1000)).toBe('/d/nsx');
  });
});

describe('blobs', () => {
  it('are content-addressed in an OCI image layout', async () => {
    const s = newStore();
    const w = await s.writeBlob(Buffer.from('hello'));
    expect(w).toEqual({ digest: sha('hello'), size: 5, existed: false });
    expect(s.blobPath(w.digest)).toBe(join(s.root, 'images', 'blobs', 'sha256', sha('hello').slice(7)));
    expect(readFileSync(s.blobPath(w.digest), 'utf8')).toBe('hello');
    expect(JSON.parse(readFileSync(join(s.root, 'images', 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    expect(JSON.parse(readFileSync(join(s.root, 'images', 'index.json'), 'utf8')).manifests).toEqual([]);
    expect((await s.writeBlob(Buffer.from('hello'))).existed).toBe(true);
  });

  it('a wrong digest or size leaves nothing behind', async () => {
    const s = newStore();
    s.ensureLayout();
    const before = listing(s.root);
    await expect(s.writeBlob(Buffer.from('evil'), sha('good'))).rejects.toThrow(
      `verification failed for digest ${sha('good')}`,
    );
    await expect(s.writeBlob(Buffer.from('good'), sha('good'), { expectedSize: 3 })).rejects.toThrow(
      'more data than the 3 bytes',
    );
    await expect(s.writeBlob(Buffer.from('good'), sha('good'), { expectedSize: 10 })).rejects.toThrow(
      'got 4 bytes, expected 10',
    );
    expect(listing(s.root)).toEqual(before);
    expect(s.hasBlob(sha('good'))).toBe(false);
  });

  it('a stream that fails midway leaves nothing behind, and is never visible half-written', async () => {
    const s = newStore();
    s.ensureLayout();
    const before = listing(s.root);
    const digest = sha('abcdef');
    async function* broken() {
      yield Buffer.from('abc');
      // While the blob is being written, it is not in blobs/.
      expect(s.hasBlob(digest)).toBe(false);
      throw new Error('connection reset');
    }
    await expect(s.writeBlob(broken(), digest)).rejects.toThrow('connection reset');
    expect(listing(s.root)).toEqual(before);
  });

  it('digests are never paths', () => {
    const s = newStore();
    for (const bad of [
      'sha256:../../etc/passwd',
      'sha256:' + 'A'.repeat(64),
      'md5:' + 'a'.repeat(32),
      '../x',
      `sha256:${'a'.repeat(63)}/`,
    ]) {
      expect(() => s.blobPath(bad)).toThrow('invalid digest');
    }
  });

  it('a corrupt JSON blob is detected, not trusted', async () => {
    const s = newStore();
    const { digest } = await s.writeBlob(Buffer.from('{"a":1}'));
    writeFileSync(s.blobPath(digest), '{"a":2}');
    expect(() => s.readJson(digest)).toThrow('is corrupt');
  });
});

describe('index.json', () => {
  it('names images by their full reference; resolve by name, familiar name, digest, id or id prefix', async () => {
    const s = newStore();
    await addToStore(s, 'busybox', imgA);
    const entry = JSON.parse(readFileSync(join(s.root, 'images', 'index.json'), 'utf8')).manifests[0];
    expect(entry).toMatchObject({
      digest: imgA.manifestDigest,
      size: imgA.manifestBytes.length,
      annotations: { 'org.opencontainers.image.ref.name': 'docker.io/library/busybox:latest' },
    });
    for (const ref of [
      'busybox',
      'busybox:latest',
      'docker.io/library/busybox:latest',
      `busybox@${imgA.manifestDigest}`,
      imgA.configBlob.digest,
      imgA.configBlob.digest.slice(7, 19),
      imgA.manifestDigest,
    ]) {
      expect(s.resolve(ref)?.manifestDigest).toBe(imgA.manifestDigest);
    }
    const r = s.resolve('busybox')!;
    expect(r.ref).toBe('docker.io/library/busybox:latest');
    expect(r.configDigest).toBe(imgA.configBlob.digest);
    expect(r.config.rootfs.diff_ids).toEqual(imgA.layers.map((l) => l.diffId));
    expect(s.resolve('busybox:1')).toBeUndefined();
    expect(s.resolve('other')).toBeUndefined();
  });

  it('unqualified names are looked up in the search registries, in order', async () => {
    const s = newStore();
    const local = new ImageStore(s.root, { searchRegistries: ['localhost:5000', 'docker.io'] });
    await addToStore(s, 'docker.io/library/hello:latest', imgA);
    await addToStore(s, 'localhost:5000/hello:latest', imgB);
    expect(local.resolve('hello')?.manifestDigest).toBe(imgB.manifestDigest);
    expect(s.resolve('hello')?.manifestDigest).toBe(imgA.manifestDigest);
  });

  it("concurrent writers do not lose each other's names (the lock)", async () => {
    const s = newStore();
    await addToStore(s, 'a:0', imgA);
    // Eight processes each add eight tags at the same time.
    const script = `
      const { ImageStore } = await import(${JSON.stringify(new URL('../../../dist/src/image/store.js', import.meta.url).href)});
      const s = new ImageStore(process.argv[1]);
      for (let i = 0; i < 8; i++) s.tag('a:0', 'p' + process.argv[2] + ':' + i);`;
    // The writers are separate node processes: they run the built store. Not built is a failure.
    if (!existsSync(new URL('../../../dist/src/image/store.js', import.meta.url))) {
      throw new Error('dist/src/image/store.js is missing: run npm run build first (npm test does)');
    }
    await Promise.all(
      Array.from(
        { length: 8 },
        (_, p) =>
          new Promise<void>((resolve, reject) => {
            const c = spawn(process.execPath, ['--input-type=module', '-e', script, s.root, String(p)], {
              stdio: 'inherit',
            });
            c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${p} exited ${code}`))));
          }),
      ),
    );
    expect(s.list().filter((r) => r.repository.startsWith('p'))).toHaveLength(64);
    expect(existsSync(join(s.root, 'images', 'index.json.lock'))).toBe(false);
  });

  it('a stale lock (its process is gone) is taken over; a live one is waited for, then reported', async () => {
    const s = newStore();
    await addToStore(s, 'a:0', imgA);
    writeFileSync(join(s.root, 'images', 'index.json.lock'), '999999999');
    s.tag('a:0', 'a:1');
    expect(s.resolve('a:1')).toBeDefined();
    const held = new ImageStore(s.root, { lockTimeoutMs: 200 });
    writeFileSync(join(s.root, 'images', 'index.json.lock'), String(process.ppid));
    expect(() => held.tag('a:0', 'a:2')).toThrow(`is locked by process ${process.ppid}`);
  });
});

describe('images, tag and rmi as docker does them', () => {
  it('list: one row per name, newest first, dangling as <none>', async () => {
    const s = newStore();
    await addToStore(s, 'app:1', imgA);
    await addToStore(s, 'localhost:5000/app:2', imgB);
    s.tag('app:1', 'app:old');
    expect(s.list().map((r) => [r.repository, r.tag, r.id])).toEqual([
      ['localhost:5000/app', '2', imgB.configBlob.digest],
      ['app', '1', imgA.configBlob.digest],
      ['app', 'old', imgA.configBlob.digest],
    ]);
    expect(s.list()[0].size).toBe(imgB.configBlob.size + imgB.layers.reduce((n, l) => n + l.size, 0));
    // Moving a tag leaves the image it named as <none>:<none> when nothing else names it.
    await addToStore(s, 'localhost:5000/app:2', imgA);
    expect(s.list().find((r) => r.id === imgB.configBlob.digest)).toMatchObject({
      repository: '<none>',
      tag: '<none>',
    });
  });

  it('tag refuses digests and unknown sources', async () => {
    const s = newStore();
    await addToStore(s, 'app:1', imgA);
    expect(() => s.tag('nope', 'x')).toThrow('No such image: nope');
    expect(() => s.tag('app:1', `x@${imgA.manifestDigest}`)).toThrow(
      'refusing to create a tag with a digest reference',
    );
    expect(() => s.tag('app:1', 'X')).toThrow('must be lowercase');
  });

  it('rmi a name of several: only untags', async () => {
    const s = newStore();
    await addToStore(s, 'app:1', imgA);
    s.tag('app:1', 'app:2');
    expect(s.remove('app:1')).toEqual(['Untagged: app:1']);
    expect(s.hasBlob(imgA.layers[1].digest)).toBe(true);
  });

  it('rmi the last name: deletes the image and the blobs no other image uses; PART B hears of unused layers', async () => {
    const s = newStore();
    await addToStore(s, 'app:a', imgA);
    await addToStore(s, 'app:b', imgB);
    const unused: string[] = [];
    const lines = s.remove('app:a', { onLayerUnused: (d) => unused.push(d) });
    const [, chainA] = chainIds(imgA.config.rootfs.diff_ids);
    expect(lines).toEqual(['Untagged: app:a', `Deleted: ${imgA.configBlob.digest}`, `Deleted: ${chainA}`]);
    expect(unused).toEqual([imgA.layers[1].diffId]); // the base layer is still B's
    expect(s.hasBlob(imgA.layers[1].digest)).toBe(false);
    expect(s.hasBlob(imgA.manifestDigest)).toBe(false);
    expect(s.hasBlob(imgA.layers[0].digest)).toBe(true);
    s.remove('app:b');
    expect(listing(join(s.root, 'images', 'blobs'))).toEqual([]);
  });

  it('rmi by id: conflicts across repositories unless forced; in use by a container', async () => {
    const s = newStore();
    await addToStore(s, 'one:1', imgA);
    s.tag('one:1', 'two:1');
    const id = imgA.configBlob.digest.slice(7, 19);
    expect(() => s.remove(id)).toThrow(
      `conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories`,
    );
    expect(() => s.remove('one:1', { inUse: () => 'c0ffee0123456789' })).not.toThrow(); // another name remains
    expect(() => s.remove('two:1', { inUse: () => 'c0ffee0123456789' })).toThrow(
      `conflict: unable to remove repository reference "two:1" (must force) - container c0ffee012345 is using its referenced image ${id}`,
    );
    expect(s.remove('two:1', { force: true, inUse: () => true })).toEqual(['Untagged: two:1']);
    expect(s.hasBlob(imgA.manifestDigest)).toBe(true); // kept, untagged, for the container
    expect(() => s.remove(id, { force: true, inUse: () => true })).toThrow(
      '(cannot be forced) - image is being used by a container',
    );
    expect(s.remove(id)).toContain(`Deleted: ${imgA.configBlob.digest}`);
    expect(() => s.remove('one:1')).toThrow('Error response from daemon: No such image: one:1');
    expect(() => s.remove('never')).toThrow('No such image: never:latest');
  });

  it('rmi by id of the same repository under several tags untags them all', async () => {
    const s = newStore();
    await addToStore(s, 'one:1', imgA);
    s.tag('one:1', 'one:2');
    const lines = s.remove(imgA.configBlob.digest.slice(7, 15));
    expect(lines.slice(0, 2).sort()).toEqual(['Untagged: one:1', 'Untagged: one:2']);
    expect(lines).toContain(`Deleted: ${imgA.configBlob.digest}`);
  });

  it("half-written files of a dead nsx are cleaned up; a live one's are not", () => {
    const s = newStore();
    s.ensureLayout();
    writeFileSync(join(s.ingestDir, 'blob-999999999-abcdef'), 'half');
    writeFileSync(join(s.ingestDir, 'lease-999999999-abcdef.json'), '{"pid":999999999,"digests":[]}');
    writeFileSync(join(s.ingestDir, `blob-${process.pid}-abcdef`), 'in progress');
    s.cleanIngest();
    expect(listing(s.ingestDir)).toEqual([`blob-${process.pid}-abcdef 11`]);
  });

  it('garbage collection spares the blobs of a pull in progress (its lease)', async () => {
    const s = newStore();
    await addToStore(s, 'one:1', imgA);
    const lease = s.lease();
    const { digest } = await s.writeBlob(Buffer.from('half of a pull'));
    lease.add(digest);
    s.remove('one:1');
    expect(s.hasBlob(digest)).toBe(true);
    lease.release();
  });
});
