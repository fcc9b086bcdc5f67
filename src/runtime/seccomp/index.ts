// Seccomp for nsx: read a Docker profile, compile it to classic BPF, inspect the result.
//
//   const profile = loadProfileFile('/etc/nsx/seccomp.json');   // or defaultProfile()
//   const { filter, skipped } = compileProfile(profile, { arch: 'x86_64', caps, kernel: os.release() });
//   describeAction(runFilter(filter, { nr: 165, arch: AUDIT_ARCH.x86_64 }));   // "SCMP_ACT_ERRNO(EPERM)"
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NsxError } from '../errors.js';
import { packageRoot } from '../../paths.js';
import { parseProfile, type SeccompProfile } from './profile.js';

export * from './bpf.js';
export * from './compile.js';
export * from './profile.js';
export * from './runtime-needs.js';
export * from './syscalls.js';
export * from './trace.js';
export { parseJson, type JsonObject, type JsonValue } from './json.js';

/** The largest profile nsx reads: Docker's default is about 20 KiB; a bigger file is not a profile
 *  (and reading /dev/zero or a huge file would exhaust memory). */
export const MAX_PROFILE_BYTES = 1024 * 1024;

/** Reads and parses a Docker seccomp profile file: a regular file of at most MAX_PROFILE_BYTES. */
export function loadProfileFile(path: string): SeccompProfile {
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!st.isFile()) {
      throw new NsxError(`seccomp profile ${path}: not a regular file`, {
        hint: 'name a JSON file (a device, pipe or socket is not a profile), or use seccomp=default',
      });
    }
    if (st.size > MAX_PROFILE_BYTES) {
      throw new NsxError(
        `seccomp profile ${path}: ${st.size} bytes, more than the ${MAX_PROFILE_BYTES} a profile may have`,
        {
          hint: "a seccomp profile is a small JSON file (Docker's default is about 20 KiB): check the path",
        },
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof NsxError) throw err;
    throw profileReadError(path, err as NodeJS.ErrnoException);
  }
  return parseProfile(text, path);
}

function profileReadError(path: string, err: NodeJS.ErrnoException): NsxError {
  switch (err.code) {
    case 'ENOENT':
      return new NsxError(`seccomp profile ${path}: no such file`, {
        hint: "check the path (relative paths are from the current directory), or use seccomp=default for Docker's default profile",
        errno: err.errno,
      });
    case 'EACCES':
      return new NsxError(`seccomp profile ${path}: permission denied`, {
        hint: 'make the file readable by the user running nsx',
        errno: err.errno,
      });
    case 'EISDIR':
      return new NsxError(`seccomp profile ${path}: is a directory`, {
        hint: 'name the JSON file itself, not its directory',
        errno: err.errno,
      });
    default:
      return new NsxError(`seccomp profile ${path}: cannot read: ${err.message}`, {
        hint: 'check the file exists and is readable',
        errno: err.errno,
      });
  }
}

/**
 * Where docker-default.json is. Next to this module when running from src/ (tests, tsx);
 * tsc does not copy JSON into dist/, so a built nsx reads it from the source tree under the
 * package root instead.
 */
export function defaultProfilePath(): string {
  const beside = fileURLToPath(new URL('./docker-default.json', import.meta.url));
  if (existsSync(beside)) return beside;
  return join(packageRoot(), 'src', 'runtime', 'seccomp', 'docker-default.json');
}

/** Docker's default profile (vendored from moby profiles/seccomp/default.json). */
export function defaultProfile(): SeccompProfile {
  return loadProfileFile(defaultProfilePath());
}
