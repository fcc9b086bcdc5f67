// docker run's options → a container spec. Every bad value becomes an NsxError naming the option and
// the fix, before anything is created on the machine.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { effectiveCaps } from './capabilities.js';
import { CPU_PERIOD_US, MIN_MEMORY_BYTES } from './cgroups/index.js';
import { NsxError } from './errors.js';
import { secureJoin } from './securejoin.js';
import { DEFAULT_DEVICE_RULES } from './devices/rules.js';
import { DEFAULT_PROFILE as DEFAULT_APPARMOR_PROFILE } from './lsm/apparmor.js';
import { checkContainerName, checkCpus, checkHostname, checkId, checkPidsLimit, parseSize, shown } from './validate.js';
import {
  DEFAULT_PATH,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  defaultMounts,
  type ContainerSpec,
  type IdMapping,
  type NamespaceType,
} from './spec.js';

/** The container's root filesystem as the checks see it before it exists as one directory: a
 *  --rootfs directory, or an image's layers (src/image/rootfs.ts, LayeredView). */
export interface RootfsView {
  /** For messages: the directory, or "the image's 3 layers". */
  readonly describe: string;
  /** Whether the container path exists (symlinks followed inside the root). */
  has(path: string): boolean;
  /** A text file's content, or undefined. */
  readFile(path: string): string | undefined;
}

/** A --rootfs directory, looked into with secureJoin. */
export class DirectoryView implements RootfsView {
  constructor(readonly describe: string) {}
  has(path: string): boolean {
    return existsSync(secureJoin(this.describe, path));
  }
  readFile(path: string): string | undefined {
    try {
      return readFileSync(secureJoin(this.describe, path), 'utf8');
    } catch {
      return undefined;
    }
  }
}

/** What an image's config says about running it (image-spec config.md, "config"). */
export interface ImageRunConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
}

/** nsx run IMAGE: what the image brings to the options. */
export interface ImageRun {
  /** The reference, for messages. */
  ref: string;
  config: ImageRunConfig;
  view: RootfsView;
  /** Creates the container's root filesystem: called last, once every option is known good, so a
   *  bad option leaves nothing behind. Returns the spec's root. */
  prepare: (id: string, maps: { uidMappings?: IdMapping[]; gidMappings?: IdMapping[] }) => ContainerSpec['root'];
}

export interface RunOptions {
  rootfs?: string;
  /** Instead of rootfs: an image. */
  image?: ImageRun;
  /** docker's --entrypoint: replaces the image's Entrypoint (and then its Cmd); "" clears it. */
  entrypoint?: string;
  command: string[];
  name?: string;
  hostname?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  memory?: string;
  pidsLimit?: number;
  cpus?: string | number;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  network?: string;
  userns?: string;
  /** docker's --cgroupns: private (a cgroup namespace of its own, docker's default on cgroup v2) or host. */
  cgroupns?: string;
  unsafeChroot?: boolean;
  /** docker's -t: a pseudo-terminal for the command. */
  tty?: boolean;
  /** Extra namespaces beyond docker's defaults (the time namespace, for its lesson). */
  timeNamespace?: boolean;
  /** With timeNamespace: the seconds its CLOCK_MONOTONIC and CLOCK_BOOTTIME are ahead of (or, negative, behind) the host's. */
  timeOffsets?: { monotonic?: number; boottime?: number };
  /** Loads the seccomp profile at a path (or the default one for undefined); injected to keep this module light. */
  loadSeccomp: (path: string | undefined) => { profile: Record<string, unknown>; source: string };
  /** Whether nsx runs as real root (injected for tests). */
  root: boolean;
  /** The invoking user's uid/gid (rootless maps these). */
  uid?: number;
  gid?: number;
}

const NETWORKS = ['none', 'host', 'veth'] as const;

function newId(): string {
  return randomBytes(32).toString('hex');
}

function checkRootfs(path: string | undefined): string {
  if (!path)
    throw new NsxError('no root filesystem given', {
      hint: 'pass --rootfs DIR; build a busybox one with `npm run sandbox` (then --rootfs sandbox/rootfs/busybox)',
    });
  if (!existsSync(path))
    throw new NsxError(`--rootfs ${path}: no such directory`, {
      hint: 'build the sandbox one with `npm run sandbox`, then use --rootfs sandbox/rootfs/busybox',
    });
  if (!statSync(path).isDirectory())
    throw new NsxError(`--rootfs ${path}: not a directory`, {
      hint: "give the directory that holds the container's /bin, /etc, …",
    });
  const real = realpathSync(path);
  if (real === '/')
    throw new NsxError("--rootfs /: the host's own root cannot be a container's root", {
      hint: 'use a separate directory, e.g. sandbox/rootfs/busybox',
    });
  return real;
}

/** Docker's "-e KEY=VAL" and "-e KEY" (take KEY from nsx's own environment; absent → not set). */
function parseEnv(entries: string[] = []): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.startsWith('=') || e === '') throw new NsxError(`-e ${e}: no variable name`, { hint: 'write -e NAME=value' });
    if (e.includes('=')) out.push(e);
    else if (process.env[e] !== undefined) out.push(`${e}=${process.env[e]}`);
  }
  return out;
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const map = new Map<string, string>();
  for (const e of [...base, ...extra]) map.set(e.slice(0, e.indexOf('=')), e);
  return [...map.values()];
}

function readDb(view: RootfsView, file: string): string[][] {
  return (view.readFile(file) ?? '')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** -u user[:group] (or the image's User), names looked up in the container's /etc/passwd and
 *  /etc/group, as docker does. */
export function resolveUser(
  rootfs: string | RootfsView,
  spec: string | undefined,
): { uid: number; gid: number; additionalGids: number[] } {
  if (!spec) return { uid: 0, gid: 0, additionalGids: [] };
  const view = typeof rootfs === 'string' ? new DirectoryView(rootfs) : rootfs;
  const [u, g] = spec.split(':');
  const passwd = readDb(view, '/etc/passwd');
  const groups = readDb(view, '/etc/group');
  let uid: number;
  let gid: number;
  let name: string | undefined;
  if (/^\d+$/.test(u)) {
    uid = checkId(Number(u), 'uid', spec);
    const entry = passwd.find((p) => Number(p[2]) === uid);
    gid = entry ? Number(entry[3]) : 0;
    name = entry?.[0];
  } else {
    const entry = passwd.find((p) => p[0] === u);
    if (!entry)
      throw new NsxError(`-u ${spec}: no user "${u}" in the container's /etc/passwd`, {
        hint: 'use a numeric uid (e.g. -u 1000) or a user that exists in the root filesystem',
      });
    [uid, gid, name] = [checkId(Number(entry[2]), 'uid', spec), Number(entry[3]), u];
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const entry = groups.find((x) => x[0] === g);
      if (!entry)
        throw new NsxError(`-u ${spec}: no group "${g}" in the container's /etc/group`, {
          hint: 'use a numeric gid (e.g. -u 1000:1000) or a group that exists in the root filesystem',
        });
      gid = Number(entry[2]);
    }
  }
  checkId(gid, 'gid', spec);
  const additionalGids = name
    ? groups
        .filter((x) => (x[3] ?? '').split(',').includes(name!))
        .map((x) => Number(x[2]))
        .filter((x) => x !== gid)
    : [];
  return { uid, gid, additionalGids };
}

/** Clock offsets in whole seconds, only for a time namespace of the container's own (time_namespaces(7)). */
function parseTimeOffsets(o: RunOptions['timeOffsets'], timeNamespace: boolean): ContainerSpec['linux']['timeOffsets'] {
  const clocks = (['monotonic', 'boottime'] as const).filter((k) => o?.[k] !== undefined);
  if (!clocks.length) return undefined;
  if (!timeNamespace)
    throw new NsxError('clock offsets need a time namespace', {
      hint: "ask for one too (timeNamespace): the host's clocks cannot be offset",
    });
  for (const k of clocks) {
    if (!Number.isSafeInteger(o![k]))
      throw new NsxError(`${k} offset ${shown(o![k])}: not a whole number of seconds`, {
        hint: 'e.g. 86400 for one day ahead',
      });
  }
  return Object.fromEntries(clocks.map((k) => [k, { secs: o![k]!, nanosecs: 0 }]));
}

export { parseSize }; // in validate.ts (no cgroup or LSM modules): the engine's client imports it

/** -m/--memory: a size, 0 for no limit, else at least Docker's 6MB (moby's linuxMinMemory). */
function parseMemory(text: string): number {
  const bytes = parseSize(text, '--memory');
  if (bytes !== 0 && bytes < MIN_MEMORY_BYTES) {
    throw new NsxError(`--memory ${text}: minimum memory limit allowed is 6MB (${MIN_MEMORY_BYTES} bytes)`, {
      detail: 'memory',
      hint:
        "Docker refuses limits under 6MB too: below that even starting the container's first process gets " +
        'OOM-killed; use e.g. -m 32m',
    });
  }
  return bytes;
}

/**
 * --cpus N: N CPUs' worth of time per CFS period, as Docker turns NanoCPUs into cpu.max (or
 * cpu.cfs_quota_us and cpu.cfs_period_us): quota = N x period, with the kernel's 100 ms period.
 * The range is Docker's: 0.01 (the kernel takes no quota under 1 ms, cgroup-v2.rst "cpu.max") to
 * the machine's CPUs (validate.ts).
 */
function parseCpus(v: string | number | undefined): { quota: number; period: number } | undefined {
  if (v === undefined) return undefined;
  return { quota: Math.round(checkCpus(v) * CPU_PERIOD_US), period: CPU_PERIOD_US };
}

function parseSecurityOpts(opts: string[] = []): {
  noNewPrivileges: boolean;
  seccomp?: string | 'unconfined';
  apparmor?: string;
} {
  let noNewPrivileges = false;
  let seccomp: string | undefined;
  let apparmor: string | undefined;
  for (const o of opts) {
    const [key, value] = o.includes('=')
      ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)]
      : o.includes(':')
        ? o.split(':', 2)
        : [o, undefined];
    if (key === 'no-new-privileges') {
      if (value !== undefined && !['true', 'false'].includes(value))
        throw new NsxError(`--security-opt ${o}: expected true or false`, {
          hint: 'write --security-opt no-new-privileges',
        });
      noNewPrivileges = value !== 'false';
    } else if (key === 'seccomp') {
      if (!value)
        throw new NsxError(`--security-opt ${o}: no profile`, {
          hint: 'write --security-opt seccomp=PROFILE.json or seccomp=unconfined',
        });
      seccomp = value;
    } else if (key === 'apparmor') {
      if (!value || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(value)) {
        throw new NsxError(`--security-opt ${o}: not a profile name`, {
          hint: 'write --security-opt apparmor=PROFILE (a loaded profile) or apparmor=unconfined',
        });
      }
      apparmor = value;
    } else {
      throw new NsxError(`--security-opt ${o}: not supported`, {
        hint: 'supported: no-new-privileges, seccomp=PROFILE.json, seccomp=default, seccomp=unconfined, apparmor=PROFILE, apparmor=unconfined',
      });
    }
  }
  return { noNewPrivileges, seccomp, apparmor };
}

/** Subordinate ids for root from /etc/subuid (or /etc/subgid), else docker's customary 100000:65536. */
function subordinate(file: string): IdMapping {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('root:') || l.startsWith('0:'));
    if (line) {
      const [, start, size] = line.split(':');
      return { containerID: 0, hostID: Number(start), size: Math.min(Number(size), 65536) };
    }
  } catch {
    /* no such file: the default below */
  }
  return { containerID: 0, hostID: 100000, size: 65536 };
}

/** The command, checked against the rootfs before anything is created (docker: exit 127). For an
 *  image the layers are searched top down, whiteouts honoured, as the container will see them. */
function checkCommand(view: RootfsView, args: string[], env: string[], image?: string): void {
  const cmd = args[0];
  const path = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const candidates = cmd.includes('/') ? [cmd] : path.split(':').map((d) => `${d}/${cmd}`);
  if (candidates.some((c) => view.has(c))) return;
  throw new NsxError(
    `exec: "${cmd}": executable file not found in the root filesystem${cmd.includes('/') ? '' : ` (PATH=${path})`}`,
    {
      hint: image
        ? `list what the image has with: nsx run --entrypoint ls ${image} /bin`
        : `list what there is with: ls ${view.describe}/bin`,
      exitCode: 127,
    },
  );
}

/** docker's rule for the command: --entrypoint replaces the image's Entrypoint and drops its Cmd
 *  (--entrypoint "" only clears the Entrypoint); a command given after the image replaces its Cmd. */
export function imageCommand(config: ImageRunConfig, command: string[], entrypoint: string | undefined): string[] {
  let ep = entrypoint === undefined ? undefined : entrypoint === '' ? [] : [entrypoint];
  let cmd = command;
  if (!ep?.length) {
    if (!cmd.length) cmd = config.Cmd ?? [];
    ep ??= config.Entrypoint ?? [];
  }
  return [...ep, ...cmd];
}

export function specFromRunOptions(o: RunOptions): ContainerSpec {
  const image = o.image;
  const rootfs = image ? undefined : checkRootfs(o.rootfs);
  const view = image ? image.view : new DirectoryView(rootfs!);
  const args = image ? imageCommand(image.config, o.command, o.entrypoint) : o.command;
  if (args.length === 0) {
    throw new NsxError('no command specified', {
      hint: image
        ? `the image ${image.ref} names no Entrypoint or Cmd: give the command after the image name`
        : 'give the command after the options, e.g. nsx run --rootfs DIR /bin/sh',
    });
  }
  const network = o.network ?? 'none';
  if (!(NETWORKS as readonly string[]).includes(network))
    throw new NsxError(`--network ${network}: unknown mode`, { hint: `use one of ${NETWORKS.join(', ')}` });
  const userns = o.userns ?? (o.root ? 'host' : 'private');
  if (!['host', 'private'].includes(userns))
    throw new NsxError(`--userns ${userns}: unknown mode`, { hint: 'use host or private' });
  if (!o.root && userns === 'host')
    throw new NsxError('--userns host needs root', {
      hint: 'as a normal user nsx works through a user namespace: leave out --userns, or use sudo',
    });
  const cgroupns = o.cgroupns ?? 'private';
  if (!['host', 'private'].includes(cgroupns))
    throw new NsxError(`--cgroupns ${cgroupns}: unknown mode`, { hint: 'use host or private' });
  const memoryBytes = o.memory !== undefined ? parseMemory(o.memory) : undefined;
  const cpus = parseCpus(o.cpus);
  if (o.pidsLimit !== undefined) checkPidsLimit(o.pidsLimit);
  const limits = memoryBytes !== undefined || o.pidsLimit !== undefined || cpus !== undefined;
  if (!o.root && limits)
    throw new NsxError('resource limits (--memory, --pids-limit, --cpus) need root', {
      hint: 'cgroups are configured by root: run with sudo',
    });
  const capabilities = effectiveCaps({ add: o.capAdd, drop: o.capDrop, privileged: o.privileged });
  const sec = parseSecurityOpts(o.securityOpt);
  const builtin = sec.seccomp === undefined || sec.seccomp === 'default' || sec.seccomp === 'builtin';
  const seccomp =
    o.privileged || sec.seccomp === 'unconfined' ? undefined : o.loadSeccomp(builtin ? undefined : sec.seccomp);
  const user = resolveUser(view, o.user ?? (image?.config.User || undefined));
  const id = newId();
  const hostname = o.hostname ? checkHostname(o.hostname) : id.slice(0, 12);
  const name = o.name !== undefined ? checkContainerName(o.name) : undefined;
  // docker's order: its defaults, then the image's Env, then -e; a later NAME wins.
  const env = mergeEnv(
    [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`, ...(o.tty ? ['TERM=xterm'] : []), ...(image?.config.Env ?? [])],
    parseEnv(o.env),
  );
  checkCommand(view, args, env, image?.ref);
  if (o.workdir !== undefined && !o.workdir.startsWith('/'))
    throw new NsxError(`-w ${o.workdir}: the working directory must be an absolute path`, {
      hint: `write -w /${o.workdir}`,
    });
  const imageDir = image?.config.WorkingDir;
  const cwd = o.workdir ?? (imageDir ? posix.resolve('/', imageDir) : '/');

  // --cgroupns host: the host's cgroup namespace, so /proc/self/cgroup and a cgroupfs mounted inside
  // show the whole hierarchy (cgroup_namespaces(7)); docker's default on cgroup v1.
  const namespaces: NamespaceType[] = [
    'pid',
    'ipc',
    'uts',
    'mount',
    ...(cgroupns === 'private' ? ['cgroup' as const] : []),
  ];
  if (network !== 'host') namespaces.push('network');
  if (userns === 'private') namespaces.unshift('user');
  if (o.timeNamespace) namespaces.push('time');
  const timeOffsets = parseTimeOffsets(o.timeOffsets, !!o.timeNamespace);
  const uidMap: IdMapping[] = o.root
    ? [subordinate('/etc/subuid')]
    : [{ containerID: 0, hostID: o.uid ?? process.getuid!(), size: 1 }];
  const gidMap: IdMapping[] = o.root
    ? [subordinate('/etc/subgid')]
    : [{ containerID: 0, hostID: o.gid ?? process.getgid!(), size: 1 }];
  const gid5Mapped = userns === 'host' || gidMap.some((m) => m.containerID <= 5 && 5 < m.containerID + m.size);
  // sysfs can only be mounted by the user namespace that owns the network namespace (sysfs(5), runc).
  const sysfs = userns === 'private' && network === 'host' ? 'bind' : 'mount';

  const maps = userns === 'private' ? { uidMappings: uidMap, gidMappings: gidMap } : {};
  // Last: the only step that creates something (an image's container directory).
  const root = image ? image.prepare(id, maps) : { path: rootfs! };

  return {
    id,
    ...(name ? { name } : {}),
    process: {
      args,
      env,
      cwd,
      user,
      noNewPrivileges: sec.noNewPrivileges,
      capabilities,
      ...(o.tty ? { terminal: true } : {}),
      // Docker's rule: the default profile unless --privileged or apparmor=unconfined; the lsm step
      // applies it where AppArmor is enabled and says so where it is not.
      ...(o.privileged || sec.apparmor === 'unconfined'
        ? {}
        : { apparmorProfile: sec.apparmor ?? DEFAULT_APPARMOR_PROFILE }),
    },
    root,
    hostname,
    mounts: defaultMounts({ sysfs, ptsGid: gid5Mapped }),
    linux: {
      namespaces: namespaces.map((type) => ({ type })),
      ...maps,
      ...(limits
        ? {
            resources: {
              ...(memoryBytes !== undefined ? { memory: { limit: memoryBytes } } : {}),
              ...(o.pidsLimit !== undefined ? { pids: { limit: o.pidsLimit } } : {}),
              ...(cpus !== undefined ? { cpu: cpus } : {}),
            },
          }
        : {}),
      ...(seccomp ? { seccomp } : {}),
      ...(timeOffsets ? { timeOffsets } : {}),
      // Docker's device rules: deny all, allow mknod and the nodes its /dev holds; --privileged: all.
      ...(o.privileged ? {} : { devices: [...DEFAULT_DEVICE_RULES] }),
      maskedPaths: o.privileged ? [] : DOCKER_MASKED_PATHS,
      readonlyPaths: o.privileged ? [] : DOCKER_READONLY_PATHS,
    },
    nsx: { rootMode: o.unsafeChroot ? 'chroot' : 'pivot_root', network: network as ContainerSpec['nsx']['network'] },
  };
}
