// Docker's default profile and hand-written profiles, compiled and then run through the BPF
// interpreter: what would the kernel answer for this syscall, with these arguments?
import { describe, expect, it } from '@jest/globals';
import { thrownNsxError } from '../helpers.js';
import { DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities.js';
import {
  AUDIT_ARCH,
  SYSCALLS,
  X32_SYSCALL_BIT,
  compileProfile,
  decodeFilter,
  defaultProfile,
  describeAction,
  kernelAtLeast,
  parseKernelRelease,
  parseProfile,
  runFilter,
  syscallNumber,
  type CompiledFilter,
  type SeccompArch,
  type SeccompProfile,
} from '../../src/runtime/seccomp/index.js';

const ALLOW = 0x7fff0000;
const errno = (n: number): number => 0x00050000 | n;
const EPERM = errno(1);
const ENOSYS = errno(38);

/** Docker's default capability set (moby oci/caps/defaults.go), spelled out to pin it. */
const DOCKER_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];
const KERNEL = '6.1.0-13-amd64';

const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWNS = 0x00020000n;
// What glibc's pthread_create passes: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
const THREAD_FLAGS = 0x3d0f00n;
const SIGCHLD = 17n;

function call(c: CompiledFilter, arch: SeccompArch, name: string, args: bigint[] = []): number {
  const nr = syscallNumber(arch, name);
  if (nr === undefined) throw new Error(`test bug: no ${name} on ${arch}`);
  return runFilter(c.filter, { nr, arch: AUDIT_ARCH[arch], args });
}

/** A profile whose default is ERRNO(EPERM), with the given rules. */
function profileWith(syscalls: unknown[], extra: Record<string, unknown> = {}): SeccompProfile {
  return parseProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', ...extra, syscalls }), 'test.json');
}

function compile(
  p: SeccompProfile,
  arch: SeccompArch = 'x86_64',
  caps: string[] = DOCKER_CAPS,
  kernel = KERNEL,
): CompiledFilter {
  return compileProfile(p, { arch, caps, kernel });
}

describe('generated syscall tables', () => {
  it('agree with known numbers', () => {
    const x = {
      read: 0,
      write: 1,
      mount: 165,
      clone: 56,
      clone3: 435,
      lseek: 8,
      fcntl: 72,
      newfstatat: 262,
      arch_prctl: 158,
    };
    const a = {
      read: 63,
      write: 64,
      mount: 40,
      clone: 220,
      clone3: 435,
      lseek: 62,
      fcntl: 25,
      newfstatat: 79,
      fstat: 80,
    };
    for (const [name, nr] of Object.entries(x)) expect([name, syscallNumber('x86_64', name)]).toEqual([name, nr]);
    for (const [name, nr] of Object.entries(a)) expect([name, syscallNumber('aarch64', name)]).toEqual([name, nr]);
  });

  it('give aarch64 the 64-bit generic table: __NR3264_* as 64-bit names, arm64 __ARCH_WANT_* entries only', () => {
    const a = SYSCALLS.aarch64;
    // __ARCH_WANT_RENAMEAT / _SET_GET_RLIMIT / _NEW_STAT / _MEMFD_SECRET are on for arm64.
    expect(a.get('renameat')).toBe(38);
    expect(a.get('getrlimit')).toBe(163);
    expect(a.get('setrlimit')).toBe(164);
    expect(a.get('memfd_secret')).toBe(447);
    // __ARCH_WANT_SYNC_FILE_RANGE2 is not.
    expect(a.get('sync_file_range')).toBe(84);
    expect(a.has('sync_file_range2')).toBe(false);
    // 32-bit names of the __NR3264_* slots and legacy syscalls arm64 never had.
    for (const name of ['llseek', '_llseek', 'fcntl64', 'mmap2', 'fstatat64', 'open', 'fork', 'stat'])
      expect([name, a.has(name)]).toEqual([name, false]);
    expect(a.has('arch_specific_syscall')).toBe(false);
    expect(a.has('syscalls')).toBe(false);
  });

  it('map each number to one name, and do not resolve object properties', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const numbers = [...SYSCALLS[arch].values()];
      expect(new Set(numbers).size).toBe(numbers.length);
      expect(syscallNumber(arch, 'constructor')).toBeUndefined();
      expect(syscallNumber(arch, '__proto__')).toBeUndefined();
    }
  });

  it('exports the AUDIT_ARCH values and the x32 bit', () => {
    expect(AUDIT_ARCH).toEqual({ x86_64: 0xc000003e, aarch64: 0xc00000b7 });
    expect(X32_SYSCALL_BIT).toBe(0x40000000);
  });
});

describe.each(['x86_64', 'aarch64'] as const)("Docker's default profile on %s", (arch) => {
  const profile = defaultProfile();
  const docker = compile(profile, arch);
  const admin = compile(profile, arch, [...DOCKER_CAPS, 'CAP_SYS_ADMIN']);

  it('compiles within the kernel limit', () => {
    expect(docker.instructions).toBeLessThanOrEqual(4096);
    expect(docker.filter.length).toBe(docker.instructions * 8);
    expect(decodeFilter(docker.filter)).toHaveLength(docker.instructions);
  });

  it('reports names this architecture does not have as skipped', () => {
    expect(docker.skipped).toContain('stat64'); // 32-bit only
    expect(docker.skipped).not.toContain('read');
    if (arch === 'aarch64') expect(docker.skipped).toContain('open');
    // Rules for other architectures do not apply, so their names are not even looked up.
    expect(docker.skipped).not.toContain('s390_pci_mmio_read');
  });

  it('allows every syscall of its main allow-list that this architecture has', () => {
    const main = profile.syscalls[0];
    expect(main.action).toBe('SCMP_ACT_ALLOW');
    expect(main.args).toEqual([]);
    const known = main.names.filter((n) => syscallNumber(arch, n) !== undefined);
    expect(known.length).toBeGreaterThan(200);
    for (const name of known)
      expect([name, describeAction(call(docker, arch, name))]).toEqual([name, 'SCMP_ACT_ALLOW']);
  });

  it('allows read, refuses mount with EPERM unless CAP_SYS_ADMIN', () => {
    expect(call(docker, arch, 'read')).toBe(ALLOW);
    expect(call(docker, arch, 'mount')).toBe(EPERM);
    expect(call(docker, arch, 'unshare')).toBe(EPERM);
    expect(call(admin, arch, 'mount')).toBe(ALLOW);
    expect(call(admin, arch, 'unshare')).toBe(ALLOW);
  });

  it('allows clone without namespace flags (MASKED_EQ), refuses CLONE_NEWUSER unless CAP_SYS_ADMIN', () => {
    expect(call(docker, arch, 'clone', [SIGCHLD])).toBe(ALLOW);
    expect(call(docker, arch, 'clone', [THREAD_FLAGS])).toBe(ALLOW);
    expect(call(docker, arch, 'clone', [CLONE_NEWUSER | SIGCHLD])).toBe(EPERM);
    expect(call(docker, arch, 'clone', [CLONE_NEWNS | SIGCHLD])).toBe(EPERM);
    // The mask covers the low word only; high bits are not namespace flags.
    expect(call(docker, arch, 'clone', [(1n << 40n) | SIGCHLD])).toBe(ALLOW);
    expect(call(admin, arch, 'clone', [CLONE_NEWUSER | SIGCHLD])).toBe(ALLOW);
  });

  it('answers clone3 with ENOSYS (so libc falls back to clone) unless CAP_SYS_ADMIN', () => {
    expect(call(docker, arch, 'clone3')).toBe(ENOSYS);
    expect(call(admin, arch, 'clone3')).toBe(ALLOW);
  });

  it('allows only the listed personality values', () => {
    for (const p of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn])
      expect(call(docker, arch, 'personality', [p])).toBe(ALLOW);
    expect(call(docker, arch, 'personality', [0x12345n])).toBe(EPERM);
    // Only the high word differs from an allowed value: still refused.
    expect(call(docker, arch, 'personality', [1n << 32n])).toBe(EPERM);
    expect(call(docker, arch, 'personality', [0xffffffffffffffffn])).toBe(EPERM);
  });

  it('refuses socket(AF_VSOCK) and socket(AF_ALG), allows the rest', () => {
    expect(call(docker, arch, 'socket', [2n])).toBe(ALLOW); // AF_INET
    expect(call(docker, arch, 'socket', [37n])).toBe(ALLOW); // < 38
    expect(call(docker, arch, 'socket', [38n])).toBe(EPERM); // AF_ALG
    expect(call(docker, arch, 'socket', [39n])).toBe(ALLOW); // AF_NFC, == 39
    expect(call(docker, arch, 'socket', [40n])).toBe(EPERM); // AF_VSOCK
    expect(call(docker, arch, 'socket', [41n])).toBe(ALLOW); // > 40
  });

  it('applies capability- and kernel-conditional rules', () => {
    expect(call(docker, arch, 'ptrace')).toBe(ALLOW); // includes minKernel 4.8
    expect(call(compile(profile, arch, DOCKER_CAPS, '4.4.0-210-generic'), arch, 'ptrace')).toBe(EPERM);
    expect(call(docker, arch, 'chroot')).toBe(ALLOW); // CAP_SYS_CHROOT is in the default set
    expect(call(compile(profile, arch, []), arch, 'chroot')).toBe(EPERM);
    expect(call(docker, arch, 'reboot')).toBe(EPERM);
    expect(call(docker, arch, 'init_module')).toBe(EPERM);
    expect(call(docker, arch, 'kexec_load')).toBe(EPERM); // in no rule at all
  });

  it('applies architecture-conditional rules', () => {
    if (arch === 'x86_64') {
      expect(call(docker, arch, 'arch_prctl')).toBe(ALLOW); // includes arches amd64
      expect(call(docker, arch, 'modify_ldt')).toBe(ALLOW);
    } else {
      expect(syscallNumber(arch, 'arch_prctl')).toBeUndefined();
    }
  });

  it('gives other ABIs the default action, even for a number the native table allows', () => {
    const read = syscallNumber(arch, 'read')!;
    const foreign = arch === 'x86_64' ? 0x40000003 /* AUDIT_ARCH_I386 */ : 0x40000028; /* AUDIT_ARCH_ARM */
    for (const nr of [0, 3, read]) expect(runFilter(docker.filter, { nr, arch: foreign })).toBe(EPERM);
  });

  if (arch === 'x86_64') {
    it('gives x32 syscalls (X32_SYSCALL_BIT set) the default action', () => {
      const read = syscallNumber(arch, 'read')!;
      expect(runFilter(docker.filter, { nr: read, arch: AUDIT_ARCH.x86_64 })).toBe(ALLOW);
      expect(runFilter(docker.filter, { nr: read | X32_SYSCALL_BIT, arch: AUDIT_ARCH.x86_64 })).toBe(EPERM);
      expect(runFilter(docker.filter, { nr: -1, arch: AUDIT_ARCH.x86_64 })).toBe(EPERM);
    });
  }
});

/** What the kernel should compute, in plain bigint arithmetic. */
function reference(op: string, arg: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ':
      return arg === value;
    case 'SCMP_CMP_NE':
      return arg !== value;
    case 'SCMP_CMP_LT':
      return arg < value;
    case 'SCMP_CMP_LE':
      return arg <= value;
    case 'SCMP_CMP_GT':
      return arg > value;
    case 'SCMP_CMP_GE':
      return arg >= value;
    case 'SCMP_CMP_MASKED_EQ':
      return (arg & value) === valueTwo;
  }
  throw new Error(op);
}

const U64_MAX = (1n << 64n) - 1n;
const BOUNDARIES = [
  0n,
  1n,
  0x7fffffffn,
  0x80000000n,
  0xfffffffen,
  0xffffffffn,
  0x100000000n,
  0x100000001n,
  0x1ffffffffn,
  0xdeadbeef00000000n,
  0xdeadbeef00000001n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  U64_MAX - 1n,
  U64_MAX,
];

/** The operands plus their neighbours and high/low-word variations. */
function probes(value: bigint): bigint[] {
  const near = [
    value - 1n,
    value,
    value + 1n,
    value ^ (1n << 32n),
    value ^ 1n,
    value ^ (1n << 63n),
    value & 0xffffffffn,
    value >> 32n,
  ];
  return [...new Set([...BOUNDARIES, ...near].filter((v) => v >= 0n && v <= U64_MAX))];
}

describe('argument comparisons are unsigned 64-bit', () => {
  const ops = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE'];

  it.each(ops)('%s matches the reference at every boundary, on every argument index', (op) => {
    for (const value of BOUNDARIES) {
      const index = Number(value % 6n);
      const p = parseProfile(
        `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":${index},"value":${value},"op":"${op}"}]}]}`,
        'ops.json',
      );
      const c = compile(p);
      for (const arg of probes(value)) {
        const args = [0n, 0n, 0n, 0n, 0n, 0n];
        args[index] = arg;
        const expected = reference(op, arg, value, 0n) ? ALLOW : EPERM;
        expect([op, value, arg, call(c, 'x86_64', 'read', args)]).toEqual([op, value, arg, expected]);
      }
    }
  });

  it('SCMP_CMP_MASKED_EQ tests (arg & value) == valueTwo in both words', () => {
    const cases: Array<[bigint, bigint]> = [
      [0x7e020000n, 0n], // docker's clone rule
      [0xffn, 0x12n],
      [0xff00000000n, 0x1200000000n], // high word only
      [U64_MAX, 0x123456789abcdefn],
      [0x8000000000000001n, 0x8000000000000000n],
      [0xf0n, 0x0fn], // can never match: expected has bits outside the mask
    ];
    for (const [mask, want] of cases) {
      // JSON.stringify cannot write bigints, so the text is built by hand.
      const text = `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["write"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":${mask},"valueTwo":${want},"op":"SCMP_CMP_MASKED_EQ"}]}]}`;
      const c = compile(parseProfile(text, 'masked.json'));
      for (const arg of [...probes(mask), ...probes(want), want | 0x100000000n, want ^ mask]) {
        if (arg < 0n || arg > U64_MAX) continue;
        const expected = reference('SCMP_CMP_MASKED_EQ', arg, mask, want) ? ALLOW : EPERM;
        expect([mask, want, arg, call(c, 'x86_64', 'write', [0n, arg])]).toEqual([mask, want, arg, expected]);
      }
    }
  });

  it('keeps values above 2^53 exact', () => {
    const p = parseProfile(
      '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}',
      'big.json',
    );
    expect(p.syscalls[0].args[0].value).toBe(U64_MAX);
    const c = compile(p);
    expect(call(c, 'x86_64', 'read', [U64_MAX])).toBe(ALLOW);
    expect(call(c, 'x86_64', 'read', [U64_MAX - 1n])).toBe(EPERM);
  });

  it('requires every argument of a rule to match (AND)', () => {
    const c = compile(
      profileWith([
        {
          names: ['write'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
            { index: 2, value: 100, op: 'SCMP_CMP_LE' },
          ],
        },
      ]),
    );
    expect(call(c, 'x86_64', 'write', [1n, 0n, 100n])).toBe(ALLOW);
    expect(call(c, 'x86_64', 'write', [1n, 0n, 101n])).toBe(EPERM);
    expect(call(c, 'x86_64', 'write', [2n, 0n, 5n])).toBe(EPERM);
  });
});

describe('rule order and actions', () => {
  it('checks conditional rules in file order, then the first unconditional rule', () => {
    const p = profileWith([
      { names: ['ioctl'], action: 'SCMP_ACT_ALLOW' },
      {
        names: ['ioctl'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 25,
        args: [{ index: 1, value: 0x5401, op: 'SCMP_CMP_EQ' }],
      },
      { names: ['ioctl'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 0x5400, op: 'SCMP_CMP_GE' }] },
      { names: ['ioctl'], action: 'SCMP_ACT_KILL_PROCESS' }, // never reached: the first unconditional wins
    ]);
    const c = compile(p);
    expect(call(c, 'x86_64', 'ioctl', [0n, 0x5401n])).toBe(errno(25)); // first conditional rule
    expect(call(c, 'x86_64', 'ioctl', [0n, 0x5402n])).toBe(0x7ffc0000); // second
    expect(call(c, 'x86_64', 'ioctl', [0n, 1n])).toBe(ALLOW); // first unconditional, though it comes first in the file
  });

  it('gives syscalls whose conditions all fail the default action', () => {
    const c = compile(
      profileWith([{ names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0, op: 'SCMP_CMP_EQ' }] }], {
        defaultErrnoRet: 13,
      }),
    );
    expect(call(c, 'x86_64', 'kill', [1n, 0n])).toBe(ALLOW);
    expect(call(c, 'x86_64', 'kill', [1n, 9n])).toBe(errno(13));
  });

  it('encodes every action; errno from errnoRet, else defaultErrnoRet, else EPERM', () => {
    const rules = [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      { names: ['open'], action: 'SCMP_ACT_ERRNO' },
      { names: ['close'], action: 'SCMP_ACT_KILL' },
      { names: ['stat'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['fstat'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['lstat'], action: 'SCMP_ACT_TRAP' },
      { names: ['poll'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['lseek'], action: 'SCMP_ACT_LOG' },
    ];
    const expected: Record<string, number> = {
      read: 0x7fff0000,
      write: 0x00050026,
      close: 0,
      stat: 0,
      fstat: 0x80000000,
      lstat: 0x00030000,
      poll: 0x7ff00007,
      lseek: 0x7ffc0000,
    };
    const withDefault = compile(profileWith(rules, { defaultErrnoRet: 22 }));
    const without = compile(profileWith(rules));
    for (const [name, ret] of Object.entries(expected))
      expect([name, call(withDefault, 'x86_64', name)]).toEqual([name, ret]);
    expect(call(withDefault, 'x86_64', 'open')).toBe(errno(22));
    expect(call(without, 'x86_64', 'open')).toBe(EPERM);
    expect(call(withDefault, 'x86_64', 'mmap')).toBe(errno(22)); // default action
    expect(call(without, 'x86_64', 'mmap')).toBe(EPERM);
  });

  it('uses the default action for foreign ABIs whatever it is', () => {
    const kill = parseProfile(
      '{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}',
      'k.json',
    );
    const c = compile(kill, 'aarch64');
    expect(call(c, 'aarch64', 'read')).toBe(ALLOW);
    expect(runFilter(c.filter, { nr: 63, arch: AUDIT_ARCH.x86_64 })).toBe(0x80000000);
  });

  it('follows moby for includes/excludes: all include caps, any exclude cap, Go arch names, minKernel', () => {
    const p = profileWith([
      { names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
      { names: ['write'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
      { names: ['close'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
      { names: ['dup'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
      { names: ['getpid'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.10' } },
      { names: ['getppid'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.10' } },
    ]);
    const run = (arch: SeccompArch, caps: string[], kernel: string, name: string): boolean =>
      call(compile(p, arch, caps, kernel), arch, name) === ALLOW;
    expect(run('x86_64', ['CAP_SYS_ADMIN'], '6.1', 'read')).toBe(false);
    expect(run('x86_64', ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'], '6.1', 'read')).toBe(true);
    expect(run('x86_64', [], '6.1', 'write')).toBe(true);
    expect(run('x86_64', ['CAP_NET_ADMIN'], '6.1', 'write')).toBe(false);
    expect(run('x86_64', [], '6.1', 'close')).toBe(false);
    expect(run('aarch64', [], '6.1', 'close')).toBe(true);
    expect(run('x86_64', [], '6.1', 'dup')).toBe(false);
    expect(run('aarch64', [], '6.1', 'dup')).toBe(true);
    expect(run('x86_64', [], '5.10.0-28-amd64', 'getpid')).toBe(true);
    expect(run('x86_64', [], '5.9.16', 'getpid')).toBe(false);
    expect(run('x86_64', [], '5.10.0', 'getppid')).toBe(false);
    expect(run('x86_64', [], '4.19.0', 'getppid')).toBe(true);
  });

  it('compares kernel versions as <kernel>.<major> only, like moby', () => {
    expect(parseKernelRelease('6.1.0-13-amd64')).toEqual({ kernel: 6, major: 1 });
    expect(parseKernelRelease('3.12-1-amd64')).toEqual({ kernel: 3, major: 12 });
    expect(kernelAtLeast({ kernel: 4, major: 8 }, { kernel: 4, major: 8 })).toBe(true);
    expect(kernelAtLeast({ kernel: 5, major: 0 }, { kernel: 4, major: 20 })).toBe(true);
    expect(kernelAtLeast({ kernel: 4, major: 7 }, { kernel: 4, major: 8 })).toBe(false);
    expect(() => parseKernelRelease('linux')).toThrow(/kernel release "linux"/);
  });

  it('records names unknown to the architecture and skips them', () => {
    const c = compile(profileWith([{ names: ['read', 'not_a_syscall', 'open'], action: 'SCMP_ACT_ALLOW' }]), 'aarch64');
    expect(c.skipped).toEqual(['not_a_syscall', 'open']);
    expect(call(c, 'aarch64', 'read')).toBe(ALLOW);
  });
});

describe('compile errors', () => {
  it('refuses a syscall block longer than a jump can skip', () => {
    const sixArgs = [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: index, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0 }));
    const rules = Array.from({ length: 7 }, () => ({ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: sixArgs }));
    const e = thrownNsxError(() => compile(profileWith(rules)));
    expect(e.message).toMatch(/rules for ioctl compile to \d+ instructions, more than the 255/);
    expect(e.info.hint).toMatch(/syscalls\[0\], syscalls\[1\]/);
  });

  it('refuses programs longer than BPF_MAXINSNS', () => {
    const names = [...SYSCALLS.x86_64.keys()];
    const sixArgs = [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: index, op: 'SCMP_CMP_EQ' }));
    const e = thrownNsxError(() => compile(profileWith([{ names, action: 'SCMP_ACT_ALLOW', args: sixArgs }])));
    expect(e.message).toMatch(/more than the kernel's limit of 4096/);
  });

  it('refuses unknown capability names and architectures in the options', () => {
    expect(thrownNsxError(() => compile(defaultProfile(), 'x86_64', ['sys_admin'])).message).toMatch(
      /"sys_admin" is not a capability name/,
    );
    expect(
      thrownNsxError(() =>
        compileProfile(defaultProfile(), { arch: 'riscv64' as SeccompArch, caps: [], kernel: KERNEL }),
      ).message,
    ).toMatch(/architecture "riscv64"/);
  });

  it("uses capabilities.ts's Docker default set", () => {
    expect([...DOCKER_DEFAULT_CAPS].sort()).toEqual([...DOCKER_CAPS].sort());
  });
});

describe('syscalls newer than the table', () => {
  it('knows the post-6.1 syscalls Docker allows, on both architectures', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      expect(syscallNumber(arch, 'fchmodat2')).toBe(452);
      expect(syscallNumber(arch, 'mseal')).toBe(462);
      const c = compile(defaultProfile(), arch);
      expect(call(c, arch, 'fchmodat2')).toBe(ALLOW);
      expect(call(c, arch, 'cachestat')).toBe(ALLOW);
    }
    expect(syscallNumber('x86_64', 'uretprobe')).toBe(335);
    expect(syscallNumber('aarch64', 'uretprobe')).toBeUndefined();
  });

  it('answers numbers above the table with ENOSYS, so programs fall back (runc does the same)', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const c = compile(defaultProfile(), arch);
      const max = Math.max(...SYSCALLS[arch].values());
      expect(runFilter(c.filter, { nr: max + 1, arch: AUDIT_ARCH[arch] })).toBe(ENOSYS);
      expect(runFilter(c.filter, { nr: max + 100, arch: AUDIT_ARCH[arch] })).toBe(ENOSYS);
    }
  });

  it('leaves numbers above the table to an ALLOW default', () => {
    const c = compile(parseProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] }), 't.json'));
    expect(runFilter(c.filter, { nr: 999, arch: AUDIT_ARCH.x86_64 })).toBe(ALLOW);
  });

  it('keeps gaps below the top of the table at the default action', () => {
    // 400 is unused on x86_64 (the 335-423 gap): a profile cannot name it, so the default applies.
    const c = compile(defaultProfile());
    expect(runFilter(c.filter, { nr: 400, arch: AUDIT_ARCH.x86_64 })).toBe(EPERM);
  });
});
