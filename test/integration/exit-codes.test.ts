// Exit codes, docker's way (docker run reference, "Exit status"): the command's own code; 127 when
// the command is not found; 126 when it cannot be executed; 128+N when signal N killed it. The
// `exited` event carries the code or the signal. A file the kernel has no loader for is docker's
// (runc's) case apart: the container starts, PID 1 says "exec PATH: exec format error", exits 255.
import { describe, expect } from '@jest/globals';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ROOTFS, eventsOf, itRoot, nsx, run } from '../helpers.js';
import { exeOf, nsPidsOf, live } from '../live.js';

describe('exit codes', () => {
  itRoot("passes the command's exit code through", async () => {
    const r = await run([], ['/bin/sh', '-c', 'exit 7']);
    expect(r.code).toBe(7);
    expect(eventsOf(r, 'exited')).toEqual([expect.objectContaining({ exitCode: 7, code: 7, oomKilled: false })]);
    expect(eventsOf(r, 'exited')[0].signal).toBeUndefined();
    expect(r.stderr).toBe('');
  });

  itRoot('exits 0 when the command succeeds', async () => {
    const r = await run([], ['/bin/true']);
    expect(r.code).toBe(0);
    expect(eventsOf(r, 'exited')).toEqual([expect.objectContaining({ exitCode: 0, code: 0 })]);
  });

  itRoot('exits 127 when the command is not in the root filesystem, saying which', async () => {
    for (const cmd of ['nsx-no-such-command', '/bin/nsx-no-such-command']) {
      const r = await run([], [cmd]);
      expect(r.code).toBe(127);
      const [first, hint] = r.stderr.trimEnd().split('\n');
      expect(first).toMatch(/^nsx: /);
      expect(first).toContain(`"${cmd}"`);
      expect(first).toMatch(/not found/);
      expect(hint).toBeTruthy();
      expect(r.stderr).not.toContain('    at ');
      expect(eventsOf(r, 'started')).toEqual([]);
    }
  });

  itRoot('exits 126 when the command is not executable', async () => {
    const r = await run([], ['/etc/passwd']);
    expect(r.code).toBe(126);
    expect(r.stderr.split('\n')[0]).toMatch(/^nsx: .*\/etc\/passwd.*Permission denied \(EACCES\)/);
    const failed = eventsOf(r, 'step-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].step.id).toBe('exec');
    expect(failed[0].error.errnoName).toBe('EACCES');
    expect(eventsOf(r, 'exited')).toEqual([]); // the command never ran
    expect(eventsOf(r, 'cleaned-up')).toHaveLength(1);
  });

  itRoot('a file of no format this kernel loads (ENOEXEC): started, "exec format error" on stderr, 255', async () => {
    const rootfs = mkdtempSync(join(tmpdir(), 'nsx-enoexec-'));
    try {
      cpSync(TEST_ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
      writeFileSync(join(rootfs, 'app.exe'), Buffer.from('MZ\x90\x00', 'latin1')); // a PE's first bytes
      chmodSync(join(rootfs, 'app.exe'), 0o755);
      const r = await nsx(['runtime', 'run', '--rm', '--rootfs', rootfs, '/app.exe']);
      expect([r.code, r.stdout, r.stderr]).toEqual([255, '', 'exec /app.exe: exec format error\n']);
      expect(eventsOf(r, 'step-failed')).toEqual([]);
      expect(eventsOf(r, 'started')).toHaveLength(1);
      expect(eventsOf(r, 'exited')).toEqual([expect.objectContaining({ exitCode: 255, code: 255 })]);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  });

  itRoot('exits 137 when SIGKILL from the host kills PID 1, and the exited event names the signal', async () => {
    let killed = 0;
    const { r } = await live([], ['/bin/sh', '-c', 'sleep 30 & wait'], (init) => {
      expect(exeOf(init)).toMatch(/busybox$/);
      expect(nsPidsOf(init)).toEqual([init, 1]);
      process.kill(init, 'SIGKILL');
      killed = init;
    });
    expect(r.code).toBe(137);
    expect(eventsOf(r, 'started')[0].pid).toBe(killed);
    const exited = eventsOf(r, 'exited');
    expect(exited).toEqual([expect.objectContaining({ exitCode: 137, signal: 'SIGKILL', oomKilled: false })]);
    expect(exited[0].code).toBeUndefined();
  });
});
