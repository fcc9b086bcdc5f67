// The interactive path, once, through a real pseudo-terminal (util-linux script(1) gives the player
// a terminal): Enter, e (explain more), s (a shell inside, then exit), q — and nothing left behind.
import { describe, expect } from '@jest/globals';
import { itRoot } from '../helpers.js';
import { leftovers } from '../leaks.js';
import { lessonInTerminal } from './terminal.js';

describe('the lesson player in a terminal', () => {
  itRoot('takes Enter, e, s (and exit), then q, and cleans up', async () => {
    const before = leftovers();
    const term = lessonInTerminal('uts', 15000);
    const { waitFor, key } = term;
    try {
      await waitFor('⏎ apply'); // at the namespaces step
      key('e');
      await waitFor('copied from the'); // the deeper paragraph
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
      expect(await term.exited).toBe(130);
    } finally {
      term.close();
    }
    for (let i = 0; i < 30 && JSON.stringify(leftovers()) !== JSON.stringify(before); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(leftovers()).toEqual(before);
  });
});
