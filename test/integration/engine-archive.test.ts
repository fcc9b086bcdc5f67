// The engine's file and archive endpoints at the API (issue 12): GET /containers/{id}/changes (the
// overlay upper directory as docker's change list), HEAD/GET/PUT /containers/{id}/archive (docker cp,
// paths resolved inside the container's root), GET /containers/{id}/export, GET /images/get and POST
// /images/load (docker save and load). Real containers of the sandbox images on a real overlay.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { layoutName } from '../../src/image/build.js';
import { ImageTestEngine } from '../image-engine.js';
import { TEST_ROOTFS, isRoot, itRoot } from '../helpers.js';
import { makeTar, sha256, type TarEntry } from '../tars.js';

const haveBusybox = existsSync('/bin/busybox');
const itImages = (haveBusybox ? itRoot : it.skip) as typeof it;
if (!haveBusybox) console.log('engine-archive.test.ts: skipped: no /bin/busybox to build the sandbox images from');

const engine = new ImageTestEngine();
const store = engine.store;

/** A request with a raw body; the raw answer and its headers. */
function raw(
  method: string,
  path: string,
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; data: Buffer; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: engine.socket, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        let json: any;
        try {
          json = JSON.parse(data.toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, data, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Entry {
  name: string;
  type: string;
  linkname: string | null;
  body: Buffer;
}

async function entriesOf(tar: Buffer): Promise<Entry[]> {
  const x = extract();
  const out: Entry[] = [];
  const done = (async () => {
    for await (const e of x) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      out.push({ name: e.header.name, type: e.header.type, linkname: e.header.linkname, body: Buffer.concat(chunks) });
    }
  })();
  x.end(tar);
  await done;
  return out;
}

const statOf = (h: Record<string, unknown>) =>
  JSON.parse(Buffer.from(String(h['x-docker-container-path-stat']), 'base64').toString('utf8'));

const upperOf = async (id: string): Promise<string> =>
  (await engine.api('GET', `/containers/${id}/json`)).body.GraphDriver.Data.UpperDir;

/** A busybox container that makes its changes, then sleeps. */
async function changed(name: string, script: string): Promise<string> {
  const c = await engine.api('POST', `/containers/create?name=${name}`, {
    Image: 'busybox',
    Cmd: ['sh', '-c', `${script}; touch /ready; sleep 1000`],
  });
  if (c.status !== 201) throw new Error(`create: ${c.status} ${c.text}`);
  expect((await engine.api('POST', `/containers/${c.body.Id}/start`)).status).toBe(204);
  const upper = await upperOf(c.body.Id);
  for (let i = 0; i < 100 && !existsSync(join(upper, 'ready')); i++) await new Promise((r) => setTimeout(r, 50));
  return c.body.Id;
}

const mounted = () => readFileSync('/proc/mounts', 'utf8').includes(join(store, 'containers'));

describe('file and archive endpoints', () => {
  beforeAll(async () => {
    if (!isRoot || !haveBusybox) return;
    await engine.startWithImages(); // the engine (and nsx) inherit NSX_ROOT and the registries
  }, 120000);
  afterAll(async () => {
    await engine.stopAndRemove();
  });

  itImages('GET …/changes: the upper directory as A/C/D, whiteouts and opaque directories included', async () => {
    const id = await changed(
      'arch-diff',
      'echo x >> /etc/passwd; rm /bin/vi; mkdir /d; echo f > /d/f; rm -r /usr/sbin; mkdir /usr/sbin; touch /usr/sbin/new',
    );
    const r = await engine.api('GET', `/containers/${id}/changes`);
    expect(r.status).toBe(200);
    const list = (r.body as { Path: string; Kind: number }[]).filter((c) => c.Path !== '/ready');
    expect(list).toEqual([
      { Path: '/bin', Kind: 0 },
      { Path: '/bin/vi', Kind: 2 },
      { Path: '/d', Kind: 1 },
      { Path: '/d/f', Kind: 1 },
      { Path: '/etc/passwd', Kind: 0 },
      { Path: '/usr', Kind: 0 },
      { Path: '/usr/sbin', Kind: 2 }, // opaque: moby's overlay2 reports the directory deleted
      { Path: '/usr/sbin/new', Kind: 1 },
    ]);
    // The kernel's own marks: a whiteout is a character device 0/0 in the upper directory.
    const vi = lstatSync(join(await upperOf(id), 'bin', 'vi'));
    expect([vi.isCharacterDevice(), vi.rdev]).toEqual([true, 0]);
    expect((await engine.api('DELETE', `/containers/${id}?force=1`)).status).toBe(204);
  });

  itImages('GET …/changes of a --rootfs container: 409 and why (no lower layer to compare with)', async () => {
    const id = await engine.run(TEST_ROOTFS, ['/bin/true'], 'arch-rootfs');
    const r = await engine.api('GET', `/containers/${id}/changes`);
    expect(r.status).toBe(409);
    expect(r.body.message).toContain('--rootfs');
    expect((await engine.api('GET', '/containers/nope/changes')).status).toBe(404);
    await engine.api('DELETE', `/containers/${id}?force=1`);
  });

  itImages('HEAD and GET …/archive: the stat header and a tar, paths resolved inside the root', async () => {
    const id = await changed('arch-get', `ln -s / /root/evil; ln -s ../../../../../../etc /root/up`);
    const head = await raw('HEAD', `/containers/${id}/archive?path=/etc/passwd`);
    expect(head.status).toBe(200);
    const st = statOf(head.headers);
    expect(st).toEqual(expect.objectContaining({ name: 'passwd', mode: 0o644, linkTarget: '' }));
    const link = statOf((await raw('HEAD', `/containers/${id}/archive?path=/bin/sh`)).headers);
    expect(link.linkTarget).toBe('/bin/busybox');
    expect(link.mode).toBe(2 ** 27 + 0o777); // Go's os.ModeSymlink | 0777
    expect((await raw('HEAD', `/containers/${id}/archive?path=/nope`)).status).toBe(404);

    const file = await raw('GET', `/containers/${id}/archive?path=/root/evil/etc/passwd`);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('application/x-tar');
    const [pw] = await entriesOf(file.data);
    expect(pw.name).toBe('passwd');
    expect(pw.body.toString()).toContain('learner:x:1000'); // the image's, not the host's
    expect(pw.body.toString()).not.toBe(readFileSync('/etc/passwd', 'utf8'));
    const up = await entriesOf((await raw('GET', `/containers/${id}/archive?path=/root/up/passwd`)).data);
    expect(up[0].body.toString()).toContain('learner:x:1000');

    const dir = (await entriesOf((await raw('GET', `/containers/${id}/archive?path=/etc`)).data)).map((e) => e.name);
    expect(dir).toEqual(['etc/', 'etc/group', 'etc/passwd']);
    const contents = (await entriesOf((await raw('GET', `/containers/${id}/archive?path=/etc/.`)).data)).map(
      (e) => e.name,
    );
    expect(contents).toEqual(['./', './group', './passwd']);
    await engine.api('DELETE', `/containers/${id}?force=1`);
  });

  itImages('PUT …/archive: a tar with a symlink out and a file through it lands in the container', async () => {
    const id = await changed('arch-put', `ln -s / /root/evil`);
    const name = `nsx-archive-escape-${process.pid}`;
    const attack: TarEntry[] = [
      { name: 'out', type: 'symlink', linkname: '/' },
      { name: `out/${name}`, body: 'escaped?\n' },
    ];
    // Into the container's /root/evil (a symlink to its own /): both land in the container.
    const put = await raw(
      'PUT',
      `/containers/${id}/archive?path=/root/evil/tmp&noOverwriteDirNonDir=true`,
      await makeTar(attack),
    );
    expect(put.status).toBe(200);
    expect(existsSync(`/${name}`)).toBe(false);
    expect(existsSync(`/tmp/${name}`)).toBe(false);
    const back = await entriesOf((await raw('GET', `/containers/${id}/archive?path=/${name}`)).data);
    expect(back[0].body.toString()).toBe('escaped?\n');
    expect(existsSync(join(await upperOf(id), name))).toBe(true); // its writable layer

    const refused = await raw(
      'PUT',
      `/containers/${id}/archive?path=/tmp`,
      await makeTar([{ name: '../../x', body: 'x' }]),
    );
    expect(refused.status).toBe(400);
    expect(refused.json.message).toContain('outside of');
    const notDir = await raw(
      'PUT',
      `/containers/${id}/archive?path=/etc/passwd`,
      await makeTar([{ name: 'x', body: 'x' }]),
    );
    expect([notDir.status, notDir.json.message]).toEqual([400, 'extraction point is not a directory']);
    const garbage = await raw('PUT', `/containers/${id}/archive?path=/tmp`, Buffer.from('not a tar at all'));
    expect(garbage.status).toBe(400);
    await engine.api('DELETE', `/containers/${id}?force=1`);
  });

  itImages('a stopped container: its overlay mounted for the copy, and unmounted after', async () => {
    const id = await changed('arch-stopped', 'echo mine > /mine');
    expect((await engine.api('POST', `/containers/${id}/stop?t=1`)).status).toBe(204);
    const got = await entriesOf((await raw('GET', `/containers/${id}/archive?path=/mine`)).data);
    expect(got[0].body.toString()).toBe('mine\n');
    const put = await raw('PUT', `/containers/${id}/archive?path=/`, await makeTar([{ name: 'added', body: 'in\n' }]));
    expect(put.status).toBe(200);
    expect(readFileSync(join(await upperOf(id), 'added'), 'utf8')).toBe('in\n');
    expect(mounted()).toBe(false);
    const changes = (await engine.api('GET', `/containers/${id}/changes`)).body as { Path: string }[];
    expect(changes.map((c) => c.Path)).toEqual(expect.arrayContaining(['/added', '/mine']));
    const exported = (await entriesOf((await raw('GET', `/containers/${id}/export`)).data)).map((e) => e.name);
    expect(exported).toEqual(expect.arrayContaining(['bin/busybox', 'etc/passwd', 'added', 'mine']));
    expect(mounted()).toBe(false);
    await engine.api('DELETE', `/containers/${id}`);
  });

  itImages('GET …/export of a running container: its own files, not what is mounted on /proc', async () => {
    const id = await changed('arch-export', 'echo e > /exported');
    const r = await raw('GET', `/containers/${id}/export`);
    expect(r.status).toBe(200);
    const names = (await entriesOf(r.data)).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['bin/busybox', 'etc/passwd', 'exported', 'proc/']));
    expect(names.filter((n) => n.startsWith('proc/') && n !== 'proc/')).toEqual([]);
    expect(names.some((n) => n.startsWith('/') || n.startsWith('./'))).toBe(false);
    await engine.api('DELETE', `/containers/${id}?force=1`);
  });

  itImages('GET /images/get and POST /images/load: docker tar round trip, digests checked', async () => {
    const r = await raw('GET', '/images/get?names=nsx-sandbox/server:1');
    expect(r.status).toBe(200);
    const entries = await entriesOf(r.data);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const manifest = JSON.parse(byName.get('manifest.json')!.body.toString());
    expect(manifest).toEqual([
      expect.objectContaining({ RepoTags: ['nsx-sandbox/server:1'], Layers: [expect.any(String), expect.any(String)] }),
    ]);
    const index = JSON.parse(byName.get('index.json')!.body.toString());
    expect(index.manifests[0].annotations['io.containerd.image.name']).toBe('docker.io/nsx-sandbox/server:1');
    expect(JSON.parse(byName.get('oci-layout')!.body.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    for (const e of entries.filter((x) => x.type === 'file' && x.name.startsWith('blobs/sha256/')))
      expect(sha256(e.body)).toBe(`sha256:${e.name.slice('blobs/sha256/'.length)}`);
    expect((await raw('GET', '/images/get?names=nope:1')).status).toBe(404);

    expect((await engine.api('DELETE', '/images/nsx-sandbox/server:1')).status).toBe(200);
    const loaded = await raw('POST', '/images/load?quiet=1', r.data);
    expect(loaded.status).toBe(200);
    expect(loaded.data.toString()).toBe(JSON.stringify({ stream: 'Loaded image: nsx-sandbox/server:1\n' }) + '\r\n');
    expect((await engine.api('GET', '/images/nsx-sandbox/server:1/json')).status).toBe(200);

    // A layer whose bytes are not its digest: refused, and nothing of it stays.
    const layer = manifest[0].Layers[1] as string;
    const bad = await makeTar(
      entries.map((e) => ({
        name: e.name,
        type: e.type as TarEntry['type'],
        ...(e.type === 'file' ? { body: e.name === layer ? Buffer.concat([e.body, Buffer.from('x')]) : e.body } : {}),
      })),
    );
    const corrupt = await raw('POST', '/images/load', bad);
    expect(corrupt.status).toBe(400);
    expect(corrupt.json.message).toContain(`${layer} in the archive is corrupt`);
    const garbage = await raw('POST', '/images/load', Buffer.from('garbage'));
    expect(garbage.status).toBe(400);
    expect(garbage.json.message).toContain('docker load reads what docker save writes');
  });

  itImages(
    "POST /images/load: docker's older tar and a bare OCI layout; a layer writing outside itself is refused",
    async () => {
      const saved = await entriesOf((await raw('GET', '/images/get?names=busybox')).data);
      const blob = (path: string) => saved.find((e) => e.name === path)!.body;
      const [m] = JSON.parse(blob('manifest.json').toString());
      // docker before 25: <id>.json, <id>/layer.tar (uncompressed), manifest.json; no index.json.
      const legacy = (layer: Buffer, tag: string) =>
        makeTar([
          { name: 'cfg.json', body: blob(m.Config) },
          { name: 'l0/', type: 'directory' },
          { name: 'l0/layer.tar', body: layer },
          {
            name: 'manifest.json',
            body: JSON.stringify([{ Config: 'cfg.json', RepoTags: [tag], Layers: ['l0/layer.tar'] }]),
          },
        ]);
      const old = await raw('POST', '/images/load', await legacy(gunzipSync(blob(m.Layers[0])), 'legacy/app:1'));
      expect([old.status, old.data.toString()]).toEqual([
        200,
        JSON.stringify({ stream: 'Loaded image: legacy/app:1\n' }) + '\r\n',
      ]);
      expect((await engine.api('GET', '/images/legacy/app:1/json')).body.RootFS.Layers).toEqual(
        (await engine.api('GET', '/images/busybox/json')).body.RootFS.Layers,
      );

      // A bare OCI image layout, as build.ts writes the sandbox's (its name in nsx's annotation).
      const dir = join(engine.dir, 'oci', layoutName('dockerinaction/hello_world'));
      const layout = await makeTar(
        ['oci-layout', 'index.json', ...readdirSync(join(dir, 'blobs', 'sha256')).map((h) => `blobs/sha256/${h}`)].map(
          (name) => ({ name, body: readFileSync(join(dir, name)) }),
        ),
      );
      const oci = await raw('POST', '/images/load', layout);
      expect(oci.data.toString()).toContain('Loaded image: dockerinaction/hello_world:latest');

      // A layer whose entry climbs out: refused as a pull refuses it, and no image of that name.
      const evil = await makeTar([{ name: '../../escaped', body: 'x' }]);
      const cfg = JSON.parse(blob(m.Config).toString());
      cfg.rootfs.diff_ids = [sha256(evil)];
      const bad = await makeTar([
        { name: 'cfg.json', body: JSON.stringify(cfg) },
        { name: 'evil.tar', body: evil },
        {
          name: 'manifest.json',
          body: JSON.stringify([{ Config: 'cfg.json', RepoTags: ['evil/app:1'], Layers: ['evil.tar'] }]),
        },
      ]);
      const refused = await raw('POST', '/images/load', bad);
      expect(refused.status).toBe(400);
      expect(refused.json.message).toMatch(/\.\./);
      expect((await engine.api('GET', '/images/evil/app:1/json')).status).toBe(404);
      expect(existsSync(join(store, 'escaped'))).toBe(false);
    },
  );
});
