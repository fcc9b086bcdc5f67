// Which of the engine's state saves must reach the disk (fsync(2)) before they are answered.
//
// Every save is atomic: a temporary file, then rename(2) over containers.json (state.ts). Against a
// killed engine (kill -9, a crash) that is enough: the page cache outlives the process, and a reader
// finds the old file or the new one, never half of one. fsync(2) is about the machine losing power
// (or the kernel crashing): without it, the new file's data may not be on the disk when the rename is.
//
// moby fsyncs every save of a container (pkg/ioutils AtomicWriteFile, now pkg/atomicwriter: Sync,
// Close, Rename, for each CheckpointTo of config.v2.json). nsx fsyncs the saves that change what must
// survive a power loss: that a container exists and how it was made (create, rm, rename, update, a
// restart policy's count, stopped by hand, stopped with the engine). Its runtime state (running, its
// pid, the exit code a moment ago, health) means nothing after a power loss: no container survives a
// reboot, and the next engine turns running into exited (137). Those saves (two of the four of a
// container's life: running, exited) are atomic but not fsync'd, where the filesystem keeps
// rename-over-a-file in order with the file's data without one:
//   ext4(5), auto_da_alloc (the default): "ext4 will detect the replace-via-rename [...] and force
//   that any delayed allocation blocks are allocated such that at the next journal commit, in the
//   default data=ordered mode, the data blocks of the new file are forced to disk before the
//   rename() operation is committed" — after a power loss, the old file or the new one, never an empty one.
// ext3 (data=ordered) does the same by its ordering; tmpfs keeps nothing across a reboot at all.
// Anywhere else (xfs, btrfs, data=writeback, noauto_da_alloc, an unreadable mountinfo) every save is
// fsync'd, as before. What a power loss can cost where the fsync is left out: the last seconds of
// runtime state (a container that exited just before shows as killed at the next start, 137).
import { readFileSync, realpathSync } from 'node:fs';

/** Whether a save of runtime state alone may skip fsync(2) in `dir`, and why (see above). */
export interface RenameOrder {
  ordered: boolean;
  why: string;
}

/** proc(5) /proc/self/mountinfo: the mount that holds `path` (the longest mount point that is a
 *  prefix of it; the last of those mounted there), with its fstype and super-block options. */
export function mountOf(
  path: string,
  mountinfo: string,
): { point: string; fstype: string; options: string[] } | undefined {
  let best: { point: string; fstype: string; options: string[] } | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0) continue;
    const point = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = point === '/' || path === point || path.startsWith(point + '/');
    if (inside && (!best || point.length >= best.point.length))
      best = { point, fstype: f[dash + 1], options: (f[dash + 3] ?? '').split(',') };
  }
  return best;
}

/** The rules above, for the filesystem that holds `dir`. */
export function renameOrder(dir: string, mountinfo?: string): RenameOrder {
  let m;
  try {
    m = mountOf(realpathSync(dir), mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch (e) {
    return { ordered: false, why: `mountinfo unreadable (${(e as Error).message}): every save fsync'd` };
  }
  if (!m) return { ordered: false, why: `no mount found for ${dir}: every save fsync'd` };
  const where = `${m.fstype} at ${m.point}`;
  if (m.fstype === 'tmpfs') return { ordered: true, why: `${where}: nothing on it survives a reboot` };
  if (m.fstype !== 'ext4' && m.fstype !== 'ext3') return { ordered: false, why: `${where}: every save fsync'd` };
  if (m.options.includes('data=writeback'))
    return { ordered: false, why: `${where}, data=writeback: every save fsync'd` };
  if (m.options.includes('noauto_da_alloc'))
    return { ordered: false, why: `${where}, noauto_da_alloc: every save fsync'd` };
  return { ordered: true, why: `${where}: replace-via-rename is kept in order with its data (ext4(5) auto_da_alloc)` };
}

/** What of the state must survive a power loss: every container's record without its State. */
export function lastingPart(records: readonly object[]): string {
  return JSON.stringify(records.map((r) => ({ ...r, State: undefined })));
}
