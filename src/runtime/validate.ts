// Checks of values a client names, before anything is created: names, hostnames, user and group
// ids, CPU counts. Each refusal names the value, the rule and where the rule comes from, so the
// CLI (exit 125) and the engine (HTTP 400) say the same thing.
import { availableParallelism } from 'node:os';
import { NsxError } from './errors.js';

/** A value as a message shows it: NaN (a flag that wanted a number and got words) reads as such. */
export function shown(v: unknown): string {
  if (typeof v === 'number' && Number.isNaN(v)) return 'a value that is not a number';
  return typeof v === 'string' ? JSON.stringify(v).slice(1, -1) : String(v);
}

/** docker's container names (daemon/names: validContainerNamePattern); nsx also bounds the length. */
export const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export const MAX_NAME_LENGTH = 128;

export function checkContainerName(name: string): string {
  const bare = name.replace(/^\//, '');
  if (!CONTAINER_NAME.test(name)) {
    throw new NsxError(`--name ${shown(name)}: invalid container name, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, {
      hint: 'a name starts with a letter or digit, has at least two characters, and no "/" inside: e.g. --name web-1',
    });
  }
  if (bare.length > MAX_NAME_LENGTH) {
    throw new NsxError(`--name: ${bare.length} characters, more than the ${MAX_NAME_LENGTH} nsx allows`, {
      hint: 'choose a shorter name',
    });
  }
  return bare;
}

/** docker's --pids-limit: a positive whole number (pids.max, cgroup-v2.rst "PID"). */
export function checkPidsLimit(v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new NsxError(`--pids-limit ${shown(v)}: not a positive whole number`, { hint: 'e.g. --pids-limit 64' });
  return v;
}

/** sethostname(2) takes at most HOST_NAME_MAX (64) bytes; docker checks RFC 1123 (each label 1-63
 *  letters, digits and inner hyphens, labels joined by dots). */
export const HOST_NAME_MAX = 64;
const LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

export function checkHostname(hostname: string): string {
  const bytes = Buffer.byteLength(hostname);
  if (bytes > HOST_NAME_MAX) {
    throw new NsxError(
      `--hostname: ${bytes} bytes, more than the ${HOST_NAME_MAX} the kernel allows (sethostname(2))`,
      {
        hint: 'choose a shorter hostname',
      },
    );
  }
  if (!hostname.split('.').every((l) => LABEL.test(l))) {
    throw new NsxError(`--hostname ${shown(hostname)}: invalid hostname format (RFC 1123)`, {
      hint: 'letters, digits and hyphens, in dot-separated labels that do not start or end with a hyphen: e.g. web-1',
    });
  }
  return hostname;
}

/** docker's user and group ids: 0 to 2147483647 (a uid_t above that is -1 or wraps as a signed int). */
export const MAX_ID = 2 ** 31 - 1;

export function checkId(id: number, what: 'uid' | 'gid', given: string): number {
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) {
    throw new NsxError(`-u ${shown(given)}: ${what} ${shown(id)} is out of range (0 to ${MAX_ID})`, {
      hint: `give a ${what} from 0 to ${MAX_ID}, or a name from the container's /etc/${what === 'uid' ? 'passwd' : 'group'}`,
    });
  }
  return id;
}

/** docker's --cpus: from 0.01 to the number of CPUs this machine can run nsx on. */
export function checkCpus(v: string | number, cpus = availableParallelism()): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new NsxError(`--cpus ${shown(v)}: not a positive number of CPUs`, {
      hint: 'e.g. --cpus 0.5 for half of one CPU',
    });
  }
  if (n < 0.01 || n > cpus) {
    throw new NsxError(
      `--cpus ${shown(v)}: range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`,
      {
        hint:
          n < 0.01
            ? 'the kernel needs a CFS quota of at least 1 ms per 100 ms period: e.g. --cpus 0.5'
            : `give at most --cpus ${cpus}`,
      },
    );
  }
  return n;
}

const sizeUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * Parse docker-style sizes: "512m", "1g", "100k", "1048576", "1.5g" — binary multiples, like
 * Docker's RAMInBytes; "kb"/"KiB"/"MB" spellings are accepted too. Fractions of a byte are dropped.
 * NsxError for malformed input, naming the option it came from (e.g. '--memory' or 'memory').
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
