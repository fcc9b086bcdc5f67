// Reading Docker profiles: what is accepted, and errors that name the exact field.
import { describe, expect, it } from '@jest/globals';
import { thrownNsxError } from '../helpers.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NsxError } from '../../src/runtime/errors.js';
import {
  defaultProfile,
  defaultProfilePath,
  loadProfileFile,
  parseJson,
  parseProfile,
  profileFromJsonValue,
} from '../../src/runtime/seccomp/index.js';

/** The NsxError for a profile made of the default action plus these rules. */
function ruleError(...syscalls: unknown[]): NsxError {
  return thrownNsxError(() => parseProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls }), '/x.json'));
}

const allow = (extra: Record<string, unknown> = {}) => ({ names: ['read'], action: 'SCMP_ACT_ALLOW', ...extra });

describe("Docker's default profile", () => {
  it('parses, conditions and all', () => {
    const p = defaultProfile();
    expect(p.source).toBe(defaultProfilePath());
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.archMap[0]).toEqual({
      architecture: 'SCMP_ARCH_X86_64',
      subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    });
    expect(p.archMap.find((a) => a.architecture === 'SCMP_ARCH_RISCV64')?.subArchitectures).toEqual([]); // null in the file
    const clone = p.syscalls.find((r) => r.names.includes('clone') && r.args.length > 0)!;
    expect(clone.args).toEqual([{ index: 0, value: 2114060288n, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ' }]);
    expect(clone.excludes).toEqual({ caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] });
    const ptrace = p.syscalls.find((r) => r.names.includes('ptrace') && r.includes.minKernel)!;
    expect(ptrace.includes.minKernel).toEqual({ kernel: 4, major: 8 });
    const clone3 = p.syscalls.find((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO')!;
    expect(clone3.errnoRet).toBe(38);
    expect(clone3.where).toMatch(/^syscalls\[\d+\]$/);
  });

  it('records the names neither table knows', () => {
    const p = defaultProfile();
    expect(p.unknownNames).toContain('s390_pci_mmio_read');
    expect(p.unknownNames).toContain('_llseek');
    expect(p.unknownNames).not.toContain('read');
    expect(p.unknownNames).not.toContain('arch_prctl'); // x86_64 has it
  });
});

describe('parseProfile accepts', () => {
  it('the legacy "name" field, "architectures", flags, comments and null lists', () => {
    const p = parseProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        syscalls: [
          { name: 'mount', action: 'SCMP_ACT_ERRNO', args: null, comment: 'no mounts', includes: {}, excludes: null },
        ],
      }),
      'legacy.json',
    );
    expect(p.architectures).toEqual(['SCMP_ARCH_X86_64']);
    expect(p.flags).toEqual(['SECCOMP_FILTER_FLAG_LOG']);
    expect(p.syscalls[0]).toEqual({
      where: 'syscalls[0]',
      names: ['mount'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: undefined,
      args: [],
      includes: { caps: [], arches: [] },
      excludes: { caps: [], arches: [] },
      comment: 'no mounts',
    });
  });

  it('a profile without syscalls (everything gets the default action)', () => {
    expect(parseProfile('{"defaultAction":"SCMP_ACT_KILL_PROCESS"}', 'k.json').syscalls).toEqual([]);
  });

  it('unknown syscall names, recorded rather than refused', () => {
    const p = parseProfile(
      '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","raed"],"action":"SCMP_ACT_ALLOW"}]}',
      't.json',
    );
    expect(p.unknownNames).toEqual(['raed']);
  });

  it('an object from JSON.parse, refusing numbers it may have rounded', () => {
    const ok = profileFromJsonValue(JSON.parse('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}'), 'obj');
    expect(ok.defaultAction).toBe('SCMP_ACT_ALLOW');
    const rounded = JSON.parse(
      '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}',
    );
    expect(thrownNsxError(() => profileFromJsonValue(rounded, 'obj')).message).toMatch(
      /syscalls\[0\]\.args\[0\]\.value is 18446744073709552000, not an unsigned 64-bit integer/,
    );
  });
});

describe('parseProfile errors name the place', () => {
  it('malformed JSON, with line and column', () => {
    const e = thrownNsxError(() =>
      parseProfile('{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [,]\n}', '/x.json'),
    );
    expect(e.message).toBe('seccomp profile /x.json: invalid JSON at line 3, column 16: unexpected character ","');
    expect(e.info.hint).toMatch(/JSON/);
    expect(thrownNsxError(() => parseProfile('{"defaultAction": "SCMP_ACT_ERRNO",}', '/x.json')).message).toMatch(
      /line 1, column 36: expected a "key"/,
    );
    expect(thrownNsxError(() => parseProfile('', '/x.json')).message).toMatch(/unexpected end of input/);
    expect(thrownNsxError(() => parseProfile('{} {}', '/x.json')).message).toMatch(
      /unexpected text after the JSON value/,
    );
  });

  it('duplicate keys', () => {
    expect(
      thrownNsxError(() =>
        parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","defaultAction":"SCMP_ACT_ERRNO"}', '/x.json'),
      ).message,
    ).toMatch(/line 1, column 35: duplicate key "defaultAction"/);
  });

  it('an unknown action', () => {
    const e = ruleError(allow(), allow(), allow(), { names: ['read'], action: 'SCMP_ACT_FOO' });
    expect(e.message).toBe('seccomp profile /x.json: syscalls[3].action "SCMP_ACT_FOO" is not a seccomp action');
    expect(e.info.hint).toMatch(/^use one of SCMP_ACT_KILL, .*SCMP_ACT_ALLOW/);
    expect(thrownNsxError(() => parseProfile('{"defaultAction":"ALLOW"}', '/x.json')).message).toMatch(
      /defaultAction "ALLOW" is not a seccomp action/,
    );
  });

  it('SCMP_ACT_NOTIFY, as unsupported', () => {
    const e = ruleError(allow(), { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' });
    expect(e.message).toBe('seccomp profile /x.json: syscalls[1].action "SCMP_ACT_NOTIFY" is not supported by nsx');
    expect(e.info.hint).toMatch(/seccomp_unotify/);
    expect(thrownNsxError(() => parseProfile('{"defaultAction":"SCMP_ACT_NOTIFY"}', '/x.json')).message).toMatch(
      /defaultAction "SCMP_ACT_NOTIFY" is not supported/,
    );
    expect(
      thrownNsxError(() =>
        parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock"}', '/x.json'),
      ).message,
    ).toMatch(/listenerPath is set/);
  });

  it('a bad op', () => {
    const e = ruleError(
      allow({
        args: [
          { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 1, op: 'SCMP_CMP_EQUAL' },
        ],
      }),
    );
    expect(e.message).toBe(
      'seccomp profile /x.json: syscalls[0].args[1].op "SCMP_CMP_EQUAL" is not a seccomp comparison',
    );
    expect(e.info.hint).toMatch(/SCMP_CMP_MASKED_EQ/);
  });

  it('an argument index outside 0..5', () => {
    const e = ruleError(allow(), allow({ args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }));
    expect(e.message).toBe('seccomp profile /x.json: syscalls[1].args[0].index is 6, outside 0..5');
    expect(ruleError(allow({ args: [{ index: -1, value: 1, op: 'SCMP_CMP_EQ' }] })).message).toMatch(
      /args\[0\]\.index is -1/,
    );
    expect(ruleError(allow({ args: [{ index: 1.5, value: 1, op: 'SCMP_CMP_EQ' }] })).message).toMatch(
      /args\[0\]\.index is 1.5, not an integer/,
    );
  });

  it('argument values that are not unsigned 64-bit integers', () => {
    expect(ruleError(allow({ args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] })).message).toMatch(
      /syscalls\[0\]\.args\[0\]\.value is -1, not an unsigned 64-bit/,
    );
    expect(ruleError(allow({ args: [{ index: 0, value: '1', op: 'SCMP_CMP_EQ' }] })).message).toMatch(
      /args\[0\]\.value is "1"/,
    );
    const tooBig = parseProfileText('{"index":0,"value":18446744073709551616,"op":"SCMP_CMP_EQ"}');
    expect(thrownNsxError(tooBig).message).toMatch(/args\[0\]\.value is 18446744073709551616, not an unsigned 64-bit/);
  });

  it('missing argument fields and a valueTwo on an op that ignores it', () => {
    expect(ruleError(allow({ args: [{ index: 0, op: 'SCMP_CMP_EQ' }] })).message).toMatch(
      /syscalls\[0\]\.args\[0\]\.value is missing/,
    );
    expect(ruleError(allow({ args: [{ index: 0, value: 1, valueTwo: 2, op: 'SCMP_CMP_EQ' }] })).message).toMatch(
      /syscalls\[0\]\.args\[0\]\.valueTwo is set but op is SCMP_CMP_EQ/,
    );
    // valueTwo 0 is what generated profiles write for every op: accepted.
    const zero = parseProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [allow({ args: [{ index: 0, value: 1, valueTwo: 0, op: 'SCMP_CMP_EQ' }] })],
      }),
      '/x.json',
    );
    expect(zero.syscalls[0].args[0]).toEqual({ index: 0, value: 1n, valueTwo: 0n, op: 'SCMP_CMP_EQ' });
  });

  it('unknown fields, so a typo cannot drop a condition', () => {
    const e = ruleError(allow({ arg: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }));
    expect(e.message).toBe('seccomp profile /x.json: syscalls[0].arg is not a known field');
    expect(e.info.hint).toMatch(/names, name, action, errnoRet, args/);
    expect(
      thrownNsxError(() => parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscall":[]}', '/x.json')).message,
    ).toMatch(/: syscall is not a known field/);
    expect(ruleError(allow({ includes: { cap: ['CAP_SYS_ADMIN'] } })).message).toMatch(
      /syscalls\[0\]\.includes\.cap is not a known field/,
    );
  });

  it('names: missing, empty, both name and names', () => {
    expect(ruleError({ action: 'SCMP_ACT_ALLOW' }).message).toMatch(/syscalls\[0\]\.names is missing/);
    expect(ruleError({ names: [], action: 'SCMP_ACT_ALLOW' }).message).toMatch(/syscalls\[0\]\.names is empty/);
    expect(ruleError({ names: ['read', 3], action: 'SCMP_ACT_ALLOW' }).message).toMatch(
      /syscalls\[0\]\.names\[1\] is a number, not a string/,
    );
    expect(ruleError({ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }).message).toMatch(
      /syscalls\[0\]\.name and names are both set/,
    );
    expect(ruleError({ names: ['read'] }).message).toMatch(/syscalls\[0\]\.action is missing/);
  });

  it('errnoRet out of range or on an action that ignores it', () => {
    expect(ruleError({ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }).message).toMatch(
      /syscalls\[0\]\.errnoRet is 70000, outside 0\.\.65535/,
    );
    expect(ruleError({ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }).message).toMatch(
      /syscalls\[0\]\.errnoRet is set but the action is SCMP_ACT_ALLOW/,
    );
    expect(
      thrownNsxError(() => parseProfile('{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":-1}', '/x.json')).message,
    ).toMatch(/defaultErrnoRet is -1/);
  });

  it('includes/excludes: capabilities, architecture names, minKernel', () => {
    expect(ruleError(allow({ excludes: { caps: ['CAP_SYS_ADMN'] } })).message).toMatch(
      /syscalls\[0\]\.excludes\.caps\[0\] "CAP_SYS_ADMN" is not a capability/,
    );
    const arch = ruleError(allow({ includes: { arches: ['x86_64'] } }));
    expect(arch.message).toMatch(/syscalls\[0\]\.includes\.arches\[0\] is "x86_64"/);
    expect(arch.info.hint).toMatch(/write "amd64"/);
    expect(ruleError(allow({ includes: { arches: ['pdp11'] } })).message).toMatch(
      /"pdp11" is not an architecture name/,
    );
    for (const bad of ['4', '4.8.1', '0.0', 'four.eight', '256.1']) {
      expect(ruleError(allow({ includes: { minKernel: bad } })).message).toMatch(
        /syscalls\[0\]\.includes\.minKernel "[^"]*" is not a kernel version/,
      );
    }
    expect(ruleError(allow({ includes: { minKernel: 4.8 } })).message).toMatch(/minKernel is a number, not a string/);
  });

  it('top level: not an object, no defaultAction, both architectures and archMap, bad architecture tokens', () => {
    expect(thrownNsxError(() => parseProfile('[]', '/x.json')).message).toMatch(
      /\(top level\) is an array, not an object/,
    );
    expect(thrownNsxError(() => parseProfile('{"syscalls":[]}', '/x.json')).message).toBe(
      'seccomp profile /x.json: defaultAction is missing',
    );
    expect(
      thrownNsxError(() =>
        parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":[],"archMap":[]}', '/x.json'),
      ).message,
    ).toMatch(/architectures and archMap are both set/);
    expect(
      thrownNsxError(() => parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["x86_64"]}', '/x.json'))
        .message,
    ).toMatch(/architectures\[0\] "x86_64" is not an architecture/);
    expect(
      thrownNsxError(() => parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}', '/x.json')).message,
    ).toMatch(/syscalls is an object, not an array/);
  });
});

function parseProfileText(arg: string): () => unknown {
  return () =>
    parseProfile(
      `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[${arg}]}]}`,
      '/x.json',
    );
}

describe('parseJson', () => {
  it('keeps integers beyond 2^53 as bigint, others as numbers', () => {
    expect(parseJson('[1, -2, 1.5, 2e3, 9007199254740991, 9007199254740993, 18446744073709551615]', 't')).toEqual([
      1,
      -2,
      1.5,
      2000,
      9007199254740991,
      9007199254740993n,
      18446744073709551615n,
    ]);
  });

  it('decodes strings and literals like JSON.parse, without prototype keys', () => {
    const text = '{"a":"x\\n\\u00e9\\"","b":[true,false,null],"__proto__":{"c":1}}';
    const v = parseJson(text, 't') as Record<string, unknown>;
    expect(v.a).toBe(JSON.parse(text).a);
    expect(v.b).toEqual([true, false, null]);
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.keys(v)).toEqual(['a', 'b', '__proto__']);
  });

  it.each(["{'a':1}", '[1,]', '01', '"\t"', '"\\x"', 'tru', '{"a" 1}', '[1 2]', '-', '"abc', '[1'])(
    'rejects %j as JSON does',
    (bad) => {
      expect(() => JSON.parse(bad)).toThrow();
      expect(() => parseJson(bad, 't')).toThrow(/invalid JSON at line 1/);
    },
  );
});

describe('loadProfileFile', () => {
  it('reads a file, and says so plainly when it is missing or a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsx-seccomp-'));
    try {
      const file = join(dir, 'p.json');
      writeFileSync(file, '{"defaultAction":"SCMP_ACT_LOG"}');
      expect(loadProfileFile(file).defaultAction).toBe('SCMP_ACT_LOG');
      const missing = thrownNsxError(() => loadProfileFile(join(dir, 'nope.json')));
      expect(missing.message).toBe(`seccomp profile ${join(dir, 'nope.json')}: no such file`);
      expect(missing.info.hint).toMatch(/check the path/);
      expect(thrownNsxError(() => loadProfileFile(dir)).message).toBe(`seccomp profile ${dir}: is a directory`);
      writeFileSync(file, '{"defaultAction":');
      expect(thrownNsxError(() => loadProfileFile(file)).message).toMatch(
        new RegExp(`seccomp profile ${file}: invalid JSON`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
