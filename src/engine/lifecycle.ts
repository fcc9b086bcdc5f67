// A container's lifecycle as an explicit state machine, as youki's ContainerStatus (can_start(),
// can_kill()…): the transitions the engine may make, the fields docker sets with each (State.Pid,
// ExitCode, StartedAt, FinishedAt, OOMKilled, Error: moby's container/state.go SetRunning,
// SetStopped, SetRestarting, SetPaused, SetUnpaused), and the guards the verbs ask.
//   created ──start──▶ running ──exit──▶ exited ──start──▶ running
//      │               │  ▲ └──exit, policy──▶ restarting ──timer──▶ running
//      │          pause│  │unpause (or kill/stop: the signal, then thawed, as docker's kill)
//      │               ▼  │
//      │              paused ──exit (a v2 freezer lets SIGKILL through)──▶ exited
//      └──failed before running──▶ exited          └──stop / failed restart──▶ exited
// A run that ends before PID 1 runs leaves the status it started from for exited or restarting.
// removing is docker's status while rm runs (moby's SetRemovalInProgress); nsx's rm forgets the
// container in one step (rm -f kills it first), so the engine does not enter it today: the table
// keeps docker's edges, and a state file that has it (or running, restarting) after the engine died
// becomes exited (137) at the next engine's start.
import { ApiError } from './errors.js';
import type { ContainerStateRecord } from './state.js';

export type Status = ContainerStateRecord['Status'];

/** docker's zero time (Go's time.Time{} in RFC 3339). */
export const NEVER = '0001-01-01T00:00:00Z';

/** Which status may follow which. */
export const TRANSITIONS: Readonly<Record<Status, readonly Status[]>> = {
  created: ['running', 'exited', 'restarting', 'removing'],
  running: ['exited', 'restarting', 'paused'],
  // docker's Paused is a flag on a running container: its process still runs (frozen, cgroup freezer).
  paused: ['running', 'exited', 'restarting'],
  // A run may end before PID 1 runs (a step failed, the client quit): from the status it started in.
  restarting: ['running', 'exited', 'restarting', 'removing'],
  exited: ['running', 'exited', 'restarting', 'removing'],
  // Only when the engine died while removing: the next engine finds it and says it exited.
  removing: ['exited'],
};

/** How a run ended: the runtime's result, as the state records it. */
export interface Ending {
  exitCode: number;
  oomKilled: boolean;
  error: string;
}

/** A change of state and what comes with it. */
export type Transition =
  /** PID 1 runs (the runtime's 'started' event). */
  | { to: 'running'; pid: number }
  /** docker pause / unpause: the freezer froze or thawed its processes; Pid and times stay. */
  | { to: 'paused' }
  | { to: 'running'; resumed: true }
  /** A run ended: exited, or restarting when its policy starts it again. */
  | { to: 'exited' | 'restarting'; ending: Ending }
  /** No run ended: a scheduled restart cancelled, or failed (error), or the engine died (ending). */
  | { to: 'exited'; error?: string }
  | { to: 'removing' };

export const initialState = (): ContainerStateRecord => ({
  Status: 'created',
  Pid: 0,
  ExitCode: 0,
  OOMKilled: false,
  Error: '',
  StartedAt: NEVER,
  FinishedAt: NEVER,
});

/** The state after a transition (pure). An illegal one is a 409: the engine's bug, or a race that a
 *  guard should have caught, never a silently wrong state file. */
export function nextState(s: ContainerStateRecord, t: Transition, id: string, now = new Date()): ContainerStateRecord {
  if (!TRANSITIONS[s.Status].includes(t.to)) {
    const next = TRANSITIONS[s.Status].join(', ') || 'nothing else';
    throw new ApiError(
      409,
      `cannot change container ${id} from ${s.Status} to ${t.to}`,
      `a ${s.Status} container may become ${next}`,
    );
  }
  const time = now.toISOString();
  if (t.to === 'paused') return { ...s, Status: 'paused' };
  if (t.to === 'running' && 'resumed' in t) {
    if (s.Status !== 'paused') throw new ApiError(409, `Container ${id} is not paused`);
    return { ...s, Status: 'running' };
  }
  if (t.to === 'running') {
    return {
      ...s,
      Status: 'running',
      Pid: t.pid,
      ExitCode: 0,
      OOMKilled: false,
      Error: '',
      StartedAt: time,
      FinishedAt: NEVER,
    };
  }
  if (t.to === 'removing') return { ...s, Status: 'removing' };
  if ('ending' in t) {
    const e = t.ending;
    // A run that ended before PID 1 ran (a failed step) has no start of its own: docker's is its end.
    const started = s.StartedAt === NEVER ? time : s.StartedAt;
    return {
      ...s,
      Status: t.to,
      Pid: 0,
      ExitCode: e.exitCode,
      OOMKilled: e.oomKilled,
      Error: e.error,
      StartedAt: started,
      FinishedAt: time,
    };
  }
  return { ...s, Status: 'exited', Pid: 0, ...(t.error !== undefined ? { Error: t.error } : {}) };
}

/** The guards: what a verb may do in a status (docker's checks, daemon/start.go, kill.go, delete.go). */
export const can = {
  /** docker start: not when it runs (that is a 304, "already started"), nor while it is removed. */
  start: (s: Status) => s === 'created' || s === 'exited' || s === 'restarting',
  /** docker kill: a running or paused container (the paused one is thawed after the signal). */
  kill: (s: Status) => s === 'running' || s === 'paused',
  /** docker exec: only a running container, not a paused one (daemon/exec.go). */
  exec: (s: Status) => s === 'running',
  /** docker top and stats: its processes are there, frozen or not. */
  observe: (s: Status) => s === 'running' || s === 'paused',
  /** docker pause: only a running one (daemon/pause.go); unpause: only a paused one. */
  pause: (s: Status) => s === 'running',
  unpause: (s: Status) => s === 'paused',
  /** docker rm without -f: not a running, paused or restarting one. */
  remove: (s: Status, force: boolean) => force || (s !== 'running' && s !== 'restarting' && s !== 'paused'),
};

/** docker's wording when a guard says no. */
export const refusal = {
  kill: (ref: string, id: string) => new ApiError(409, `Cannot kill container: ${ref}: Container ${id} is not running`),
  notRunning: (id: string) => new ApiError(409, `Container ${id} is not running`),
  removeRunning: (id: string) => cannotRemove('running', id),
  removeRestarting: (id: string) => cannotRemove('restarting', id),
  // moby's daemon/delete.go: a paused container is refused in its own words.
  removePaused: (id: string) =>
    new ApiError(
      409,
      `cannot remove container "${id}": container is paused and must be unpaused first: ` +
        'Unpause and then stop the container before attempting removal or force remove',
    ),
  // moby's daemon/pause.go, unpause.go, start.go, exec.go.
  alreadyPaused: (id: string) => new ApiError(409, `Container ${id} is already paused`),
  notPaused: (id: string) => new ApiError(409, `Container ${id} is not paused`),
  restarting: (id: string) => new ApiError(409, `Container ${id} is restarting, wait until the container is running`),
  startPaused: () => new ApiError(409, 'cannot start a paused container, try unpause instead'),
  execPaused: (id: string) => new ApiError(409, `Container ${id} is paused, unpause the container before exec`),
  copying: (id: string, verb: string) =>
    new ApiError(
      409,
      `cannot ${verb} container ${id}: a copy (docker cp, export) is using its files; try again when it ends`,
    ),
};

const cannotRemove = (what: string, id: string) =>
  new ApiError(
    409,
    `You cannot remove a ${what} container ${id}. ` + 'Stop the container before attempting removal or force remove',
  );
