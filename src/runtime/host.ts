// What the plan needs to know about this machine, read once.
import { lstatSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { posix } from 'node:path';
import { decodeCapMask, lastCap } from './capabilities.js';
import { detectLayout } from './cgroups/index.js';
import { NsxError } from './errors.js';
import { apparmorEnabled, execAttrPath, loadedProfiles } from './lsm/apparmor.js';
import type { HostFacts } from './plan.js';
import { isRealRoot } from './real-root.js';
import { secureJoin } from './securejoin.js';

export function hostArch(): 'x86_64' | 'aarch64' {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'aarch64';
  throw new NsxError(`unsupported architecture ${process.arch}`, {
    hint: 'namespace-explorer supports x86_64 and aarch64 (arm64)',
  });
}

export { isRealRoot };

/** CapBnd of nsx itself, decoded (proc(5)). */
export function ownBoundingSet(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? decodeCapMask(m[1]) : [];
}

function pathKind(path: string): 'file' | 'dir' | 'absent' {
  try {
    return lstatSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'absent';
  }
}

/** How to look into a root filesystem that is not one directory on the host yet (an image's layers,
 *  to be mounted with overlayfs on rootfs inside the container): the container path resolved. */
export interface LayeredRoot {
  has(path: string): boolean;
  resolvePath(path: string): string[];
}

/** Which device cgroup this machine has (devices.rst for v1; cgroup-v2.rst "Device controller"):
 *  v1's devices controller wherever it is mounted (hybrid too, as runc does), else cgroup2's eBPF. */
export function deviceCgroup(layout = cgroupLayout()): HostFacts['deviceCgroup'] {
  if (!layout) return undefined; // no cgroup filesystem: the cgroup step says so
  if (layout.v1.devices) return 'v1';
  return layout.unified !== undefined ? 'bpf' : undefined;
}

/** AppArmor as the lsm step needs it, where it is enabled (apparmor.rst): which profiles are loaded
 *  and which attr file asks for one at exec. The attr file is looked up here, in nsx's /proc: the
 *  container's own /proc, where the step writes it, is the same kernel's and has the same files. */
export function apparmorFacts(): HostFacts['apparmor'] {
  if (!apparmorEnabled()) return undefined;
  const profiles = loadedProfiles();
  return { execAttr: execAttrPath(), ...(profiles ? { profiles } : {}) };
}

/** The cgroup layout, or undefined where no cgroup filesystem is mounted. */
function cgroupLayout(): HostFacts['cgroups'] {
  try {
    return detectLayout();
  } catch {
    return undefined;
  }
}

export function hostFacts(
  rootfs: string,
  compileSeccomp?: HostFacts['compileSeccomp'],
  layers?: LayeredRoot,
): HostFacts {
  const cgroups = cgroupLayout(); // read once (/proc/self/mountinfo, cgroup.controllers): both facts come from it
  return {
    arch: hostArch(),
    kernel: release(),
    root: isRealRoot(),
    deviceCgroup: deviceCgroup(cgroups),
    cgroups,
    apparmor: apparmorFacts(),
    lastCap: lastCap(() => readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')),
    bounding: ownBoundingSet(),
    pathKind,
    compileSeccomp,
    rootfsHas: layers ? (p) => layers.has(p) : (p) => pathKind(secureJoin(rootfs, p)) !== 'absent',
    resolve: layers ? (p) => posix.join(rootfs, ...layers.resolvePath(p)) : (p) => secureJoin(rootfs, p),
  };
}
