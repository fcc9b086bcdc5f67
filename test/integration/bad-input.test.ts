// Bad input is refused before anything is made: exit 125 (127 for a missing command, as docker),
// one line "nsx: <what is wrong>", a second line with the fix, no stack trace, and no events at all
// (not even `created`).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ROOTFS, nsx } from '../helpers.js';

interface Case {
  name: string;
  args: (dir: string) => string[];
  code: number;
  /** What the first line must say: the option or thing at fault, and what is wrong with it. */
  problem: RegExp[];
  /** What the second line (the hint) must say: the fix. */
  fix: RegExp;
}

const R = TEST_ROOTFS;
const CASES: Case[] = [
  {
    name: 'a rootfs directory that does not exist',
    args: () => ['--rootfs', '/nonexistent/nsx-test-rootfs', '/bin/true'],
    code: 125,
    problem: [/--rootfs \/nonexistent\/nsx-test-rootfs/, /no such directory/],
    fix: /npm run sandbox/,
  },
  {
    name: 'no --rootfs at all (then the first word is an image, and a path is not one)',
    args: () => ['/bin/true'],
    code: 125,
    problem: [/"\/bin\/true": invalid reference format/],
    fix: /--rootfs DIR/,
  },
  {
    name: 'a command missing from the rootfs',
    args: () => ['--rootfs', R, 'nsx-no-such-command'],
    code: 127,
    problem: [/"nsx-no-such-command"/, /not found/],
    fix: /ls .*\/bin/,
  },
  {
    name: 'an unknown capability',
    args: () => ['--rootfs', R, '--cap-add', 'NOPE', '/bin/true'],
    code: 125,
    problem: [/--cap-add NOPE/, /unknown capability/],
    fix: /capabilities\(7\)/,
  },
  {
    name: 'a malformed memory size',
    args: () => ['--rootfs', R, '-m', '12x', '/bin/true'],
    code: 125,
    problem: [/12x/, /not a size/],
    fix: /256m/,
  },
  {
    name: 'a seccomp profile that is not JSON',
    args: (dir) => ['--rootfs', R, '--security-opt', `seccomp=${dir}/bad-json.json`, '/bin/true'],
    code: 125,
    problem: [/bad-json\.json/, /invalid JSON/],
    fix: /JSON/,
  },
  {
    name: 'a seccomp profile with an unknown action',
    args: (dir) => ['--rootfs', R, '--security-opt', `seccomp=${dir}/bad-action.json`, '/bin/true'],
    code: 125,
    problem: [/bad-action\.json/, /SCMP_ACT_FROB/, /not a seccomp action/],
    fix: /SCMP_ACT_ERRNO/,
  },
  {
    name: 'an unknown network mode',
    args: () => ['--rootfs', R, '--network', 'foo', '/bin/true'],
    code: 125,
    problem: [/--network foo/, /unknown mode/],
    fix: /none, host, veth/,
  },
  {
    name: 'a relative working directory',
    args: () => ['--rootfs', R, '-w', 'tmp', '/bin/true'],
    code: 125,
    problem: [/-w tmp/, /absolute path/],
    fix: /-w \/tmp/,
  },
  {
    name: 'a uid at or above 2^31 (it would wrap to root)',
    args: () => ['--rootfs', R, '-u', '4294967296', '/bin/true'],
    code: 125,
    problem: [/-u 4294967296/, /uid 4294967296 is out of range/],
    fix: /0 to 2147483647/,
  },
  {
    name: 'a gid at or above 2^31',
    args: () => ['--rootfs', R, '-u', '1000:2147483648', '/bin/true'],
    code: 125,
    problem: [/gid 2147483648 is out of range/],
    fix: /0 to 2147483647/,
  },
  {
    name: 'a container name with a slash',
    args: () => ['--rootfs', R, '--name', '../x', '/bin/true'],
    code: 125,
    problem: [/--name \.\.\/x/, /invalid container name/],
    fix: /--name web-1/,
  },
  {
    name: 'a container name of 5,000 characters',
    args: () => ['--rootfs', R, '--name', 'a'.repeat(5000), '/bin/true'],
    code: 125,
    problem: [/--name: 5000 characters/],
    fix: /shorter name/,
  },
  {
    name: 'a hostname with a newline',
    args: () => ['--rootfs', R, '--hostname', 'a\nb', '/bin/true'],
    code: 125,
    problem: [/--hostname a\\nb/, /RFC 1123/],
    fix: /web-1/,
  },
  {
    name: 'a hostname over 64 bytes',
    args: () => ['--rootfs', R, '--hostname', 'h'.repeat(65), '/bin/true'],
    code: 125,
    problem: [/65 bytes/, /sethostname\(2\)/],
    fix: /shorter hostname/,
  },
  {
    name: 'more CPUs than the machine has',
    args: () => ['--rootfs', R, '--cpus', '4096', '/bin/true'],
    code: 125,
    problem: [/--cpus 4096/, /range of CPUs is from 0\.01 to \d+\.00/],
    fix: /at most --cpus \d+/,
  },
  {
    name: 'a pids limit that is not a number (no NaN in the message)',
    args: () => ['--rootfs', R, '--pids-limit', 'lots', '/bin/true'],
    code: 125,
    problem: [/--pids-limit a value that is not a number/],
    fix: /--pids-limit 64/,
  },
  {
    name: 'a seccomp profile that is a device (/dev/zero)',
    args: () => ['--rootfs', R, '--security-opt', 'seccomp=/dev/zero', '/bin/true'],
    code: 125,
    problem: [/seccomp profile \/dev\/zero: not a regular file/],
    fix: /JSON file/,
  },
  {
    name: 'a seccomp profile over the size limit',
    args: (dir) => ['--rootfs', R, '--security-opt', `seccomp=${dir}/huge.json`, '/bin/true'],
    code: 125,
    problem: [/huge\.json: \d+ bytes, more than/],
    fix: /small JSON file/,
  },
  {
    name: 'a seccomp profile that blocks everything (the command could never start)',
    args: (dir) => ['--rootfs', R, '--security-opt', `seccomp=${dir}/deny-all.json`, '/bin/true'],
    code: 125,
    problem: [/deny-all\.json: it blocks read \(SCMP_ACT_ERRNO\(EPERM\)\), write/, /exit_group/],
    fix: /allow read, write, exit_group in the profile/,
  },
];

describe('bad input', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsx-bad-input-'));
    writeFileSync(join(dir, 'bad-json.json'), '{"defaultAction": "SCMP_ACT_ERRNO",,}');
    writeFileSync(join(dir, 'huge.json'), ' '.repeat(1024 * 1024 + 1));
    writeFileSync(join(dir, 'deny-all.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] }));
    writeFileSync(
      join(dir, 'bad-action.json'),
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_FROB' }] }),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES.map((c) => [c.name, c] as const))('refuses %s, saying what and how to fix it', async (_name, c) => {
    const r = await nsx(['run', '--rm', ...c.args(dir)]);
    expect(r.code).toBe(c.code);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^nsx: /);
    for (const p of c.problem) expect(lines[0]).toMatch(p);
    expect(lines[1]).toMatch(c.fix);
    expect(r.stderr).not.toContain('    at ');
    expect(r.stdout).toBe('');
    // Refused before the container existed: no events at all (not even `created`), so nothing was
    // made on the machine (zz-leaks checks the machine itself once the whole suite has run).
    expect(r.events).toEqual([]);
  });
});
