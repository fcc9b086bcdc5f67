// The bridge between run options and the seccomp compiler: load a profile (Docker's default unless
// told otherwise) and compile it for this machine's architecture, kernel and the container's caps.
import { release } from 'node:os';
import type { CapabilityName } from './capabilities.js';
import { hostArch } from './host.js';
import { compileProfile, defaultProfile, loadProfileFile, type SeccompProfile } from './seccomp/index.js';

export function loadSeccomp(path: string | undefined): { profile: Record<string, unknown>; source: string } {
  const profile = path === undefined ? defaultProfile() : loadProfileFile(path);
  return { profile: profile as unknown as Record<string, unknown>, source: path ?? "Docker's default profile" };
}

export function compileForHost(profile: unknown, _source: string, caps: CapabilityName[]): Buffer {
  return compileProfile(profile as SeccompProfile, { arch: hostArch(), caps, kernel: release() }).filter;
}
