// When the engine cannot write its own state file (a full disk, a read-only one) the request fails
// with the real errno in docker's error shape, what it prepared is removed, and what the engine
// answers (ps) agrees with the file on disk. The disks are real: a tmpfs of its own for the state
// directory (filled to get ENOSPC), remounted read-only (EROFS).
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_FILE } from '../../src/engine/state.js';
import { TestEngine } from '../engine.js';
import { isRoot, itRoot, TEST_ROOTFS } from '../helpers.js';

describe("the engine's own writes fail", () => {
  const engine = new TestEngine();
  const filler = join(engine.state, 'filler');
  let mounted = false;

  beforeAll(async () => {
    if (!isRoot) return;
    mkdirSync(engine.state, { recursive: true, mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'nsx-test-state', engine.state]);
    mounted = true;
    await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    if (mounted) execFileSync('umount', [engine.state]);
    rmSync(engine.dir, { recursive: true, force: true });
  });

  const ids = async () =>
    ((await engine.api('GET', '/containers/json?all=1')).body as { Id: string }[]).map((c) => c.Id);
  const onDisk = () =>
    (
      JSON.parse(readFileSync(join(engine.state, STATE_FILE), 'utf8')) as { containers: { Id: string }[] }
    ).containers.map((c) => c.Id);
  const dirs = () => readdirSync(join(engine.state, 'containers')).sort();

  itRoot('a full disk (ENOSPC): create fails naming the file and the errno, and leaves nothing', async () => {
    const before = { ids: await ids(), disk: onDisk(), dirs: dirs() };
    // Fill the tmpfs: dd stops at ENOSPC (exit status 1), every page taken.
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
    } catch {
      /* No space left on device: what we want */
    }
    try {
      const c = await engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
      expect(c.status).toBe(500);
      expect(c.body.message).toContain(join(engine.state, STATE_FILE));
      expect(c.body.message).toMatch(/ENOSPC/);
      expect(c.body.message).not.toMatch(/a bug in namespace-explorer| {4}at /);
      expect(await ids()).toEqual(before.ids); // memory...
      expect(onDisk()).toEqual(before.disk); // ...and disk agree: no such container
      expect(dirs()).toEqual(before.dirs); // its directory is gone
      expect(readdirSync(engine.state).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      rmSync(filler, { force: true });
    }
    // With space again, the same request works.
    const c = await engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
    expect(c.status).toBe(201);
    expect(onDisk()).toContain(c.body.Id);
    expect((await engine.api('DELETE', `/containers/${c.body.Id}`)).status).toBe(204);
  });

  itRoot('a read-only disk (EROFS): create and rm fail with the errno; rm keeps the container whole', async () => {
    const c = await engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
    expect(c.status).toBe(201);
    const before = { ids: await ids(), disk: onDisk(), dirs: dirs() };
    execFileSync('mount', ['-o', 'remount,ro', engine.state]);
    try {
      const made = await engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
      expect(made.status).toBe(500);
      expect(made.body.message).toMatch(/EROFS/);
      const rm = await engine.api('DELETE', `/containers/${c.body.Id}`);
      expect(rm.status).toBe(500);
      expect(rm.body.message).toContain(join(engine.state, STATE_FILE));
      expect(rm.body.message).toMatch(/EROFS/);
      expect(await ids()).toEqual(before.ids);
      expect(onDisk()).toEqual(before.disk);
      expect(dirs()).toEqual(before.dirs);
      expect(existsSync(join(engine.state, 'containers', c.body.Id))).toBe(true);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', engine.state]);
    }
    expect((await engine.api('DELETE', `/containers/${c.body.Id}`)).status).toBe(204);
    expect(onDisk()).not.toContain(c.body.Id);
  });
});
