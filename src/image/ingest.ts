// The store's ingest/ directory and its lock: half-written blobs (hashed and checked before they are
// renamed into blobs/), files replaced by temp + fsync + rename, the leases of pulls in progress
// (blobs garbage collection must keep), and index.json's lock file; what a dead nsx left there is
// recognised by its pid and removed. store.ts (ImageStore) is their one user.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import type { ImageStore, WriteBlobOptions } from './store.js';

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A pull in progress: the blobs it wrote, which garbage collection must not delete meanwhile
 *  (containerd calls this a lease). Released when the image is in index.json, or on failure. */
export class Lease {
  readonly digests = new Set<string>();
  constructor(
    readonly store: ImageStore,
    readonly file: string,
  ) {}
  add(digest: string): void {
    if (this.digests.has(digest)) return;
    this.digests.add(digest);
    // Replaced by rename: a garbage collector reading it never sees half a list.
    writeFileSync(`${this.file}.new`, JSON.stringify({ pid: process.pid, digests: [...this.digests] }));
    renameSync(`${this.file}.new`, this.file);
  }
  release(): void {
    rmSync(this.file, { force: true });
    rmSync(`${this.file}.new`, { force: true });
  }
}

/** Writes a file by temp + fsync + rename: readers see the old file or the new one, never half. */
export function writeFileAtomic(ingestDir: string, path: string, data: string | Buffer): void {
  const tmp = join(ingestDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(ingestDir, { recursive: true });
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Streams DATA into INGESTDIR, hashing it, and checks the digest (and size) against what was
 *  expected: the temporary file to rename into blobs/, or an error with the file removed. */
export async function ingestBlob(
  ingestDir: string,
  data: Buffer | AsyncIterable<Uint8Array>,
  expectedDigest: string | undefined,
  opts: WriteBlobOptions,
): Promise<{ tmp: string; digest: string; size: number }> {
  const tmp = join(ingestDir, `blob-${process.pid}-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const file = await open(tmp, 'wx', 0o644);
  try {
    const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = Buffer.isBuffer(data) ? [data] : data;
    for await (const chunk of chunks) {
      size += chunk.length;
      if (opts.expectedSize !== undefined && size > opts.expectedSize) {
        throw new NsxError(
          `blob ${expectedDigest ?? ''}: more data than the ${opts.expectedSize} bytes its descriptor declares`.replace(
            '  ',
            ' ',
          ),
          {
            hint: 'The registry served something other than the content the manifest names; nothing was stored.',
          },
        );
      }
      hash.update(chunk);
      await file.write(chunk);
      opts.onProgress?.(size);
    }
    await file.sync();
  } catch (e) {
    await file.close().catch(() => undefined);
    rmSync(tmp, { force: true });
    throw e;
  }
  await file.close();
  const digest = 'sha256:' + hash.digest('hex');
  const fail = (msg: string) => {
    rmSync(tmp, { force: true });
    return new NsxError(msg, {
      hint: 'The download was discarded and nothing was stored. Retry; if it persists the registry serves corrupt or tampered content.',
    });
  };
  if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
    throw fail(
      `blob ${expectedDigest ?? digest}: got ${size} bytes, expected ${opts.expectedSize} (the transfer was cut short)`,
    );
  }
  if (expectedDigest !== undefined && digest !== expectedDigest) {
    throw fail(`filesystem layer verification failed for digest ${expectedDigest}: the content's digest is ${digest}`);
  }
  return { tmp, digest, size };
}

/** A lock file created with O_EXCL holding our pid; a lock whose process is gone is stale and taken over. */
export function withLockFile<T>(lock: string, timeoutMs: number, what: string, fn: () => T): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(lock, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new NsxError(`image store ${what} is locked by process ${owner}`, {
          hint: `Another nsx is updating the store; wait for it, or remove ${lock} if that process is not nsx.`,
        });
      }
      sleepSync(20);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Blobs held by the leases of live processes (stale lease files are removed). */
export function leasedBlobs(ingestDir: string, except?: string): Set<string> {
  const held = new Set<string>();
  let names: string[] = [];
  try {
    names = readdirSync(ingestDir);
  } catch {
    return held;
  }
  for (const name of names.filter((n) => n.startsWith('lease-') && n.endsWith('.json'))) {
    const file = join(ingestDir, name);
    if (file === except) continue;
    try {
      const l = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; digests: string[] };
      if (!pidAlive(l.pid)) {
        rmSync(file, { force: true });
        continue;
      }
      for (const d of l.digests) held.add(d);
    } catch {
      /* removed meanwhile: its pull is over */
    }
  }
  return held;
}

/** Removes half-written blobs left by nsx processes that died (never those of live ones). */
export function removeDeadIngest(ingestDir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(ingestDir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(?:blob|\.tmp|lease)-(\d+)-/.exec(name)?.[1]);
    if (pid && !pidAlive(pid)) {
      try {
        unlinkSync(join(ingestDir, name));
      } catch {
        /* gone already */
      }
    }
  }
}
