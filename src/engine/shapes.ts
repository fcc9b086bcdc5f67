// Docker's JSON shapes, made in one place from the engine's records (docs.docker.com/reference/api/
// engine/: ContainerInspectResponse, ContainerSummary, ExecInspectResponse, EventMessage, ErrorResponse).
import { ApiError } from './errors.js';
import type { ExecRecord } from './container.js';
import { humanDuration } from './humanize.js';
import { StateWriteError, type ContainerRecord, type SecurityRecord } from './state.js';
import { formatRule } from '../runtime/devices/rules.js';
import type { PlannedStep } from '../runtime/plan.js';
import type { ContainerSpec } from '../runtime/spec.js';

/** A stepped container's step, for ps and inspect: 1-based, of the plan's steps. */
export interface StepView {
  Index: number;
  Total: number;
  Id: string;
  Title: string;
  Paused: boolean;
  Pid: number;
  Applied: string[];
  Network?: unknown;
}

/** GET /containers/{id}/json: docker inspect's shape, plus what nsx can show of the live process (Nsx). */
export function inspectShape(
  r: ContainerRecord,
  facts: Record<string, unknown>,
  step?: StepView,
): Record<string, unknown> {
  const s = r.State;
  const o = r.Root?.overlay;
  const sec = r.Security;
  return {
    Id: r.Id,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: {
      Status: s.Status,
      // docker's Paused is a flag on a running container (its processes exist, frozen).
      Running: s.Status === 'running' || s.Status === 'paused',
      Paused: s.Status === 'paused',
      Restarting: s.Status === 'restarting',
      OOMKilled: s.OOMKilled,
      Dead: false,
      Pid: s.Pid,
      ExitCode: s.ExitCode,
      Error: s.Error,
      StartedAt: s.StartedAt,
      FinishedAt: s.FinishedAt,
      ...(s.Health ? { Health: s.Health } : {}),
    },
    Image: r.Image,
    LogPath: r.LogPath,
    ...(r.Root
      ? {
          GraphDriver: {
            Name: o ? 'overlay2' : 'copy',
            Data: o
              ? { LowerDir: o.lowerdirs.join(':'), UpperDir: o.upper, WorkDir: o.work, MergedDir: o.target }
              : { RootDir: r.Root.path },
          },
        }
      : {}),
    Name: `/${r.Name}`,
    RestartCount: r.RestartCount ?? 0,
    HostConfig: { ...r.HostConfig, ...(sec ? { DeviceCgroupRules: deviceCgroupRules(sec) } : {}) },
    Config: r.Config,
    AppArmorProfile: sec?.AppArmorProfile ?? '',
    Nsx: { ...facts, ...(sec ? { Devices: sec.Devices } : {}), ...(step ? { Step: step } : {}) },
  };
}

/** What the plan's devices and lsm steps do, kept with the container for inspect. `apparmor`: AppArmor
 *  is enabled on this machine (then a container without a profile is docker's "unconfined"). */
export function securityOf(plan: PlannedStep[], spec: ContainerSpec, apparmor: boolean): SecurityRecord {
  const devices = plan.find((s) => s.id === 'devices');
  const set = devices?.actions.find((a) => a.kind === 'host' && a.op === 'devices');
  const Devices: SecurityRecord['Devices'] =
    set?.kind === 'host' && set.op === 'devices'
      ? { Mode: set.via, Rules: set.rules.map((r) => `${r.allow ? 'allow' : 'deny'} ${formatRule(r)}`) }
      : { Rules: [], Why: devices?.skip ?? 'no devices step' };
  const lsm = plan.find((s) => s.id === 'lsm');
  const profile = spec.process.apparmorProfile;
  const AppArmorProfile = profile ? (lsm && !lsm.skip ? profile : '') : apparmor ? 'unconfined' : '';
  return { AppArmorProfile, Devices };
}

/** docker's HostConfig.DeviceCgroupRules: the allow rules, in devices.allow's syntax ("c 1:3 rwm"). */
function deviceCgroupRules(sec: SecurityRecord): string[] {
  return sec.Devices.Rules.filter((r) => r.startsWith('allow ')).map((r) => r.slice('allow '.length));
}

/** GET /containers/json: one row of docker ps. */
export function listShape(r: ContainerRecord, step: StepView | undefined, now = Date.now()): Record<string, unknown> {
  return {
    Id: r.Id,
    Names: [`/${r.Name}`],
    Image: r.Image || r.Rootfs,
    ImageID: '',
    Command: [r.Path, ...r.Args].join(' '),
    Created: Math.floor(Date.parse(r.Created) / 1000),
    Ports: [],
    Labels: {},
    State: r.State.Status,
    Status: statusText(r, now, step),
    HostConfig: { NetworkMode: r.HostConfig.NetworkMode ?? 'none' },
  };
}

/** Docker's STATUS column: "Up 3 seconds", "Exited (7) 2 seconds ago", "Created". */
export function statusText(
  r: ContainerRecord,
  now = Date.now(),
  step?: { Index: number; Total: number; Id: string; Paused: boolean },
): string {
  const s = r.State;
  if (step && s.Status === 'created')
    return `Created, ${step.Paused ? 'paused before' : 'applying'} step ${step.Index}/${step.Total} (${step.Id})`;
  if (s.Status === 'running') return `Up ${humanDuration(now - Date.parse(s.StartedAt))}${healthText(r)}`;
  if (s.Status === 'paused') return `Up ${humanDuration(now - Date.parse(s.StartedAt))} (Paused)`;
  if (s.Status === 'exited') return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Status === 'restarting')
    return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Status === 'removing') return 'Removal In Progress';
  return 'Created';
}

/** docker ps's health suffix of a running container with a check: " (health: starting)", " (healthy)". */
function healthText(r: ContainerRecord): string {
  const h = r.State.Health;
  if (!h || !r.Config.Healthcheck) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

/** GET /exec/{id}/json. */
export function execShape(record: ExecRecord): Omit<ExecRecord, 'Body'> & { CanRemove: boolean } {
  const { Body: _body, ...shown } = record;
  return { ...shown, CanRemove: false };
}

/** GET /events: one container event (create, start, kill, die, oom, restart, destroy, exec_*). */
export function eventShape(
  r: ContainerRecord,
  Action: string,
  extra: Record<string, string> = {},
  now = Date.now(),
): Record<string, unknown> {
  return {
    Type: 'container',
    Action,
    status: Action,
    id: r.Id,
    from: r.Image || r.Rootfs,
    Actor: { ID: r.Id, Attributes: { image: r.Image || r.Rootfs || '', name: r.Name, ...extra } },
    scope: 'local',
    time: Math.floor(now / 1000),
    timeNano: now * 1e6,
  };
}

/** docker's error body, {"message": ...}, with nsx's hint for a learner; anything not an ApiError is
 *  the engine's own failure (500), said as one. */
export function errorShape(e: unknown): { status: number; body: { message: string; hint?: string } } {
  if (e instanceof ApiError)
    return { status: e.status, body: { message: e.message, ...(e.hint ? { hint: e.hint } : {}) } };
  // The engine's own write failed (a read-only or full disk): a 500, as docker's, but no bug.
  if (e instanceof StateWriteError)
    return {
      status: 500,
      body: {
        message: e.message,
        hint: `the engine keeps its containers in ${e.file}: make its filesystem writable (or free space on it) and try again`,
      },
    };
  return {
    status: 500,
    body: { message: `the engine failed (a bug in namespace-explorer): ${(e as Error)?.stack ?? e}` },
  };
}
