// Docker's seccomp profile format (moby profiles/seccomp, the JSON behind
// `docker run --security-opt seccomp=FILE`), read and checked field by field.
//
// A profile is a default action plus rules: "these syscalls get this action, maybe only when
// these arguments match, maybe only with these capabilities / on this architecture / kernel".
// Every mistake is an NsxError naming the exact place (`syscalls[12].args[0].op`), because a
// silently misread rule in a security policy is worse than a loud error. Where nsx is stricter
// than Docker it says so in a comment.
import { CAPABILITY_NAMES } from '../capabilities.js';
import { NsxError } from '../errors.js';
import { parseJson, type JsonObject, type JsonValue } from './json.js';
import { SYSCALLS } from './syscalls.js';

/** The actions a rule or the default may take (libseccomp's names; values in compile.ts). */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

/** Argument comparisons (libseccomp's enum scmp_compare), all on unsigned 64-bit values. */
export const SECCOMP_OPS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOp = (typeof SECCOMP_OPS)[number];

/** libseccomp's architecture tokens, as "architectures" and "archMap" spell them. */
export const SECCOMP_ARCH_TOKENS = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
] as const;

/**
 * The architecture names "includes.arches"/"excludes.arches" use: libseccomp-golang's
 * ScmpArch.String(), which moby compares against (so amd64 and arm64, not x86_64 and aarch64).
 */
export const DOCKER_ARCH_NAMES = [
  'x86',
  'amd64',
  'x32',
  'arm',
  'arm64',
  'mips',
  'mips64',
  'mips64n32',
  'mipsel',
  'mipsel64',
  'mipsel64n32',
  'ppc',
  'ppc64',
  'ppc64le',
  's390',
  's390x',
  'parisc',
  'parisc64',
  'riscv64',
  'loong64',
  'm68k',
  'sh',
  'sheb',
] as const;

/** Flags for the seccomp(2) call itself (OCI "flags"); recorded for the loader, not compiled. */
export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;

/** "<kernel>.<major>" as moby's KernelVersion: 4.8 means any 4.8.x. */
export interface KernelVersion {
  kernel: number;
  major: number;
}

export interface SeccompArg {
  /** Which syscall argument, 0..5 (seccomp_data.args[index]). */
  index: number;
  value: bigint;
  /** Only SCMP_CMP_MASKED_EQ uses it: (arg & value) == valueTwo. */
  valueTwo: bigint;
  op: SeccompOp;
}

/** includes / excludes of a rule. Empty lists mean "no condition". */
export interface SeccompCondition {
  caps: string[];
  arches: string[];
  minKernel?: KernelVersion;
}

export interface SeccompRule {
  /** Where the rule is in the file, e.g. "syscalls[12]", for messages. */
  where: string;
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  /** All must match (AND). Empty: the rule matches every call of these syscalls. */
  args: SeccompArg[];
  includes: SeccompCondition;
  excludes: SeccompCondition;
  comment?: string;
}

export interface SeccompArchMapEntry {
  architecture: string;
  subArchitectures: string[];
}

export interface SeccompProfile {
  /** The file (or other origin) it was read from, for messages. */
  source: string;
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** As written; compile.ts only filters the native architecture (see its header). */
  architectures: string[];
  archMap: SeccompArchMapEntry[];
  flags: string[];
  syscalls: SeccompRule[];
  /**
   * Syscall names that neither the x86_64 nor the aarch64 table knows (other architectures'
   * syscalls, syscalls newer than our tables, or typos). Like runc, they are skipped, not errors.
   */
  unknownNames: string[];
}

/** The largest errno a filter can return: SECCOMP_RET_DATA is the low 16 bits. */
const MAX_RET_DATA = 0xffff;
const U64_MAX = (1n << 64n) - 1n;

/** Reads a profile; source names it in errors (usually the file path). */
export function parseProfile(json: string, source: string): SeccompProfile {
  return profileFromJsonValue(parseJson(json, source), source);
}

/**
 * Checks an already-parsed profile (e.g. from JSON.parse). Prefer parseProfile on the text:
 * JSON.parse rounds integers above 2^53, and such values are rejected here rather than
 * compiled inexactly.
 */
export function profileFromJsonValue(root: unknown, source: string): SeccompProfile {
  const v = new Validator(source);
  const top = v.object(root as JsonValue, '(top level)', [
    'defaultAction',
    'defaultErrnoRet',
    'architectures',
    'archMap',
    'flags',
    'syscalls',
    'listenerPath',
    'listenerMetadata',
  ]);
  for (const key of ['listenerPath', 'listenerMetadata']) {
    if (has(top, key)) {
      v.fail(
        key,
        'is set, but nsx does not support SCMP_ACT_NOTIFY (the only action that uses a listener)',
        'remove it',
      );
    }
  }
  if (!has(top, 'defaultAction')) {
    v.fail(
      'defaultAction',
      'is missing',
      'add e.g. "defaultAction": "SCMP_ACT_ERRNO"; to run without seccomp, use seccomp=unconfined instead of a profile',
    );
  }
  if (has(top, 'architectures') && has(top, 'archMap')) {
    v.fail('architectures', 'and archMap are both set', 'use one of them, as Docker requires');
  }
  const profile: SeccompProfile = {
    source,
    defaultAction: v.action(top.defaultAction, 'defaultAction'),
    defaultErrnoRet:
      top.defaultErrnoRet === undefined || top.defaultErrnoRet === null
        ? undefined
        : v.retData(top.defaultErrnoRet, 'defaultErrnoRet'),
    architectures: v
      .optionalArray(top.architectures, 'architectures')
      .map((a, i) => v.oneOf(a, `architectures[${i}]`, SECCOMP_ARCH_TOKENS, 'an architecture')),
    archMap: v.optionalArray(top.archMap, 'archMap').map((e, i) => parseArchMapEntry(v, e, `archMap[${i}]`)),
    flags: v
      .optionalArray(top.flags, 'flags')
      .map((f, i) => v.oneOf(f, `flags[${i}]`, SECCOMP_FLAGS, 'a seccomp filter flag')),
    syscalls: v.optionalArray(top.syscalls, 'syscalls').map((r, i) => parseRule(v, r, `syscalls[${i}]`)),
    unknownNames: [],
  };
  profile.unknownNames = unknownNames(profile.syscalls);
  return profile;
}

function parseArchMapEntry(v: Validator, value: JsonValue, where: string): SeccompArchMapEntry {
  const o = v.object(value, where, ['architecture', 'subArchitectures']);
  return {
    architecture: v.oneOf(o.architecture, `${where}.architecture`, SECCOMP_ARCH_TOKENS, 'an architecture'),
    // moby's own default.json writes "subArchitectures": null for riscv64 and loongarch64.
    subArchitectures: v
      .optionalArray(o.subArchitectures, `${where}.subArchitectures`)
      .map((a, i) => v.oneOf(a, `${where}.subArchitectures[${i}]`, SECCOMP_ARCH_TOKENS, 'an architecture')),
  };
}

function parseRule(v: Validator, value: JsonValue, where: string): SeccompRule {
  const o = v.object(value, where, ['names', 'name', 'action', 'errnoRet', 'args', 'includes', 'excludes', 'comment']);
  if (!has(o, 'action'))
    v.fail(`${where}.action`, 'is missing', 'every rule needs an action, e.g. "action": "SCMP_ACT_ALLOW"');
  const action = v.action(o.action, `${where}.action`);
  let errnoRet: number | undefined;
  if (o.errnoRet !== undefined && o.errnoRet !== null) {
    // Stricter than Docker, which ignores it: errnoRet on ALLOW/KILL/... would be a misunderstanding.
    if (action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
      v.fail(
        `${where}.errnoRet`,
        `is set but the action is ${action}`,
        'errnoRet only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE; remove it or change the action',
      );
    }
    errnoRet = v.retData(o.errnoRet, `${where}.errnoRet`);
  }
  const rule: SeccompRule = {
    where,
    names: ruleNames(v, o, where),
    action,
    errnoRet,
    args: v.optionalArray(o.args, `${where}.args`).map((a, i) => parseArg(v, a, `${where}.args[${i}]`)),
    includes: parseCondition(v, o.includes, `${where}.includes`),
    excludes: parseCondition(v, o.excludes, `${where}.excludes`),
  };
  if (o.comment !== undefined && o.comment !== null) rule.comment = v.string(o.comment, `${where}.comment`);
  return rule;
}

/** "names": [...] or the legacy "name": "..." (moby accepts either, not both). */
function ruleNames(v: Validator, o: JsonObject, where: string): string[] {
  const hasName = o.name !== undefined && o.name !== null && o.name !== '';
  const hasNames = o.names !== undefined && o.names !== null;
  if (hasName && hasNames)
    v.fail(`${where}.name`, 'and names are both set', 'use "names": [...] only (name is the old spelling)');
  if (hasName) return [v.nonEmptyString(o.name, `${where}.name`)];
  if (!hasNames) v.fail(`${where}.names`, 'is missing', 'list the syscalls the rule is about, e.g. "names": ["mount"]');
  const names = v.array(o.names, `${where}.names`).map((n, i) => v.nonEmptyString(n, `${where}.names[${i}]`));
  if (names.length === 0) v.fail(`${where}.names`, 'is empty', 'list at least one syscall, or delete the rule');
  return names;
}

function parseArg(v: Validator, value: JsonValue, where: string): SeccompArg {
  const o = v.object(value, where, ['index', 'value', 'valueTwo', 'op']);
  for (const key of ['index', 'value', 'op']) {
    if (!has(o, key))
      v.fail(
        `${where}.${key}`,
        'is missing',
        'an argument condition needs index, value and op (valueTwo only for SCMP_CMP_MASKED_EQ)',
      );
  }
  const index = v.integer(o.index, `${where}.index`);
  if (index < 0 || index > 5) {
    v.fail(
      `${where}.index`,
      `is ${index}, outside 0..5`,
      'syscalls have at most 6 arguments, numbered from 0 (seccomp_data.args[6])',
    );
  }
  const op = v.oneOf(o.op, `${where}.op`, SECCOMP_OPS, 'a seccomp comparison');
  const valueTwo = o.valueTwo === undefined || o.valueTwo === null ? 0n : v.u64(o.valueTwo, `${where}.valueTwo`);
  // Stricter than Docker (libseccomp ignores it): a valueTwo elsewhere suggests a misread op.
  if (valueTwo !== 0n && op !== 'SCMP_CMP_MASKED_EQ') {
    v.fail(
      `${where}.valueTwo`,
      `is set but op is ${op}`,
      'only SCMP_CMP_MASKED_EQ uses valueTwo ((arg & value) == valueTwo); remove it',
    );
  }
  return { index, value: v.u64(o.value, `${where}.value`), valueTwo, op };
}

function parseCondition(v: Validator, value: JsonValue | undefined, where: string): SeccompCondition {
  if (value === undefined || value === null) return { caps: [], arches: [] };
  const o = v.object(value, where, ['caps', 'arches', 'minKernel']);
  const cond: SeccompCondition = {
    caps: v.optionalArray(o.caps, `${where}.caps`).map((c, i) => capName(v, c, `${where}.caps[${i}]`)),
    arches: v.optionalArray(o.arches, `${where}.arches`).map((a, i) => archName(v, a, `${where}.arches[${i}]`)),
  };
  if (o.minKernel !== undefined && o.minKernel !== null && o.minKernel !== '') {
    cond.minKernel = parseMinKernel(v, o.minKernel, `${where}.minKernel`);
  }
  return cond;
}

/**
 * Capability names must be known. Stricter than Docker: a misspelt name in "excludes.caps"
 * would otherwise never match, so the rule would always apply.
 */
function capName(v: Validator, value: JsonValue, where: string): string {
  return v.oneOf(value, where, CAPABILITY_NAMES, 'a capability');
}

/** Go architecture names (amd64, not x86_64): Docker compares them as plain strings. */
function archName(v: Validator, value: JsonValue, where: string): string {
  const s = v.string(value, where);
  const goName = new Map([
    ['x86_64', 'amd64'],
    ['aarch64', 'arm64'],
    ['i386', 'x86'],
    ['386', 'x86'],
  ]).get(s);
  if (goName) v.fail(where, `is "${s}"`, `Docker profiles use libseccomp's Go names here: write "${goName}"`);
  return v.oneOf(value, where, DOCKER_ARCH_NAMES, 'an architecture name');
}

/** moby's KernelVersion.UnmarshalJSON: exactly "<kernel>.<major>", each 0..255, not 0.0. */
function parseMinKernel(v: Validator, value: JsonValue, where: string): KernelVersion {
  const s = v.string(value, where);
  const m = /^(\d+)\.(\d+)$/.exec(s);
  const version = m ? { kernel: Number(m[1]), major: Number(m[2]) } : undefined;
  if (!version || version.kernel > 255 || version.major > 255 || (version.kernel === 0 && version.major === 0)) {
    return v.fail(
      where,
      `"${s}" is not a kernel version`,
      'write "<kernel>.<major>", e.g. "4.8" (the patch level is not compared, as in Docker)',
    );
  }
  return version;
}

/** Own keys only: an object from JSON.parse inherits "constructor" and friends. */
function has(o: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** Names that neither table knows, in first-seen order. */
function unknownNames(rules: SeccompRule[]): string[] {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const name of rule.names) {
      if (!SYSCALLS.x86_64.has(name) && !SYSCALLS.aarch64.has(name)) out.add(name);
    }
  }
  return [...out];
}

/** Type checks that fail with the profile source and the field's path. */
class Validator {
  constructor(private readonly source: string) {}

  fail(where: string, problem: string, hint: string): never {
    throw new NsxError(`seccomp profile ${this.source}: ${where} ${problem}`, { hint });
  }

  private typeName(value: JsonValue | undefined): string {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'bigint') return 'a number';
    return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  }

  /** An object whose keys are all in known: a typo such as "arg" must not silently drop a condition. */
  object(value: JsonValue | undefined, where: string, known: string[]): JsonObject {
    if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
      return this.fail(where, `is ${this.typeName(value)}, not an object`, 'see docker-default.json for the format');
    }
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        const at = where === '(top level)' ? key : `${where}.${key}`;
        this.fail(
          at,
          'is not a known field',
          `known fields here: ${known.join(', ')} (nsx rejects unknown fields so a typo cannot silently change a rule)`,
        );
      }
    }
    return value as JsonObject;
  }

  array(value: JsonValue | undefined, where: string): JsonValue[] {
    if (!Array.isArray(value))
      return this.fail(where, `is ${this.typeName(value)}, not an array`, 'write a JSON array, e.g. [...]');
    return value;
  }

  /** Absent or null (Go's nil slice) reads as empty. */
  optionalArray(value: JsonValue | undefined, where: string): JsonValue[] {
    return value === undefined || value === null ? [] : this.array(value, where);
  }

  string(value: JsonValue | undefined, where: string): string {
    if (typeof value !== 'string')
      return this.fail(where, `is ${this.typeName(value)}, not a string`, 'write it in double quotes');
    return value;
  }

  nonEmptyString(value: JsonValue | undefined, where: string): string {
    const s = this.string(value, where);
    if (s === '') this.fail(where, 'is an empty string', 'write a syscall name, e.g. "mount"');
    return s;
  }

  oneOf<T extends string>(value: JsonValue | undefined, where: string, allowed: readonly T[], what: string): T {
    const s = this.string(value, where);
    if (!(allowed as readonly string[]).includes(s)) {
      this.fail(where, `"${s}" is not ${what}`, `use one of ${allowed.join(', ')}`);
    }
    return s as T;
  }

  action(value: JsonValue | undefined, where: string): SeccompAction {
    if (value === 'SCMP_ACT_NOTIFY') {
      this.fail(
        where,
        '"SCMP_ACT_NOTIFY" is not supported by nsx',
        'notify needs a user-space agent listening on a socket (seccomp_unotify(2)); use SCMP_ACT_ERRNO or SCMP_ACT_LOG instead',
      );
    }
    return this.oneOf(value, where, SECCOMP_ACTIONS, 'a seccomp action');
  }

  integer(value: JsonValue | undefined, where: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return this.fail(
        where,
        `is ${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}, not an integer in range`,
        'write a whole number without quotes',
      );
    }
    return value;
  }

  /** An errno (or TRACE message) that fits SECCOMP_RET_DATA. */
  retData(value: JsonValue | undefined, where: string): number {
    const n = this.integer(value, where);
    if (n < 0 || n > MAX_RET_DATA) {
      this.fail(
        where,
        `is ${n}, outside 0..${MAX_RET_DATA}`,
        'a filter returns the errno in the 16-bit SECCOMP_RET_DATA field; use an errno number such as 1 (EPERM) or 38 (ENOSYS)',
      );
    }
    return n;
  }

  /** An unsigned 64-bit comparison operand, exact (json.ts keeps big integers as bigint). */
  u64(value: JsonValue | undefined, where: string): bigint {
    if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) {
      const b = BigInt(value);
      if (b >= 0n && b <= U64_MAX) return b;
    }
    return this.fail(
      where,
      `is ${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}, not an unsigned 64-bit integer`,
      `write a whole number from 0 to ${U64_MAX} without quotes (negative values: write their two's complement, e.g. -1 is ${U64_MAX})`,
    );
  }
}
