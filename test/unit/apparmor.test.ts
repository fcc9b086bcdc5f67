// The AppArmor profile nsx generates (Docker's docker-default, as nsx-default) and how the lsm step
// finds its way into the kernel. The kernel part runs only where AppArmor is enabled (the VM).
import { describe, expect, it } from '@jest/globals';
import {
  apparmorEnabled,
  defaultProfileText,
  execAttrPath,
  loadedProfiles,
  loadProfile,
} from '../../src/runtime/lsm/apparmor.js';

describe('nsx-default', () => {
  const text = defaultProfileText();
  it('is one profile named nsx-default, attached to disconnected paths as Docker does', () => {
    expect(text).toMatch(/^profile nsx-default flags=\(attach_disconnected,mediate_deleted\) \{$/m);
    expect(text.trimEnd().endsWith('}')).toBe(true);
  });
  it.each([
    'deny mount,',
    'deny @{PROC}/sysrq-trigger rwklx,',
    'deny @{PROC}/kcore rwklx,',
    'deny @{PROC}/sys/[^k]** w,',
    'deny /sys/firmware/** rwklx,',
    'deny /sys/kernel/security/** rwklx,',
    'signal (send,receive) peer=nsx-default,',
    'ptrace (trace,read,tracedby,readby) peer=nsx-default,',
  ])('has Docker\'s rule "%s"', (rule) => expect(text.split('\n').map((l) => l.trim())).toContain(rule));
  it('names itself in its peer rules when renamed, and refuses names that are not plain', () => {
    expect(defaultProfileText('nsx-lab')).toContain('peer=nsx-lab,');
    expect(() => defaultProfileText('x { }')).toThrow(/not a plain name/);
  });
});

describe('the kernel side', () => {
  it('reads enabled and the loaded profiles from the kernel files', () => {
    const files: Record<string, string> = {
      '/sys/module/apparmor/parameters/enabled': 'Y\n',
      '/sys/kernel/security/apparmor/profiles': 'nsx-default (enforce)\n/usr/bin/man (enforce)\n',
    };
    expect(apparmorEnabled((p) => files[p])).toBe(true);
    expect(apparmorEnabled(() => undefined)).toBe(false);
    expect(loadedProfiles((p) => files[p])).toEqual(['nsx-default', '/usr/bin/man']);
    expect(loadedProfiles(() => undefined)).toBeUndefined();
  });
  it('writes to attr/apparmor/exec since Linux 5.8, else attr/exec', () => {
    expect(execAttrPath(() => true)).toBe('/proc/self/attr/apparmor/exec');
    expect(execAttrPath(() => false)).toBe('/proc/self/attr/exec');
  });
  it('loads with apparmor_parser --replace, the profile on stdin, and says what failed', () => {
    const calls: unknown[][] = [];
    const ok = ((cmd: string, args: string[], o: { input: string }) => (
      calls.push([cmd, args, o.input]),
      { status: 0 }
    )) as never;
    loadProfile('profile x {}', ok);
    expect(calls).toEqual([['apparmor_parser', ['--replace', '--skip-cache'], 'profile x {}']]);
    const bad = (() => ({ status: 1, stderr: 'AppArmor parser error at line 3' })) as never;
    expect(() => loadProfile('profile x {', bad)).toThrow(
      /could not load the profile: AppArmor parser error at line 3/,
    );
  });
});
