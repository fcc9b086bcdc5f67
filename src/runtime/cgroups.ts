// Control groups: the kernel feature that limits what a container may *use* (memory, processes,
// CPU time), where namespaces only limit what it can *see*.
//
// Two generations of the interface exist side by side, and a machine may run either or both
// (cgroups(7), "CGROUPS VERSION 1" / "CGROUPS VERSION 2"):
//   v1      one hierarchy (one mount of fstype "cgroup") per controller or per set of co-mounted
//           controllers, e.g. /sys/fs/cgroup/memory, /sys/fs/cgroup/cpu,cpuacct.
//   v2      one unified hierarchy (fstype "cgroup2"), controllers enabled per subtree.
//   hybrid  v1 controller hierarchies plus a cgroup2 mount (usually /sys/fs/cgroup/unified) that
//           holds whatever controllers v1 did not claim — a controller lives in one hierarchy only.
// So we detect, never assume: the layout comes from /proc/self/mountinfo, and each controller is
// used wherever the kernel says it is.
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NsxError, errnoMessage, errnoNumber } from './errors.js';

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

export interface CgroupLimits {
  memoryBytes?: number;
  pidsMax?: number;
  /** 1.5 = one and a half CPUs */
  cpus?: number;
}

export interface CgroupFacts {
  paths: string[];
  memoryLimit?: number | 'max';
  pidsMax?: number | 'max';
  cpuQuotaUs?: number | 'max';
  cpuPeriodUs?: number;
  memoryCurrent?: number;
  pidsCurrent?: number;
  oomKills?: number;
}

export interface CgroupFsOptions {
  /** Prefix for every path touched (default '/'); tests pass a temp dir that mimics the tree. */
  fsRoot?: string;
  /**
   * fsRoot holds plain directories standing in for cgroupfs (unit tests): mkdir also creates the
   * interface files the kernel would create, with the kernel's defaults, and rmdir first deletes
   * them (on cgroupfs, rmdir(2) takes a cgroup's interface files with it).
   */
  fake?: boolean;
}

/** The controllers nsx sets limits with, in the order they are set up. */
export const NSX_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type NsxController = (typeof NSX_CONTROLLERS)[number];

/** Docker's floor for --memory (linuxMinMemory in moby): "Minimum memory limit allowed is 6MB". */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** CFS period nsx uses: 100 ms, the kernel's and Docker's default. */
export const CPU_PERIOD_US = 100_000;
/** The kernel rejects a CFS quota under 1 ms (cgroup-v2.rst "cpu.max"; v1 cfs_quota_us). */
const MIN_CPU_QUOTA_US = 1000;
/** Directory under each hierarchy root that holds nsx's container cgroups. */
const NSX_DIR = 'nsx';

const optionOf: Record<NsxController, string> = { memory: '--memory', pids: '--pids-limit', cpu: '--cpus' };

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
const V1_NON_CONTROLLER_OPTIONS = new Set(['rw', 'ro', 'none', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'xattr', 'favordynmods']);

function v1Controllers(superOptions: string[]): { controllers: string[]; name?: string } {
  const controllers = superOptions.filter((o) => !V1_NON_CONTROLLER_OPTIONS.has(o) && !o.includes('='));
  const name = superOptions.find((o) => o.startsWith('name='))?.slice('name='.length);
  return { controllers, name };
}

/** cgroup-v2.rst "Enabling and Disabling": cgroup.controllers lists what this cgroup may use. */
function readControllers(dir: string): string[] {
  const text = readOptional(join(dir, 'cgroup.controllers'));
  return text === undefined ? [] : text.split(/\s+/).filter(Boolean);
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
      throw fsError(err, 'read', '/proc/self/mountinfo', 'is /proc mounted? nsx needs procfs to find the cgroup filesystems');
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
    throw new NsxError('cgroups: no cgroup filesystem with controllers is mounted (nothing of fstype cgroup2 or cgroup in /proc/self/mountinfo)', {
      syscall: 'mount',
      detail: '/proc/self/mountinfo',
      hint: 'mount the unified hierarchy: mount -t cgroup2 none /sys/fs/cgroup (systemd does this at boot; inside a container, start it with the host\'s /sys/fs/cgroup available)',
    });
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

interface Placement {
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
function placeController(layout: CgroupLayout, controller: NsxController): Placement | undefined {
  const v1Mount = layout.v1[controller];
  if (v1Mount !== undefined) return { controller, version: 1, mount: v1Mount };
  if (layout.unified !== undefined && layout.unifiedControllers.includes(controller)) {
    return { controller, version: 2, mount: layout.unified };
  }
  return undefined;
}

function missingControllerError(layout: CgroupLayout, controller: NsxController): NsxError {
  const where = layout.unified !== undefined ? join(layout.unified, 'cgroup.controllers') : '/sys/fs/cgroup/cgroup.controllers';
  return new NsxError(`${optionOf[controller]}: the ${controller} controller is not enabled on this machine`, {
    detail: controller,
    hint:
      `on cgroup v2 check ${where} (it must list "${controller}"); on v1 check that a cgroup filesystem ` +
      `with the ${controller} option is mounted (grep cgroup /proc/self/mountinfo)` +
      (controller === 'memory' ? '; some kernels need cgroup_enable=memory on the kernel command line (e.g. Raspberry Pi OS)' : '') +
      `; or run without ${optionOf[controller]}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Validating limits

interface CheckedLimits {
  memoryBytes?: number;
  pidsMax?: number;
  cpuQuotaUs?: number;
}

/** Docker semantics: 0 means "no limit" for all three, and --pids-limit -1 means unlimited too. */
function checkLimits(limits: CgroupLimits): CheckedLimits {
  const out: CheckedLimits = {};
  const { memoryBytes, pidsMax, cpus } = limits;
  if (memoryBytes !== undefined && memoryBytes !== 0) {
    if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 0) {
      throw new NsxError(`--memory ${memoryBytes}: not a whole, positive number of bytes`, { detail: 'memory', hint: 'use e.g. -m 256m' });
    }
    if (memoryBytes < MIN_MEMORY_BYTES) {
      throw new NsxError(`--memory ${memoryBytes}: minimum memory limit allowed is 6MB (${MIN_MEMORY_BYTES} bytes)`, {
        detail: 'memory',
        hint: 'Docker refuses limits under 6MB too: below that even starting the container\'s first process gets OOM-killed; use e.g. -m 32m',
      });
    }
    out.memoryBytes = memoryBytes;
  }
  if (pidsMax !== undefined && pidsMax !== 0 && pidsMax !== -1) {
    if (!Number.isSafeInteger(pidsMax) || pidsMax < 0) {
      throw new NsxError(`--pids-limit ${pidsMax}: not a whole number of processes`, { detail: 'pids', hint: 'use e.g. --pids-limit 100 (or -1 for no limit)' });
    }
    out.pidsMax = pidsMax;
  }
  if (cpus !== undefined && cpus !== 0) {
    const quota = Math.round(cpus * CPU_PERIOD_US);
    if (!Number.isFinite(cpus) || cpus < 0 || quota < MIN_CPU_QUOTA_US) {
      throw new NsxError(`--cpus ${cpus}: out of range; the smallest CPU share is 0.01`, {
        detail: 'cpu',
        hint: 'the kernel needs a CFS quota of at least 1ms per 100ms period; use e.g. --cpus 0.5',
      });
    }
    // No upper bound: a quota above the machine's CPU count is accepted by the kernel and simply
    // never throttles (Docker refuses it up front; we let learners see that it has no effect).
    out.cpuQuotaUs = quota;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Kernel file helpers

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

/** strerror texts for errnos this module meets that errors.ts does not spell out. */
const moreErrnoText: Record<string, string> = {
  ESRCH: 'No such process',
  ENOTEMPTY: 'Directory not empty',
  EOPNOTSUPP: 'Operation not supported',
};

function fsError(err: unknown, syscall: string, path: string, hint: string): NsxError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const errno = code ? errnoNumber(code) : undefined;
  if (code === undefined || errno === undefined) return new NsxError(`${syscall} ${path}: ${(err as Error)?.message ?? String(err)}`, { syscall, detail: path, hint });
  const text = errnoMessage(errno);
  return new NsxError(`${syscall} ${path}: ${text === code ? moreErrnoText[code] ?? code : text}`, { syscall, errno, detail: path, hint });
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

function exists(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Write one value with one write(2): cgroup files parse each write on its own (cgroup-v2.rst
 * "Format"). Opened without O_CREAT: cgroupfs cannot create files, so a missing interface file
 * means the controller is not enabled here — ENOENT says that, where O_CREAT would say EACCES.
 */
function writeKernelFile(path: string, value: string, hint: (code: string | undefined) => string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_TRUNC);
    writeSync(fd, value);
  } catch (err) {
    throw fsError(err, 'write', path, hint((err as NodeJS.ErrnoException).code));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function notEnabledHint(controller: string, dir: string, version: 1 | 2): string {
  return version === 2
    ? `the ${controller} controller is not enabled for ${dir}: "+${controller}" must be in its parent's cgroup.subtree_control, which needs "${controller}" in the parent's cgroup.controllers`
    : `the ${controller} controller is not mounted at this hierarchy (grep cgroup /proc/self/mountinfo)`;
}

function genericHint(code: string | undefined, path: string): string | undefined {
  if (code === 'EACCES' || code === 'EPERM') return `only root may change ${path}; run nsx with sudo`;
  if (code === 'EROFS') return '/sys/fs/cgroup is mounted read-only (typical inside a container); run nsx on the host or VM';
  return undefined;
}

/** A plain number, or 'max' for "no limit". v1 spells no-limit as a huge page-aligned number. */
function parseLimit(text: string | undefined): number | 'max' | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'max' || t === '-1') return 'max';
  const n = Number(t);
  if (!Number.isFinite(n)) return undefined;
  // v1 memory.limit_in_bytes reads 9223372036854771712 (LONG_MAX rounded to a page) when unset;
  // no real limit is above 2^53 bytes (8 PiB), so anything that large means "unlimited".
  return n > Number.MAX_SAFE_INTEGER ? 'max' : n;
}

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** Flat keyed files: "oom_kill 3" lines in memory.events (v2) and memory.oom_control (v1). */
function keyedValue(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key) return parseCount(v);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Directories: creating and removing cgroups

/** What the kernel would put in a fresh cgroup directory (fake trees only), with its defaults. */
function fakeInterfaceFiles(version: 1 | 2, controllers: string[]): Record<string, string> {
  const files: Record<string, string> = { 'cgroup.procs': '' };
  if (version === 2) {
    Object.assign(files, { 'cgroup.controllers': controllers.join(' ') + '\n', 'cgroup.subtree_control': '\n', 'cgroup.events': 'populated 0\nfrozen 0\n' });
  } else {
    files.tasks = '';
  }
  for (const c of controllers) {
    if (c === 'memory' && version === 2) {
      Object.assign(files, {
        'memory.max': 'max\n',
        'memory.swap.max': 'max\n',
        'memory.current': '0\n',
        'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
      });
    } else if (c === 'memory') {
      Object.assign(files, {
        'memory.limit_in_bytes': '9223372036854771712\n',
        'memory.memsw.limit_in_bytes': '9223372036854771712\n',
        'memory.usage_in_bytes': '0\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
      });
    } else if (c === 'pids') {
      Object.assign(files, { 'pids.max': 'max\n', 'pids.current': '0\n' });
    } else if (c === 'cpu' && version === 2) {
      files['cpu.max'] = `max ${CPU_PERIOD_US}\n`;
    } else if (c === 'cpu') {
      Object.assign(files, { 'cpu.cfs_period_us': `${CPU_PERIOD_US}\n`, 'cpu.cfs_quota_us': '-1\n' });
    } else if (c === 'cpuacct') {
      files['cpuacct.usage'] = '0\n';
    }
  }
  return files;
}

/** v2 tokens in cgroup.subtree_control ("memory pids"; a fake tree may hold "+memory +pids"). */
function readSubtreeControl(dir: string): string[] {
  const text = readOptional(join(dir, 'cgroup.subtree_control')) ?? '';
  return text.split(/\s+/).filter(Boolean).map((t) => t.replace(/^\+/, ''));
}

/**
 * cgroups(7) "Creating cgroups and moving processes": a cgroup is made with mkdir(2), and the
 * kernel fills it with interface files. Returns false if it already existed.
 */
function makeCgroupDir(dir: string, fake: { version: 1 | 2; controllers: string[] } | undefined): boolean {
  try {
    mkdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw fsError(err, 'mkdir', dir, genericHint((err as NodeJS.ErrnoException).code, dir) ?? 'check that the cgroup filesystem is mounted there (grep cgroup /proc/self/mountinfo)');
  }
  if (fake) {
    for (const [name, content] of Object.entries(fakeInterfaceFiles(fake.version, fake.controllers))) writeFileSync(join(dir, name), content);
  }
  return true;
}

/**
 * cgroups(7) "Removing cgroups": rmdir(2) removes a cgroup that has no child cgroups and no
 * member processes (else EBUSY); its interface files go with it. A fake tree needs them deleted.
 */
function rmdirCgroupSync(dir: string, fake: boolean): void {
  if (fake) deleteFakeFiles(dir);
  rmdirSync(dir);
}

function deleteFakeFiles(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isFile()) unlinkSync(join(dir, e.name));
}

/** rmdir the nsx parent if nothing else is in it; a busy or non-empty parent is fine. */
function removeParentIfEmpty(dir: string, fake: boolean): void {
  try {
    if (fake && readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory())) return;
    rmdirCgroupSync(dir, fake);
  } catch {
    // ENOENT, EBUSY (other containers' cgroups), ENOTEMPTY: leave it.
  }
}

/** Container ids become directory names: keep them to one safe path component. */
function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) {
    throw new NsxError(`cgroup name ${JSON.stringify(id)}: not a valid container id`, {
      detail: id,
      hint: 'use letters, digits, "_", "." and "-" (starting with a letter or digit), at most 128 characters',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// v2: enabling controllers down the tree

/**
 * cgroup-v2.rst "Enabling and Disabling" / "Top-down Constraint": a child only gets a
 * controller's files if its parent lists "+<controller>" in cgroup.subtree_control, and a parent
 * can only enable what its own cgroup.controllers lists. So <root> enables them for <root>/nsx,
 * and <root>/nsx for <root>/nsx/<id>.
 * "No Internal Process Constraint" (cgroups(7) "Cgroups v2 'no internal processes' rule"): a
 * non-root cgroup with processes cannot enable controllers for children (EBUSY). The root is
 * exempt, and nsx/ never holds processes itself — only its children do.
 */
function enableControllers(dir: string, controllers: string[]): void {
  if (controllers.length === 0) return;
  const enabled = readSubtreeControl(dir);
  const wanted = controllers.filter((c) => !enabled.includes(c));
  if (wanted.length === 0) return;
  const file = join(dir, 'cgroup.subtree_control');
  writeKernelFile(file, wanted.map((c) => '+' + c).join(' '), (code) => {
    if (code === 'ENOENT') {
      const available = readControllers(dir);
      const missing = wanted.filter((c) => !available.includes(c));
      return `${missing.join(', ') || wanted.join(', ')} not listed in ${join(dir, 'cgroup.controllers')}, so it cannot be enabled for children; enable it in the parent's cgroup.subtree_control first`;
    }
    if (code === 'EBUSY') {
      return `${dir} has processes in it (cat ${join(dir, 'cgroup.procs')}), and cgroup v2's "no internal processes" rule forbids enabling controllers for children then; move them into a leaf cgroup (e.g. ${join(dir, 'init')}) first, as Docker-in-Docker entrypoints do`;
    }
    if (code === 'EINVAL' && wanted.includes('cpu')) {
      return 'the cpu controller can only be enabled while every realtime (SCHED_FIFO/RR) process is in the root cgroup (cgroup-v2.rst "CPU"); check with ps -eo pid,cls,comm | grep -E "FF|RR"';
    }
    return genericHint(code, file) ?? 'write "+<controller>" names listed in cgroup.controllers';
  });
}

// ---------------------------------------------------------------------------------------------
// Limits, one function per kernel file

/**
 * Memory, v2 (cgroup-v2.rst "Memory Interface Files"): memory.max is the hard limit; over it the
 * kernel reclaims and then OOM-kills inside the cgroup.
 * memory.swap.max = 0 when the file exists: otherwise a memory hog is not killed but pushed to
 * swap and crawls on, which hides the lesson. (Docker instead allows swap = 2x memory by default.)
 */
function setMemoryV2(dir: string, bytes: number): void {
  writeKernelFile(join(dir, 'memory.max'), String(bytes), (code) => memoryHint(code, dir, 2));
  const swap = join(dir, 'memory.swap.max');
  if (exists(swap)) writeKernelFile(swap, '0', (code) => memoryHint(code, dir, 2));
}

/**
 * Memory, v1 (cgroup-v1/memory.rst): memory.limit_in_bytes limits RAM; memory.memsw.limit_in_bytes
 * limits RAM+swap and exists only with swap accounting. Setting memsw to the same value means
 * "no swap", like memory.swap.max = 0 on v2. Order matters: the kernel requires
 * memsw >= memory at every moment, so when lowering from unlimited, memory goes first.
 */
function setMemoryV1(dir: string, bytes: number): void {
  writeKernelFile(join(dir, 'memory.limit_in_bytes'), String(bytes), (code) => memoryHint(code, dir, 1));
  const memsw = join(dir, 'memory.memsw.limit_in_bytes');
  if (exists(memsw)) writeKernelFile(memsw, String(bytes), (code) => memoryHint(code, dir, 1));
}

function memoryHint(code: string | undefined, dir: string, version: 1 | 2): string {
  if (code === 'ENOENT') return notEnabledHint('memory', dir, version);
  if (code === 'EBUSY') return 'the cgroup already uses more memory than the new limit and the kernel could not reclaim enough; set a larger limit, or set it before adding processes';
  if (code === 'EINVAL') {
    return version === 1
      ? 'not a valid byte count, or memory.limit_in_bytes would exceed memory.memsw.limit_in_bytes (memsw must stay >= memory: raise memsw first, lower memory first)'
      : 'not a valid byte count (a number, or "max")';
  }
  return genericHint(code, dir) ?? 'see cgroups(7)';
}

/** pids (cgroup-v2.rst "PID Interface Files"; same file in v1): fork/clone fail with EAGAIN past it. */
function setPidsMax(dir: string, max: number, version: 1 | 2): void {
  writeKernelFile(join(dir, 'pids.max'), String(max), (code) =>
    code === 'ENOENT' ? notEnabledHint('pids', dir, version) : code === 'EINVAL' ? 'pids.max takes a whole number or "max"' : genericHint(code, dir) ?? 'see cgroups(7)',
  );
}

/**
 * CPU, v2 (cgroup-v2.rst "CPU Interface Files"): cpu.max = "$MAX $PERIOD" — the group may run
 * $MAX microseconds per $PERIOD, across all CPUs (so 150000 100000 = 1.5 CPUs).
 */
function setCpuV2(dir: string, quotaUs: number): void {
  writeKernelFile(join(dir, 'cpu.max'), `${quotaUs} ${CPU_PERIOD_US}`, (code) => cpuHint(code, dir, 2));
}

/**
 * CPU, v1 (scheduler/sched-bwc.rst): the same bandwidth control as two files. The period goes
 * first so the quota is checked against the period we mean, not whatever was there.
 */
function setCpuV1(dir: string, quotaUs: number): void {
  writeKernelFile(join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US), (code) => cpuHint(code, dir, 1));
  writeKernelFile(join(dir, 'cpu.cfs_quota_us'), String(quotaUs), (code) => cpuHint(code, dir, 1));
}

function cpuHint(code: string | undefined, dir: string, version: 1 | 2): string {
  if (code === 'ENOENT') {
    return notEnabledHint('cpu', dir, version) + (version === 1 ? '; CFS bandwidth control needs CONFIG_CFS_BANDWIDTH' : '');
  }
  if (code === 'EINVAL') return 'the quota must be at least 1000µs (1ms) per period, and no larger than an enclosing cgroup\'s quota allows';
  return genericHint(code, dir) ?? 'see cgroups(7)';
}

// ---------------------------------------------------------------------------------------------
// The container's cgroup

interface Hierarchy {
  /** Absolute directory of the container's cgroup (fsRoot included). */
  dir: string;
  /** Absolute directory of the nsx parent. */
  parent: string;
  version: 1 | 2;
}

export class ContainerCgroup {
  /** Absolute dirs of the container's cgroup, one per hierarchy (v1 controller mounts, then the unified one). */
  readonly paths: string[];
  readonly id: string;
  private readonly hierarchies: Hierarchy[];
  /** Which directory (and interface version) each controller's files are in. */
  private readonly controllerDirs: Map<NsxController, { dir: string; version: 1 | 2 }>;
  private readonly fake: boolean;

  private constructor(id: string, hierarchies: Hierarchy[], controllerDirs: Map<NsxController, { dir: string; version: 1 | 2 }>, fake: boolean) {
    this.id = id;
    this.hierarchies = hierarchies;
    this.paths = hierarchies.map((h) => h.dir);
    this.controllerDirs = controllerDirs;
    this.fake = fake;
  }

  /** Work out the directories for <root>/nsx/<id> in every hierarchy, without touching them. */
  private static plan(layout: CgroupLayout, id: string, required: Set<NsxController>, opts: CgroupFsOptions) {
    checkId(id);
    const fsRoot = opts.fsRoot ?? '/';
    const placements: Placement[] = [];
    for (const c of NSX_CONTROLLERS) {
      const p = placeController(layout, c);
      if (p) placements.push(p);
      else if (required.has(c)) throw missingControllerError(layout, c);
    }
    const hierarchies: Hierarchy[] = [];
    const controllerDirs = new Map<NsxController, { dir: string; version: 1 | 2 }>();
    const add = (mount: string, version: 1 | 2): Hierarchy => {
      const parent = join(fsRoot, mount, NSX_DIR);
      let h = hierarchies.find((x) => x.parent === parent);
      if (!h) hierarchies.push((h = { dir: join(parent, id), parent, version }));
      return h;
    };
    // v1 hierarchies first (co-mounted controllers such as cpu,cpuacct share one), then the
    // unified one — in hybrid too, so the process also has its own v2 cgroup (cgroups(7):
    // every process is in exactly one cgroup of each hierarchy).
    for (const p of placements.filter((x) => x.version === 1)) controllerDirs.set(p.controller, { dir: add(p.mount, 1).dir, version: 1 });
    if (layout.unified !== undefined) {
      const h = add(layout.unified, 2);
      for (const p of placements.filter((x) => x.version === 2)) controllerDirs.set(p.controller, { dir: h.dir, version: 2 });
    }
    const v2Controllers = placements.filter((p) => p.version === 2).map((p) => p.controller);
    return { fsRoot, hierarchies, controllerDirs, v2Controllers };
  }

  /**
   * Creates <root>/nsx/<id> in every hierarchy the limits need (v2: one dir under the unified
   * root; v1: memory, pids, cpu (+cpuacct if co-mounted) hierarchies; hybrid: the v1 controllers,
   * plus the unified dir so the process has a v2 cgroup too) and writes the limits. Controllers
   * needed but missing → NsxError. With no limits still creates the dirs (memory+pids+cpu where
   * available) so stats work. 0 means "no limit" (as in Docker), and so does pidsMax -1.
   */
  static create(layout: CgroupLayout, id: string, limits: CgroupLimits, opts: CgroupFsOptions = {}): ContainerCgroup {
    const checked = checkLimits(limits);
    const required = new Set<NsxController>();
    if (checked.memoryBytes !== undefined) required.add('memory');
    if (checked.pidsMax !== undefined) required.add('pids');
    if (checked.cpuQuotaUs !== undefined) required.add('cpu');
    const { hierarchies, controllerDirs, v2Controllers } = ContainerCgroup.plan(layout, id, required, opts);
    const fake = opts.fake === true;
    const cg = new ContainerCgroup(id, hierarchies, controllerDirs, fake);

    const created: string[] = [];
    const controllersOf = (h: Hierarchy): string[] =>
      h.version === 2
        ? readSubtreeControl(join(h.parent, '..'))
        : Object.entries(layout.v1).filter(([, m]) => join(opts.fsRoot ?? '/', m, NSX_DIR) === h.parent).map(([c]) => c);
    try {
      for (const h of hierarchies) {
        let made: boolean | undefined;
        // Another nsx may remove an empty nsx/ parent between our two mkdirs (its remove());
        // then the second mkdir fails ENOENT and we simply make the parent again.
        for (let attempt = 1; made === undefined; attempt++) {
          if (h.version === 2) enableControllers(join(h.parent, '..'), v2Controllers);
          if (makeCgroupDir(h.parent, fake ? { version: h.version, controllers: controllersOf(h) } : undefined)) created.push(h.parent);
          if (h.version === 2) enableControllers(h.parent, v2Controllers);
          try {
            made = makeCgroupDir(h.dir, fake ? { version: h.version, controllers: h.version === 2 ? readSubtreeControl(h.parent) : controllersOf(h) } : undefined);
          } catch (err) {
            if (!(err instanceof NsxError && err.info.errno === errnoNumber('ENOENT') && attempt < 3)) throw err;
          }
        }
        if (!made) {
          throw new NsxError(`mkdir ${h.dir}: ${errnoMessage(errnoNumber('EEXIST')!)}`, {
            syscall: 'mkdir',
            errno: errnoNumber('EEXIST'),
            detail: h.dir,
            hint: `a container with id ${id} is running, or a killed nsx left its cgroup behind; nsx removes empty leftovers at start-up, or rmdir ${h.dir} yourself`,
          });
        }
        created.push(h.dir);
      }
      cg.writeLimits(checked);
    } catch (err) {
      // Leave nothing half-made behind: the dirs are fresh, so they are empty and rmdir works.
      for (const dir of created.reverse()) {
        try {
          rmdirCgroupSync(dir, fake);
        } catch {
          // best effort
        }
      }
      throw err;
    }
    return cg;
  }

  /** Attach to the cgroup of a container created earlier (e.g. by another nsx process) to read facts or remove it. */
  static open(layout: CgroupLayout, id: string, opts: CgroupFsOptions = {}): ContainerCgroup {
    const { hierarchies, controllerDirs } = ContainerCgroup.plan(layout, id, new Set(), opts);
    return new ContainerCgroup(id, hierarchies, controllerDirs, opts.fake === true);
  }

  private writeLimits(l: CheckedLimits): void {
    const mem = this.controllerDirs.get('memory');
    if (l.memoryBytes !== undefined && mem) (mem.version === 2 ? setMemoryV2 : setMemoryV1)(mem.dir, l.memoryBytes);
    const pids = this.controllerDirs.get('pids');
    if (l.pidsMax !== undefined && pids) setPidsMax(pids.dir, l.pidsMax, pids.version);
    const cpu = this.controllerDirs.get('cpu');
    if (l.cpuQuotaUs !== undefined && cpu) (cpu.version === 2 ? setCpuV2 : setCpuV1)(cpu.dir, l.cpuQuotaUs);
  }

  /**
   * cgroups(7) "Creating cgroups and moving processes": writing a PID to cgroup.procs moves the
   * whole process (all its threads) there; children forked afterwards start in it. One write per
   * hierarchy, since a process has one cgroup in each.
   * One after the other, synchronously: writing them in parallel from libuv's thread pool (so that
   * kernels which wait for an RCU grace period per move would overlap the waits) measured 3x slower
   * on Linux 6.18 (hybrid, 4 hierarchies: ~1.1 ms vs ~0.36 ms), where a move does not wait.
   */
  addProcess(pid: number): void {
    for (const h of this.hierarchies) {
      const file = join(h.dir, 'cgroup.procs');
      writeKernelFile(file, String(pid), (code) => {
        if (code === 'ESRCH') return `process ${pid} no longer exists (it exited before it could be moved)`;
        if (code === 'EBUSY') return `${h.dir} has controllers enabled in its cgroup.subtree_control; cgroup v2's "no internal processes" rule allows processes only in leaf cgroups`;
        if (code === 'EINVAL') return `the kernel refused to move ${pid}: a realtime (SCHED_FIFO/RR) process cannot join a cgroup whose cpu controller gives it no realtime budget`;
        if (code === 'ENOENT') return `${h.dir} is gone (was the container's cgroup removed?)`;
        return genericHint(code, file) ?? 'see cgroups(7)';
      });
    }
  }

  /** Read back the kernel's view: the limits in force, current usage and the OOM-kill count. */
  facts(): CgroupFacts {
    const facts: CgroupFacts = { paths: [...this.paths] };
    const set = <K extends keyof CgroupFacts>(key: K, value: CgroupFacts[K] | undefined) => {
      if (value !== undefined) facts[key] = value;
    };
    const mem = this.controllerDirs.get('memory');
    if (mem?.version === 2) {
      set('memoryLimit', parseLimit(readOptional(join(mem.dir, 'memory.max'))));
      set('memoryCurrent', parseCount(readOptional(join(mem.dir, 'memory.current'))));
      set('oomKills', oomKillsV2(mem.dir));
    } else if (mem) {
      set('memoryLimit', parseLimit(readOptional(join(mem.dir, 'memory.limit_in_bytes'))));
      set('memoryCurrent', parseCount(readOptional(join(mem.dir, 'memory.usage_in_bytes'))));
      set('oomKills', oomKillsV1(mem.dir));
    }
    const pids = this.controllerDirs.get('pids');
    if (pids) {
      set('pidsMax', parseLimit(readOptional(join(pids.dir, 'pids.max'))));
      set('pidsCurrent', parseCount(readOptional(join(pids.dir, 'pids.current'))));
    }
    const cpu = this.controllerDirs.get('cpu');
    if (cpu?.version === 2) {
      const [quota, period] = (readOptional(join(cpu.dir, 'cpu.max')) ?? '').trim().split(/\s+/);
      set('cpuQuotaUs', parseLimit(quota || undefined));
      set('cpuPeriodUs', parseCount(period || undefined));
    } else if (cpu) {
      set('cpuQuotaUs', parseLimit(readOptional(join(cpu.dir, 'cpu.cfs_quota_us'))));
      set('cpuPeriodUs', parseCount(readOptional(join(cpu.dir, 'cpu.cfs_period_us'))));
    }
    return facts;
  }

  /** Has the kernel's OOM killer killed anything in this cgroup? */
  oomKilled(): boolean {
    return (this.facts().oomKills ?? 0) > 0;
  }

  /**
   * rmdir every path (retry EBUSY for up to ~1 s: processes of a dying PID namespace take a
   * moment to be reaped, and cgroups(7) only lets an empty cgroup go); then remove the nsx parent
   * dir if empty. Never throws for ENOENT.
   */
  async remove(): Promise<void> {
    let firstError: NsxError | undefined;
    const deadline = Date.now() + 1000; // one budget for all hierarchies: the same processes hold them all
    for (const h of this.hierarchies) {
      for (;;) {
        try {
          // rmdir(2) of a cgroup returns at once (the kernel frees it later), so it is made here and
          // not in libuv's thread pool: a round trip there costs more than the call (~0.2 ms vs 0.03).
          rmdirCgroupSync(h.dir, this.fake);
          break;
        } catch (err) {
          if (isErrno(err, 'ENOENT')) break;
          const busy = isErrno(err, 'EBUSY') || isErrno(err, 'ENOTEMPTY');
          if (busy && Date.now() < deadline) {
            await sleep(20);
            continue;
          }
          firstError ??= fsError(
            err,
            'rmdir',
            h.dir,
            busy
              ? `processes are still in it (cat ${join(h.dir, 'cgroup.procs')}); a cgroup can only be removed once they have exited — kill them and try again`
              : genericHint((err as NodeJS.ErrnoException).code, h.dir) ?? 'see cgroups(7) "Removing cgroups"',
          );
          break;
        }
      }
      removeParentIfEmpty(h.parent, this.fake);
    }
    if (firstError) throw firstError;
  }
}

/** v2 memory.events "oom_kill N": processes killed by the OOM killer in this cgroup (and below). */
function oomKillsV2(dir: string): number | undefined {
  return keyedValue(readOptional(join(dir, 'memory.events')), 'oom_kill');
}

/** v1 memory.oom_control has an "oom_kill N" line since Linux 4.13. */
function oomKillsV1(dir: string): number | undefined {
  return keyedValue(readOptional(join(dir, 'memory.oom_control')), 'oom_kill');
}

/**
 * Remove nsx/<id> cgroups left behind by a killed nsx whose cgroup.procs is empty (call at
 * start-up); returns removed paths. A cgroup that still has processes stays: its container may
 * be running under another nsx. So does one younger than minAgeMs (default 5 s): another nsx
 * starting at the same moment has created it but not yet moved its process in.
 */
export function removeStaleCgroups(
  layout: CgroupLayout,
  opts: CgroupFsOptions & { keep?: (id: string) => boolean; minAgeMs?: number } = {},
): string[] {
  const fsRoot = opts.fsRoot ?? '/';
  const fake = opts.fake === true;
  const minAgeMs = opts.minAgeMs ?? 5000;
  const mounts = new Set(Object.values(layout.v1));
  if (layout.unified !== undefined) mounts.add(layout.unified);
  const removed: string[] = [];
  for (const mount of mounts) {
    const parent = join(fsRoot, mount, NSX_DIR);
    // Usually there is none: existsSync answers that without building an exception (readdirSync's
    // ENOENT costs ~25 µs, and this runs for every hierarchy at every container's start).
    if (!existsSync(parent)) continue;
    let entries;
    try {
      entries = readdirSync(parent, { withFileTypes: true });
    } catch {
      continue; // no nsx dir in this hierarchy
    }
    for (const e of entries) {
      if (!e.isDirectory() || opts.keep?.(e.name)) continue;
      const dir = join(parent, e.name);
      if (minAgeMs > 0 && isYoungerThan(dir, minAgeMs)) continue;
      const procs = readOptional(join(dir, 'cgroup.procs'));
      if (procs === undefined || procs.trim() !== '') continue;
      try {
        rmdirCgroupSync(dir, fake);
        removed.push(dir);
      } catch {
        // busy (a process joined meanwhile, or it has children): not stale
      }
    }
    removeParentIfEmpty(parent, fake);
  }
  return removed;
}

/** cgroupfs stamps a cgroup directory with its creation time like any directory. */
function isYoungerThan(dir: string, ms: number): boolean {
  try {
    const st = statSync(dir);
    return Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < ms;
  } catch {
    return false;
  }
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
      controllers: line.slice(a + 1, b).split(',').filter(Boolean),
      path: line.slice(b + 1),
    });
  }
  return out;
}

/** Where a process sits: parse /proc/<pid>/cgroup → [{hierarchy id, controllers, path}] */
export function processCgroups(pid: number | 'self'): Array<{ id: number; controllers: string[]; path: string }> {
  const file = `/proc/${pid}/cgroup`;
  try {
    return parseProcCgroup(readFileSync(file, 'utf8'));
  } catch (err) {
    throw fsError(err, 'read', file, isErrno(err, 'ENOENT') ? `no process ${pid} (it has exited, or lives in another PID namespace)` : 'is /proc mounted?');
  }
}

// ---------------------------------------------------------------------------------------------
// Sizes

const sizeUnits: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Parse docker-style sizes: "512m", "1g", "100k", "1048576", "1.5g" — binary multiples, like
 * Docker's RAMInBytes; "kb"/"KiB"/"MB" spellings are accepted too. Fractions of a byte are dropped.
 * NsxError for malformed input.
 */
export function parseSize(text: string, option?: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgtp])(?:i?b)?|(b))?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * sizeUnits[(m[2] ?? m[3] ?? '').toLowerCase()]) : NaN;
  if (!m || !Number.isSafeInteger(bytes)) {
    const name = option === undefined ? '' : option.startsWith('-') ? `${option} ` : `--${option} `;
    throw new NsxError(`${name}${text}: not a size`, {
      detail: text,
      hint: 'use a number with an optional b, k, m or g suffix, e.g. 256m',
    });
  }
  return bytes;
}
