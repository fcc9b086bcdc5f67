#!/usr/bin/env node
// Generates src/runtime/seccomp/syscalls.ts: syscall name → number for x86_64 and aarch64,
// read from the Linux UAPI headers installed on this machine (Debian/Ubuntu: linux-libc-dev).
//
//   node scripts/gen-syscalls.mjs            write the file
//   node scripts/gen-syscalls.mjs --check    exit 1 if the committed file differs from what the headers give
//
// Environment: NSX_UNISTD_X86_64 and NSX_UNISTD_GENERIC override the header paths (e.g. to use newer headers).
//
// x86_64: asm/unistd_64.h is a flat list of `#define __NR_name number`.
// aarch64: arm64 has no table of its own: arch/arm64/include/uapi/asm/unistd.h defines a few
// __ARCH_WANT_* switches and includes asm-generic/unistd.h, so we preprocess that generic header
// here with exactly the macros an LP64 (64-bit, non-compat) arm64 build sees. Why a tiny
// preprocessor rather than a regex: the generic header picks names with #if blocks
// (renameat, getrlimit, sync_file_range vs sync_file_range2, newfstatat...) and renames the
// __NR3264_* slots to 64-bit names (__NR3264_lseek → lseek, not llseek) at its end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src', 'runtime', 'seccomp', 'syscalls.ts');
const X86_64_HEADER = process.env.NSX_UNISTD_X86_64 || '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const GENERIC_HEADER = process.env.NSX_UNISTD_GENERIC || '/usr/include/asm-generic/unistd.h';
const VERSION_HEADER = '/usr/include/linux/version.h';

// What arch/arm64/include/uapi/asm/unistd.h defined before the generic header from Linux 5.x to
// 6.10 (6.11+ generates the same numbers from scripts/syscall.tbl with the same ABI switches):
//   __ARCH_WANT_RENAMEAT, __ARCH_WANT_NEW_STAT, __ARCH_WANT_SET_GET_RLIMIT,
//   __ARCH_WANT_TIME32_SYSCALLS, __ARCH_WANT_SYS_CLONE3, __ARCH_WANT_MEMFD_SECRET.
// Not defined for arm64: __ARCH_WANT_SYNC_FILE_RANGE2 (so nr 84 is sync_file_range),
// __ARCH_WANT_STAT64, __ARCH_NOMMU, __SYSCALL_COMPAT (that is the 32-bit compat table).
const AARCH64_DEFINES = {
  __BITS_PER_LONG: '64',
  __ARCH_WANT_RENAMEAT: '',
  __ARCH_WANT_NEW_STAT: '',
  __ARCH_WANT_SET_GET_RLIMIT: '',
  __ARCH_WANT_TIME32_SYSCALLS: '',
  __ARCH_WANT_SYS_CLONE3: '',
  __ARCH_WANT_MEMFD_SECRET: '',
};

function fail(message) {
  console.error(`gen-syscalls: ${message}`);
  process.exit(1);
}

function readHeader(path) {
  if (!existsSync(path)) {
    fail(
      `${path}: no such file.\n  Fix: install the kernel UAPI headers (Debian/Ubuntu: sudo apt-get install linux-libc-dev).`,
    );
  }
  return readFileSync(path, 'utf8');
}

/** Joins backslash-continued lines and drops comments, keeping one logical line per entry. */
function logicalLines(text) {
  const noComments = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
  return noComments
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim());
}

/** Evaluates a #if expression: integers, names, defined(X), !, ==, !=, &&, ||, parentheses. */
function evalCondition(expr, macros, where) {
  const tokens = expr.match(/defined|[A-Za-z_]\w*|\d+|==|!=|&&|\|\||[()!]/g) ?? [];
  if (tokens.join('') !== expr.replace(/\s+/g, '')) fail(`${where}: cannot evaluate "#if ${expr}"`);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (t) => {
    if (next() !== t) fail(`${where}: expected "${t}" in "#if ${expr}"`);
  };
  function primary() {
    const t = next();
    if (t === '(') {
      const v = or();
      expect(')');
      return v;
    }
    if (t === '!') return primary() ? 0 : 1;
    if (t === 'defined') {
      const paren = peek() === '(';
      if (paren) next();
      const name = next();
      if (paren) expect(')');
      return name in macros ? 1 : 0;
    }
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_]\w*$/.test(t)) {
      // As in cpp, an undefined name is 0; a defined one must expand to a number here.
      if (!(t in macros)) return 0;
      const v = macros[t];
      if (!/^\d+$/.test(v)) fail(`${where}: macro ${t}="${v}" is not a number in "#if ${expr}"`);
      return Number(v);
    }
    fail(`${where}: unexpected "${t}" in "#if ${expr}"`);
  }
  function equality() {
    let v = primary();
    while (peek() === '==' || peek() === '!=') {
      const op = next();
      const r = primary();
      v = (op === '==' ? v === r : v !== r) ? 1 : 0;
    }
    return v;
  }
  function and() {
    let v = equality();
    while (peek() === '&&') {
      next();
      const r = equality();
      v = v && r ? 1 : 0;
    }
    return v;
  }
  function or() {
    let v = and();
    while (peek() === '||') {
      next();
      const r = and();
      v = v || r ? 1 : 0;
    }
    return v;
  }
  const v = or();
  if (i !== tokens.length) fail(`${where}: trailing tokens in "#if ${expr}"`);
  return v !== 0;
}

/**
 * Runs the conditional-compilation part of cpp over a header and returns the macros defined
 * in live code. #include is ignored (the only one pulls in __BITS_PER_LONG, which we predefine).
 */
function preprocess(path, predefined) {
  const macros = { ...predefined };
  const stack = []; // each: { live: this branch is taken, taken: some branch was taken, parentLive }
  const live = () => stack.every((s) => s.live);
  logicalLines(readHeader(path)).forEach((line, n) => {
    const where = `${path}:${n + 1}`;
    const m = line.match(/^#\s*(\w+)\s*(.*)$/);
    if (!m) return;
    const [, directive, rest] = m;
    switch (directive) {
      case 'if':
      case 'ifdef':
      case 'ifndef': {
        const parentLive = live();
        const v =
          directive === 'if'
            ? evalCondition(rest, macros, where)
            : directive === 'ifdef'
              ? rest in macros
              : !(rest in macros);
        stack.push({ live: v, taken: v, parentLive });
        break;
      }
      case 'elif': {
        const top = stack.at(-1) ?? fail(`${where}: #elif without #if`);
        const v = !top.taken && evalCondition(rest, macros, where);
        top.live = v;
        top.taken ||= v;
        break;
      }
      case 'else': {
        const top = stack.at(-1) ?? fail(`${where}: #else without #if`);
        top.live = !top.taken;
        top.taken = true;
        break;
      }
      case 'endif':
        if (!stack.pop()) fail(`${where}: #endif without #if`);
        break;
      case 'define': {
        if (!live()) break;
        const d = rest.match(/^([A-Za-z_]\w*)(\([^)]*\))?\s*(.*)$/);
        if (!d) fail(`${where}: cannot parse "#define ${rest}"`);
        if (!d[2]) macros[d[1]] = d[3].trim(); // function-like macros (__SYSCALL...) are not numbers
        break;
      }
      case 'undef':
        if (live()) delete macros[rest.trim()];
        break;
      case 'include':
      case 'error':
      case 'warning':
      case 'pragma':
        break;
      default:
        fail(`${where}: unexpected directive #${directive}`);
    }
  });
  if (stack.length) fail(`${path}: unterminated #if`);
  return macros;
}

/** __NR_name → number, following aliases such as __NR_lseek → __NR3264_lseek → 62. */
function syscallTable(macros, path) {
  const resolve = (value, seen = []) => {
    if (/^\d+$/.test(value)) return Number(value);
    if (value in macros && !seen.includes(value)) return resolve(macros[value], [...seen, value]);
    fail(`${path}: cannot resolve syscall number "${value}"`);
  };
  const table = new Map();
  for (const [name, value] of Object.entries(macros)) {
    // __NR_syscalls is the table size; __NR_arch_specific_syscall (244, generic table) is where
    // architecture-private numbers start, not a syscall.
    if (!name.startsWith('__NR_') || name === '__NR_syscalls' || name === '__NR_arch_specific_syscall') continue;
    table.set(name.slice('__NR_'.length), resolve(value));
  }
  // Two names for one number would make the filter ambiguous; the headers never do it.
  const byNumber = new Map();
  for (const [name, nr] of table) {
    if (byNumber.has(nr)) fail(`${path}: ${name} and ${byNumber.get(nr)} both have number ${nr}`);
    byNumber.set(nr, name);
  }
  return new Map([...table].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])));
}

function headersVersion() {
  if (!existsSync(VERSION_HEADER)) return 'unknown version';
  const text = readFileSync(VERSION_HEADER, 'utf8');
  const part = (k) => text.match(new RegExp(`#define LINUX_VERSION_${k}\\s+(\\d+)`))?.[1];
  const [a, b, c] = [part('MAJOR'), part('PATCHLEVEL'), part('SUBLEVEL')];
  return a && b ? `Linux ${a}.${b}${c ? '.' + c : ''} UAPI headers` : 'unknown version';
}

function emitTable(name, table) {
  const rows = [...table].map(([n, nr]) => `  ['${n}', ${nr}],`).join('\n');
  return `export const ${name}: ReadonlyMap<string, number> = new Map<string, number>([\n${rows}\n]);\n`;
}

const x86_64 = syscallTable(preprocess(X86_64_HEADER, {}), X86_64_HEADER);
const aarch64 = syscallTable(preprocess(GENERIC_HEADER, AARCH64_DEFINES), GENERIC_HEADER);

// Syscalls added after Linux 6.1 (Debian 12's headers), which Docker's profile allows: machines run
// newer kernels (the Vagrant VM: Debian 13). Since Linux 5.1 new syscalls get the same number on
// every architecture (424 and up, arch/x86/entry/syscalls/syscall_64.tbl and
// include/uapi/asm-generic/unistd.h), so one list serves both; uretprobe is x86_64 only.
const NEWER = [
  ['cachestat', 451], // 6.5
  ['fchmodat2', 452], // 6.6
  ['map_shadow_stack', 453], // 6.6
  ['futex_wake', 454],
  ['futex_wait', 455],
  ['futex_requeue', 456], // 6.7
  ['statmount', 457],
  ['listmount', 458], // 6.8
  ['lsm_get_self_attr', 459],
  ['lsm_set_self_attr', 460],
  ['lsm_list_modules', 461], // 6.8
  ['mseal', 462], // 6.10
  ['setxattrat', 463],
  ['getxattrat', 464],
  ['listxattrat', 465],
  ['removexattrat', 466], // 6.13
  ['open_tree_attr', 467], // 6.15
];
for (const [name, nr] of NEWER) {
  if (!x86_64.has(name)) x86_64.set(name, nr);
  if (!aarch64.has(name)) aarch64.set(name, nr);
}
if (!x86_64.has('uretprobe')) x86_64.set('uretprobe', 335); // 6.11, x86_64 only

const text = `// GENERATED FILE, DO NOT EDIT: run \`node scripts/gen-syscalls.mjs\` to regenerate.
// Source: ${headersVersion()} on the generating machine:
//   x86_64:  ${X86_64_HEADER}
//   aarch64: ${GENERIC_HEADER}, preprocessed as arm64 does (LP64, with
//            ${Object.keys(AARCH64_DEFINES)
  .filter((k) => k.startsWith('__ARCH_WANT'))
  .join(', ')}).
// Plus the syscalls of Linux 6.2 to 6.15 that Docker's profile names (the NEWER list in the script).
// Anything newer is missing here: a profile naming it gets it reported as skipped, and the filter
// answers numbers above the table with ENOSYS (see compile.ts), as runc does.
// ${relative(root, out)}: ${x86_64.size} x86_64 and ${aarch64.size} aarch64 syscalls.

/** The architectures nsx compiles seccomp filters for (the kernel's names, as \`uname -m\` prints). */
export type SeccompArch = 'x86_64' | 'aarch64';

/**
 * seccomp_data.arch values (AUDIT_ARCH_* in <linux/audit.h>): EM_* machine number | __AUDIT_ARCH_64BIT
 * (0x80000000) | __AUDIT_ARCH_LE (0x40000000). A filter must check it, because the same number
 * means different syscalls on different ABIs (seccomp_filter.rst, "Return values" / pitfalls).
 */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = {
  x86_64: 0xc000003e, // EM_X86_64 (62)
  aarch64: 0xc00000b7, // EM_AARCH64 (183)
};

/** x32 ABI syscalls arrive with AUDIT_ARCH_X86_64 and this bit set in nr (__X32_SYSCALL_BIT). */
export const X32_SYSCALL_BIT = 0x40000000;

${emitTable('X86_64_SYSCALLS', x86_64)}
${emitTable('AARCH64_SYSCALLS', aarch64)}
/** Name → number tables by architecture. Maps, not objects: "constructor" must not resolve. */
export const SYSCALLS: Readonly<Record<SeccompArch, ReadonlyMap<string, number>>> = {
  x86_64: X86_64_SYSCALLS,
  aarch64: AARCH64_SYSCALLS,
};

/** The syscall number of name on arch, or undefined when that architecture has no such syscall. */
export function syscallNumber(arch: SeccompArch, name: string): number | undefined {
  return SYSCALLS[arch].get(name);
}
`;

if (process.argv.includes('--check')) {
  const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (current !== text) fail(`${relative(root, out)} is out of date: run node scripts/gen-syscalls.mjs`);
  console.log(`${relative(root, out)} is up to date`);
} else {
  writeFileSync(out, text);
  console.log(`wrote ${relative(root, out)}: ${x86_64.size} x86_64, ${aarch64.size} aarch64 syscalls`);
}
