// A user's engine without a login session (`su learner`: no XDG_RUNTIME_DIR, no /run/user/UID): the
// engine's socket falls back to a directory of the user's own under /tmp, as podman does, and the
// verb that started it says where. Run as an unprivileged uid with a state directory of its own.
import { afterAll, describe, expect } from '@jest/globals';
import { chownSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ROOTFS, UNPRIVILEGED_UID, itRoot, nsx } from '../helpers.js';

const uid = UNPRIVILEGED_UID;
const runDir = `/tmp/nsx-run-${uid}`;
const state = mkdtempSync(join(tmpdir(), 'nsx-rootless-state-'));
chownSync(state, uid, uid);
// No NSX_ENGINE_SOCKET (the suite's engine is root's): an empty value counts as unset.
const env = { HOME: state, XDG_STATE_HOME: state, XDG_RUNTIME_DIR: '', NSX_ENGINE_SOCKET: '', NSX_ENGINE_STATE: '' };

describe("a user's engine with no login session", () => {
  afterAll(async () => {
    await nsx(['engine', 'stop'], { uid, env });
    rmSync(state, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  itRoot('starts under /tmp/nsx-run-UID, mode 0700, and says where its socket is', async () => {
    if (existsSync(`/run/user/${uid}`)) {
      console.warn(
        `skipped: /run/user/${uid} exists on this machine (a login session of uid ${uid}), so there is no fallback to test`,
      );
      return;
    }
    rmSync(runDir, { recursive: true, force: true });
    const r = await nsx(['run', '-d', '--rootfs', TEST_ROOTFS, '/bin/true'], { uid, env, events: false });
    expect(r.stderr).toContain(`nsx: started the engine (nsxd, pid`);
    expect(r.stderr).toContain(`on unix://${runDir}/nsx/nsxd.sock)`);
    expect(r.stderr + `exit ${r.code}`).toMatch(/exit 0$/);
    const st = statSync(join(runDir, 'nsx'));
    expect([st.uid, st.mode & 0o777]).toEqual([uid, 0o700]);
    const ps = await nsx(['ps', '-a', '-q'], { uid, env });
    expect(ps.stdout.trim().split('\n')).toHaveLength(1);
    await nsx(['rm', '-f', ps.stdout.trim()], { uid, env });
  });
});
