// Who runs a lesson's container. Most lessons run it as nsx runs (root, under sudo). A lesson whose
// point is rootlessness says `run.as: 'invoking-user'`: then the container is the unprivileged
// user's own — the one who typed `sudo nsx learn` (SUDO_UID/SUDO_GID, see sudo(8)), or whoever runs
// nsx without sudo — while the player, as root, still watches it and runs the demos.
import { spawnSync } from 'node:child_process';
import { NsxError } from '../runtime/errors.js';
import type { HostUser } from '../runtime/shim.js';

export interface ContainerUser {
  how: 'as-nsx' | 'self' | 'invoking-user' | 'root-userns';
  /** Run the container's processes as this user (nsx is root and runs it on their behalf). */
  runAs?: HostUser;
  /** Give the container a user namespace of its own (root with nobody else to run as). */
  userns?: 'private';
  /** What the learner is told about it (absent when nothing is unusual). */
  note?: string;
}

const id = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/** Decides, from the lesson's wish, nsx's own uid and the environment sudo left. Pure. */
export function containerUser(
  as: 'invoking-user' | undefined,
  env: NodeJS.ProcessEnv,
  self: HostUser & { root: boolean },
): ContainerUser {
  if (as !== 'invoking-user') return { how: 'as-nsx' };
  if (!self.root)
    return { how: 'self', note: `The container runs rootless, as you (uid ${self.uid}): no step below uses root.` };
  const uid = id(env.SUDO_UID);
  if (uid !== undefined && uid !== 0) {
    const gid = id(env.SUDO_GID) ?? uid;
    return {
      how: 'invoking-user',
      runAs: { uid, gid },
      note: `The container runs rootless, as the user who typed sudo (uid ${uid}, gid ${gid}): its processes are that user's. nsx stays root only to watch them and to run the demos.`,
    };
  }
  return {
    how: 'root-userns',
    userns: 'private',
    note: 'You are root, and no SUDO_UID names the user behind it, so the container cannot run as an unprivileged user: it runs as root would, in a user namespace of its own (--userns private). Run the lesson with sudo from your normal account to see it rootless.',
  };
}

/** The root filesystem must be readable and searchable by the user the container runs as. */
export function checkRootfsFor(user: HostUser, rootfs: string): void {
  const r = spawnSync('/bin/sh', ['-c', 'test -r "$1" && test -x "$1" && test -x "$1/bin"', 'sh', rootfs], {
    uid: user.uid,
    gid: user.gid,
    env: {},
    stdio: 'ignore',
  });
  if (r.status === 0) return;
  throw new NsxError(
    `the root filesystem ${rootfs} is not readable by uid ${user.uid}, the user this lesson's container runs as`,
    {
      hint: 'give others read and search permission on it and every directory above it (chmod o+rx), or keep the checkout where that user can read it',
    },
  );
}
