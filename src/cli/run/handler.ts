// nsx run goes to the engine (run.ts). nsx runtime run's work is here: options → spec → plan → a container in this process, with renderers attached and signals
// handled, removed when it exits (as runc runs one under docker, without the engine's record).
import { NsxError } from '../../runtime/errors.js';
import { isRealRoot } from '../../runtime/host.js';
import type { ContainerSpec } from '../../runtime/spec.js';
import { planContainer } from '../../runtime/make.js';
import { Container } from '../../runtime/runtime.js';
import { startShimEarly, type Shim } from '../../runtime/shim.js';
import { UNSAFE_CHROOT_WARNING } from '../../runtime/steps/pivot-root.js';
import { loadSeccomp } from '../../runtime/seccomp-host.js';
import { eventWriter } from './events.js';
import type { RunImage } from './image.js';
import { containerFlags } from './flags.js';
import type { RunArgs } from './index.js';

/** What only the engine does: a container that outlives this command, its input, a terminal, a policy. */
const ENGINE_ONLY = ['detach', 'interactive', 'tty', 'restart', 'step', 'health-cmd'] as const;
const FLAG: Record<(typeof ENGINE_ONLY)[number], string> = {
  detach: '-d',
  interactive: '-i',
  tty: '-t',
  restart: '--restart',
  step: '--step',
  'health-cmd': '--health-cmd',
};

/** nsx runtime run: the runtime alone, in this process (runc's place under docker): no engine, no
 *  record, the container removed when it exits (--rm always). For the runtime's own tests, the
 *  benchmark (bench/run.mjs), and a machine without an engine. */
export async function runInProcess(a: RunArgs): Promise<number> {
  const root = isRealRoot();
  if (a['unsafe-chroot']) process.stderr.write(`nsx: ${UNSAFE_CHROOT_WARNING}\n`);
  for (const k of ENGINE_ONLY) {
    if (a[k] !== undefined && a[k] !== false)
      throw new NsxError(`${FLAG[k]} cannot be used with nsx runtime run`, {
        hint: `${FLAG[k]} needs the engine: use nsx run ${FLAG[k]} … (nsx runtime run runs the container in this process only)`,
      });
  }
  const signalExit: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  let container: Container | undefined;
  let image: RunImage | undefined;
  // Ctrl-C, kill or a closed terminal: the container goes, and so does everything it had. Before
  // the container exists (pulling, unpacking, copying) there is only its directory to remove.
  const onSignal = (sig: NodeJS.Signals) => {
    if (container) return container.abort(signalExit[sig]);
    image?.remove();
    process.exit(signalExit[sig]);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    // nsx run IMAGE [COMMAND…]; with --rootfs every word is the command.
    let command = (a.command ?? []).map(String);
    if (a.rootfs === undefined) {
      if (!command.length)
        throw new NsxError('"nsx run" requires an image (or --rootfs DIR)', {
          hint: 'e.g. nsx run busybox echo hello, or nsx run --rootfs sandbox/rootfs/busybox /bin/sh',
        });
      if (/^[./]/.test(command[0])) {
        throw new NsxError(`"${command[0]}": invalid reference format (a path is not an image name)`, {
          hint: 'nsx run IMAGE [COMMAND…] runs an image (busybox, localhost:5000/x:1); to run a directory, give --rootfs DIR, e.g. nsx run --rootfs sandbox/rootfs/busybox /bin/sh',
        });
      }
      const { imageForRun, parsePullPolicy } = await import('./image.js');
      const policy = parsePullPolicy(a.pull);
      image = await imageForRun(command[0], policy, !root);
      command = command.slice(1);
    } else if (a.pull !== undefined) {
      throw new NsxError('--pull applies to an image, and --rootfs runs a directory', {
        hint: 'leave out --pull, or give an image instead of --rootfs',
      });
    }
    return await runSpec(a, command, root, image, (c) => (container = c));
  } catch (e) {
    throw e instanceof NsxError ? e : new NsxError(String(e));
  } finally {
    for (const s of signals) process.off(s, onSignal);
    try {
      image?.remove();
    } catch (e) {
      process.stderr.write(
        `nsx: could not remove the container's writable layer: ${(e as Error).message}\n  the next nsx run removes it\n`,
      );
    }
  }
}

async function runSpec(
  a: RunArgs,
  command: string[],
  root: boolean,
  image: RunImage | undefined,
  started: (c: Container) => void,
): Promise<number> {
  // The shim starts first and gets ready while the spec and plan are built; if they cannot be, it goes.
  const early = startShimEarly('inherit');
  let container: Container;
  let events: ReturnType<typeof eventWriter> | undefined;
  let spec: ContainerSpec;
  try {
    // The terminal renderer (and chalk) only for --trace: a plain run prints nothing of its own.
    const render = a.trace ? await import('../../render/terminal.js') : undefined;
    ({ spec, container, events } = prepare(a, command, root, image, early.shim, render));
  } catch (e) {
    early.cancel();
    throw e;
  }
  started(container);
  try {
    const result = await container.run({
      ...(image ? { cleanup: () => image.remove() } : {}),
    });
    if (result.error) process.stderr.write(`nsx: ${result.error.describe()}\n`);
    if (result.oomKilled) {
      const limit = spec.linux.resources?.memory?.limit;
      process.stderr.write(
        `nsx: the container was killed by the kernel's OOM killer${limit ? ` (memory limit ${limit} bytes)` : ''}\n`,
      );
    }
    return result.exitCode;
  } finally {
    events?.close();
  }
}

/** Spec, plan and container, with renderers attached; throws (having created nothing) on bad options. */
function prepare(
  a: RunArgs,
  command: string[],
  root: boolean,
  image: RunImage | undefined,
  shim: Promise<Shim>,
  render: typeof import('../../render/terminal.js') | undefined,
) {
  const { spec, plan } = planContainer(
    {
      rootfs: a.rootfs,
      image: image?.run,
      command,
      name: a.name,
      ...containerFlags(a),
      loadSeccomp,
      root,
    },
    image?.view,
  ); // an overlay root is empty on the host until the rootfs step mounts it: planned from the layers
  const container = new Container(spec, plan, 'inherit', !!(a.trace || a.events), undefined, shim);
  const total = plan.length;

  const events = a.events ? eventWriter(a.events) : undefined;
  if (events) container.on(events.write);
  if (render) {
    const c = render.makeChalk(process.stderr);
    container.on((e) =>
      process.stderr.write(
        render
          .renderEvent(e, total, c)
          .map((l) => l + '\n')
          .join(''),
      ),
    );
  }
  return { spec, container, events };
}
