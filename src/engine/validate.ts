// The request bodies as the engine takes them, checked at the HTTP boundary: a wrong JSON type is a
// 400 naming the field, never a 500 from deep inside. The engine trusts no client's spec or plan
// (bubblewrap re-validates every op it is asked for; crun and youki take a declarative config):
// clients send intent — Docker's fields and nsx's options — and the engine builds the plan itself.
// null counts as absent (the docker CLI sends "Cmd": null, "CapAdd": null…); unknown fields are
// ignored, as dockerd ignores them.
import { STEP_IDS, type StepId } from '../runtime/steps.js';
import { ApiError } from './errors.js';
import type { Healthcheck } from './health.js';
import type { HostConfig, NsxOptions } from './state.js';

/** The body of POST /containers/create (docker's ContainerCreateRequest, the part nsx has). */
export interface CreateBody {
  Image?: string;
  /** nsx: a root filesystem directory instead of an image. */
  Rootfs?: string;
  Cmd?: string[] | string;
  /** Replaces the image's Entrypoint (docker's rule: then its Cmd too); [] clears it. */
  Entrypoint?: string[] | string;
  Env?: string[];
  Hostname?: string;
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  HostConfig?: HostConfig;
  /** docker's HEALTHCHECK: Test ["CMD-SHELL", "cmd"] | ["CMD", …] | ["NONE"], durations in ns. */
  Healthcheck?: Healthcheck;
  /** nsx's own options: stepping over the API, chroot, who it runs as, a time namespace, a lesson's swap. */
  Nsx?: NsxOptions;
}

/** The body of POST /containers/{id}/exec (docker's ExecConfig, the part nsx has). */
export interface ExecBody {
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
}

/** The body of POST /exec/{id}/start. */
export interface ExecStartBody {
  Detach?: boolean;
  ConsoleSize?: [number, number];
}

type Obj = Record<string, unknown>;
const bad = (field: string, what: string, hint?: string) => new ApiError(400, `${field} must be ${what}`, hint);
const notObject = (example: string) => new ApiError(400, 'the request body must be a JSON object', `e.g. ${example}`);
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `o` with only the fields of `kinds` that are present (not null), each of its kind. */
function fields(o: Obj, prefix: string, kinds: Record<string, (v: unknown, name: string) => unknown>): Obj {
  const out: Obj = {};
  for (const [k, check] of Object.entries(kinds)) {
    if (o[k] === undefined || o[k] === null) continue;
    out[k] = check(o[k], `${prefix}${k}`);
  }
  return out;
}

const str = (v: unknown, name: string) => (typeof v === 'string' ? v : fail(bad(name, 'a string')));
const bool = (v: unknown, name: string) => (typeof v === 'boolean' ? v : fail(bad(name, 'true or false')));
const got = (v: unknown) => `got ${JSON.stringify(v)}`;
const int = (v: unknown, name: string) => (Number.isSafeInteger(v) ? v : fail(bad(name, 'a whole number', got(v))));
const strings = (v: unknown, name: string) =>
  Array.isArray(v) && v.every((x) => typeof x === 'string')
    ? v
    : fail(bad(name, 'an array of strings', `e.g. ["a", "b"], ${got(v)}`));
const stringsOrString = (v: unknown, name: string) => (typeof v === 'string' ? v : strings(v, name));
const pair = (v: unknown, name: string) =>
  Array.isArray(v) && v.length === 2 && v.every((x) => Number.isSafeInteger(x) && x >= 0)
    ? v
    : fail(bad(name, '[rows, columns], two whole numbers'));

function fail(e: ApiError): never {
  throw e;
}

function object(v: unknown, name: string): Obj {
  if (!isObj(v)) throw bad(name, 'a JSON object', got(v));
  return v;
}

function restartPolicy(v: unknown, name: string): HostConfig['RestartPolicy'] {
  return fields(object(v, name), `${name}.`, { Name: str, MaximumRetryCount: int }) as HostConfig['RestartPolicy'];
}

function hostConfig(v: unknown, name: string): HostConfig {
  return fields(object(v, name), `${name}.`, {
    Memory: int,
    PidsLimit: int,
    NanoCpus: int,
    CapAdd: strings,
    CapDrop: strings,
    Privileged: bool,
    SecurityOpt: strings,
    NetworkMode: str,
    AutoRemove: bool,
    RestartPolicy: restartPolicy,
    UsernsMode: str,
    CgroupnsMode: str,
    ConsoleSize: pair,
  }) as HostConfig;
}

/** Nsx's steps to swap: two different ids of STEP_IDS. */
function swap(v: unknown, name: string): [StepId, StepId] {
  const known = (x: unknown): x is StepId => (STEP_IDS as readonly unknown[]).includes(x);
  if (!Array.isArray(v) || v.length !== 2 || !v.every(known) || v[0] === v[1]) {
    const hint = `e.g. ["capabilities", "mount-private"]; the steps: ${STEP_IDS.join(', ')}`;
    throw bad(name, 'two different step ids', hint);
  }
  return [v[0], v[1]];
}

/** What nsx's own options were: refused, with what to send instead. */
const INSTEAD =
  "send intent instead: Docker's fields (Hostname, HostConfig.Memory, PidsLimit, NanoCpus, CapAdd, CapDrop, " +
  'SecurityOpt, Privileged, NetworkMode, UsernsMode, CgroupnsMode) and Nsx {Step, Observe, PauseAtExit, UnsafeChroot, RunAs, TimeNamespace, ' +
  "TimeOffsets, Swap}; src/engine/body.ts makes such a body from nsx run's options";
const NOT_ACCEPTED = {
  Spec: 'the engine builds the spec from the request itself',
  Plan: 'the engine builds the plan from the request itself',
};

function nsx(v: unknown, name: string): NsxOptions {
  const o = object(v, name);
  for (const [k, why] of Object.entries(NOT_ACCEPTED)) {
    if (o[k] !== undefined) {
      throw new ApiError(400, `${name}.${k} is not accepted: ${why}`, INSTEAD);
    }
  }
  return fields(o, `${name}.`, {
    Step: bool,
    Observe: bool,
    PauseAtExit: bool,
    UnsafeChroot: bool,
    TimeNamespace: bool,
    RunAs: (x, n) => fields(object(x, n), `${n}.`, { uid: int, gid: int }),
    TimeOffsets: (x, n) => fields(object(x, n), `${n}.`, { monotonic: int, boottime: int }),
    Swap: swap,
  }) as NsxOptions;
}

/** POST /containers/create's body, checked field by field. */
export function createBody(v: unknown): CreateBody {
  if (!isObj(v)) throw notObject('{"Rootfs": "/path/to/rootfs", "Cmd": ["/bin/sh", "-c", "echo hi"]}');
  const body = fields(v, '', {
    Image: str,
    Rootfs: str,
    Cmd: stringsOrString,
    Entrypoint: stringsOrString,
    Env: strings,
    Hostname: str,
    WorkingDir: str,
    User: str,
    Tty: bool,
    OpenStdin: bool,
    StdinOnce: bool,
    HostConfig: hostConfig,
    Healthcheck: (x, n) =>
      fields(object(x, n), `${n}.`, { Test: strings, Interval: int, Timeout: int, StartPeriod: int, Retries: int }),
    Nsx: nsx,
  }) as CreateBody;
  const runAs = body.Nsx?.RunAs;
  if (runAs && (runAs.uid === undefined || runAs.gid === undefined)) {
    throw new ApiError(400, 'Nsx.RunAs needs a numeric uid and gid', 'e.g. {"RunAs": {"uid": 1000, "gid": 1000}}');
  }
  return body;
}

/** POST /containers/{id}/exec's body. */
export function execBody(v: unknown): ExecBody {
  if (!isObj(v)) throw notObject('{"Cmd": ["ps"], "AttachStdout": true}');
  return fields(v, '', {
    Cmd: strings,
    Env: strings,
    WorkingDir: str,
    User: str,
    Tty: bool,
    AttachStdin: bool,
    AttachStdout: bool,
    AttachStderr: bool,
    Privileged: bool,
  }) as ExecBody;
}

/** POST /exec/{id}/start's body. */
export function execStartBody(v: unknown): ExecStartBody {
  if (!isObj(v)) throw notObject('{"Detach": false, "Tty": false}');
  return fields(v, '', { Detach: bool, ConsoleSize: pair }) as ExecStartBody;
}
