// The bridge between run options and the seccomp compiler: load a profile (Docker's default unless
// told otherwise) and compile it for this machine's architecture, kernel and the container's caps.
import { release } from 'node:os';
import type { CapabilityName } from './capabilities.js';
import { hostArch } from './host.js';
import {
  assertRuntimeCanStart,
  compileProfile,
  defaultProfile,
  loadProfileFile,
  type SeccompProfile,
} from './seccomp/index.js';

/** Docker's default profile, parsed once per process (an engine starts many containers). */
let builtin: SeccompProfile | undefined;
/** Compiled filters by profile and capability set (arch and kernel are this machine's, fixed). */
const compiled = new WeakMap<object, Map<string, Buffer>>();

export function loadSeccomp(path: string | undefined): { profile: Record<string, unknown>; source: string } {
  const profile = path === undefined ? (builtin ??= defaultProfile()) : loadProfileFile(path);
  return { profile: profile as unknown as Record<string, unknown>, source: path ?? "Docker's default profile" };
}

/** The profile compiled for this machine; refused when it would block the runtime's own last syscalls. */
export function compileForHost(profile: unknown, source: string, caps: CapabilityName[]): Buffer {
  const key = profile as object;
  let byCaps = compiled.get(key);
  if (!byCaps) compiled.set(key, (byCaps = new Map()));
  const capsKey = [...caps].sort().join(',');
  let filter = byCaps.get(capsKey);
  if (!filter) {
    filter = compileProfile(profile as SeccompProfile, { arch: hostArch(), caps, kernel: release() }).filter;
    assertRuntimeCanStart(filter, hostArch(), source);
    byCaps.set(capsKey, filter);
  }
  return filter;
}
