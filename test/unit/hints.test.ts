// The runtime's teaching hints that depend on the order of the plan: a step moved after the
// capabilities step (the kernel-order lesson's "break it") is told why it lost its capability.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hintFor } from '../../src/runtime/hints.js';
import { specFromRunOptions, type RunOptions } from '../../src/runtime/options.js';
import { STEP_IDS } from '../../src/runtime/steps.js';

let rootfs: string;
beforeAll(() => {
  rootfs = mkdtempSync(join(tmpdir(), 'nsx-hints-'));
  mkdirSync(join(rootfs, 'bin'));
  writeFileSync(join(rootfs, 'bin', 'sh'), '');
});
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

const spec = (o: Partial<RunOptions> = {}) =>
  specFromRunOptions({
    rootfs,
    command: ['/bin/sh'],
    loadSeccomp: () => ({ profile: {}, source: 'test' }),
    root: true,
    ...o,
  });

describe('hints that know the order', () => {
  const eperm = (step: Parameters<typeof hintFor>[0], before: string[], o: Partial<RunOptions> = {}) =>
    hintFor(step, { syscall: 'mount', errnoName: 'EPERM', before }, spec(o));

  it('names the capability a step lost to a capabilities step applied before it', () => {
    expect(eperm('rootfs', ['cgroup', 'namespaces', 'fork', 'capabilities'])).toMatch(
      /^rootfs needs CAP_SYS_ADMIN, and the capabilities step, already applied, has dropped it/,
    );
    expect(eperm('hostname', ['capabilities'])).toMatch(/^hostname needs CAP_SYS_ADMIN/);
    expect(eperm('network', ['capabilities'])).toMatch(/^network needs CAP_NET_ADMIN/);
  });

  it('keeps the usual hint in the usual order, or when the capability was kept', () => {
    expect(eperm('rootfs', ['cgroup', 'namespaces', 'fork'])).toMatch(
      /CAP_SYS_ADMIN in the mount namespace's owning user namespace/,
    );
    expect(eperm('rootfs', ['capabilities'], { capAdd: ['SYS_ADMIN'] })).not.toMatch(/already applied/);
    expect(
      hintFor('rootfs', { syscall: 'mount', errnoName: 'ENOENT', detail: '/x', before: ['capabilities'] }, spec()),
    ).toMatch(/does not exist/);
  });

  it("knows which steps need a capability the capabilities step drops (each step file's needsCap)", () => {
    const needs = Object.fromEntries(
      STEP_IDS.map((id) => [
        id,
        eperm(id, ['capabilities'])?.match(/^\S+ needs (CAP_\w+), and the capabilities step/)?.[1],
      ]),
    );
    const admin = [
      'namespaces',
      'fork',
      'mount-private',
      'rootfs',
      'proc',
      'dev',
      'sys',
      'tmp',
      'pivot-root',
      'mask-paths',
      'hostname',
    ];
    expect(needs).toEqual({
      ...Object.fromEntries(STEP_IDS.map((id) => [id, admin.includes(id) ? 'CAP_SYS_ADMIN' : undefined])),
      network: 'CAP_NET_ADMIN',
    });
  });

  it("dispatches to each step's own hint", () => {
    expect(hintFor('pivot-root', { syscall: 'pivot_root', errnoName: 'EBUSY' }, spec())).toMatch(
      /^pivot_root\(2\): the new root is on the current root mount/,
    );
    expect(hintFor('seccomp', { syscall: 'seccomp', errnoName: 'EACCES' }, spec())).toMatch(/no-new-privileges/);
    expect(hintFor('exec', { syscall: 'execve', errnoName: 'ENOENT', detail: '/bin/nope' }, spec())).toMatch(
      /^"\/bin\/nope" is not in the root filesystem/,
    );
    expect(hintFor('no-new-privs', { syscall: 'prctl', errnoName: 'EINVAL' }, spec())).toBeUndefined();
  });
});
