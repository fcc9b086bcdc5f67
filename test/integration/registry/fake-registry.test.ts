// The Bearer token flow and registries that misbehave, against a registry written in the test
// (test/fake-registry.ts) on loopback. Every failure: a clear error, and the store exactly as before.
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsx } from '../../helpers.js';
import { addToStore, buildImage, listing, sha } from '../../image-fixture.js';
import { startFakeRegistry, type FakeRegistry } from '../../fake-registry.js';
import { ImageStore } from '../../../src/image/store.js';
import { pull, type PullOptions } from '../../../src/image/pull.js';
import { MediaType } from '../../../src/image/types.js';

const temps: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'nsx-fake-'));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const image = buildImage({
  layers: [{ 'a.txt': 'layer one\n' }, { 'b.txt': 'layer two, a little longer than the first\n'.repeat(50) }],
});
const noCreds = () => undefined;

/** A store that already holds one image, so "unchanged" means something. */
async function populatedStore(): Promise<ImageStore> {
  const store = new ImageStore(tempDir(), { searchRegistries: ['docker.io'] });
  await addToStore(store, 'already/here:1', buildImage({ layers: [{ 'keep.txt': 'keep' }] }));
  return store;
}

describe('the Bearer token flow (as Docker Hub does it)', () => {
  let reg: FakeRegistry;
  afterEach(async () => reg?.close());

  it('anonymous: 401 with WWW-Authenticate, a token from the realm for the scope, then the pull', async () => {
    reg = await startFakeRegistry({ auth: 'bearer', anonymousPull: true });
    reg.add('library/hello', 'latest', image);
    const store = new ImageStore(tempDir());
    const r = await pull(`${reg.host}/library/hello`, {
      store,
      credentials: noCreds,
      registries: { unqualifiedSearchRegistries: [], insecure: [] },
    });
    expect(r.image.manifestDigest).toBe(image.manifestDigest);
    const token = reg.requests.find((q) => q.url.startsWith('/token'))!;
    const u = new URL(token.url, 'http://x');
    expect(u.searchParams.get('service')).toBe('fake-registry');
    expect(u.searchParams.getAll('scope')).toEqual(['repository:library/hello:pull']);
    expect(token.authorization).toBeUndefined();
    // One token for the whole pull: every request after the first 401 carries it.
    expect(reg.requests.filter((q) => q.url.startsWith('/token'))).toHaveLength(1);
    expect(
      reg.requests
        .filter((q) => q.url.startsWith('/v2/library/hello/blobs/'))
        .every((q) => q.authorization?.startsWith('Bearer tok-')),
    ).toBe(true);
  });

  it("private repository: credentials from docker's config.json go to the token server, Basic", async () => {
    reg = await startFakeRegistry({ auth: 'bearer', users: { alice: 's3cret' } });
    reg.add('alice/private', 'v1', image);
    const dockerConfig = tempDir();
    writeFileSync(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
    );
    const root = tempDir();
    const r = await nsx(['pull', `${reg.host}/alice/private:v1`], {
      env: { NSX_ROOT: root, DOCKER_CONFIG: dockerConfig, NSX_REGISTRIES_CONFIG: join(root, 'none.json') },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const token = reg.requests.find((q) => q.url.startsWith('/token'))!;
    expect(token.authorization).toBe('Basic ' + Buffer.from('alice:s3cret').toString('base64'));
    // The registry itself never sees the password.
    expect(reg.requests.filter((q) => q.url.startsWith('/v2/')).some((q) => q.authorization?.startsWith('Basic'))).toBe(
      false,
    );
  });

  it('no credentials for a private repository: docker\'s "pull access denied", store unchanged', async () => {
    reg = await startFakeRegistry({ auth: 'bearer', users: { alice: 's3cret' } });
    reg.add('alice/private', 'v1', image);
    const store = await populatedStore();
    const before = listing(store.root);
    await expect(pull(`${reg.host}/alice/private:v1`, { store, credentials: noCreds })).rejects.toThrow(
      `Error response from daemon: pull access denied for ${reg.host}/alice/private, repository does not exist or may require 'docker login': unauthorized: authentication required`,
    );
    expect(listing(store.root)).toEqual(before);
  });

  it("wrong credentials: the token server's refusal, store unchanged", async () => {
    reg = await startFakeRegistry({ auth: 'bearer', users: { alice: 's3cret' } });
    reg.add('alice/private', 'v1', image);
    const store = await populatedStore();
    const before = listing(store.root);
    await expect(
      pull(`${reg.host}/alice/private:v1`, { store, credentials: () => ({ username: 'alice', password: 'wrong' }) }),
    ).rejects.toThrow('unauthorized: incorrect username or password');
    expect(listing(store.root)).toEqual(before);
  });

  it('Basic auth registries get the credentials directly', async () => {
    reg = await startFakeRegistry({ auth: 'basic', users: { bob: 'pw' } });
    reg.add('bob/app', 'latest', image);
    const store = new ImageStore(tempDir());
    const r = await pull(`${reg.host}/bob/app`, { store, credentials: () => ({ username: 'bob', password: 'pw' }) });
    expect(r.image.configDigest).toBe(image.configBlob.digest);
  });
});

describe('registries that misbehave: a clear error, the store unchanged', () => {
  let reg: FakeRegistry;
  let store: ImageStore;
  let before: string[];
  beforeEach(async () => {
    reg = await startFakeRegistry();
    reg.add('bad/image', 'latest', image);
    store = await populatedStore();
    before = listing(store.root);
  });
  afterEach(async () => {
    await reg.close();
    // Nothing half-written anywhere: no temp files, no leases.
    expect(listing(store.root)).toEqual(before);
  });
  const opts = (extra: Partial<PullOptions> = {}): PullOptions => ({
    store,
    credentials: noCreds,
    timeoutMs: 800,
    ...extra,
  });
  const layer = image.layers[1];

  it('an unknown image (404)', async () => {
    await expect(pull(`${reg.host}/bad/image:nope`, opts())).rejects.toThrow(
      `Error response from daemon: manifest for ${reg.host}/bad/image:nope not found: manifest unknown: manifest unknown`,
    );
    await expect(pull(`${reg.host}/no/such`, opts())).rejects.toThrow(
      `Error response from daemon: repository ${reg.host}/no/such not found: name unknown: repository name not known to registry`,
    );
  });

  it('a blob whose content does not match its digest (same size)', async () => {
    const wrong = Buffer.from(layer.bytes);
    wrong[wrong.length - 1] ^= 0xff;
    reg.blobs.set(layer.digest, wrong);
    await expect(pull(`${reg.host}/bad/image`, opts())).rejects.toThrow(
      `filesystem layer verification failed for digest ${layer.digest}`,
    );
  });

  it('a blob longer than its descriptor says', async () => {
    reg.blobs.set(layer.digest, Buffer.concat([layer.bytes, Buffer.alloc(10)]));
    await expect(pull(`${reg.host}/bad/image`, opts())).rejects.toThrow(
      `more data than the ${layer.size} bytes its descriptor declares`,
    );
  });

  it('a server that closes the connection mid-blob', async () => {
    reg.intercept = (req, res) => {
      if (!req.url!.endsWith(layer.digest)) return false;
      res.writeHead(200, { 'content-length': layer.size, 'content-type': 'application/octet-stream' });
      res.write(layer.bytes.subarray(0, 100));
      setTimeout(() => res.socket?.destroy(), 50);
      return true;
    };
    await expect(pull(`${reg.host}/bad/image`, opts())).rejects.toThrow(
      `error pulling blob ${layer.digest} from ${reg.host}: the connection closed after 100 of ${layer.size} bytes`,
    );
  });

  it('a registry that hangs before answering, or in the middle of a blob: a timeout', async () => {
    reg.intercept = (req) => req.url!.includes('/manifests/'); // never answered
    const t0 = Date.now();
    await expect(pull(`${reg.host}/bad/image`, opts())).rejects.toThrow(
      `registry ${reg.host} did not answer within 0.8 s (GET /v2/bad/image/manifests/latest)`,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    reg.intercept = (req, res) => {
      if (!req.url!.endsWith(layer.digest)) return false;
      res.writeHead(200, { 'content-length': layer.size });
      res.write(layer.bytes.subarray(0, 10)); // then silence
      return true;
    };
    await expect(pull(`${reg.host}/bad/image`, opts())).rejects.toThrow(
      `did not answer within 0.8 s (GET /v2/bad/image/blobs/${layer.digest})`,
    );
  });

  it('unknown media types: a layer, a config (an artifact), a manifest', async () => {
    const manifest = JSON.parse(image.manifestBytes.toString());
    const variant = (f: (m: typeof manifest) => void) => {
      const m = JSON.parse(JSON.stringify(manifest));
      f(m);
      return Buffer.from(JSON.stringify(m));
    };
    reg.addManifest(
      'bad/layer',
      'latest',
      variant((m) => (m.layers[0].mediaType = 'application/vnd.example.unknown')),
      MediaType.ociManifest,
    );
    await expect(pull(`${reg.host}/bad/layer`, opts())).rejects.toThrow(
      `unsupported media type application/vnd.example.unknown for layer ${image.layers[0].digest}`,
    );
    reg.addManifest(
      'bad/config',
      'latest',
      variant((m) => (m.config.mediaType = 'application/vnd.cncf.helm.config.v1+json')),
      MediaType.ociManifest,
    );
    await expect(pull(`${reg.host}/bad/config`, opts())).rejects.toThrow(
      'unsupported media type application/vnd.cncf.helm.config.v1+json for the image config',
    );
    reg.addManifest('bad/manifest', 'latest', image.manifestBytes, 'application/vnd.example.manifest+json');
    await expect(pull(`${reg.host}/bad/manifest`, opts())).rejects.toThrow(
      'unsupported manifest media type application/vnd.example.manifest+json',
    );
  });

  it('a Docker schema 1 manifest: refused, saying why', async () => {
    reg.addManifest(
      'old/image',
      'latest',
      Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'old/image', tag: 'latest', fsLayers: [] })),
      MediaType.dockerSchema1Signed,
    );
    await expect(pull(`${reg.host}/old/image`, opts())).rejects.toThrow(
      'Docker Image manifest version 2, schema 1 is not supported',
    );
  });

  it('a manifest that is not what its digest or Docker-Content-Digest says', async () => {
    reg.intercept = (req, res) => {
      if (!req.url!.includes('/manifests/')) return false;
      res
        .writeHead(200, { 'content-type': image.mediaType, 'docker-content-digest': sha('something else') })
        .end(image.manifestBytes);
      return true;
    };
    await expect(pull(`${reg.host}/bad/image`, opts())).rejects.toThrow(
      `says the digest is ${sha('something else')} but the content's digest is ${image.manifestDigest}`,
    );
    const other = 'sha256:' + '0'.repeat(64);
    await expect(pull(`${reg.host}/bad/image@${other}`, opts())).rejects.toThrow(
      `manifest verification failed for digest ${other}`,
    );
  });

  it('the CLI: one line naming the problem and exit 1, no stack trace', async () => {
    reg.blobs.set(layer.digest, Buffer.alloc(layer.size));
    const r = await nsx(['pull', `${reg.host}/bad/image`], {
      env: {
        NSX_ROOT: store.root,
        NSX_REGISTRIES_CONFIG: join(store.root, 'none.json'),
        NSX_REGISTRY_TIMEOUT_MS: '2000',
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `nsx: filesystem layer verification failed for digest ${layer.digest}: the content's digest is ${sha(Buffer.alloc(layer.size))}`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('shared layers', () => {
  it('a layer already in the store is not downloaded again ("Already exists")', async () => {
    const reg = await startFakeRegistry();
    try {
      const base = { 'etc/os-release': 'shared base\n' };
      const one = buildImage({ layers: [base, { 'one.txt': '1' }] });
      const two = buildImage({ layers: [base, { 'two.txt': '2' }] });
      reg.add('app/one', 'latest', one);
      reg.add('app/two', 'latest', two);
      const store = new ImageStore(tempDir());
      await pull(`${reg.host}/app/one`, { store, credentials: noCreds });
      const events: string[] = [];
      const seen = reg.requests.length;
      await pull(`${reg.host}/app/two`, {
        store,
        credentials: noCreds,
        onEvent: (e) => e.type === 'layer' && events.push(`${e.id}: ${e.status}`),
      });
      const id = (d: string) => d.slice(7, 19);
      expect(events).toContain(`${id(two.layers[0].digest)}: Already exists`);
      expect(events).toContain(`${id(two.layers[1].digest)}: Download complete`);
      const blobGets = reg.requests
        .slice(seen)
        .filter((q) => q.method === 'GET' && q.url.includes('/blobs/'))
        .map((q) => q.url.split('/').pop());
      expect(blobGets.sort()).toEqual([two.configBlob.digest, two.layers[1].digest].sort());
    } finally {
      await reg.close();
    }
  });
});

describe('redirects and unqualified names', () => {
  let reg: FakeRegistry;
  let other: FakeRegistry;
  let storage: Server;
  afterEach(async () => {
    await reg?.close();
    await other?.close();
    await new Promise<void>((r) => (storage ? storage.close(() => r()) : r()));
  });

  it("a blob redirected to another origin is fetched without the registry's Authorization", async () => {
    reg = await startFakeRegistry({ auth: 'bearer', anonymousPull: true });
    reg.add('r/x', 'latest', image);
    const seen: (string | undefined)[] = [];
    storage = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const d = req.url!.slice(1);
      const data = reg.blobs.get(d)!;
      res.writeHead(200, { 'content-length': data.length }).end(data);
    });
    // Another origin, still loopback: 127.0.0.2.
    await new Promise<void>((r) => storage.listen(0, '127.0.0.2', () => r()));
    const storageHost = `127.0.0.2:${(storage.address() as AddressInfo).port}`;
    reg.intercept = (req, res) => {
      const m = /\/blobs\/(sha256:[a-f0-9]+)$/.exec(req.url!);
      if (!m || !req.headers.authorization) return false;
      res.writeHead(307, { location: `http://${storageHost}/${m[1]}` }).end();
      return true;
    };
    const store = new ImageStore(tempDir());
    await pull(`${reg.host}/r/x`, { store, credentials: noCreds });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((a) => a === undefined)).toBe(true);
  });

  it('a token realm that redirects elsewhere: the credentials do not follow', async () => {
    reg = await startFakeRegistry({ auth: 'bearer', users: { alice: 's3cret' } });
    reg.add('alice/private', 'v1', image);
    const seen: (string | undefined)[] = [];
    // The realm answers with a redirect to another origin (127.0.0.2), which records what it got.
    storage = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'stolen' }));
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.2', () => r()));
    const elsewhere = `http://127.0.0.2:${(storage.address() as AddressInfo).port}/collect`;
    reg.intercept = (req, res) => {
      if (!req.url!.startsWith('/v2/alice')) return false;
      if (req.headers.authorization) return false;
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${reg.host}/redirect-token",service="fake-registry"`,
        })
        .end();
      return true;
    };
    const original = reg.intercept;
    reg.intercept = (req, res) => {
      if (req.url!.startsWith('/redirect-token')) {
        res.writeHead(307, { location: elsewhere }).end();
        return true;
      }
      return original(req, res);
    };
    const store = new ImageStore(tempDir());
    await expect(
      pull(`${reg.host}/alice/private:v1`, { store, credentials: () => ({ username: 'alice', password: 's3cret' }) }),
    ).rejects.toThrow();
    const toRealm = reg.requests.find((q) => q.url.startsWith('/redirect-token'));
    expect(toRealm?.authorization).toMatch(/^Basic /);
    expect(seen).toEqual([undefined]);
  });

  it('an unqualified name: the first search registry lacks it (404), the second has it', async () => {
    reg = await startFakeRegistry();
    other = await startFakeRegistry();
    other.add('team/app', 'latest', image);
    const store = new ImageStore(tempDir());
    const events: string[] = [];
    const r = await pull('team/app', {
      store,
      credentials: noCreds,
      registries: { unqualifiedSearchRegistries: [reg.host, other.host], insecure: [] },
      onEvent: (e) => e.type === 'resolving' && events.push(e.registry),
    });
    expect(events).toEqual([reg.host, other.host]);
    expect(r.ref).toBe(`${other.host}/team/app:latest`);
    // Both lack it: the last registry's error, with where it looked.
    await expect(
      pull('team/none', {
        store,
        credentials: noCreds,
        registries: { unqualifiedSearchRegistries: [reg.host, other.host], insecure: [] },
      }),
    ).rejects.toMatchObject({
      message: `Error response from daemon: repository ${other.host}/team/none not found: name unknown: repository name not known to registry`,
      info: { hint: expect.stringContaining(`Looked in, in order: ${reg.host} (`) },
    });
  });
});
