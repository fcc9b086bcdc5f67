// What a container may leave on the host: mounts, cgroups, network namespaces, veth devices,
// processes, and an image container's directory (its writable layer, <NSX_ROOT>/containers/<id>).
// Tests snapshot it before and compare after; the suite ends with a check of it all.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TEST_NSX_ROOT, sh } from './helpers.js';

const SHIM = join(ROOT, 'shim', 'nsx-shim');

export interface Leftovers {
  mounts: string[];
  cgroups: string[];
  netns: string[];
  veths: string[];
  processes: string[];
  containers: string[];
}

function cgroupDirs(): string[] {
  const out: string[] = [];
  const roots = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4]);
  for (const root of roots) {
    try {
      for (const d of readdirSync(join(root, 'nsx'), { withFileTypes: true }))
        if (d.isDirectory()) out.push(join(root, 'nsx', d.name));
    } catch {
      /* no nsx dir in this hierarchy */
    }
  }
  return out;
}

/** Processes running this checkout's shim (a supervisor, a worker, or PID 1 before exec). */
function shimProcesses(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === SHIM) out.push(`${pid} nsx-shim`);
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return out;
}

/** <root>/containers/* of the stores tests and users run containers from. */
function containerDirs(): string[] {
  const roots = new Set([TEST_NSX_ROOT, '/var/lib/nsx', ...(process.env.NSX_ROOT ? [process.env.NSX_ROOT] : [])]);
  const out: string[] = [];
  for (const root of roots) {
    try {
      for (const name of readdirSync(join(root, 'containers'))) out.push(join(root, 'containers', name));
    } catch {
      /* no containers there */
    }
  }
  return out;
}

export function leftovers(): Leftovers {
  return {
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => /nsx|rootfs/.test(l)),
    cgroups: cgroupDirs(),
    netns: sh('ip netns list 2>/dev/null').split('\n').filter(Boolean),
    veths: sh("ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}'")
      .split('\n')
      .filter((l) => l.startsWith('nsx')),
    processes: shimProcesses(),
    containers: containerDirs(),
  };
}

/** Waits (up to 3 s) until the container `id` has left nothing: no cgroup, mount or directory
 *  naming its id, and no process of this checkout's shim. Immune to containers other programs run
 *  on the machine meanwhile. Returns what was left (all empty when nothing was). */
export async function leftBy(id: string): Promise<Pick<Leftovers, 'cgroups' | 'mounts' | 'containers' | 'processes'>> {
  const left = () => {
    const l = leftovers();
    const ours = (xs: string[]) => xs.filter((x) => x.includes(id));
    return { cgroups: ours(l.cgroups), mounts: ours(l.mounts), containers: ours(l.containers), processes: l.processes };
  };
  let now = left();
  for (let i = 0; i < 30 && Object.values(now).some((x) => x.length); i++) {
    await new Promise((r) => setTimeout(r, 100));
    now = left();
  }
  return now;
}

/** Host processes whose command line is exactly `argv` (a probe a test's shell started). */
export function processesRunning(argv: string[]): number[] {
  const want = argv.join('\0');
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0$/, '') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}
