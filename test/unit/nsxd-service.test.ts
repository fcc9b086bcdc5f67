// The VM's nsxd.service (written by scripts/provision.sh) runs the same engine program as
// `nsx engine start` (nsxdPath(): the bundle dist/bundle/nsxd.mjs), and that program is built.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsxdPath } from '../../src/engine/client.js';
import { ROOT } from '../helpers.js';

const provision = readFileSync(join(ROOT, 'scripts', 'provision.sh'), 'utf8');

describe("the VM's nsxd.service", () => {
  it('runs the engine bundle that nsx engine start runs', () => {
    // The unit is the heredoc after `unit=/etc/systemd/system/nsxd.service`, up to its UNIT line.
    const unit = provision.split('unit=/etc/systemd/system/nsxd.service')[1].split(/^UNIT$/m)[0];
    const execStart = unit.split('\n').filter((l) => l.startsWith('ExecStart='));
    expect(execStart).toEqual(['ExecStart=/usr/bin/node "$DIR/dist/bundle/nsxd.mjs"']);
    // $DIR is the checkout (provision.sh); here, this one.
    const program = join(ROOT, /"\$DIR\/([^"]+)"/.exec(execStart[0])![1]);
    expect(program).toBe(nsxdPath());
    expect(existsSync(program)).toBe(true);
  });
});
