// docker run's options → the spec; bad input → one clear error, before anything is created.
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import { NsxError } from '../../src/runtime/errors.js';
import { parseSize, resolveUser, specFromRunOptions, type RunOptions } from '../../src/runtime/options.js';
import { thrownNsxError } from '../helpers.js';

let rootfs: string;
beforeAll(() => {
  rootfs = mkdtempSync(join(tmpdir(), 'nsx-opts-'));
  mkdirSync(join(rootfs, 'bin'));
  mkdirSync(join(rootfs, 'etc'));
  writeFileSync(join(rootfs, 'bin', 'sh'), '');
  writeFileSync(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0::/root:/bin/sh\nlearner:x:1000:1000::/home/learner:/bin/sh\n',
  );
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nwheel:x:10:learner\nlearner:x:1000:\n');
  symlinkSync('/bin/sh', join(rootfs, 'bin', 'ash'));
});
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

const seccomp: RunOptions['loadSeccomp'] = (p) => ({
  profile: { defaultAction: 'SCMP_ACT_ALLOW' },
  source: p ?? 'default',
});
const opts = (o: Partial<RunOptions> = {}): RunOptions => ({
  rootfs,
  command: ['sh'],
  loadSeccomp: seccomp,
  root: true,
  ...o,
});

function error(o: Partial<RunOptions>): NsxError {
  try {
    specFromRunOptions(opts(o));
  } catch (e) {
    if (e instanceof NsxError) return e;
    throw e;
  }
  throw new Error('expected an NsxError');
}

describe('specFromRunOptions', () => {
  it("gives docker's defaults as root", () => {
    const s = specFromRunOptions(opts());
    expect(s.id).toMatch(/^[0-9a-f]{64}$/);
    expect(s.hostname).toBe(s.id.slice(0, 12));
    expect(s.linux.namespaces.map((n) => n.type).sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    expect(s.process.env).toContain(`HOSTNAME=${s.hostname}`);
    expect(s.process.env.find((e) => e.startsWith('PATH='))).toBe(
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    );
    expect(s.linux.seccomp?.source).toBe('default');
    expect(s.process.capabilities).toHaveLength(14);
    expect(s.linux.resources).toBeUndefined();
  });

  it('makes two different ids for two runs', () => {
    expect(specFromRunOptions(opts()).id).not.toBe(specFromRunOptions(opts()).id);
  });

  it('goes rootless through a user namespace mapping the invoking user', () => {
    const s = specFromRunOptions(opts({ root: false, uid: 1000, gid: 1000 }));
    expect(s.linux.namespaces[0].type).toBe('user');
    expect(s.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(s.mounts.find((m) => m.destination === '/dev/pts')!.options).not.toContain('gid=5');
  });

  it('maps a subordinate range with --userns private as root', () => {
    const s = specFromRunOptions(opts({ userns: 'private' }));
    expect(s.linux.uidMappings![0].containerID).toBe(0);
    expect(s.linux.uidMappings![0].hostID).toBeGreaterThan(0);
  });

  it("has a cgroup namespace of its own, or with --cgroupns host the host's", () => {
    const types = (o: Partial<RunOptions>) => specFromRunOptions(opts(o)).linux.namespaces.map((n) => n.type);
    expect(types({})).toContain('cgroup');
    expect(types({ cgroupns: 'private' })).toContain('cgroup');
    expect(types({ cgroupns: 'host' })).not.toContain('cgroup');
    expect(types({ cgroupns: 'host' })).toEqual(types({}).filter((t) => t !== 'cgroup'));
  });

  it('turns limits into resources', () => {
    const s = specFromRunOptions(opts({ memory: '64m', pidsLimit: 20, cpus: '0.5' }));
    expect(s.linux.resources).toEqual({
      memory: { limit: 64 * 1024 * 1024 },
      pids: { limit: 20 },
      cpu: { quota: 50000, period: 100000 },
    });
  });

  it("takes docker's smallest limits, and -m 0 for no limit", () => {
    const s = specFromRunOptions(opts({ memory: '6m', cpus: '0.01' }));
    expect(s.linux.resources).toEqual({ memory: { limit: 6 * 1024 * 1024 }, cpu: { quota: 1000, period: 100000 } });
    expect(specFromRunOptions(opts({ memory: '0' })).linux.resources).toEqual({ memory: { limit: 0 } });
    expect(specFromRunOptions(opts({ cpus: 1.5 })).linux.resources).toEqual({ cpu: { quota: 150000, period: 100000 } });
  });

  it('merges -e over the defaults and copies bare names from the environment', () => {
    process.env.NSX_TEST_VAR = 'from-host';
    const s = specFromRunOptions(opts({ env: ['A=1', 'PATH=/bin', 'NSX_TEST_VAR', 'NSX_UNSET_VAR'] }));
    expect(s.process.env).toEqual(expect.arrayContaining(['A=1', 'PATH=/bin', 'NSX_TEST_VAR=from-host']));
    expect(s.process.env.filter((e) => e.startsWith('PATH='))).toHaveLength(1);
    expect(s.process.env.some((e) => e.startsWith('NSX_UNSET_VAR'))).toBe(false);
  });

  it('unconfined and privileged mean no seccomp; privileged also means no masked paths', () => {
    expect(specFromRunOptions(opts({ securityOpt: ['seccomp=unconfined'] })).linux.seccomp).toBeUndefined();
    const p = specFromRunOptions(opts({ privileged: true }));
    expect(p.linux.seccomp).toBeUndefined();
    expect(p.linux.maskedPaths).toEqual([]);
  });

  it("asks for Docker's AppArmor rule: nsx-default, a named profile, or none (unconfined, --privileged)", () => {
    expect(specFromRunOptions(opts({})).process.apparmorProfile).toBe('nsx-default');
    expect(specFromRunOptions(opts({ securityOpt: ['apparmor=nsx-lab'] })).process.apparmorProfile).toBe('nsx-lab');
    expect(specFromRunOptions(opts({ securityOpt: ['apparmor=unconfined'] })).process.apparmorProfile).toBeUndefined();
    expect(specFromRunOptions(opts({ privileged: true })).process.apparmorProfile).toBeUndefined();
  });

  it('turns no-new-privileges on', () => {
    expect(specFromRunOptions(opts({ securityOpt: ['no-new-privileges'] })).process.noNewPrivileges).toBe(true);
    expect(specFromRunOptions(opts({ securityOpt: ['no-new-privileges:true'] })).process.noNewPrivileges).toBe(true);
  });

  it.each([
    [{ rootfs: undefined }, /no root filesystem given/, /npm run sandbox/],
    [{ rootfs: '/nonexistent/nsx' }, /--rootfs \/nonexistent\/nsx: no such directory/, /npm run sandbox/],
    [{ rootfs: '/' }, /host's own root/, /separate directory/],
    [{ command: [] }, /no command specified/, /nsx run --rootfs DIR/],
    [{ command: ['nosuch'] }, /"nosuch": executable file not found/, /ls /],
    [{ network: 'bridge' }, /--network bridge: unknown mode/, /none, host, veth/],
    [{ userns: 'maybe' }, /--userns maybe: unknown mode/, /host or private/],
    [{ cgroupns: 'shared' }, /--cgroupns shared: unknown mode/, /host or private/],
    [{ root: false, userns: 'host' }, /--userns host needs root/, /sudo/],
    [{ root: false, memory: '64m' }, /need root/, /sudo/],
    [{ memory: '12x' }, /--memory 12x: not a size/, /256m/],
    [{ cpus: '-1' }, /--cpus -1: not a positive number/, /0\.5/],
    [{ pidsLimit: 0 }, /--pids-limit 0/, /64/],
    [{ pidsLimit: -5 }, /--pids-limit -5/, /64/],
    [{ pidsLimit: 2.5 }, /--pids-limit 2.5/, /64/],
    [{ memory: '6291455' }, /--memory 6291455: minimum memory limit allowed is 6MB/, /-m 32m/],
    [{ memory: '1m' }, /--memory 1m: minimum memory limit allowed is 6MB \(6291456 bytes\)/, /OOM-killed/],
    [{ cpus: '0.001' }, /--cpus 0.001: range of CPUs is from 0.01 to \d+\.00/, /--cpus 0\.5/],
    [{ cpus: 'NaN' }, /--cpus NaN: not a positive number/, /0\.5/],
    [{ capAdd: ['NOPE'] }, /--cap-add NOPE: unknown capability/, /capabilities\(7\)/],
    [{ securityOpt: ['label=disable'] }, /--security-opt label=disable: not supported/, /apparmor=PROFILE/],
    [{ securityOpt: ['apparmor=x y'] }, /--security-opt apparmor=x y: not a profile name/, /apparmor=unconfined/],
    [{ securityOpt: ['seccomp'] }, /--security-opt seccomp: no profile/, /seccomp=PROFILE/],
    [{ workdir: 'tmp' }, /-w tmp: the working directory must be an absolute path/, /-w \/tmp/],
    [{ user: 'ghost' }, /-u ghost: no user "ghost"/, /numeric uid/],
  ])('rejects %j with a message and a fix', (o, message, hint) => {
    const e = error(o as Partial<RunOptions>);
    expect(e.message).toMatch(message);
    expect(e.info.hint).toMatch(hint);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it("gives a missing command docker's 127", () => {
    expect(error({ command: ['nosuch'] }).exitCode).toBe(127);
  });

  it('finds commands through symlinks inside the rootfs', () => {
    expect(() => specFromRunOptions(opts({ command: ['ash'] }))).not.toThrow();
  });
});

describe('resolveUser', () => {
  it("looks names up in the container's /etc/passwd and /etc/group", () => {
    expect(resolveUser(rootfs, 'learner')).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    expect(resolveUser(rootfs, '1000:10')).toEqual({ uid: 1000, gid: 10, additionalGids: [] }); // wheel (10) is the primary group here
    expect(resolveUser(rootfs, '4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
    expect(resolveUser(rootfs, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [] });
  });
});

describe('parseSize', () => {
  const MiB = 1024 * 1024;
  it.each([
    ['1048576', 1048576],
    ['0', 0],
    ['100b', 100],
    ['100k', 100 * 1024],
    ['100K', 100 * 1024],
    ['512m', 512 * MiB],
    ['512MB', 512 * MiB],
    ['512MiB', 512 * MiB],
    ['1g', 1024 * MiB],
    ['1.5g', 1536 * MiB],
    ['1.5k', 1536],
    [' 64m ', 64 * MiB],
    ['2t', 2 * 1024 ** 4],
  ])('%s -> %d', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['12x', '', 'm', '-1m', '1.2.3m', '1e6', 'ten', '.5g', '5 m b'])('refuses %j', (text) => {
    expect(() => parseSize(text, 'memory')).toThrow(NsxError);
  });

  it('names the option and suggests the form', () => {
    const err = thrownNsxError(() => parseSize('12x', 'memory'));
    expect(err.message).toBe('--memory 12x: not a size');
    const hint = 'use a number with an optional b, k, m or g suffix, e.g. 256m';
    expect(err.describe()).toBe(`--memory 12x: not a size\n  ${hint}`);
    expect(() => parseSize('1q', '-m')).toThrow('-m 1q: not a size');
    expect(() => parseSize('1q')).toThrow(/^1q: not a size$/);
  });
});
