// What docker stats, top and inspect show of a container's processes, read from /proc and its cgroup
// (proc(5), cgroups(7)): host PIDs, CPU time, memory and pids, namespaces, capabilities, seccomp.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { decodeCapMask, effectiveCaps } from '../../runtime/capabilities.js';
import { ContainerCgroup, detectLayout } from '../../runtime/cgroups/index.js';
import { namespacesOf, parseStatus } from '../../runtime/observe.js';
import { ApiError } from '../errors.js';
import { can } from '../lifecycle.js';
import type { ContainerRecord } from '../state.js';

/** The host PIDs of the processes in the container's PID namespace. */
function pidsOf(r: ContainerRecord): string[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${r.State.Pid}/ns/pid`);
  } catch {
    return [];
  }
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/pid`) === ns;
      } catch {
        return false; // gone meanwhile
      }
    });
}

/** One sample of docker's stats: CPU time (ns) of the container's processes (utime + stime, and
 *  their reaped children's, from /proc/PID/stat), the host's CPU time, memory and pids from the
 *  container's cgroup (cgroups(7)). */
export function stats(root: boolean, r: ContainerRecord): Record<string, unknown> {
  if (!can.observe(r.State.Status) || !r.State.Pid) throw new ApiError(409, `container ${r.Id} is not running`);
  const TICK_NS = 1e9 / 100; // USER_HZ: /proc counts CPU time in 1/100 s (proc(5))
  let ticks = 0;
  for (const pid of pidsOf(r)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
    } catch {
      /* exited meanwhile */
    }
  }
  const cpuLine = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const system = cpuLine.reduce((a, b) => a + b, 0) * TICK_NS;
  let facts: { memoryCurrent?: number; memoryLimit?: number | 'max'; pidsCurrent?: number; pidsMax?: number | 'max' } =
    {};
  if (root) {
    try {
      facts = ContainerCgroup.open(detectLayout(), r.Id).facts();
    } catch {
      /* no cgroup (rootless): memory and pids unknown */
    }
  }
  const memLimit = typeof facts.memoryLimit === 'number' ? facts.memoryLimit : totalmem();
  return {
    read: new Date().toISOString(),
    id: r.Id,
    name: `/${r.Name}`,
    pids_stats: {
      current: facts.pidsCurrent ?? pidsOf(r).length,
      ...(typeof facts.pidsMax === 'number' ? { limit: facts.pidsMax } : {}),
    },
    memory_stats: facts.memoryCurrent !== undefined ? { usage: facts.memoryCurrent, limit: memLimit } : {},
    cpu_stats: { cpu_usage: { total_usage: ticks * TICK_NS }, system_cpu_usage: system, online_cpus: cpus().length },
  };
}

/** docker top: the container's processes as the host sees them (ps(1) on the host, the processes
 *  whose PID namespace is the container's): host PIDs, not the 1, 2, 3 seen inside. */
export function top(r: ContainerRecord): { Titles: string[]; Processes: string[][] } {
  if (!can.observe(r.State.Status) || !r.State.Pid) throw new ApiError(409, `container ${r.Id} is not running`);
  const pids = pidsOf(r);
  if (!pids.length) throw new ApiError(409, `container ${r.Id} is not running`);
  const out = spawnSync(
    'ps',
    [
      '-o',
      'user=UID',
      '-o',
      'pid=PID',
      '-o',
      'ppid=PPID',
      '-o',
      'c=C',
      '-o',
      'stime=STIME',
      '-o',
      'tty=TTY',
      '-o',
      'time=TIME',
      '-o',
      'cmd=CMD',
      '-p',
      pids.join(','),
    ],
    { encoding: 'utf8' },
  ); // docker's ps -ef columns
  if (out.status !== 0 && !out.stdout)
    throw new ApiError(
      500,
      `ps failed: ${out.stderr || out.error?.message}`,
      'ps(1) comes with procps: apt-get install procps',
    );
  const [head, ...lines] = out.stdout.trimEnd().split('\n');
  const Titles = head.trim().split(/\s+/);
  const Processes = lines.map((l) => {
    const f = l.trim().split(/\s+/);
    return [...f.slice(0, Titles.length - 1), f.slice(Titles.length - 1).join(' ')];
  });
  return { Titles, Processes };
}

/** Namespace ids, cgroup, capabilities and seccomp mode: read from /proc when it runs, else the spec's. */
export function facts(r: ContainerRecord): Record<string, unknown> {
  const pid = can.observe(r.State.Status) ? r.State.Pid : 0;
  if (pid) {
    try {
      const status = parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
      const seccomp =
        ({ '0': 'disabled', '1': 'strict', '2': 'filter' } as Record<string, string>)[status.Seccomp ?? ''] ??
        'unknown';
      return {
        Rootfs: r.Rootfs,
        Pid: pid,
        Namespaces: namespacesOf(pid),
        Cgroup: cgroup,
        Capabilities: decodeCapMask(status.CapEff ?? '0'),
        Seccomp: seccomp,
        NoNewPrivs: status.NoNewPrivs === '1',
      };
    } catch {
      /* it just exited: fall through to what was asked for */
    }
  }
  const h = r.HostConfig;
  let caps: string[] = [];
  try {
    caps = effectiveCaps({ add: h.CapAdd ?? undefined, drop: h.CapDrop ?? undefined, privileged: h.Privileged });
  } catch {
    /* checked at create */
  }
  const unconfined = h.Privileged || (h.SecurityOpt ?? []).some((o) => /^seccomp[=:]unconfined$/.test(o));
  return {
    Rootfs: r.Rootfs,
    Pid: 0,
    Namespaces: {},
    Cgroup: [],
    Capabilities: caps,
    Seccomp: unconfined ? 'disabled' : 'filter',
  };
}
