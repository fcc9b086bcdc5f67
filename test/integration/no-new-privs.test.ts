// no_new_privs (prctl(2) PR_SET_NO_NEW_PRIVS): once set, no execve can gain privileges. Docker's
// --security-opt no-new-privileges; off by default.
import { describe, expect } from '@jest/globals';
import { parseStatus } from '../../src/runtime/observe.js';
import { eventsOf, evidenceAfter, itRoot, run } from '../helpers.js';

const STATUS = ['/bin/grep', 'NoNewPrivs:', '/proc/self/status'];

describe('no_new_privs', () => {
  itRoot(
    '--security-opt no-new-privileges: NoNewPrivs 1 inside, and in the evidence after the no-new-privs step',
    async () => {
      const r = await run(['--security-opt', 'no-new-privileges'], STATUS);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(parseStatus(r.stdout).NoNewPrivs).toBe('1');
      const applied = eventsOf(r, 'step-applied').find((e) => e.step.id === 'no-new-privs');
      expect(applied).toBeDefined();
      expect(applied!.evidence!.process.noNewPrivs).toBe(true);
      expect(applied!.changed).toContain('noNewPrivs');
      // The step before it had not set it yet.
      expect(evidenceAfter(r, 'hostname')!.process.noNewPrivs).toBe(false);
      expect(eventsOf(r, 'step-skipped').map((e) => e.step.id)).not.toContain('no-new-privs');
    },
  );

  itRoot('without the option: NoNewPrivs 0 inside, and the step is skipped with its reason', async () => {
    const r = await run([], STATUS);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(parseStatus(r.stdout).NoNewPrivs).toBe('0');
    const skipped = eventsOf(r, 'step-skipped').filter((e) => e.step.id === 'no-new-privs');
    expect(skipped).toHaveLength(1);
    expect(skipped[0].reason).toMatch(/no-new-privileges/);
    expect(eventsOf(r, 'step-started').map((e) => e.step.id)).not.toContain('no-new-privs');
    expect(eventsOf(r, 'step-applied').map((e) => e.step.id)).not.toContain('no-new-privs');
    expect(evidenceAfter(r, 'seccomp')!.process.noNewPrivs).toBe(false);
  });

  itRoot('--security-opt no-new-privileges=false is the same as leaving it out', async () => {
    const r = await run(['--security-opt', 'no-new-privileges=false'], STATUS);
    expect(r.code).toBe(0);
    expect(parseStatus(r.stdout).NoNewPrivs).toBe('0');
    expect(eventsOf(r, 'step-skipped').map((e) => e.step.id)).toContain('no-new-privs');
  });
});
