// Errors that teach: each names what failed (the syscall, the file, the option), why in words,
// and what to do about it. Expected failures are NsxError and print as one line, no stack.
import { constants } from 'node:os';

export interface NsxErrorInfo {
  /** The syscall or operation that failed, e.g. "sethostname" or "mount". */
  syscall?: string;
  /** errno number when a syscall failed. */
  errno?: number;
  /** What the operation was applied to (path, name...). */
  detail?: string;
  /** The likely cause and fix, for a learner. */
  hint?: string;
  /** Exit status nsx should use (docker: 125 for runtime errors). */
  exitCode?: number;
}

export class NsxError extends Error {
  readonly info: NsxErrorInfo;
  constructor(message: string, info: NsxErrorInfo = {}) {
    super(message);
    this.name = 'NsxError';
    this.info = info;
  }
  get exitCode(): number {
    return this.info.exitCode ?? 125;
  }
  /** One line (two with a hint): "sethostname: Operation not permitted — hint". */
  describe(): string {
    return this.info.hint ? `${this.message}\n  ${this.info.hint}` : this.message;
  }
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, num]) => [num as number, name]));

/** "EPERM" for 1. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** Errno numbers by name, e.g. errnoNumber('EPERM') === 1. */
export function errnoNumber(name: string): number | undefined {
  return (constants.errno as Record<string, number>)[name];
}

const errnoText: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENOSPC: 'No space left on device',
  ENOSYS: 'Function not implemented',
  ENOTDIR: 'Not a directory',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EUSERS: 'Too many users',
  ENOEXEC: 'Exec format error',
  EROFS: 'Read-only file system',
  E2BIG: 'Argument list too long',
  EMSGSIZE: 'Message too long',
};

/** "Operation not permitted" for 1. */
export function errnoMessage(errno: number): string {
  return errnoText[errnoName(errno)] ?? errnoName(errno);
}
