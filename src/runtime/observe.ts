// Evidence: facts read from the live process in /proc, never from what the runtime meant to do.
// Host view = what the host sees (its own namespaces, the real PID); container view = what the
// process sees of itself (reported by the shim from inside, and its own /proc entries).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { decodeCapMask } from './capabilities.js';

export const NAMESPACE_KINDS = [
  'user',
  'uts',
  'ipc',
  'net',
  'mnt',
  'cgroup',
  'time',
  'pid',
  'pid_for_children',
] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

export interface ProcessFacts {
  /** PID in the host's PID namespace. */
  pid: number;
  /** NSpid: the PID in every PID namespace from the host's down to the process's own. */
  nsPids: number[];
  /** Namespace ids ("uts:[4026531838]") by kind. */
  ns: Partial<Record<NamespaceKind, string>>;
  uid: number[];
  gid: number[];
  uidMap: string;
  gidMap: string;
  capEff: string[];
  capBnd: string[];
  noNewPrivs: boolean;
  /** 0 disabled, 1 strict, 2 filter (proc(5)). */
  seccomp: number;
  /** /proc/PID/cgroup lines. */
  cgroups: string[];
  /** Mount points the process can reach from its root (field 5 of mountinfo: proc(5) leaves out
   *  mounts outside the process's root, so after a chroot this is not the whole namespace). */
  mounts: string[];
  /** Every mount in the process's mount namespace, reachable or not; only where asked for. */
  namespaceMounts?: number;
  /** The process's root directory: the rootfs path when it is the container's root filesystem
   *  (matched by device and inode: after pivot_root, readlink of /proc/PID/root says only "/"). */
  root: string;
}

export interface InsideFacts {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  hostname: string;
  domainname: string;
  cwd: string;
  /** Network interfaces in its network namespace, with their state: "lo:up". */
  links: string[];
}

/** The same facts of nsx itself, for the host column (absent in events recorded before they were
 *  collected). */
export interface HostFacts {
  hostname: string;
  ns: Partial<Record<NamespaceKind, string>>;
  /** Interfaces in the host's network namespace, "eth0:up" as the shim writes the container's. */
  links?: string[];
  /** Mount points nsx can reach (as ProcessFacts.mounts counts them). */
  mounts?: number;
  root?: string;
  cwd?: string;
  capEff?: string[];
  capBnd?: string[];
  noNewPrivs?: boolean;
  seccomp?: number;
  cgroups?: string[];
}

export interface Evidence {
  host: HostFacts;
  process: ProcessFacts;
  /** Present while the shim can still answer from inside (until exec). */
  inside?: InsideFacts;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function link(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

export function namespacesOf(pid: number | 'self'): Partial<Record<NamespaceKind, string>> {
  const out: Partial<Record<NamespaceKind, string>> = {};
  for (const k of NAMESPACE_KINDS) {
    const id = link(`/proc/${pid}/ns/${k}`);
    if (id) out[k] = id;
  }
  return out;
}

/** Parses /proc/PID/status into a field map (proc(5)). */
export function parseStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

const nums = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean).map(Number);

/** The process's root, named: the rootfs when /proc/PID/root is that directory (or, for an image,
 *  the overlay with the container's upper directory mounted there), else readlink's answer. */
function rootOf(pid: number, rootfs?: string, overlayUpper?: string): string {
  const seen = link(`/proc/${pid}/root`);
  if (!rootfs) return seen;
  if (overlayUpper) {
    // The overlay exists only in the container's mount namespace: its "/" line there names it.
    const root = read(`/proc/${pid}/mountinfo`)
      .split('\n')
      .find((l) => l.split(' ')[4] === '/');
    const [, fs = ''] = (root ?? '').split(' - ');
    if (fs.startsWith('overlay ') && fs.split(',').includes(`upperdir=${overlayUpper}`)) return `${rootfs} (overlay)`;
  }
  try {
    const a = statSync(`/proc/${pid}/root`);
    const b = statSync(rootfs);
    return a.dev === b.dev && a.ino === b.ino ? rootfs : seen;
  } catch {
    return seen;
  }
}

/** All mounts of a chrooted process's mount namespace: counted by a process that enters it (nsenter's
 *  root is the namespace's root, not the chroot). Costs a process start. */
export function namespaceMountCount(pid: number): number | undefined {
  try {
    const out = execFileSync('nsenter', ['-t', String(pid), '-m', 'cat', '/proc/self/mountinfo'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\n').filter(Boolean).length;
  } catch {
    return undefined;
  }
}

export function processFacts(
  pid: number,
  opts: { rootfs?: string; overlayUpper?: string; namespaceMounts?: boolean } = {},
): ProcessFacts {
  const st = parseStatus(read(`/proc/${pid}/status`));
  return {
    pid,
    nsPids: nums(st.NSpid),
    ns: namespacesOf(pid),
    uid: nums(st.Uid),
    gid: nums(st.Gid),
    uidMap: read(`/proc/${pid}/uid_map`).trim().replace(/\s+/g, ' '),
    gidMap: read(`/proc/${pid}/gid_map`).trim().replace(/\s+/g, ' '),
    capEff: st.CapEff ? decodeCapMask(st.CapEff) : [],
    capBnd: st.CapBnd ? decodeCapMask(st.CapBnd) : [],
    noNewPrivs: st.NoNewPrivs === '1',
    seccomp: Number(st.Seccomp ?? 0),
    cgroups: read(`/proc/${pid}/cgroup`).trim().split('\n').filter(Boolean),
    mounts: read(`/proc/${pid}/mountinfo`)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[4]),
    ...(opts.namespaceMounts ? { namespaceMounts: namespaceMountCount(pid) } : {}),
    root: rootOf(pid, opts.rootfs, opts.overlayUpper),
  };
}

/** The network interfaces of nsx's network namespace and whether each is up (IFF_UP, bit 0 of
 *  /sys/class/net/IF/flags: see sysfs-class-net in the kernel's Documentation/ABI). */
function hostLinks(): string[] {
  try {
    return readdirSync('/sys/class/net').map(
      (i) => `${i}:${Number(read(`/sys/class/net/${i}/flags`)) & 1 ? 'up' : 'down'}`,
    );
  } catch {
    return [];
  }
}

export function hostView(): Evidence['host'] {
  const self = processFacts(process.pid);
  return {
    hostname: osHostname(),
    ns: namespacesOf('self'),
    links: hostLinks(),
    mounts: self.mounts.length,
    root: self.root,
    cwd: process.cwd(),
    capEff: self.capEff,
    capBnd: self.capBnd,
    noNewPrivs: self.noNewPrivs,
    seccomp: self.seccomp,
    cgroups: self.cgroups,
  };
}

export function parseInside(fields: string[]): InsideFacts {
  const [pid, ppid, uid, gid, hostname, domainname, cwd, links = ''] = fields;
  return {
    pid: Number(pid),
    ppid: Number(ppid),
    uid: Number(uid),
    gid: Number(gid),
    hostname,
    domainname,
    cwd,
    links: links.split(',').filter(Boolean),
  };
}

/** The facts that differ between two snapshots, as "key: before → after" pairs (for highlighting). */
export function changedFacts(before: Evidence | undefined, after: Evidence): string[] {
  if (!before) return [];
  const flat = (e: Evidence): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.process.ns)) out[`ns.${k}`] = v;
    out.nsPids = e.process.nsPids.join(' ');
    out.uid = e.process.uid.join(' ');
    out.uidMap = e.process.uidMap;
    out.gidMap = e.process.gidMap;
    out.capEff = e.process.capEff.join(',');
    out.capBnd = e.process.capBnd.join(',');
    out.noNewPrivs = String(e.process.noNewPrivs);
    out.seccomp = String(e.process.seccomp);
    out.cgroups = e.process.cgroups.join(';');
    out.mounts = `${e.process.mounts.length}/${e.process.namespaceMounts ?? ''}`;
    out.root = e.process.root;
    if (e.inside) for (const [k, v] of Object.entries(e.inside)) out[`inside.${k}`] = String(v);
    return out;
  };
  const a = flat(before);
  const b = flat(after);
  return Object.keys(b).filter((k) => a[k] !== b[k]);
}
