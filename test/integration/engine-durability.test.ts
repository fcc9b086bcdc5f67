// Which of the engine's state saves are fsync'd (src/engine/durability.ts), seen from the kernel:
// strace follows a running nsxd through a container's life (create, start, exit, rename, rm). Every
// save renames the state file over the old one; on ext4 with auto_da_alloc (or tmpfs) only the saves
// that change what must survive a power loss fsync first (create, rename, rm), not the running and
// exited ones. On an ext4 mounted noauto_da_alloc (a loop device of the test's own) every save does.
import { afterAll, describe, expect } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { renameOrder } from '../../src/engine/durability.js';
import { TestEngine } from '../engine.js';
import { itRoot, TEST_ROOTFS } from '../helpers.js';

/** The fsync(2)s of nsxd's state file and its renames onto containers.json during `work`. */
async function tracedSaves(
  engine: TestEngine,
  work: () => Promise<void>,
): Promise<{ fsyncs: number; renames: number }> {
  const out = join(engine.dir, 'strace.out');
  const strace = spawn(
    'strace',
    ['-f', '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2', '-o', out, '-p', String(engine.process!.pid)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  strace.stderr!.on('data', (d) => (err += d));
  for (let i = 0; i < 100 && !/attached/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
  expect(err).toMatch(/attached/);
  try {
    await work();
  } finally {
    const gone = new Promise((r) => strace.once('exit', r));
    strace.kill('SIGINT');
    await gone;
  }
  const lines = readFileSync(out, 'utf8').split('\n');
  const renames = lines.filter((l) => /rename\w*\(.*containers\.json\.\d+\.tmp.*containers\.json"/.test(l)).length;
  return { fsyncs: lines.filter((l) => /\b(fsync|fdatasync)\(/.test(l)).length, renames };
}

/** A container's life through the engine, with a rename (a change of its configuration) in it. */
async function life(engine: TestEngine): Promise<void> {
  const id = await engine.run(TEST_ROOTFS, ['/bin/true']);
  expect((await engine.api('POST', `/containers/${id}/wait`)).body.StatusCode).toBe(0);
  expect((await engine.api('POST', `/containers/${id}/rename?name=durable-${process.pid}`)).status).toBe(204);
  expect((await engine.api('DELETE', `/containers/${id}`)).status).toBe(204);
}

describe("the engine's state saves and fsync(2)", () => {
  const engines: TestEngine[] = [];
  let loop: string | undefined;
  afterAll(async () => {
    for (const e of engines) await e.stop();
    if (loop) execFileSync('umount', [loop]);
    for (const e of engines) rmSync(e.dir, { recursive: true, force: true });
  });

  itRoot(
    'runtime state alone (running, exited) is renamed into place without an fsync where ext4 allows it',
    async () => {
      const engine = new TestEngine();
      engines.push(engine);
      await engine.start();
      const order = renameOrder(engine.state);
      const saves = await tracedSaves(engine, () => life(engine));
      expect(saves.renames).toBe(5); // create, running, exited, rename, rm
      // On this machine's filesystem for /tmp: ext4 (auto_da_alloc) or tmpfs skip two; anything else fsyncs all.
      expect(saves.fsyncs).toBe(order.ordered ? 3 : 5);
      if (!order.ordered) console.log(`skipped in part: ${order.why}`);
    },
  );

  itRoot('every save is fsync’d on an ext4 mounted noauto_da_alloc', async () => {
    const engine = new TestEngine();
    engines.push(engine);
    const image = join(engine.dir, 'state.img');
    execFileSync('truncate', ['-s', '16M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    mkdirSync(engine.state, { mode: 0o700 });
    execFileSync('mount', ['-o', 'loop,noauto_da_alloc', image, engine.state]);
    loop = engine.state;
    expect(renameOrder(engine.state)).toEqual(expect.objectContaining({ ordered: false }));
    await engine.start();
    const saves = await tracedSaves(engine, () => life(engine));
    expect(saves.renames).toBe(5);
    expect(saves.fsyncs).toBe(5);
    expect(existsSync(join(engine.state, 'containers.json'))).toBe(true);
  });
});
