// Demo commands are data, but some need facts only the running container knows (its host PID, the
// veth pair's addresses): they name them as {placeholders}, filled in right before the demo runs.
// Pure, so the substitution is unit-tested apart from any container.
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { detectLayout, NSX_CONTROLLERS, type CgroupLayout } from '../runtime/cgroups/index.js';
import { cgroupDirFor } from './kernel.js';

/** The facts a demo command may name, as {name}. */
export const DEMO_PLACEHOLDERS = [
  'pid',
  'id',
  'rootfs',
  'hostIf',
  'hostAddress',
  'containerAddress',
  'nsx',
  // The directory of the container's cgroup that holds a controller's files, e.g. {cgroup:memory}.
  ...NSX_CONTROLLERS.map((c) => `cgroup:${c}` as const),
] as const;
export type DemoPlaceholder = (typeof DEMO_PLACEHOLDERS)[number];
export type DemoVars = Partial<Record<DemoPlaceholder, string>>;

/** What a container exposes for the placeholders (structurally: Container, or a fake in tests). */
export interface DemoSource {
  id: string;
  pid: number | undefined;
  spec: { root: { path: string } };
  network?: { hostIf: string; hostAddress: string; containerAddress: string } | undefined;
}

/** What the player saw of the container so far: its /proc/PID/cgroup lines from the latest evidence
 *  (kept, so that a demo run after the command has exited still finds the cgroup's files). */
export interface DemoSeen {
  cgroups?: string[];
  /** The machine's cgroup layout (default: detected when a {cgroup:…} is asked for). */
  layout?: CgroupLayout;
}

/** {cgroup:<controller>}: the cgroup directory from the process's /proc/PID/cgroup line for the
 *  hierarchy that holds the controller on this machine (v1, v2 or hybrid: cgroups(7)). */
function cgroupVars(seen: DemoSeen): DemoVars {
  if (!seen.cgroups?.length) return {};
  let layout = seen.layout;
  try {
    layout ??= detectLayout();
  } catch {
    return {};
  }
  const out: DemoVars = {};
  for (const c of NSX_CONTROLLERS) out[`cgroup:${c}`] = cgroupDirFor(seen.cgroups, c, layout);
  return out;
}

export function demoVars(c: DemoSource, seen: DemoSeen = {}): DemoVars {
  return {
    ...cgroupVars(seen),
    pid: c.pid === undefined ? undefined : String(c.pid),
    id: c.id,
    rootfs: c.spec.root.path,
    hostIf: c.network?.hostIf,
    hostAddress: c.network?.hostAddress,
    containerAddress: c.network?.containerAddress,
    // This nsx itself (bin/nsx.cjs, executable), for a host demo that starts a second container to compare.
    nsx: join(packageRoot(), 'bin', 'nsx.cjs'),
  };
}

/** {name} or {name:argument}, but not a shell's ${name}. */
const PLACEHOLDER = /(?<!\$)\{([A-Za-z]+(?::[a-z_]+)?)\}/g;

/** The placeholders an argv names ({pid} → "pid"), known or not. */
export function placeholdersIn(argv: string[]): string[] {
  return [...new Set(argv.flatMap((a) => [...a.matchAll(PLACEHOLDER)].map((m) => m[1])))];
}

/** argv with every {name} replaced; or the first name that is unknown or has no value now. */
export function fillPlaceholders(argv: string[], vars: DemoVars): { argv: string[] } | { missing: string } {
  for (const name of placeholdersIn(argv))
    if (!(DEMO_PLACEHOLDERS as readonly string[]).includes(name)) return { missing: name };
  return fillFrom(argv, vars);
}

/** argv with every {name} replaced from vars, whatever the names (a tour's lab and commands give
 *  their own); or the first name vars has no value for. */
export function fillFrom(
  argv: string[],
  vars: Record<string, string | undefined>,
): { argv: string[] } | { missing: string } {
  for (const name of placeholdersIn(argv)) if (vars[name] === undefined) return { missing: name };
  return { argv: argv.map((a) => a.replace(PLACEHOLDER, (_, n: string) => vars[n]!)) };
}

export { shellLine } from '../shellwords.js';

// How a demo is shown (the container's id as <id>, its command broken to fit) is the renderer's.
export { commandLines, shownText } from '../render/lesson.js';
