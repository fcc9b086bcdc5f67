// Ctrl-C in the `s` shell of `nsx run --step`, in a real pseudo-terminal (script(1)): it reaches only
// the shell's foreground job (the terminal's foreground process group), never nsx; the shell stays;
// leaving it returns to the stepper's prompt; and after q nothing of the container is left — no
// process, mount or cgroup. (The lesson player's shell: test/lessons/interactive.test.ts.)
import { describe, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { useTestEngine } from '../engine.js';
import { itRoot, TEST_ROOTFS } from '../helpers.js';
import { leftBy, processesRunning } from '../leaks.js';
import { nsxInTerminal, type LessonTerminal } from '../lessons/terminal.js';

useTestEngine(); // nsx run --step builds the container through the engine

/** /proc/PID/cmdline, space-joined; undefined when the process is gone. */
function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || undefined;
  } catch {
    return undefined;
  }
}

const events = (t: LessonTerminal) => t.events() as unknown as RuntimeEvent[];

/** Presses Enter at each prompt until `step` is applied and the stepper prompts again. */
async function applyThrough(t: LessonTerminal, step: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await t.waitFor('⏎ apply');
    if (events(t).some((e) => e.type === 'step-applied' && e.step.id === step)) return;
    t.key('\r');
  }
  throw new Error(`${step} was never applied; screen:\n${t.screen.slice(-2000)}`);
}

describe('nsx run --step: the s shell in a terminal', () => {
  itRoot(
    'Ctrl-C ends only the foreground sleep; exit returns to the prompt; q leaves nothing behind',
    async () => {
      // A duration no other test uses: the probe is found on the host by its command line.
      const probe = ['sleep', '3107'];
      const t = nsxInTerminal(['run', '--step', '--rootfs', TEST_ROOTFS, '/bin/sleep', '30'], 20000);
      let id = '';
      let shell = 0;
      try {
        // Into the container's PID namespace (fork) and its root (pivot-root): the shell enters both.
        await applyThrough(t, 'pivot-root');
        id = (events(t).find((e) => e.type === 'created') as Extract<RuntimeEvent, { type: 'created' }>).id;
        expect(id).toMatch(/^[0-9a-f]{64}$/);
        t.key('s');
        await t.waitFor('exit or Ctrl-D comes back');
        await t.waitFor('inside# ');
        t.key('echo SHELL=$$ PPID=$PPID\r');
        await t.waitFor(/SHELL=\d+/);
        t.key(`${probe.join(' ')}\r`);
        for (let i = 0; i < 50 && processesRunning(probe).length === 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        expect(processesRunning(probe)).toHaveLength(1);
        // The shell, on the host: the probe's parent (proc(5) PPid), running /bin/sh.
        shell = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${processesRunning(probe)[0]}/status`, 'utf8'))![1]);
        expect(cmdline(shell)).toBe('/bin/sh');

        t.key('\x03'); // Ctrl-C: to the terminal's foreground process group, the sleep's
        await t.waitFor('inside# ');
        for (let i = 0; i < 30 && processesRunning(probe).length; i++) await new Promise((r) => setTimeout(r, 100));
        expect(processesRunning(probe)).toEqual([]);
        t.key('echo STILL-$((40+2))\r');
        await t.waitFor('STILL-42'); // the shell is alive, and nsx behind it
        expect(t.screen).not.toMatch(/Stopped|interrupted/i);
        expect(cmdline(shell)).toBe('/bin/sh');

        t.key('exit\r');
        await t.waitFor('⏎ apply'); // the stepper's prompt again, at the same step
        expect(
          events(t)
            .filter((e) => e.type === 'step-applied')
            .pop(),
        ).toMatchObject({ step: { id: 'pivot-root' } });
        t.key('q');
        expect(await t.exited).toBe(130); // docker's status for a run ended by the user (as Ctrl-C)
        const last = events(t).pop();
        expect(last?.type).toBe('cleaned-up');
      } finally {
        t.close();
      }
      expect(processesRunning(probe)).toEqual([]);
      expect(cmdline(shell)).toBeUndefined(); // the shell did not outlive nsx
      expect(await leftBy(id)).toEqual({ cgroups: [], mounts: [], containers: [], processes: [] });
    },
    90000,
  );
});
