// docker create: a record and its directory, nothing running. Every option is checked before anything
// exists: the spec and plan are built here (planContainer), an image's root filesystem made last.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StepSummary } from '../../runtime/events.js';
import { NsxError } from '../../runtime/errors.js';
import { planContainer } from '../../runtime/make.js';
import type { PlannedStep } from '../../runtime/plan.js';
import { apparmorEnabled } from '../../runtime/lsm/apparmor.js';
import { removeRoot } from '../container.js';
import { securityOf } from '../shapes.js';
import type { Engine } from '../engine.js';
import { ApiError, nameInUse } from '../errors.js';
import { initialState } from '../lifecycle.js';
import { randomName, VALID_NAME } from '../names.js';
import { StateWriteError, type ContainerRecord, type HostConfig } from '../state.js';
import type { CreateBody } from '../validate.js';
import { checkRestartPolicy } from './restart.js';
import { checkHealthcheck, probeCommand } from '../health.js';
import { imageRun, makeOptions, type ImageForRun } from './make.js';

/** What create answers: docker's {Id, Warnings}; a stepped container's plan too (nsx's Nsx.Steps),
 *  so its client can show the steps ahead, and the root filesystem its demos look into. */
export interface Created {
  Id: string;
  Warnings: string[];
  Nsx?: { Steps: StepSummary[]; Rootfs: string };
}

export async function create(engine: Engine, body: CreateBody, name?: string): Promise<Created> {
  const taken = (n: string) => engine.all().find((c) => c.record.Name === n);
  if (name !== undefined && name !== '') {
    if (!VALID_NAME.test(name))
      throw new ApiError(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    name = name.replace(/^\//, '');
    const holder = taken(name);
    if (holder) throw nameInUse(name, holder.id);
  } else name = randomName((n) => !!taken(n));
  const useImage = typeof body.Image === 'string' && body.Image !== '' && body.Rootfs === undefined;
  if (!useImage && typeof body.Rootfs !== 'string')
    throw new ApiError(
      400,
      'no image and no root filesystem given',
      'give "Image": an image in the store, or "Rootfs": a root filesystem directory (build the sandbox one with `npm run sandbox`)',
    );
  const cmd = typeof body.Cmd === 'string' ? ['/bin/sh', '-c', body.Cmd] : (body.Cmd ?? []);
  const entrypoint = typeof body.Entrypoint === 'string' ? [body.Entrypoint] : (body.Entrypoint ?? undefined);
  if (entrypoint !== undefined && entrypoint.length > 1)
    throw new ApiError(400, "Entrypoint must be one program (an array of one string), or [] to clear the image's");
  const h: HostConfig = body.HostConfig ?? {};
  checkRestartPolicy(h);
  checkHealthcheck(body.Healthcheck);
  const draft: ContainerRecord = {
    Id: '',
    Name: name,
    Created: new Date().toISOString(),
    Image: body.Image ?? '',
    Rootfs: body.Rootfs,
    Path: cmd[0] ?? '',
    Args: cmd.slice(1),
    Config: {
      Hostname: body.Hostname ?? '',
      Env: body.Env ?? [],
      Cmd: cmd,
      ...(entrypoint ? { Entrypoint: entrypoint } : {}),
      Image: body.Image ?? '',
      Rootfs: body.Rootfs,
      ...(body.WorkingDir ? { WorkingDir: body.WorkingDir } : {}),
      ...(body.User ? { User: body.User } : {}),
      Tty: !!body.Tty,
      OpenStdin: !!body.OpenStdin,
      StdinOnce: !!body.StdinOnce,
      ...(probeCommand(body.Healthcheck) ? { Healthcheck: body.Healthcheck } : {}),
    },
    HostConfig: h,
    State: initialState(),
    LogPath: '',
    ...(body.Nsx && Object.keys(body.Nsx).length ? { Nsx: { ...body.Nsx } } : {}),
  };
  let planned: ReturnType<typeof planContainer>;
  let image: ImageForRun | undefined;
  try {
    if (useImage) image = await imageRun(engine.root, body.Image!);
    planned = planContainer(makeOptions(engine.root, draft, name, image?.run), image?.view);
    if (engine.has(planned.spec.id)) throw new ApiError(409, `a container with id ${planned.spec.id} exists already`);
  } catch (e) {
    removeRoot(image?.prepared()); // made before the plan failed
    if (e instanceof NsxError) throw new ApiError(/No such image/.test(e.message) ? 404 : 400, e.message, e.info.hint);
    throw e;
  }
  const { spec } = planned;
  const holder = taken(name);
  if (holder) {
    removeRoot(spec.root); // the name was taken while the image unpacked
    throw nameInUse(name, holder.id);
  }
  const r: ContainerRecord = {
    ...draft,
    Id: spec.id,
    Rootfs: useImage ? undefined : spec.root.path,
    ...(useImage ? { Root: spec.root } : {}),
    Path: spec.process.args[0],
    Args: spec.process.args.slice(1),
    Config: {
      ...draft.Config,
      Hostname: spec.hostname ?? '',
      Env: spec.process.env,
      ...(useImage ? {} : { Rootfs: spec.root.path }),
    },
    LogPath: join(engine.dir, 'containers', spec.id, 'container.log'),
    Security: securityOf(planned.plan, spec, apparmorEnabled()),
  };
  // Its directory and its record; when either cannot be written (a read-only or full disk), nothing
  // of it stays: not the directory, not an image's writable layer (which would later block nsx rmi
  // with a container that does not exist), not the record (Engine.add takes it back).
  const dir = join(engine.dir, 'containers', r.Id);
  let c: ReturnType<Engine['add']>;
  try {
    mkdirSync(dirname(dir), { recursive: true, mode: 0o700 }); // made at the engine's start; gone since?
    mkdirSync(dir, { mode: 0o700 }); // alone: a recursive mkdir reports EROFS as ENOENT (Node 20)
    c = engine.add(r);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    removeRoot(spec.root);
    if (e instanceof StateWriteError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ApiError(500, `cannot make the container's directory ${dir}: ${code} (${(e as Error).message})`);
  }
  c.planned = planned;
  engine.event(c, 'create');
  return {
    Id: r.Id,
    Warnings: [],
    ...(r.Nsx?.Step ? { Nsx: { Steps: planned.plan.map(summary), Rootfs: spec.root.path } } : {}),
  };
}

/** A step as the runtime's events describe it (runtime.ts's summary). */
function summary(s: PlannedStep): StepSummary {
  const { id, title, syscalls, shell, manPage, why, notes, skip } = s;
  return { id, title, syscalls, shell, manPage, why, notes, ...(skip ? { skip } : {}) };
}
