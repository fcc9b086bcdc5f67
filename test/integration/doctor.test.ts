// nsx doctor against this machine's real kernel: the checks read /proc and /sys for real.
// Written for the project's test VM (a hybrid cgroup host, run as root); the hybrid assertion
// is skipped, with the reason printed, where there is no /sys/fs/cgroup/unified.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { runChecks, runDoctor, type Check } from '../../src/doctor/index.js';

const checks = runChecks();
const byId = (id: string): Check => {
  const c = checks.find((k) => k.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};

const hybrid = existsSync('/sys/fs/cgroup/unified');
if (!hybrid)
  console.warn(
    'doctor integration: hybrid layout test skipped: /sys/fs/cgroup/unified is absent (this machine is not a hybrid cgroup host)',
  );
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('doctor integration: exit status test skipped: it expects root (run the tests with sudo)');

describe('nsx doctor on this machine', () => {
  (hybrid ? it : it.skip)('detects the hybrid cgroup layout', () => {
    const layout = byId('cgroup-layout');
    expect(layout.status).toBe('ok');
    expect(layout.detail).toMatch(/^hybrid /);
  });

  it('finds seccomp filters', () => {
    expect(byId('seccomp')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/\berrno\b/) });
  });

  it('finds every namespace type', () => {
    for (const ns of ['user', 'uts', 'ipc', 'net', 'mnt', 'cgroup', 'time', 'pid']) {
      expect(byId(`ns-${ns}`)).toMatchObject({
        status: 'ok',
        detail: expect.stringMatching(new RegExp(`^${ns}:\\[\\d+\\]`)),
      });
    }
  });

  it('gives a fix for everything that is not ok', () => {
    for (const k of checks.filter((c) => c.status !== 'ok')) expect(k.fix).toBeTruthy();
  });

  (isRoot ? it : it.skip)('exits 0 here as root', async () => {
    let text = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    const code = await runDoctor({ json: false, out });
    expect({ code, failures: text.split('\n').filter((l) => l.startsWith('✗')) }).toEqual({ code: 0, failures: [] });
    expect(text).toMatch(/^Ready: /m);
  });

  (isRoot ? it : it.skip)(
    'reads the active LSMs as root even where securityfs is not mounted, and leaves no mount',
    async () => {
      const { activeLsms } = await import('../../src/doctor/env.js');
      const before = readFileSync('/proc/self/mountinfo', 'utf8').match(/ - securityfs /g)?.length ?? 0;
      const lsms = activeLsms();
      // Every kernel with an lsm file lists "capability" (commoncap is always active: LSM/index.rst).
      expect(lsms).toContain('capability');
      expect(readFileSync('/proc/self/mountinfo', 'utf8').match(/ - securityfs /g)?.length ?? 0).toBe(before);
    },
  );

  it('says it cannot know the LSMs without securityfs and without root', async () => {
    const { activeLsms } = await import('../../src/doctor/env.js');
    expect(activeLsms(() => undefined, false)).toBeUndefined();
    expect(activeLsms((p) => (p === '/sys/kernel/security/lsm' ? 'capability,landlock\n' : undefined), false)).toEqual([
      'capability',
      'landlock',
    ]);
  });
});
