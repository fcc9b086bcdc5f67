// The value checks shared by nsx run and the engine (src/runtime/validate.ts), and the seccomp
// profile check that the runtime's own last syscalls get through (seccomp/runtime-needs.ts).
import { describe, expect, it } from '@jest/globals';
import { checkContainerName, checkCpus, checkHostname, checkId, MAX_ID, shown } from '../../src/runtime/validate.js';
import {
  blockedRuntimeSyscalls,
  compileProfile,
  defaultProfile,
  profileFromJsonValue,
} from '../../src/runtime/seccomp/index.js';

describe('container names (docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+)', () => {
  it.each(['web', 'web-1', 'a.b_c', '/web', '0x'])('accepts %s', (n) =>
    expect(checkContainerName(n)).toBe(n.replace(/^\//, '')),
  );
  it.each(['../x', 'a', '-web', 'we b', 'a/b', '', 'é1'])('refuses %j', (n) =>
    expect(() => checkContainerName(n)).toThrow(/invalid container name/),
  );
  it('refuses a name over 128 characters, and takes one of 128', () => {
    expect(checkContainerName('a'.repeat(128))).toHaveLength(128);
    expect(() => checkContainerName('a'.repeat(129))).toThrow(/129 characters/);
  });
});

describe('hostnames (RFC 1123 labels, at most 64 bytes)', () => {
  it.each(['web', 'web-1', 'a.b.c', '1abc', 'x'.repeat(63)])('accepts %s', (h) => expect(checkHostname(h)).toBe(h));
  it.each(['a\nb', '-web', 'web-', 'a..b', 'a_b', 'x'.repeat(64) + '.y', 'web.'])('refuses %j', (h) =>
    expect(() => checkHostname(h)).toThrow(/hostname/),
  );
  it('counts bytes, not characters', () => expect(() => checkHostname('é'.repeat(33))).toThrow(/66 bytes/));
});

describe('user and group ids (0 to 2^31-1, as docker)', () => {
  it('takes the ends of the range', () => {
    expect(checkId(0, 'uid', '0')).toBe(0);
    expect(checkId(MAX_ID, 'uid', String(MAX_ID))).toBe(2147483647);
  });
  it.each([2 ** 31, 2 ** 32, -1, NaN])('refuses %d', (id) =>
    expect(() => checkId(id, 'gid', String(id))).toThrow(/out of range/),
  );
});

describe('--cpus (0.01 to the machine CPUs)', () => {
  it('takes fractions and the whole machine', () => {
    expect(checkCpus('0.5', 2)).toBe(0.5);
    expect(checkCpus(2, 2)).toBe(2);
  });
  it('refuses more than the machine has, in docker words', () =>
    expect(() => checkCpus('3', 2)).toThrow(
      '--cpus 3: range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available',
    ));
  it('refuses less than 0.01', () => expect(() => checkCpus('0.001', 2)).toThrow(/range of CPUs/));
  it('never prints NaN', () => expect(() => checkCpus(NaN, 2)).toThrow('--cpus a value that is not a number'));
  it('shows strings escaped', () => expect(shown('a\nb')).toBe('a\\nb'));
});

describe("a profile must let the runtime's own last syscalls through", () => {
  const compile = (json: unknown) =>
    compileProfile(profileFromJsonValue(json, 'test'), { arch: 'x86_64', caps: [], kernel: '6.1.0' }).filter;
  it("Docker's default profile blocks none of them", () => {
    const filter = compileProfile(defaultProfile(), { arch: 'x86_64', caps: [], kernel: '6.1.0' }).filter;
    expect(blockedRuntimeSyscalls(filter, 'x86_64')).toEqual([]);
  });
  it('a profile that kills on everything blocks all five, with its action', () => {
    const blocked = blockedRuntimeSyscalls(compile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [] }), 'x86_64');
    expect(blocked.map((b) => b.name)).toEqual(['read', 'write', 'chdir', 'execve', 'exit_group']);
    expect(blocked[0].action).toBe('SCMP_ACT_KILL_PROCESS');
  });
  it('one that fails everything with an errno blocks read, write and exit_group (exec reports its own EPERM)', () => {
    const blocked = blockedRuntimeSyscalls(compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] }), 'x86_64');
    expect(blocked.map((b) => b.name)).toEqual(['read', 'write', 'exit_group']);
  });
  it('a profile that denies only mkdir blocks none', () => {
    const json = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    expect(blockedRuntimeSyscalls(compile(json), 'x86_64')).toEqual([]);
  });
  it('a profile that kills on execve alone is named for it (aarch64 too); an errno there is left to the exec step', () => {
    const errno = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ERRNO' }] };
    expect(blockedRuntimeSyscalls(compile(errno), 'x86_64')).toEqual([]);
    const json = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_KILL' }] };
    const arm = compileProfile(profileFromJsonValue(json, 't'), { arch: 'aarch64', caps: [], kernel: '6.1.0' }).filter;
    expect(blockedRuntimeSyscalls(compile(json), 'x86_64').map((b) => b.name)).toEqual(['execve']);
    expect(blockedRuntimeSyscalls(arm, 'aarch64').map((b) => b.name)).toEqual(['execve']);
  });
});
