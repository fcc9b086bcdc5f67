// Images through the engine: POST /containers/create {"Image": ...} runs an image from the store
// (docker's create does not pull either: 404 "No such image"), its Cmd and Env as docker applies
// them; the container's writable layer lives as long as the container and goes with nsx rm.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { demux } from '../engine.js';
import { ImageTestEngine } from '../image-engine.js';
import { isRoot, itRoot, nsx } from '../helpers.js';

const haveBusybox = existsSync('/bin/busybox');
const itImages = (haveBusybox ? itRoot : it.skip) as typeof it;

describe('images through the engine', () => {
  if (!haveBusybox)
    it.skip('[skipped: no /bin/busybox to build the sandbox images from; sudo apt-get install busybox-static]', () =>
      undefined);
  const engine = new ImageTestEngine();
  const store = engine.store;
  const containers = () => (existsSync(join(store, 'containers')) ? readdirSync(join(store, 'containers')) : []);

  beforeAll(async () => {
    if (!isRoot || !haveBusybox) return;
    await engine.startWithImages(); // the engine (and nsx) inherit NSX_ROOT and the registries
  }, 120000);
  afterAll(async () => {
    await engine.stopAndRemove();
  });

  itImages("runs the image's default command; its writable layer lasts until rm", async () => {
    const c = await engine.api('POST', '/containers/create?name=hello', { Image: 'dockerinaction/hello_world' });
    expect(c.status).toBe(201);
    expect(containers()).toEqual([c.body.Id]); // made at create, as docker's
    expect((await engine.api('POST', '/containers/hello/start')).status).toBe(204);
    expect((await engine.api('POST', '/containers/hello/wait')).body.StatusCode).toBe(0);
    expect(demux((await engine.api('GET', '/containers/hello/logs')).raw).stdout).toBe('hello world\n');
    const info = (await engine.api('GET', '/containers/hello/json')).body;
    expect(info).toEqual(
      expect.objectContaining({ Image: 'dockerinaction/hello_world', Path: 'echo', Args: ['hello world'] }),
    );
    expect(info.GraphDriver.Name).toMatch(/^(overlay2|copy)$/);
    const ps = await nsx(['ps', '-a'], { env: engine.env });
    expect(ps.stdout).toMatch(
      /dockerinaction\/hello_world +"echo 'hello world'"|dockerinaction\/hello_world +"echo hello world"/,
    );
    expect(containers()).toEqual([c.body.Id]);
    expect((await engine.api('DELETE', '/containers/hello')).status).toBe(204);
    expect(containers()).toEqual([]);
  });

  itImages("a Cmd replaces the image's; a file written survives a restart of the container", async () => {
    const c = await engine.api('POST', '/containers/create?name=keeper', {
      Image: 'busybox',
      Cmd: ['sh', '-c', 'cat /kept 2>/dev/null || echo none; echo was-here > /kept'],
    });
    expect(c.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      expect((await engine.api('POST', '/containers/keeper/start')).status).toBe(204);
      expect((await engine.api('POST', '/containers/keeper/wait')).body.StatusCode).toBe(0);
    }
    expect(demux((await engine.api('GET', '/containers/keeper/logs')).raw).stdout).toBe('none\nwas-here\n');
    expect((await engine.api('DELETE', '/containers/keeper')).status).toBe(204);
    expect(containers()).toEqual([]);
  });

  itImages("an image not in the store: 404, docker's words, nothing made", async () => {
    const r = await engine.api('POST', '/containers/create', { Image: 'nsx-no/such-image' });
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/^No such image: nsx-no\/such-image/);
    expect(containers()).toEqual([]);
    expect((await engine.api('GET', '/containers/json?all=1')).body).toEqual([]);
  });
});
