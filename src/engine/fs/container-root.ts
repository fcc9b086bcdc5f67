// Where a container's root filesystem is, on the host, for the time of one copy (docker cp, export):
//   - running (or paused): /proc/PID/root of its PID 1, the root as its mount namespace has it
//     (proc(5): "a link to the root directory of the process"), with its overlay mounted there;
//     frozen for the time of the copy (the cgroup freezer), as moby does since CVE-2018-15664, so no
//     process in it can swap a directory for a symlink between the engine's check and its use;
//   - stopped, with the image's layers copied (NSX_ROOTFS_MODE=copy) or a --rootfs directory: that
//     directory;
//   - stopped, with an overlay: the overlay mounted on the host for the time of the copy under the
//     container's own directory (read-only, the upper directory as the top lower layer, for a read;
//     read-write for docker cp into it), unmounted after. Its runtime mounts it only inside the
//     container's mount namespace (steps/rootfs.ts), so the host has no mount of it otherwise.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ContainerCgroup, detectLayout } from '../../runtime/cgroups/index.js';
import { runTool } from '../../image/tree.js';
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import { InRoot } from './inroot.js';

export interface RootAccess {
  fs: InRoot;
  /** How the root was reached, for errors and tests. */
  how: 'process' | 'directory' | 'overlay-mount';
  release(): void;
}

/** The container's root on the host until release() (which thaws and unmounts what this did). */
export async function openRoot(engine: Engine, c: EngineContainer, write: boolean): Promise<RootAccess> {
  const pid = c.record.State.Pid;
  if (c.run && pid && (c.status === 'running' || c.status === 'paused')) {
    const thaw = await freezeFor(engine, c);
    return { fs: new InRoot(`/proc/${pid}/root`), how: 'process', release: thaw };
  }
  const root = c.record.Root;
  if (!root?.overlay) {
    const dir = root?.path ?? c.record.Rootfs;
    if (!dir) throw new ApiError(500, `container ${c.id} has no root filesystem on record`);
    return { fs: new InRoot(dir), how: 'directory', release: () => undefined };
  }
  if (!engine.root)
    throw new ApiError(
      409,
      `container ${c.id} is stopped and its root is an overlay, which this engine (not root) cannot mount on the host`,
      'start it (docker start), then copy: a running container is read through /proc/PID/root',
    );
  const o = root.overlay;
  const target = join(dirname(o.upper), `copy-${randomBytes(4).toString('hex')}`);
  mkdirSync(target, { mode: 0o700 });
  c.hostMounts++;
  // overlayfs.rst: without upperdir the mount is read-only, and every layer, the upper one too, a lower one.
  const data = write
    ? `lowerdir=${o.lowerdirs.join(':')},upperdir=${o.upper},workdir=${o.work}`
    : `lowerdir=${[o.upper, ...o.lowerdirs].join(':')}`;
  const err = runTool('mount', ['-t', 'overlay', 'overlay', '-o', data, target]);
  if (err) {
    c.hostMounts--;
    rmdirSync(target);
    throw new ApiError(500, `cannot mount container ${c.id}'s overlay to copy: ${err}`);
  }
  return {
    fs: new InRoot(target),
    how: 'overlay-mount',
    release: () => {
      if (runTool('umount', [target])) runTool('umount', ['-l', target]);
      try {
        rmdirSync(target);
      } catch {
        /* still busy: the lazy unmount detaches it when the last file is closed */
      }
      c.hostMounts--;
    },
  };
}

/** The copy mounts an engine that died mid-copy left under a container's directory, unmounted (the
 *  container's removal would otherwise descend into them). */
export function unmountStaleCopies(upper: string | undefined): void {
  if (!upper) return;
  const dir = dirname(upper);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^copy-[0-9a-f]{8}$/.test(n));
  } catch {
    return;
  }
  for (const n of names) {
    runTool('umount', ['-l', join(dir, n)]); // not mounted: umount says so, and nothing changes
    try {
      rmdirSync(join(dir, n));
    } catch {
      /* left for the directory's removal to report */
    }
  }
}

/** Freezes a running container (not one paused already, nor one without a cgroup of its own);
 *  returns its thaw. */
async function freezeFor(engine: Engine, c: EngineContainer): Promise<() => void> {
  if (!engine.root || c.record.Nsx?.RunAs || c.status !== 'running') return () => undefined;
  let cg: ContainerCgroup;
  try {
    cg = ContainerCgroup.open(detectLayout(), c.id);
    await cg.freeze();
  } catch {
    return () => undefined; // no freezer here: the copy goes on, as on a kernel without one
  }
  return () => {
    try {
      if (c.status !== 'paused') cg.thaw(); // running, or died meanwhile: nothing must stay frozen
    } catch {
      /* its cgroup is gone with it */
    }
  };
}

/** FN with the container's root, released after (also when FN fails). */
export async function withRoot<T>(
  engine: Engine,
  c: EngineContainer,
  write: boolean,
  fn: (a: RootAccess) => Promise<T>,
): Promise<T> {
  const a = await openRoot(engine, c, write);
  try {
    return await fn(a);
  } finally {
    a.release();
  }
}
