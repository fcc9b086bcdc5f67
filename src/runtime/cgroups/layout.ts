// The cgroup layout of this machine: which generation of the interface is mounted where, and which
// hierarchy holds each controller; and where a process sits (/proc/<pid>/cgroup).
//
// Two generations of the interface exist side by side, and a machine may run either or both
// (cgroups(7), "CGROUPS VERSION 1" / "CGROUPS VERSION 2"):
//   v1      one hierarchy (one mount of fstype "cgroup") per controller or per set of co-mounted
//           controllers, e.g. /sys/fs/cgroup/memory, /sys/fs/cgroup/cpu,cpuacct.
//   v2      one unified hierarchy (fstype "cgroup2"), controllers enabled per subtree.
//   hybrid  v1 controller hierarchies plus a cgroup2 mount (usually /sys/fs/cgroup/unified) that
//           holds whatever controllers v1 did not claim — a controller lives in one hierarchy only.
// So we detect, never assume: the layout comes from /proc/self/mountinfo, and each controller is
// used wherever the kernel says it is. Nothing here writes to the cgroup filesystem.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NsxError } from '../errors.js';
import { fsError, isErrno, readControllers } from './files.js';

export type CgroupVersion = 'v1' | 'v2' | 'hybrid';

export interface CgroupLayout {
  version: CgroupVersion;
  /** v2 mount point (also in hybrid), if any */
  unified?: string;
  /** v2: controllers available at the unified root (cgroup.controllers) */
  unifiedControllers: string[];
  /** v1: controller name -> mount point, e.g. memory -> /sys/fs/cgroup/memory; co-mounted controllers share one path */
  v1: Record<string, string>;
  /** v1 named hierarchies without controllers, e.g. systemd -> /sys/fs/cgroup/systemd ("name=systemd"). */
  v1Named?: Record<string, string>;
}

/** The controllers nsx sets limits with, in the order they are set up. */
export const NSX_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type NsxController = (typeof NSX_CONTROLLERS)[number];

// ---------------------------------------------------------------------------------------------
// Detecting the layout

/** One line of /proc/<pid>/mountinfo, the fields we need (proc(5), "/proc/pid/mountinfo"). */
interface MountInfoEntry {
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 ...), like /proc/mounts. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * proc(5): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
 * The optional fields vary in number and end at the lone "-", after which come fstype, source
 * and the *super-block* options — which is where a v1 cgroup mount lists its controllers.
 */
function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 10 || sep < 0 || fields.length < sep + 4) continue;
    entries.push({
      root: unescapeMountField(fields[3]),
      mountPoint: unescapeMountField(fields[4]),
      fstype: fields[sep + 1],
      superOptions: fields[sep + 3].split(','),
    });
  }
  return entries;
}

/**
 * Super options of a v1 cgroup mount that are not controller names: the generic rw/ro flag and
 * the options the kernel's cgroup1 parser knows (cgroup1_parse_param / cgroup1_show_options:
 * none, noprefix, clone_children, cpuset_v2_mode, xattr, favordynmods, release_agent=, name=).
 * Everything else is a controller, so controllers added by future kernels are still recognised.
 */
const V1_NON_CONTROLLER_OPTIONS = new Set([
  'rw',
  'ro',
  'none',
  'noprefix',
  'clone_children',
  'cpuset_v2_mode',
  'xattr',
  'favordynmods',
]);

function v1Controllers(superOptions: string[]): { controllers: string[]; name?: string } {
  const controllers = superOptions.filter((o) => !V1_NON_CONTROLLER_OPTIONS.has(o) && !o.includes('='));
  const name = superOptions.find((o) => o.startsWith('name='))?.slice('name='.length);
  return { controllers, name };
}

/**
 * Parse mountinfo text (default: read /proc/self/mountinfo) and read cgroup.controllers under
 * the given fs root (default '/'; tests pass a temp dir that mimics the tree).
 */
export function detectLayout(opts: { mountinfo?: string; fsRoot?: string } = {}): CgroupLayout {
  const fsRoot = opts.fsRoot ?? '/';
  let text = opts.mountinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch (err) {
      const hint = 'is /proc mounted? nsx needs procfs to find the cgroup filesystems';
      throw fsError(err, 'read', '/proc/self/mountinfo', hint);
    }
  }
  const v1: Record<string, string> = {};
  const v1Named: Record<string, string> = {};
  let unified: string | undefined;
  for (const m of parseMountInfo(text)) {
    if (m.fstype === 'cgroup2') {
      // The same hierarchy can be mounted more than once (bind mounts, containers); the first
      // mount is the one the system set up, except that the conventional places win.
      if (unified === undefined || (!isConventionalCgroupPath(unified) && isConventionalCgroupPath(m.mountPoint))) {
        unified = m.mountPoint;
      }
    } else if (m.fstype === 'cgroup') {
      const { controllers, name } = v1Controllers(m.superOptions);
      for (const c of controllers) v1[c] ??= m.mountPoint;
      if (name !== undefined) v1Named[name] ??= m.mountPoint;
    }
  }
  const hasV1 = Object.keys(v1).length > 0;
  if (!hasV1 && unified === undefined) {
    throw new NsxError(
      'cgroups: no cgroup filesystem with controllers is mounted ' +
        '(nothing of fstype cgroup2 or cgroup in /proc/self/mountinfo)',
      {
        syscall: 'mount',
        detail: '/proc/self/mountinfo',
        hint:
          'mount the unified hierarchy: mount -t cgroup2 none /sys/fs/cgroup (systemd does this at boot; ' +
          "inside a container, start it with the host's /sys/fs/cgroup available)",
      },
    );
  }
  const version: CgroupVersion = hasV1 && unified !== undefined ? 'hybrid' : hasV1 ? 'v1' : 'v2';
  const layout: CgroupLayout = {
    version,
    unifiedControllers: unified === undefined ? [] : readControllers(join(fsRoot, unified)),
    v1,
  };
  if (unified !== undefined) layout.unified = unified;
  if (Object.keys(v1Named).length > 0) layout.v1Named = v1Named;
  return layout;
}

function isConventionalCgroupPath(p: string): boolean {
  return p === '/sys/fs/cgroup' || p === '/sys/fs/cgroup/unified';
}

// ---------------------------------------------------------------------------------------------
// Where each controller lives

export interface Placement {
  controller: NsxController;
  version: 1 | 2;
  /** Mount point of the hierarchy (without fsRoot). */
  mount: string;
}

/**
 * cgroups(7): a controller is bound to at most one hierarchy — a v1 mount, or else the v2 one
 * if it appears in the unified root's cgroup.controllers. Checking per controller handles pure
 * v1, pure v2 and hybrid alike (including a hybrid whose pids controller was left to v2).
 */
export function placeController(layout: CgroupLayout, controller: NsxController): Placement | undefined {
  const v1Mount = layout.v1[controller];
  if (v1Mount !== undefined) return { controller, version: 1, mount: v1Mount };
  if (layout.unified !== undefined && layout.unifiedControllers.includes(controller)) {
    return { controller, version: 2, mount: layout.unified };
  }
  return undefined;
}

/** A limit was asked for whose controller this machine does not offer. */
export function missingControllerError(layout: CgroupLayout, controller: NsxController): NsxError {
  const where = join(layout.unified ?? '/sys/fs/cgroup', 'cgroup.controllers');
  const bootOption = '; some kernels need cgroup_enable=memory on the kernel command line (e.g. Raspberry Pi OS)';
  return new NsxError(`${controller} limit: the ${controller} controller is not enabled on this machine`, {
    detail: controller,
    hint:
      `on cgroup v2 check ${where} (it must list "${controller}"); on v1 check that a cgroup filesystem ` +
      `with the ${controller} option is mounted (grep cgroup /proc/self/mountinfo)` +
      (controller === 'memory' ? bootOption : '') +
      `; or run without a ${controller} limit`,
  });
}

// ---------------------------------------------------------------------------------------------
// /proc/<pid>/cgroup

export interface ProcCgroupEntry {
  id: number;
  controllers: string[];
  path: string;
}

/**
 * cgroups(7) "/proc/[pid]/cgroup": one line per hierarchy, "hierarchy-ID:controller-list:path";
 * v2 is "0::/path", a v1 named hierarchy lists "name=systemd". The path may itself contain ':'.
 */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    out.push({
      id: Number(line.slice(0, a)),
      controllers: line
        .slice(a + 1, b)
        .split(',')
        .filter(Boolean),
      path: line.slice(b + 1),
    });
  }
  return out;
}

/** Where a process sits: parse /proc/<pid>/cgroup → [{hierarchy id, controllers, path}] */
export function processCgroups(pid: number | 'self'): ProcCgroupEntry[] {
  const file = `/proc/${pid}/cgroup`;
  try {
    return parseProcCgroup(readFileSync(file, 'utf8'));
  } catch (err) {
    const hint = isErrno(err, 'ENOENT')
      ? `no process ${pid} (it has exited, or lives in another PID namespace)`
      : 'is /proc mounted?';
    throw fsError(err, 'read', file, hint);
  }
}
