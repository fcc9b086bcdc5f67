// The user namespace (user_namespaces(7)): root inside is an unprivileged id outside. As root with
// --userns private the container's 0 is the first subordinate id (/etc/subuid, else 100000);
// rootless, it is the invoking user, mapped alone.
import { afterEach, describe, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TEST_ROOTFS,
  UNPRIVILEGED_UID,
  evidenceAfter,
  eventsOf,
  itRoot,
  nsx,
  run,
  type NsxResult,
} from '../helpers.js';

/** The host id the container's 0 maps to when root runs --userns private (what nsx reads too). */
function subordinateStart(file: string): number {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('root:') || l.startsWith('0:'));
    if (line) return Number(line.split(':')[1]);
  } catch {
    /* no such file */
  }
  return 100000;
}
const SUBUID = subordinateStart('/etc/subuid');
const SUBGID = subordinateStart('/etc/subgid');

/** nsx run as another user, with a HOME it can write. */
const nsxAs = (uid: number, args: string[]) => nsx(['runtime', 'run', ...args], { uid, env: { HOME: '/tmp' } });

const uidMapLine = (text: string) => text.trim().split(/\s+/).join(' ');

describe('user namespace', () => {
  let copy = '';
  afterEach(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
    copy = '';
  });

  /** A private copy of the test rootfs (owned by host root, like the original), in a directory the
   *  container's mapped root may traverse. */
  function rootfsCopy(): string {
    copy = mkdtempSync(join(tmpdir(), 'nsx-userns-'));
    chmodSync(copy, 0o755);
    const rootfs = join(copy, 'rootfs');
    expect(spawnSync('cp', ['-a', TEST_ROOTFS, rootfs]).status).toBe(0);
    return rootfs;
  }

  itRoot('--userns private as root: uid 0 inside is the first subordinate uid outside', async () => {
    const r = await run(
      ['--userns', 'private'],
      ['/bin/sh', '-c', 'cat /proc/self/uid_map; echo ===; cat /proc/self/gid_map; echo ===; id -u; id -g'],
    );
    expect(r.code).toBe(0);
    const [uidMap, gidMap, ids] = r.stdout.split('===\n');
    expect(uidMapLine(uidMap)).toBe(`0 ${SUBUID} 65536`);
    expect(uidMapLine(gidMap)).toBe(`0 ${SUBGID} 65536`);
    expect(ids.trim().split('\n')).toEqual(['0', '0']);
    const ev = evidenceAfter(r, 'userns')!;
    expect(ev.process.uid).toEqual([SUBUID, SUBUID, SUBUID, SUBUID]);
    expect(ev.process.uidMap).toBe(`0 ${SUBUID} 65536`);
    expect(ev.process.ns.user).not.toBe(ev.host.ns.user);
    expect(evidenceAfter(r, 'fork')!.inside!.uid).toBe(0);
  });

  itRoot('--userns private: a file root creates inside belongs to the subordinate uid on the host', async () => {
    const rootfs = rootfsCopy();
    mkdirSync(join(rootfs, 'shared'));
    chmodSync(join(rootfs, 'shared'), 0o777);
    const r = await nsxRun(
      rootfs,
      ['--userns', 'private'],
      ['/bin/sh', '-c', 'touch /shared/f && stat -c "%u %g" /shared/f'],
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('0 0'); // root's, inside
    const st = statSync(join(rootfs, 'shared', 'f'));
    expect([st.uid, st.gid]).toEqual([SUBUID, SUBGID]); // an unprivileged id's, outside
  });

  itRoot('--userns private: root inside cannot write a file that host root owns (mode 644)', async () => {
    const rootfs = rootfsCopy();
    const passwd = join(rootfs, 'etc', 'passwd');
    const before = readFileSync(passwd, 'utf8');
    expect(statSync(passwd).uid).toBe(0);
    const r = await nsxRun(
      rootfs,
      ['--userns', 'private'],
      ['/bin/sh', '-c', 'stat -c %u /etc/passwd; id -u; echo evil >> /etc/passwd'],
    );
    expect(r.code).not.toBe(0);
    const [owner, me] = r.stdout.trim().split('\n');
    expect(owner).toBe('65534'); // host root is not mapped: the overflow uid, "nobody"
    expect(me).toBe('0');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(readFileSync(passwd, 'utf8')).toBe(before);
  });

  itRoot('rootless: uid 0 inside is the invoking user, mapped alone', async () => {
    const r = await nsxAs(UNPRIVILEGED_UID, [
      '--rm',
      '--rootfs',
      TEST_ROOTFS,
      '/bin/sh',
      '-c',
      'cat /proc/self/uid_map; echo ===; id -u',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [uidMap, id] = r.stdout.split('===\n');
    expect(uidMapLine(uidMap)).toBe(`0 ${UNPRIVILEGED_UID} 1`);
    expect(id.trim()).toBe('0');
    const ev = evidenceAfter(r, 'userns')!;
    expect(ev.process.uid).toEqual([UNPRIVILEGED_UID, UNPRIVILEGED_UID, UNPRIVILEGED_UID, UNPRIVILEGED_UID]);
    expect(evidenceAfter(r, 'fork')!.process.uid[0]).toBe(UNPRIVILEGED_UID);
    expect(eventsOf(r, 'step-skipped').map((e) => e.step.id)).toContain('cgroup'); // no cgroup without root
  });

  itRoot('rootless: a memory limit fails at once with one line naming the need for root', async () => {
    const r = await nsxAs(UNPRIVILEGED_UID, ['--rm', '--rootfs', TEST_ROOTFS, '-m', '64m', '/bin/true']);
    expect(r.code).toBe(125);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^nsx: .*need root/);
    expect(lines.length).toBeLessThanOrEqual(2); // the error, then its hint
    expect(r.stderr).not.toContain('    at ');
    expect(r.events.filter((e) => e.type === 'created')).toEqual([]);
  });
});

/** nsx run on another rootfs (the helpers' run() always uses the shared test rootfs). */
function nsxRun(rootfs: string, options: string[], command: string[]): Promise<NsxResult> {
  return nsx(['runtime', 'run', '--rm', '--rootfs', rootfs, ...options, ...command]);
}
