// Keys from a raw terminal: Ctrl-C arrives as a byte and reads as q; while nobody asks for a key
// and something long runs (interrupt set), q and Ctrl-C call it instead of waiting in the queue.
import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { KeyReader } from '../../src/ui/keys.js';

function terminal() {
  const t = Object.assign(new EventEmitter(), {
    isTTY: true,
    setRawMode: () => t,
    resume: () => t,
    pause: () => t,
  });
  return t;
}

describe('KeyReader', () => {
  it('reads Ctrl-C as q at a prompt, and calls interrupt for it between prompts', async () => {
    const tty = terminal();
    const keys = new KeyReader(tty as unknown as NodeJS.ReadStream);
    const asked = keys.next();
    tty.emit('data', Buffer.from('\u0003'));
    expect(await asked).toBe('q');

    let interrupted = 0;
    keys.interrupt = () => interrupted++;
    tty.emit('data', Buffer.from('x\u0003q'));
    expect(interrupted).toBe(2);
    keys.interrupt = undefined;
    expect(await keys.next()).toBe('x'); // other keys wait for the next prompt, as before
  });
});
