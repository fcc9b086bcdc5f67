// The interactive path, once, through a real pseudo-terminal (util-linux script(1) gives the player
// a terminal): Enter, e (explain more), s (a shell inside, then exit), q — and nothing left behind.
import { describe, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NSX, itRoot, stripAnsi } from '../helpers.js';
import { leftovers } from '../leaks.js';

describe('the lesson player in a terminal', () => {
  itRoot('takes Enter, e, s (and exit), then q, and cleans up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsx-pty-'));
    const before = leftovers();
    const child = spawn('script', ['-qfec', `${process.execPath} ${NSX} lesson uts`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group: a failed test kills script, nsx and all below
      env: { ...process.env, NO_COLOR: '1', TERM: 'xterm', NSX_PROGRESS: join(dir, 'progress.json') },
    });
    let screen = '';
    child.stdout.on('data', (d) => (screen += stripAnsi(d.toString())));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let seen = 0;
    /** Waits for text to appear after what was already consumed, then moves past it. */
    const waitFor = async (text: string | RegExp, ms = 15000) => {
      for (const end = Date.now() + ms; Date.now() < end; ) {
        const rest = screen.slice(seen);
        const m = typeof text === 'string' ? rest.indexOf(text) : rest.search(text);
        if (m >= 0) {
          seen += m + 1;
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${text}; screen so far:\n${screen.slice(-2000)}`);
    };
    const key = (k: string) => child.stdin.write(k);
    try {
      await waitFor('⏎ apply'); // at the namespaces step
      key('e');
      await waitFor('copies of the caller'); // the deeper paragraph
      await waitFor('⏎ apply');
      key('\r');
      await waitFor(/ns uts .* new/); // evidence after the step
      await waitFor('⏎ apply'); // at the hostname step
      key('s');
      await waitFor('exit to come back');
      await new Promise((r) => setTimeout(r, 300));
      key('echo MARK-$((6*7)) $(cat /proc/sys/kernel/hostname)\r');
      await waitFor(/MARK-42 \S+/);
      key('exit\r');
      await waitFor('⏎ apply'); // back at the same prompt
      key('q');
      await waitFor('Stopped.');
      expect(await exited).toBe(130);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    }
    for (let i = 0; i < 30 && JSON.stringify(leftovers()) !== JSON.stringify(before); i++) await new Promise((r) => setTimeout(r, 100));
    expect(leftovers()).toEqual(before);
  });
});
