// The security-modules lesson's pieces that need no AppArmor to test (CI's kernel and this machine
// have none): the lab profile's text and file, the AppArmor label read from /proc/PID/attr, and the
// words the check says about who refused.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { apparmorLabel, confining, whoRefused } from '../../lessons/21-security-modules/check.js';
import { LAB_PROFILE, LAB_RULE, labProfileFile, labProfileText } from '../../lessons/21-security-modules/lab.js';
import { defaultProfileText } from '../../src/runtime/lsm/apparmor.js';

describe('the lab profile nsx-lab', () => {
  it('is nsx-default renamed, with one deny rule more, inside the profile block', () => {
    const text = labProfileText();
    expect(text).toMatch(/^profile nsx-lab flags=\(attach_disconnected,mediate_deleted\) \{$/m);
    expect(text).not.toContain('nsx-default');
    expect(text).toContain('  signal (send,receive) peer=nsx-lab,');
    const lines = text.split('\n');
    const rule = lines.indexOf(LAB_RULE);
    expect(rule).toBeGreaterThan(lines.findIndex((l) => l.startsWith('profile ')));
    expect(lines.slice(rule + 1).filter(Boolean)).toEqual(['}']);
    // Everything else is nsx-default's, line for line.
    const base = defaultProfileText(LAB_PROFILE).split('\n');
    expect(lines.filter((l) => l !== LAB_RULE && !l.includes("lab's own rule")).filter(Boolean)).toEqual(
      base.filter(Boolean),
    );
  });

  it('is the file the lesson hands to apparmor_parser', () => {
    expect(readFileSync(labProfileFile(), 'utf8')).toBe(labProfileText());
  });
});

describe('the AppArmor label of a process', () => {
  const files = (f: Record<string, string>) => (p: string) => f[p];

  it('reads the AppArmor file since Linux 5.8, else the shared one, without its NUL and newline', () => {
    expect(apparmorLabel(7, files({ '/proc/7/attr/apparmor/current': 'nsx-default (enforce)\n' }))).toBe(
      'nsx-default (enforce)',
    );
    expect(apparmorLabel(7, files({ '/proc/7/attr/current': 'nsx-lab (enforce)\0\n' }))).toBe('nsx-lab (enforce)');
    expect(apparmorLabel(7, files({}))).toBeUndefined(); // no AppArmor: the read fails (EINVAL)
  });

  it('confines unless unconfined', () => {
    expect(confining('nsx-default (enforce)')).toBe(true);
    expect(confining('unconfined')).toBe(false);
    expect(confining(undefined)).toBe(false);
  });

  it('names the module that refused', () => {
    expect(whoRefused('nsx-lab (enforce)', ['capability', 'apparmor'])).toBe('its AppArmor profile, nsx-lab (enforce)');
    expect(whoRefused('unconfined', ['lockdown', 'capability', 'landlock', 'bpf'])).toBe(
      'a security module other than AppArmor, which gives it no profile: Landlock, the one a process sets on itself (this kernel runs lockdown,capability,landlock,bpf)',
    );
    expect(whoRefused(undefined, ['capability', 'selinux'])).toBe(
      'a security module other than AppArmor (this kernel runs capability,selinux)',
    );
  });
});
