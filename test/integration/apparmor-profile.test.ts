// nsx-default through the real AppArmor parser (Debian's apparmor package): it must compile. On this
// kind of machine the kernel has no AppArmor (CI), so only the parser runs; in the VM the lsm step's
// enforcement is tested by the security lessons' tests.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { defaultProfileText } from '../../src/runtime/lsm/apparmor.js';

const parser = spawnSync('sh', ['-c', 'command -v apparmor_parser'], { encoding: 'utf8' }).stdout.trim();
const parse = (text: string) =>
  spawnSync(parser, ['--skip-kernel-load', '--skip-cache'], { input: text, encoding: 'utf8' });

describe('the nsx-default AppArmor profile', () => {
  if (!parser) {
    it.skip("compiles with apparmor_parser — skipped: apparmor_parser is not installed (Debian's apparmor package)", () => {});
    return;
  }
  it('compiles with apparmor_parser (parsed, not loaded)', () => {
    const r = parse(defaultProfileText());
    expect({ status: r.status, stderr: r.stderr.replace(/^Cache read\/write disabled.*\n?/m, '') }).toEqual({
      status: 0,
      stderr: '',
    });
  });
  it('the same parser refuses a broken profile (the check can fail)', () => {
    expect(parse(defaultProfileText().replace(/\}\s*$/, '')).status).not.toBe(0);
  });
});
