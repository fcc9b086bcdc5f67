// The interactive path through a real pseudo-terminal (util-linux script(1) gives the player a
// terminal): Enter, e (explain more), s (a shell inside: Ctrl-C reaches only its job, exit comes
// back), the quiz (the answer's text echoed, Ctrl-C leaves it), the end screen — and nothing left.
import { describe, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { itRoot } from '../helpers.js';
import { leftBy, processesRunning } from '../leaks.js';
import { lessonInTerminal, type LessonTerminal } from './terminal.js';

/** What the lesson's own container left (its cgroups, mounts, directories, by its id; this
 *  checkout's shim processes): immune to containers other programs run on the machine meanwhile. */
async function noneLeftBy(id: string): Promise<void> {
  expect(await leftBy(id)).toEqual({ cgroups: [], mounts: [], containers: [], processes: [] });
}

/** The lesson's container's id, from its events. */
function containerOf(term: LessonTerminal): string {
  const planned = term.events().find((e) => e.type === 'container-planned');
  expect(planned).toBeDefined();
  return (planned as { id: string }).id;
}

describe('the lesson player in a terminal', () => {
  itRoot('takes Enter, e, s (and exit), then q, and cleans up', async () => {
    const term = lessonInTerminal('uts', 15000);
    const { waitFor, key, stopped } = term;
    let id = '';
    try {
      await waitFor('⏎ apply'); // at the namespaces step
      key('e');
      await waitFor('still called like the host'); // the deeper paragraph
      await waitFor('⏎ apply');
      key('\r');
      await waitFor(/ns uts .* new/); // evidence after the step
      await waitFor('⏎ apply'); // at the hostname step
      key('s');
      await waitFor('exit or Ctrl-D comes back');
      await waitFor('inside# ');
      key('echo MARK-$((6*7)) $(cat /proc/sys/kernel/hostname)\r');
      await waitFor(/MARK-42 \S+/);
      key('exit\r');
      await waitFor('back in the lesson');
      await waitFor('⏎ apply'); // back at the same prompt
      key('q');
      expect(await stopped()).toBe(130);
      id = containerOf(term);
    } finally {
      term.close();
    }
    await noneLeftBy(id);
  });

  itRoot(
    'keeps Ctrl-C in the shell to its job, then plays to the end screen with nothing left behind',
    async () => {
      // Probes with durations no other test uses: found on the host by their command line.
      const background = ['sleep', '7391'];
      const foreground = ['sleep', '7392'];
      // Started by a shell opened before the fork: a host process, killed with the shell's session.
      const early = ['sleep', '7393'];
      const term = lessonInTerminal('uts', 15000);
      const { waitFor, key } = term;
      let id = '';
      try {
        await waitFor('⏎ apply'); // at the namespaces step: before the fork, in the host's PID namespace
        key('s');
        await waitFor("the host's namespaces");
        await waitFor('inside# ');
        key(`${early.join(' ')} &\r`);
        await waitFor('inside# ');
        key('exit\r');
        await waitFor('back in the lesson');
        expect(processesRunning(early)).toHaveLength(1); // it outlives the shell, not the lesson
        await waitFor('⏎ apply');
        key('\r');
        await waitFor('⏎ apply'); // at the hostname step
        key('s');
        await waitFor('inside# ');
        key(`${background.join(' ')} &\r`);
        await waitFor('inside# ');
        key(`${foreground.join(' ')}\r`);
        for (let i = 0; i < 50 && processesRunning(foreground).length === 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        expect(processesRunning(foreground)).toHaveLength(1);
        key('\x03'); // Ctrl-C: the shell's foreground job, not the lesson
        await waitFor('inside# ');
        expect(processesRunning(foreground)).toEqual([]);
        key('echo STILL-$((40+2))\r');
        await waitFor('STILL-42'); // the shell (and the lesson behind it) are alive
        expect(processesRunning(background)).toHaveLength(1);
        key('\x04'); // Ctrl-D leaves the shell
        await waitFor('back in the lesson');
        await waitFor('⏎ apply');
        key('\r'); // the hostname step; then the command runs, the summary, the quiz
        await waitFor('What you saw');
        // The first question: its second choice ("A copy of the caller's"), echoed as its text.
        await waitFor('what hostname does the new namespace have?');
        await new Promise((r) => setTimeout(r, 300));
        key('\x1b[B'); // down
        key('\r');
        await waitFor(/have\? · A copy of the\s*caller's/);
        await waitFor('Right.');
        // Ctrl-C at the second question leaves the quiz; the lesson is complete all the same.
        await waitFor('Which capability does sethostname(2) need');
        await new Promise((r) => setTimeout(r, 300));
        key('\x03');
        await waitFor('You left the quiz (1 question not answered).');
        await waitFor('Lesson complete: UTS namespace: a hostname of its own. Quiz: 1 of 1 right.');
        await waitFor('⏎ next: Mount namespace');
        key('q');
        expect(await term.exited).toBe(0);
        id = containerOf(term);
      } finally {
        term.close();
      }
      // The second shell's background job lived in the container's PID namespace: gone with it;
      // the first one's in the host's: killed by the engine with its shell's session (endExecs).
      expect(processesRunning(background)).toEqual([]);
      expect(processesRunning(foreground)).toEqual([]);
      expect(processesRunning(early)).toEqual([]);
      await noneLeftBy(id);
    },
    120000,
  );

  itRoot(
    "gives the shell the container's capabilities as they stand, not root's",
    async () => {
      const term = lessonInTerminal('capabilities', 15000);
      const { waitFor, key, stopped } = term;
      let id = '';
      try {
        await waitFor('⏎ apply'); // at no-new-privs
        key('\r');
        await waitFor('⏎ apply'); // at capabilities
        key('\r');
        await waitFor('The same masks after the drop'); // the demo after the capabilities step
        await waitFor('⏎ apply'); // at exec
        // The container's CapEff as the demo after the capabilities step read it from /proc/PID/status.
        const shown = [...term.screen.matchAll(/CapEff:\s+([0-9a-f]{16})/g)].map((m) => m[1]);
        const container = shown[shown.length - 1];
        const own = /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
        expect(container).toMatch(/^[0-9a-f]{16}$/);
        expect(container).not.toBe(own); // dropped: not root's full set
        key('s');
        await waitFor('no_new_privs, capabilities (12)');
        await waitFor('inside# ');
        key('grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; hostname x; echo rc=$?\r');
        await waitFor('rc=1');
        // The shell's lines start at the line's start (the demo's are indented): after the banner.
        const shell = term.screen.slice(term.screen.lastIndexOf('capabilities (12)'));
        const inShell = /^CapEff:\s+([0-9a-f]{16})\s+NoNewPrivs:\s+(\d)/m.exec(shell);
        expect(inShell?.[1]).toBe(container);
        expect(inShell?.[2]).toBe('1');
        expect(shell).toContain('sethostname: Operation not permitted'); // no CAP_SYS_ADMIN, as the lesson says
        key('exit\r');
        await waitFor('⏎ apply');
        key('q');
        expect(await stopped()).toBe(130);
        id = containerOf(term);
      } finally {
        term.close();
      }
      await noneLeftBy(id);
    },
    120000,
  );
});
