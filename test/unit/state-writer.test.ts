// The state file's writer (src/engine/state-writer.ts): the write at once, fsync and rename(2) off the
// main thread, in order, the newest save replacing one not yet begun; flushed() says when it is in place.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_FILE, StateWriteError, loadState, type ContainerRecord } from '../../src/engine/state.js';
import { StateWriter } from '../../src/engine/state-writer.js';

const record = (n: number) => ({ Id: String(n).padStart(64, '0'), Name: `c${n}` }) as ContainerRecord;
const state = (...ns: number[]) => ({ version: 1 as const, containers: ns.map(record) });
/** The discarded saves' temporary files go on the threadpool too: until they are gone. */
async function settledDir(dir: string): Promise<string[]> {
  for (let i = 0; i < 100 && readdirSync(dir).length > 1; i++) await new Promise((r) => setTimeout(r, 10));
  return readdirSync(dir);
}

describe('StateWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsx-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts a save in place by the time flushed() resolves, and leaves no temporary file', async () => {
    const w = new StateWriter(dir);
    expect(w.flushed()).toBeUndefined(); // nothing outstanding: a reply need not wait
    w.save(state(1));
    const flushed = w.flushed();
    expect(flushed).toBeInstanceOf(Promise);
    await flushed;
    expect(loadState(dir)).toEqual(state(1));
    expect(w.flushed()).toBeUndefined();
    expect(await settledDir(dir)).toEqual([STATE_FILE]);
  });

  it('writes saves in order: many in one turn end as the newest, every flushed() answered', async () => {
    const w = new StateWriter(dir);
    const waits: Promise<void>[] = [];
    for (let n = 1; n <= 20; n++) {
      w.save(state(...Array.from({ length: n }, (_, i) => i)));
      waits.push(w.flushed()!);
    }
    await Promise.all(waits);
    expect(loadState(dir).containers).toHaveLength(20);
    expect(await settledDir(dir)).toEqual([STATE_FILE]);
  });

  it('a write the disk refuses is thrown at once, a StateWriteError naming the file, nothing left', () => {
    const w = new StateWriter(dir);
    w.save(state(1));
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'a file where the directory was'); // open(2) of dir/.tmp: ENOTDIR
    let thrown: unknown;
    try {
      w.save(state(2));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(StateWriteError);
    expect((thrown as StateWriteError).code).toBe('ENOTDIR');
    expect((thrown as StateWriteError).file).toBe(join(dir, STATE_FILE));
    rmSync(dir, { force: true });
  });

  it('a save whose rename fails rejects flushed() with a StateWriteError; the next save writes again', async () => {
    const w = new StateWriter(dir);
    w.save(state(1));
    await w.flushed();
    rmSync(join(dir, STATE_FILE));
    // A directory in the file's place: rename(2) of a file over it fails (EISDIR).
    const blocker = join(dir, STATE_FILE);
    mkdirSync(blocker);
    w.save(state(2));
    await expect(w.flushed()).rejects.toBeInstanceOf(StateWriteError);
    expect(w.flushed()).toBeUndefined(); // answered: later replies do not wait on it
    rmSync(blocker, { recursive: true });
    w.save(state(3));
    await w.flushed();
    expect(loadState(dir)).toEqual(state(3));
    expect(await settledDir(dir)).toEqual([STATE_FILE]);
  });

  it("removes the temporary files of a killed engine (its pid gone), not a live one's", () => {
    const dead = join(dir, `.${STATE_FILE}.999999999.4.tmp`); // above pid_max: no such process
    const live = join(dir, `.${STATE_FILE}.1.4.tmp`); // init is alive
    writeFileSync(dead, '{');
    writeFileSync(live, '{');
    new StateWriter(dir);
    expect(readdirSync(dir).sort()).toEqual([`.${STATE_FILE}.1.4.tmp`]);
  });
});
