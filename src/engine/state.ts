// The engine's memory across restarts: every container it knows, in one JSON file, replaced
// atomically (write a temporary file, fsync it, rename(2) it over the old one) so a reader — or an
// engine starting after a crash — sees the old version or the new one, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A container as the engine keeps it; the API's shapes are made from this (docker's names). */
export interface ContainerRecord {
  Id: string;
  Name: string;
  /** RFC 3339, as docker's inspect. */
  Created: string;
  /** The image reference, or '' for a root filesystem directory (then Rootfs says which). */
  Image: string;
  Rootfs?: string;
  Path: string;
  Args: string[];
  Config: {
    Hostname: string;
    Env: string[];
    Cmd: string[];
    Entrypoint?: string[];
    Image: string;
    Rootfs?: string;
    WorkingDir?: string;
    User?: string;
    /** docker run -t: a pseudo-terminal. */
    Tty?: boolean;
    /** docker run -i: the container's stdin stays open for attach. */
    OpenStdin?: boolean;
    /** Close its stdin when the first attached client ends its input (docker run -i). */
    StdinOnce?: boolean;
    /** docker run --health-cmd …: a probe run inside it every Interval (health.ts). */
    Healthcheck?: import('./health.js').Healthcheck;
  };
  /** An image's container: its root filesystem as made at create (the writable layer under the
   *  image store's containers/<id>/), reused by every start. */
  Root?: {
    path: string;
    overlay?: import('../runtime/spec.js').OverlayRoot;
    copied?: { layers: number; reason: string };
  };
  HostConfig: HostConfig;
  State: ContainerStateRecord;
  /** How often the restart policy started it again since it was last started by hand. */
  RestartCount?: number;
  /** Stopped or killed by hand (docker's HasBeenManuallyStopped): no restart policy starts it again. */
  ManuallyStopped?: boolean;
  /** nsx: built one step at a time, each applied when its client says so (nsx run --step). */
  Nsx?: NsxOptions;
  /** The walls its plan gave it (made at create, from the devices and lsm steps): see securityOf. */
  Security?: SecurityRecord;
  /** Stopped by the engine's own shutdown: started again at the next engine's start if its policy says so. */
  StoppedWithEngine?: boolean;
  LogPath: string;
}

/** What the devices and lsm steps of a container's plan do (shapes.ts securityOf). */
export interface SecurityRecord {
  /** docker inspect's AppArmorProfile: the profile applied, "unconfined" where AppArmor is enabled but
   *  none is asked for (--privileged, apparmor=unconfined), "" where AppArmor is not enabled. */
  AppArmorProfile: string;
  /** The device cgroup's rules in order, the last match wins ("deny a *:* rwm", "allow c 1:3 rwm"),
   *  and how they are set: v1's devices.deny/allow or a cgroup2 eBPF program; no Mode: none set, Why says why. */
  Devices: { Mode?: 'v1' | 'bpf'; Rules: string[]; Why?: string };
}

/** What nsx adds to docker's create request (and keeps with the container). */
export interface NsxOptions {
  /** Built one step at a time, each applied when its client says so (nsx run --step, the lessons). */
  Step?: boolean;
  /** Evidence read after every step, the runtime's events followed over GET …/steps, without a
   *  pause (nsx run --trace and --events: what `observing` is in src/runtime/runtime.ts). */
  Observe?: boolean;
  /** chroot(2) instead of pivot_root(2) (the chroot lesson's). */
  UnsafeChroot?: boolean;
  /** Run the container's processes as this host user (a lesson run on the invoking user's behalf). */
  RunAs?: { uid: number; gid: number };
  /** Pause once more after the command exits, before the cleanup, until the client says go
   *  (POST …/step): a lesson reads the cgroup's counters there. */
  PauseAtExit?: boolean;
  /** A time namespace of its own (time_namespaces(7)), its clocks offset by TimeOffsets (seconds). */
  TimeNamespace?: boolean;
  TimeOffsets?: { monotonic?: number; boottime?: number };
  /** Two steps run in each other's place: a lesson's "break it" variant (see swapSteps, plan.ts). */
  Swap?: [import('../runtime/steps.js').StepId, import('../runtime/steps.js').StepId];
}

export interface ContainerStateRecord {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'removing';
  Pid: number;
  ExitCode: number;
  OOMKilled: boolean;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Its health check's status, streak and last probes (only with Config.Healthcheck). */
  Health?: import('./health.js').HealthState;
}

export interface HostConfig {
  Memory?: number;
  PidsLimit?: number;
  NanoCpus?: number;
  CapAdd?: string[];
  CapDrop?: string[];
  Privileged?: boolean;
  SecurityOpt?: string[];
  NetworkMode?: string;
  AutoRemove?: boolean;
  RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  /** docker's --userns=host; nsx also takes "private" (a user namespace of the container's own). */
  UsernsMode?: string;
  /** docker's --cgroupns: "private" (nsx's default) or "host". */
  CgroupnsMode?: string;
  /** The terminal's size at start, [rows, columns] (docker API 1.42+), for -t. */
  ConsoleSize?: [number, number];
}

export interface StateFile {
  version: 1;
  containers: ContainerRecord[];
}

export const STATE_FILE = 'containers.json';

/** Reads the state file; a missing one is an empty engine. */
export function loadState(dir: string): StateFile {
  try {
    const s = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as StateFile;
    return { version: 1, containers: Array.isArray(s.containers) ? s.containers : [] };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, containers: [] };
    throw e;
  }
}

/** The state file could not be written: which file, and the errno (EROFS, ENOSPC, EACCES...). */
export class StateWriteError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
    cause: Error,
  ) {
    super(`cannot write the engine's state file ${file}: ${code} (${cause.message})`);
    this.name = 'StateWriteError';
  }
}

/** Replaces the state file atomically: temp file, fsync, rename(2) (same directory, same filesystem).
 *  On failure the old file is left as it was, the temporary file removed, and a StateWriteError thrown.
 *  The directory is made only when open(2) finds it missing (the engine makes it at its start): not
 *  two recursive mkdirs at every save, four saves in a container's life (issue 11). */
export function saveState(dir: string, state: StateFile): void {
  const file = join(dir, STATE_FILE);
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}.tmp`);
  try {
    const fd = openTemporary(dir, tmp);
    try {
      writeSync(fd, JSON.stringify(state, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new StateWriteError(file, err.code ?? 'EIO', err);
  }
}

/** open(2) of the temporary file; its directory made first only when open says it is missing. */
function openTemporary(dir: string, tmp: string): number {
  try {
    return openSync(tmp, 'w', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dirname(dir), { recursive: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return openSync(tmp, 'w', 0o600);
  }
}
