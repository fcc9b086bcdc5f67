// nsx doctor: preflight checks of this machine. Each check reads real kernel state (through a
// DoctorEnv, so tests can fake machines), says what it found and, when something is missing,
// the plain fix. Exit status 1 only when a critical check fails: the runtime cannot work here.
import { Chalk } from 'chalk';
import { realEnv, type DoctorEnv } from './env.js';
import { renderTable } from './render.js';
import { checker, type Check } from './types.js';
import { checkCgroups } from './checks/cgroups.js';
import { checkRoot, checkShim, checkCompiler, checkTools, checkSandbox } from './checks/host.js';
import { checkKernel, checkNamespaces, checkOverlayfs, checkSeccomp, checkUsernsAllowed } from './checks/kernel.js';
import { checkApparmor, checkLandlock } from './checks/lsm.js';

export type { Check, CheckStatus } from './types.js';
export type { DoctorEnv } from './env.js';
export { realEnv } from './env.js';

type CheckGroup = { id: string; title: string; run: (env: DoctorEnv) => Check | Check[] };

/** In the order they print: the kernel, then what nsx builds containers from, then this install. */
const GROUPS: CheckGroup[] = [
  { id: 'kernel', title: 'kernel', run: checkKernel },
  { id: 'root', title: 'user', run: checkRoot },
  { id: 'namespaces', title: 'namespaces', run: checkNamespaces },
  { id: 'userns-allowed', title: 'unprivileged userns', run: checkUsernsAllowed },
  { id: 'cgroups', title: 'cgroups', run: checkCgroups },
  { id: 'seccomp', title: 'seccomp', run: checkSeccomp },
  { id: 'overlayfs', title: 'overlayfs', run: checkOverlayfs },
  { id: 'landlock', title: 'Landlock', run: checkLandlock },
  { id: 'apparmor', title: 'AppArmor', run: checkApparmor },
  { id: 'shim', title: 'shim', run: checkShim },
  { id: 'c-compiler', title: 'C compiler', run: checkCompiler },
  { id: 'tools', title: 'tools', run: checkTools },
  { id: 'rootfs-busybox', title: 'busybox rootfs', run: checkSandbox },
];

/** A check that threw is reported, not fatal: the rest of the report is still worth reading. */
function runGroup(group: CheckGroup, env: DoctorEnv): Check[] {
  try {
    const result = group.run(env);
    return Array.isArray(result) ? result : [result];
  } catch (e) {
    const detail = `could not check: ${(e as Error)?.message ?? String(e)}`;
    return [checker(group.id, group.title, false).warn(detail, 'please report this as a bug in namespace-explorer')];
  }
}

/** Every check, against the given machine (default: this one). */
export function runChecks(env: DoctorEnv = realEnv()): Check[] {
  return GROUPS.flatMap((g) => runGroup(g, env));
}

/** 1 when any critical check failed (nsx cannot run containers here), else 0. */
export function exitCodeFor(checks: Check[]): number {
  return checks.some((k) => k.critical && k.status === 'fail') ? 1 : 0;
}

/** NO_COLOR (https://no-color.org) or output that is not a terminal: no ANSI codes. */
function chalkFor(out: NodeJS.WritableStream): InstanceType<typeof Chalk> {
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  const color = tty && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  return new Chalk({ level: color ? 1 : 0 });
}

export async function runDoctor(opts: {
  json: boolean;
  out?: NodeJS.WritableStream;
  env?: DoctorEnv;
}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const checks = runChecks(opts.env);
  const code = exitCodeFor(checks);
  const text = opts.json
    ? JSON.stringify({ checks, ok: code === 0 }, null, 2)
    : renderTable(checks, chalkFor(out)).join('\n');
  out.write(text + '\n');
  return code;
}
