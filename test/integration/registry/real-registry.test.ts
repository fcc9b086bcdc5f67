// nsx push / pull / images / tag / rmi / image inspect against the real registry (Debian's
// docker-registry on loopback), and interop with skopeo, a client no one here wrote.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsx } from '../../helpers.js';
import { addToStore, buildImage, listing, sha, writeOciLayout } from '../../image-fixture.js';
import { haveRegistry, haveSkopeo, skopeo, startRegistry, type RunningRegistry } from '../../registry.js';
import { ImageStore } from '../../../src/image/store.js';
import { pull, type PullEvent } from '../../../src/image/pull.js';
import { push } from '../../../src/image/push.js';
import { hostPlatform } from '../../../src/image/registry.js';

const describeRegistry = haveRegistry && haveSkopeo ? describe : describe.skip;
if (!haveRegistry || !haveSkopeo)
  console.warn('skipped: the registry tests need docker-registry and skopeo (sudo bash scripts/install-deps.sh)');

const temps: string[] = [];
function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'nsx-root-'));
  temps.push(d);
  return d;
}

describeRegistry('a real registry (docker-registry on loopback)', () => {
  let reg: RunningRegistry;
  let configFile: string;
  const hello = buildImage({
    layers: [{ 'hello.txt': 'hello world\n' }, { 'etc/motd': 'second layer\n', 'bin/x': 'x' }],
    cmd: ['/hello'],
  });

  beforeAll(async () => {
    reg = await startRegistry();
    configFile = join(tempRoot(), 'registries.json');
    writeFileSync(configFile, JSON.stringify({ unqualifiedSearchRegistries: [reg.host, 'docker.io'] }));
  }, 30000);
  afterAll(async () => {
    await reg?.stop();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  const env = (root: string) => ({
    NSX_ROOT: root,
    NSX_REGISTRIES_CONFIG: configFile,
    NSX_REGISTRY_TIMEOUT_MS: '10000',
  });

  it('nsx push writes what skopeo reads, nsx pull gets the same bytes back, a second pull downloads nothing', async () => {
    const a = tempRoot();
    const storeA = new ImageStore(a);
    await addToStore(storeA, `${reg.host}/test/hello:1.0`, hello);

    const pushed = await nsx(['push', `${reg.host}/test/hello:1.0`], { env: env(a) });
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    const out = pushed.stdout.split('\n');
    expect(out[0]).toBe(`The push refers to repository [${reg.host}/test/hello]`);
    for (const l of hello.layers) expect(out).toContain(`${l.digest.slice(7, 19)}: Pushed`);
    expect(out).toContain(`1.0: digest: ${hello.manifestDigest} size: ${hello.manifestBytes.length}`);

    const inspected = JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/test/hello:1.0`]));
    expect(inspected.Digest).toBe(hello.manifestDigest);
    expect(inspected.Layers).toEqual(hello.layers.map((l) => l.digest));
    const rawConfig = skopeo([
      'inspect',
      '--tls-verify=false',
      '--config',
      '--raw',
      `docker://${reg.host}/test/hello:1.0`,
    ]);
    expect(sha(Buffer.from(rawConfig))).toBe(hello.configBlob.digest);

    // A push of what the registry has sends no layer again.
    const again = await nsx(['push', `${reg.host}/test/hello:1.0`], { env: env(a) });
    for (const l of hello.layers) expect(again.stdout).toContain(`${l.digest.slice(7, 19)}: Layer already exists`);

    const b = tempRoot();
    const first = await nsx(['pull', `${reg.host}/test/hello:1.0`], { env: env(b) });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const lines = first.stdout.split('\n');
    expect(lines[0]).toBe('1.0: Pulling from test/hello');
    // Non-TTY: one plain line per status, no bars; layers finish in any order.
    expect(lines.slice(1, 3).sort()).toEqual(
      hello.layers.map((l) => `${l.digest.slice(7, 19)}: Pulling fs layer`).sort(),
    );
    expect(first.stdout).not.toContain('[=');
    expect(first.stdout).toContain(
      `Digest: ${hello.manifestDigest}\nStatus: Downloaded newer image for ${reg.host}/test/hello:1.0\n${reg.host}/test/hello:1.0\n`,
    );
    for (const l of hello.layers) {
      expect(first.stdout).toContain(`${l.digest.slice(7, 19)}: Download complete`);
      expect(readFileSync(new ImageStore(b).blobPath(l.digest)).equals(l.bytes)).toBe(true);
    }
    const image = new ImageStore(b).resolve(`${reg.host}/test/hello:1.0`)!;
    expect(image.manifestDigest).toBe(hello.manifestDigest);
    expect(image.configDigest).toBe(hello.configBlob.digest);
    expect(image.config.config?.Cmd).toEqual(['/hello']);

    const before = listing(b);
    const second = await nsx(['pull', `${reg.host}/test/hello:1.0`], { env: env(b) });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      `1.0: Pulling from test/hello\nDigest: ${hello.manifestDigest}\nStatus: Image is up to date for ${reg.host}/test/hello:1.0\n${reg.host}/test/hello:1.0\n`,
    );
    expect(listing(b)).toEqual(before);
  });

  it('pulls an unqualified name from the first search registry that has it, and names it there', async () => {
    const a = tempRoot();
    await addToStore(new ImageStore(a), `${reg.host}/dockerinaction/hello_world:latest`, hello);
    expect((await nsx(['push', `${reg.host}/dockerinaction/hello_world`], { env: env(a) })).code).toBe(0);

    const b = tempRoot();
    const r = await nsx(['pull', 'dockerinaction/hello_world'], { env: env(b) });
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith('Using default tag: latest\nlatest: Pulling from dockerinaction/hello_world\n')).toBe(
      true,
    );
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${reg.host}/dockerinaction/hello_world:latest`);
    // The short name finds it locally too (the search list applies to the store).
    const events: PullEvent[] = [];
    const found = await pull('dockerinaction/hello_world', {
      store: new ImageStore(b, { searchRegistries: [reg.host, 'docker.io'] }),
      pull: 'missing',
      onEvent: (e) => events.push(e),
    });
    expect(found.pulled).toBe(false);
    expect(events).toEqual([]);

    const images = await nsx(['images'], { env: env(b) });
    const lines = images.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${reg.host}/dockerinaction/hello_world\\s+latest\\s+${hello.configBlob.digest.slice(7, 19)}\\s+\\d+ (months|years) ago\\s+\\d`,
      ),
    );
  });

  it('--pull missing: "Unable to find image … locally" once, then the local image', async () => {
    const b = tempRoot();
    const store = new ImageStore(b, { searchRegistries: [reg.host] });
    const events: PullEvent[] = [];
    const a = tempRoot();
    await addToStore(new ImageStore(a), `${reg.host}/lesson/hello:latest`, hello);
    await push(`${reg.host}/lesson/hello:latest`, {
      store: new ImageStore(a),
      registries: { unqualifiedSearchRegistries: [reg.host], insecure: [] },
    });
    const r1 = await pull('lesson/hello', {
      store,
      pull: 'missing',
      onEvent: (e) => events.push(e),
      registries: { unqualifiedSearchRegistries: [reg.host], insecure: [] },
    });
    expect(r1.pulled).toBe(true);
    expect(events[0]).toEqual({ type: 'missing-locally', ref: 'lesson/hello:latest' });
    expect(events.filter((e) => e.type === 'layer' && e.status === 'Download complete')).toHaveLength(2);
    const r2 = await pull('lesson/hello', {
      store,
      pull: 'missing',
      registries: { unqualifiedSearchRegistries: [reg.host], insecure: [] },
    });
    expect(r2.pulled).toBe(false);
    expect(r2.image.manifestDigest).toBe(hello.manifestDigest);
    await expect(pull('lesson/absent', { store, pull: 'never' })).rejects.toThrow(
      'No such image: lesson/absent:latest',
    );
  });

  it('chunked uploads (PATCH) and cross-repository mounts', async () => {
    const big = buildImage({ layers: [{ 'big.bin': Buffer.alloc(300_000, 7) }, { 'other.txt': 'x\n' }] });
    const a = tempRoot();
    const store = new ImageStore(a);
    await addToStore(store, `${reg.host}/chunks/big:1`, big);
    const registries = { unqualifiedSearchRegistries: [reg.host], insecure: [] };
    await push(`${reg.host}/chunks/big:1`, { store, registries, chunkBytes: 64 * 1024 });
    const inspected = JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/chunks/big:1`]));
    expect(inspected.Digest).toBe(big.manifestDigest);

    store.tag(`${reg.host}/chunks/big:1`, `${reg.host}/chunks/copy:1`);
    const statuses: string[] = [];
    await push(`${reg.host}/chunks/copy:1`, {
      store,
      registries,
      onEvent: (e) => e.type === 'push-layer' && statuses.push(`${e.status}${e.from ? ' ' + e.from : ''}`),
    });
    expect(statuses.filter((s) => s === 'Mounted from chunks/big')).toHaveLength(2);

    const b = new ImageStore(tempRoot());
    const got = await pull(`${reg.host}/chunks/copy:1`, { store: b, registries });
    expect(readFileSync(b.blobPath(big.layers[0].digest)).equals(big.layers[0].bytes)).toBe(true);
    expect(got.image.manifestDigest).toBe(big.manifestDigest);
  });

  it('pulls what skopeo copied from an OCI layout, in Docker schema 2 form too', async () => {
    for (const format of ['oci', 'v2s2'] as const) {
      const img = buildImage({ layers: [{ [`${format}.txt`]: format }] });
      const layout = tempRoot();
      writeOciLayout(layout, 'v1', [img]);
      // --format v2s2: skopeo converts the manifest to Docker schema 2 (the config's bytes stay).
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        '--format',
        format,
        `oci:${layout}:v1`,
        `docker://${reg.host}/skopeo/${format}:v1`,
      ]);
      const b = tempRoot();
      const r = await nsx(['pull', `${reg.host}/skopeo/${format}:v1`], { env: env(b) });
      expect(r.stderr).toBe('');
      const image = new ImageStore(b).resolve(`${reg.host}/skopeo/${format}:v1`)!;
      expect(image.configDigest).toBe(img.configBlob.digest);
      expect(image.config.rootfs.diff_ids).toEqual([img.layers[0].diffId]);
      expect(image.manifest.mediaType).toBe(
        format === 'oci'
          ? 'application/vnd.oci.image.manifest.v1+json'
          : 'application/vnd.docker.distribution.manifest.v2+json',
      );
    }
  });

  it('a multi-platform index: the host platform, or the one asked for', async () => {
    const amd64 = buildImage({ layers: [{ arch: 'amd64' }], platform: { os: 'linux', architecture: 'amd64' } });
    const arm64 = buildImage({
      layers: [{ arch: 'arm64' }],
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const armv7 = buildImage({
      layers: [{ arch: 'arm/v7' }],
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    });
    const layout = tempRoot();
    writeOciLayout(layout, 'multi', [armv7, amd64, arm64]);
    skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${reg.host}/multi/arch:1`]);
    const registries = { unqualifiedSearchRegistries: [reg.host], insecure: [] };

    const host = hostPlatform();
    const mine = host.architecture === 'arm64' ? arm64 : amd64;
    const events: PullEvent[] = [];
    const store = new ImageStore(tempRoot());
    const r = await pull(`${reg.host}/multi/arch:1`, { store, registries, onEvent: (e) => events.push(e) });
    expect(r.image.manifestDigest).toBe(mine.manifestDigest);
    expect(r.image.config.architecture).toBe(host.architecture);
    // The digest docker prints (and records as RepoDigest) is the index's.
    const digest = events.find((e) => e.type === 'digest') as { digest: string };
    expect(digest.digest).not.toBe(mine.manifestDigest);
    expect(store.namesOf(mine.manifestDigest).repoDigests).toEqual([`${reg.host}/multi/arch@${digest.digest}`]);
    // Only the chosen platform's layer was downloaded.
    expect(store.hasBlob(armv7.layers[0].digest)).toBe(false);

    const other = new ImageStore(tempRoot());
    const v7 = await pull(`${reg.host}/multi/arch:1`, {
      store: other,
      registries,
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    });
    expect(v7.image.manifestDigest).toBe(armv7.manifestDigest);
    await expect(
      pull(`${reg.host}/multi/arch:1`, { store: other, registries, platform: { os: 'linux', architecture: 's390x' } }),
    ).rejects.toThrow('no matching manifest for linux/s390x in the manifest list entries');
  });

  it("an unknown repository or tag: docker's error, exit 1, the store unchanged", async () => {
    const b = tempRoot();
    await addToStore(new ImageStore(b), 'keep:1', hello);
    const before = listing(b);
    const r = await nsx(['pull', `${reg.host}/test/hello:nope`], { env: env(b) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `nsx: Error response from daemon: manifest for ${reg.host}/test/hello:nope not found: manifest unknown: manifest unknown`,
    );
    const r2 = await nsx(['pull', `${reg.host}/no/such`], { env: env(b) });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(
      /Error response from daemon: (repository .* not found: name unknown|manifest for .* not found)/,
    );
    expect(listing(b)).toEqual(before);
  });

  it('images, tag, image inspect and rmi as docker prints them', async () => {
    const root = tempRoot();
    const store = new ImageStore(root);
    await addToStore(store, 'hello:1', hello);
    const e = env(root);
    expect((await nsx(['tag', 'hello:1', `${reg.host}/hello:2`], { env: e })).code).toBe(0);

    const images = (await nsx(['images'], { env: e })).stdout.trimEnd().split('\n');
    expect(images).toHaveLength(3);
    const id = hello.configBlob.digest.slice(7, 19);
    expect(images.slice(1).every((l) => l.includes(id))).toBe(true);

    const inspect = await nsx(['image', 'inspect', 'hello:1'], { env: e });
    const doc = JSON.parse(inspect.stdout)[0];
    expect(doc.Id).toBe(hello.configBlob.digest);
    expect(doc.RepoTags.sort()).toEqual([`${reg.host}/hello:2`, 'hello:1'].sort());
    expect(doc.Os).toBe('linux');
    expect(doc.RootFS).toEqual({ Type: 'layers', Layers: hello.layers.map((l) => l.diffId) });
    expect(doc.Config.Cmd).toEqual(['/hello']);
    const missing = await nsx(['image', 'inspect', 'nope'], { env: e });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error: No such image: nope\n');

    // By id while named in two repositories: docker's conflict, then -f.
    const conflict = await nsx(['rmi', id], { env: e });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain(
      `conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories`,
    );
    expect((await nsx(['rmi', 'hello:1'], { env: e })).stdout).toBe('Untagged: hello:1\n');
    const gone = await nsx(['rmi', `${reg.host}/hello:2`], { env: e });
    expect(gone.stdout.split('\n')).toEqual(
      expect.arrayContaining([`Untagged: ${reg.host}/hello:2`, `Deleted: ${hello.configBlob.digest}`]),
    );
    expect(listing(join(root, 'images', 'blobs'))).toEqual([]);
    const none = await nsx(['rmi', 'hello:1'], { env: e });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Error response from daemon: No such image: hello:1');
  });
});
