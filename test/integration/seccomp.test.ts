// seccomp (seccomp(2)): a BPF filter the kernel runs on every system call of the container. The
// probe tries calls inside; /proc/self/status says whether a filter is on (Seccomp: 2 = filter).
import { describe, expect } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseStatus } from '../../src/runtime/observe.js';
import { eventsOf, evidenceAfter, itRoot, ROOT, run, type NsxResult } from '../helpers.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
/** Docker's own default profile, the repo's copy of moby's profiles/seccomp/default.json. */
const DOCKER_DEFAULT = join(ROOT, 'src', 'runtime', 'seccomp', 'docker-default.json');

const outcome = (r: NsxResult) => ({ code: r.code, stderr: r.stderr });
const ok = { code: 0, stderr: '' };
const lines = (s: string) => s.split('\n').filter(Boolean);
const stepIds = (r: NsxResult, type: 'step-applied' | 'step-skipped') => eventsOf(r, type).map((e) => e.step.id);

describe('seccomp', () => {
  itRoot(
    "applies Docker's default profile: Seccomp 2, and unshare(CLONE_NEWUSER) and mount are EPERM without CAP_SYS_ADMIN",
    async () => {
      const r = await run(
        [],
        ['/bin/sh', '-c', 'grep Seccomp: /proc/self/status; /probe try unshare-user; /probe try mount'],
      );
      expect(outcome(r)).toEqual(ok);
      const out = lines(r.stdout);
      expect(parseStatus(out[0]).Seccomp).toBe('2');
      expect(out.slice(1)).toEqual(['EPERM', 'EPERM']);
      expect(stepIds(r, 'step-applied')).toContain('seccomp');
      const ev = evidenceAfter(r, 'seccomp')!;
      expect(ev.process.seccomp).toBe(2);
      expect(evidenceAfter(r, 'capabilities')!.process.seccomp).toBe(0);
    },
  );

  itRoot('seccomp=unconfined: no filter (Seccomp 0) and the seccomp step is skipped, with its reason', async () => {
    const r = await run(['--security-opt', 'seccomp=unconfined'], ['/bin/grep', 'Seccomp:', '/proc/self/status']);
    expect(outcome(r)).toEqual(ok);
    expect(parseStatus(r.stdout).Seccomp).toBe('0');
    expect(stepIds(r, 'step-applied')).not.toContain('seccomp');
    const skipped = eventsOf(r, 'step-skipped').find((e) => e.step.id === 'seccomp');
    expect(skipped?.reason).toMatch(/unconfined/);
    // Without a filter to install, CAP_SYS_ADMIN is never kept: the capabilities step leaves the 14.
    expect(evidenceAfter(r, 'capabilities')!.process.capEff).not.toContain('CAP_SYS_ADMIN');
  });

  itRoot('a custom profile (allow by default, mkdir/mkdirat fail with errno 13) makes mkdir EACCES', async () => {
    const profile = join(FIXTURES, 'seccomp-deny-mkdir.json');
    const r = await run(
      ['--security-opt', `seccomp=${profile}`],
      ['/bin/sh', '-c', '/probe try mkdir; /probe try chown'],
    );
    expect(outcome(r)).toEqual(ok);
    expect(lines(r.stdout)).toEqual(['EACCES', 'ok']);
    const step = eventsOf(r, 'step-applied').find((e) => e.step.id === 'seccomp')!.step;
    expect(step.notes.join(' ')).toContain(profile);
  });

  itRoot(
    'an allow-list profile that forgets execve fails the exec step with EPERM, exit 126, naming execve',
    async () => {
      const r = await run(
        ['--security-opt', `seccomp=${join(FIXTURES, 'seccomp-no-execve.json')}`],
        ['/probe', 'whoami'],
      );
      expect(r.code).toBe(126);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^nsx: exec: execve \/probe: Operation not permitted \(EPERM\)$/m);
      expect(r.stderr).toMatch(/seccomp/);
      // Every step up to seccomp went through; exec failed, the command never started.
      expect(stepIds(r, 'step-applied')).toContain('seccomp');
      const failed = eventsOf(r, 'step-failed');
      expect(failed).toHaveLength(1);
      expect(failed[0].step.id).toBe('exec');
      expect(failed[0].error).toMatchObject({ syscall: 'execve', errnoName: 'EPERM' });
      expect(eventsOf(r, 'started')).toEqual([]);
      expect(eventsOf(r, 'cleaned-up')).toHaveLength(1);
    },
  );

  itRoot(
    'a profile file that does not exist: exit 125 with a one-line error (and its hint), before anything is created',
    async () => {
      const missing = join(FIXTURES, 'no-such-profile.json');
      const r = await run(['--security-opt', `seccomp=${missing}`], ['/bin/true']);
      expect(r.code).toBe(125);
      const err = lines(r.stderr);
      expect(err[0]).toBe(`nsx: seccomp profile ${missing}: no such file`);
      expect(err.length).toBeLessThanOrEqual(2); // the message, then at most one indented hint
      expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
      expect(r.events).toEqual([]);
    },
  );

  itRoot("Docker's own default profile, passed by path, is accepted as is and the container runs", async () => {
    // The repo ships this file: its absence is a failure, never a pass.
    expect({ path: DOCKER_DEFAULT, exists: existsSync(DOCKER_DEFAULT) }).toEqual({
      path: DOCKER_DEFAULT,
      exists: true,
    });
    const r = await run(
      ['--security-opt', `seccomp=${DOCKER_DEFAULT}`],
      ['/bin/sh', '-c', 'grep Seccomp: /proc/self/status; /probe try mount; /probe try chown'],
    );
    expect(outcome(r)).toEqual(ok);
    const out = lines(r.stdout);
    expect(parseStatus(out[0]).Seccomp).toBe('2');
    expect(out.slice(1)).toEqual(['EPERM', 'ok']);
    const step = eventsOf(r, 'step-applied').find((e) => e.step.id === 'seccomp')!.step;
    expect(step.notes.join(' ')).toContain(DOCKER_DEFAULT);
  });
});
