// The client's side of POST /containers/create: nsx run's options (src/runtime/options.ts), and a
// lesson's, as the engine's create request — intent, never a spec or a plan (the engine builds those,
// src/runtime/make.ts). Used by nsx run, nsx create and the lesson player.
import { NsxError } from '../runtime/errors.js';
import type { RunOptions } from '../runtime/options.js';
import { parseSize } from '../runtime/validate.js';
import type { StepId } from '../runtime/steps.js';
import type { HostConfig, NsxOptions } from './state.js';
import type { CreateBody } from './validate.js';

type Options = Partial<Omit<RunOptions, 'loadSeccomp' | 'root' | 'image' | 'uid' | 'gid' | 'memory'>>;

export interface BodyOptions extends Options {
  /** An image of the store (or rootfs, a directory). */
  image?: string;
  /** "64m", or bytes. */
  memory?: string | number;
  /** docker run -i: stdin open; StdinOnce unless detach. */
  interactive?: boolean;
  detach?: boolean;
  /** docker run --rm. */
  rm?: boolean;
  restart?: HostConfig['RestartPolicy'];
  consoleSize?: [number, number];
  /** nsx's own: stepped over the API, a pause after the exit, a lesson's swapped steps, the host user. */
  step?: boolean;
  /** Evidence after every step, the events followed over GET …/steps (nsx run --trace, --events). */
  observe?: boolean;
  pauseAtExit?: boolean;
  swap?: [StepId, StepId];
  runAs?: { uid: number; gid: number };
}

/** nsx run's (or a lesson's) options → the create request's body. */
export function createBody(o: BodyOptions): CreateBody {
  if (o.cpus !== undefined && !(Number(o.cpus) > 0)) {
    throw new NsxError(`--cpus ${o.cpus}: not a positive number of CPUs`, {
      hint: 'e.g. --cpus 0.5 for half of one CPU',
    });
  }
  const memory = typeof o.memory === 'string' ? parseSize(o.memory, '--memory') : o.memory;
  // docker run -e NAME (no value): the client's own NAME, when it has one.
  const env = o.env
    ?.map((e) => (e.includes('=') || process.env[e] === undefined ? e : `${e}=${process.env[e]}`))
    .filter((e) => e.includes('='));
  const host: HostConfig = {
    ...(memory !== undefined ? { Memory: memory } : {}),
    ...(o.pidsLimit !== undefined ? { PidsLimit: o.pidsLimit } : {}),
    ...(o.cpus !== undefined ? { NanoCpus: Math.round(Number(o.cpus) * 1e9) } : {}),
    ...(o.capAdd ? { CapAdd: o.capAdd } : {}),
    ...(o.capDrop ? { CapDrop: o.capDrop } : {}),
    ...(o.privileged ? { Privileged: true } : {}),
    ...(o.securityOpt ? { SecurityOpt: o.securityOpt } : {}),
    ...(o.network ? { NetworkMode: o.network } : {}),
    ...(o.userns ? { UsernsMode: o.userns } : {}),
    ...(o.cgroupns ? { CgroupnsMode: o.cgroupns } : {}),
    ...(o.rm ? { AutoRemove: true } : {}),
    ...(o.restart ? { RestartPolicy: o.restart } : {}),
    ...(o.consoleSize ? { ConsoleSize: o.consoleSize } : {}),
  };
  const nsx: NsxOptions = {
    ...(o.step ? { Step: true } : {}),
    ...(o.observe ? { Observe: true } : {}),
    ...(o.pauseAtExit ? { PauseAtExit: true } : {}),
    ...(o.unsafeChroot ? { UnsafeChroot: true } : {}),
    ...(o.runAs ? { RunAs: { uid: o.runAs.uid, gid: o.runAs.gid } } : {}),
    ...(o.timeNamespace ? { TimeNamespace: true } : {}),
    ...(o.timeOffsets ? { TimeOffsets: o.timeOffsets } : {}),
    ...(o.swap ? { Swap: o.swap } : {}),
  };
  const cmd = o.command ?? [];
  return {
    ...(o.image !== undefined ? { Image: o.image } : { Rootfs: o.rootfs }),
    ...(cmd.length ? { Cmd: cmd } : {}),
    ...(o.entrypoint !== undefined ? { Entrypoint: o.entrypoint === '' ? [] : [o.entrypoint] } : {}),
    ...(env ? { Env: env } : {}),
    ...(o.hostname ? { Hostname: o.hostname } : {}),
    ...(o.workdir ? { WorkingDir: o.workdir } : {}),
    ...(o.user ? { User: o.user } : {}),
    Tty: !!o.tty,
    OpenStdin: !!o.interactive,
    StdinOnce: !!o.interactive && !o.detach,
    HostConfig: host,
    ...(Object.keys(nsx).length ? { Nsx: nsx } : {}),
  };
}
