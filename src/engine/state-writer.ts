// The state file's writes, off the engine's main thread where they wait for the disk. Each save is
// the same atomic replacement as saveState (state.ts): a temporary file written whole, fsync(2),
// rename(2) over containers.json, so a reader, or an engine starting after a crash, sees the old
// version or the new one. What differs is who waits:
//   - open(2) and write(2) of the temporary file happen at once, on the caller's turn: the errors a
//     disk gives there (ENOSPC, EROFS, EACCES) are thrown to the change that caused them, which is
//     undone, as before;
//   - fsync(2) runs on libuv's threadpool (fs.fsync), then close(2) and rename(2) in its callback,
//     one save at a time and in the order they were made; a save made while one is in flight waits,
//     and a newer one replaces it (each holds every container: the newest covers all before it);
//   - flushed() is the promise that everything saved so far is in place: the engine answers a
//     request only then (reply.ts), so no reply tells of a change the disk does not hold yet.
// fsync(2) is what makes the file survive a power cut; it costs a millisecond or more (a journal
// commit), which the main thread no longer spends (issue 11: four saves per container's life).
import {
  close,
  closeSync,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlink,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { STATE_FILE, StateWriteError, type StateFile } from './state.js';

interface Job {
  seq: number;
  tmp: string;
  fd: number;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const TMP = new RegExp(`^\\.${STATE_FILE.replace('.', '\\.')}\\.(\\d+)\\.(\\d+\\.)?tmp$`);

export class StateWriter {
  readonly file: string;
  /** The newest save made, the newest one finished (in place, or failed), and the one waiting its turn. */
  private seq = 0;
  private settled = 0;
  private queued?: Job;
  private flying = false;
  private waiters: Waiter[] = [];

  constructor(readonly dir: string) {
    this.file = join(dir, STATE_FILE);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    sweepTemporaries(dir);
  }

  /** Writes the state to a temporary file now (its errors thrown, nothing left of it); fsync and the
   *  rename follow off the main thread (flushed() says when). */
  save(state: StateFile): void {
    const seq = ++this.seq;
    const tmp = join(this.dir, `.${STATE_FILE}.${process.pid}.${seq}.tmp`);
    const text = JSON.stringify(state, null, 2) + '\n';
    let fd: number | undefined;
    try {
      try {
        fd = openSync(tmp, 'w', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        mkdirSync(this.dir, { recursive: true, mode: 0o700 }); // the directory went since the engine made it
        fd = openSync(tmp, 'w', 0o600);
      }
      writeSync(fd, text);
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      if (fd !== undefined) rmSync(tmp, { force: true }); // none was made when open(2) failed
      this.seq--; // nothing of this save exists: a flushed() asked now need not wait for it
      const err = e as NodeJS.ErrnoException;
      throw new StateWriteError(this.file, err.code ?? 'EIO', err);
    }
    const older = this.queued;
    this.queued = { seq, tmp, fd };
    if (older) discard(older); // never started: this one holds its changes and those after
    this.next();
  }

  /** Resolves once every save made so far is in place (rejects with a StateWriteError when the one
   *  that covers them failed); undefined when none is outstanding (a reply need not wait a turn). */
  flushed(): Promise<void> | undefined {
    if (this.settled >= this.seq) return undefined;
    const seq = this.seq;
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private next(): void {
    const job = this.queued;
    if (this.flying || !job) return;
    this.queued = undefined;
    this.flying = true;
    const done = (e: NodeJS.ErrnoException | null) => {
      this.flying = false;
      this.settled = job.seq;
      if (e) unlink(job.tmp, () => undefined);
      const error = e ? new StateWriteError(this.file, e.code ?? 'EIO', e) : undefined;
      const mine = this.waiters.filter((w) => w.seq <= job.seq);
      this.waiters = this.waiters.filter((w) => w.seq > job.seq);
      for (const w of mine) {
        if (error) w.reject(error);
        else w.resolve();
      }
      this.next();
    };
    // One trip to the threadpool: fsync(2), the wait for the disk. close(2) and rename(2) take
    // microseconds; done on the main thread as fsync's callback, they cost no second and third trip.
    fsync(job.fd, (synced) => {
      let e = synced;
      try {
        closeSync(job.fd);
        if (!e) renameSync(job.tmp, this.file);
      } catch (err) {
        e ??= err as NodeJS.ErrnoException;
      }
      done(e);
    });
  }
}

function discard(job: Job): void {
  close(job.fd, () => unlink(job.tmp, () => undefined));
}

/** Temporary files of engines that were killed between a write and its rename (their pid is gone). */
function sweepTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = TMP.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(dir, name), { force: true });
    }
  }
}
