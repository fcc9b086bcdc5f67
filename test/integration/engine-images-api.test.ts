// The engine's image endpoints against a registry on loopback (test/fake-registry.ts): GET
// /images/json, POST /images/create streaming docker's progress lines, GET /images/{name}/json, and
// DELETE /images/{name} (409 while one of the engine's containers uses the image, 404 unknown).
// The engine's store is a temp dir; nothing goes further than 127.0.0.1.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainIds } from '../../src/image/store.js';
import { TestEngine } from '../engine.js';
import { startFakeRegistry, type FakeRegistry } from '../fake-registry.js';
import { buildImage } from '../image-fixture.js';
import { isRoot, itRoot, nsx } from '../helpers.js';

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

describe("the engine's image endpoints", () => {
  const engine = new TestEngine();
  const store = join(engine.dir, 'nsx-root');
  const env = {
    NSX_ROOT: store,
    NSX_REGISTRIES_CONFIG: join(store, 'registries.json'),
    DOCKER_CONFIG: join(engine.dir, 'docker'),
  };
  // Random bytes: a layer gzip cannot shrink, so its download is counted in bytes.
  const image = buildImage({
    layers: [{ 'bin/sh': '#!/bin/false\n' }, { 'data.bin': randomBytes(300_000) }],
    cmd: ['/bin/sh'],
  });
  const broken = buildImage({ layers: [{ 'other.txt': 'never stored\n' }] });
  let reg: FakeRegistry;
  let name = '';

  beforeAll(async () => {
    if (!isRoot) return;
    reg = await startFakeRegistry();
    reg.add('team/hello', 'v1', image);
    reg.add('team/broken', 'latest', broken);
    reg.intercept = (req, res) => {
      if (!req.url?.endsWith(`/blobs/${broken.layers[0].digest}`)) return false;
      const wrong = Buffer.from('not the layer the manifest names');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wrong.length }).end(wrong);
      return true;
    };
    name = `${reg.host}/team/hello`;
    mkdirSync(store, { recursive: true });
    chmodSync(store, 0o755);
    writeFileSync(env.NSX_REGISTRIES_CONFIG, JSON.stringify({ unqualifiedSearchRegistries: [reg.host], insecure: [] }));
    Object.assign(process.env, env); // the engine inherits them
    await engine.start();
  }, 60000);
  afterAll(async () => {
    await engine.stop();
    await reg?.close();
    for (const k of Object.keys(env)) delete process.env[k];
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot('an empty store lists nothing', async () => {
    const r = await engine.api('GET', '/images/json');
    expect(r.status).toBe(200);
    expect(r.body).toEqual([]);
  });

  itRoot("POST /images/create streams docker's progress and ends with the Status line", async () => {
    const r = await engine.api('POST', `/images/create?fromImage=${encodeURIComponent(name)}&tag=v1`);
    expect(r.status).toBe(200);
    const got = lines(r.text);
    expect(got[0]).toEqual({ status: 'Pulling from team/hello', id: 'v1' });
    const big = image.layers[1].digest.slice(7, 19);
    const ofBig = got.filter((l) => l.id === big).map((l) => l.status);
    expect(ofBig[0]).toBe('Pulling fs layer');
    expect(ofBig).toEqual(expect.arrayContaining(['Downloading', 'Download complete', 'Extracting', 'Pull complete']));
    const last = got.filter((l) => l.id === big && l.status === 'Downloading').pop()!;
    expect(last.progressDetail).toEqual({ current: image.layers[1].size, total: image.layers[1].size });
    expect(last.progress).toMatch(/^\[=+>\] +\d/);
    expect(got.slice(-2)).toEqual([
      { status: `Digest: ${image.manifestDigest}` },
      { status: `Status: Downloaded newer image for ${name}:v1` },
    ]);
    expect(r.text.endsWith('\r\n')).toBe(true); // docker's stream ends each line with CRLF

    const again = lines(
      (await engine.api('POST', `/images/create?fromImage=${encodeURIComponent(`${name}:v1`)}`)).text,
    );
    expect(again[again.length - 1]).toEqual({ status: `Status: Image is up to date for ${name}:v1` });
  });

  itRoot("GET /images/json after the pull: docker's ImageSummary", async () => {
    const r = await engine.api('GET', '/images/json');
    expect(r.body).toEqual([
      {
        Id: image.configBlob.digest,
        ParentId: '',
        RepoTags: [`${name}:v1`],
        RepoDigests: [`${name}@${image.manifestDigest}`],
        Created: Date.parse('2024-01-02T03:04:05Z') / 1000,
        Size: image.configBlob.size + image.layers.reduce((n, l) => n + l.size, 0),
        SharedSize: -1,
        Labels: null,
        Containers: -1,
      },
    ]);
  });

  itRoot('an unknown image: docker\'s 404 {"message"} before any line; nothing stored', async () => {
    const r = await engine.api(
      'POST',
      `/images/create?fromImage=${encodeURIComponent(`${reg.host}/team/nope`)}&tag=latest`,
    );
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/^repository .*team\/nope not found/);
    expect(r.body.message).not.toMatch(/^Error response from daemon/); // the client adds it
    expect((await engine.api('GET', '/images/json')).body).toHaveLength(1);
    expect((await engine.api('POST', '/images/create?fromImage=Not_Lowercase')).status).toBe(400);
    expect((await engine.api('POST', '/images/create')).status).toBe(400);
  });

  itRoot("a failure once the stream has begun: docker's errorDetail line, the store as before", async () => {
    const r = await engine.api('POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/team/broken`)}`);
    expect(r.status).toBe(200);
    const got = lines(r.text);
    expect(got[0]).toEqual({ status: 'Pulling from team/broken', id: 'latest' });
    const end = got[got.length - 1];
    expect(Object.keys(end).sort()).toEqual(['error', 'errorDetail']);
    expect(end.errorDetail).toEqual({ message: end.error });
    expect(end.error).toMatch(/verification failed|expected \d+|bytes/);
    expect((await engine.api('GET', '/images/json')).body.map((i: any) => i.RepoTags)).toEqual([[`${name}:v1`]]);
  });

  itRoot("GET /images/{name}/json is nsx image inspect's document; 404 for an unknown name", async () => {
    const r = await engine.api('GET', `/images/${name}:v1/json`);
    expect(r.status).toBe(200);
    const cli = await nsx(['image', 'inspect', `${name}:v1`], { env });
    expect(cli.code).toBe(0);
    expect(r.body).toEqual(JSON.parse(cli.stdout)[0]);
    expect(r.body).toEqual(expect.objectContaining({ Id: image.configBlob.digest, RepoTags: [`${name}:v1`] }));
    const byId = await engine.api('GET', `/images/${image.configBlob.digest.slice(7, 19)}/json`);
    expect(byId.body.Id).toBe(image.configBlob.digest);
    const none = await engine.api('GET', '/images/nsx-no/such/json');
    expect(none.status).toBe(404);
    expect(none.body.message).toBe('No such image: nsx-no/such:latest');
  });

  itRoot(
    'DELETE /images/{name}: 409 while a container uses it, untagged only with force, then deleted; 404 unknown',
    async () => {
      const c = await engine.api('POST', '/containers/create?name=user', { Image: `${name}:v1` });
      expect(c.status).toBe(201);
      const refused = await engine.api('DELETE', `/images/${name}:v1`);
      expect(refused.status).toBe(409);
      expect(refused.body.message).toBe(
        `conflict: unable to remove repository reference "${name}:v1" (must force) - container ${c.body.Id.slice(0, 12)} is using its referenced image ${image.configBlob.digest.slice(7, 19)}`,
      );

      // Forced: the name goes, the image stays (untagged) for its container, as docker does.
      const forced = await engine.api('DELETE', `/images/${name}:v1?force=1`);
      expect(forced.status).toBe(200);
      expect(forced.body).toEqual([{ Untagged: `${name}:v1` }]);
      expect((await engine.api('GET', '/images/json')).body).toEqual([
        expect.objectContaining({ Id: image.configBlob.digest, RepoTags: [], RepoDigests: [] }),
      ]);

      expect((await engine.api('DELETE', '/containers/user')).status).toBe(204);
      const deleted = await engine.api('DELETE', `/images/${image.configBlob.digest}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual([
        { Deleted: image.configBlob.digest },
        ...chainIds(image.layers.map((l) => l.diffId)).map((d) => ({ Deleted: d })),
      ]);
      expect((await engine.api('GET', '/images/json')).body).toEqual([]);

      const unknown = await engine.api('DELETE', '/images/nsx-no/such:1');
      expect(unknown.status).toBe(404);
      expect(unknown.body.message).toBe('No such image: nsx-no/such:1');
    },
  );
});
