// --events FILE|-: the runtime's events as JSON lines, for nsx run (from the engine's stream) and
// nsx runtime run (from its own container) alike.
import { closeSync, openSync, writeSync } from 'node:fs';
import { NsxError } from '../../runtime/errors.js';
import type { RuntimeEvent } from '../../runtime/events.js';

/** --events FILE|-: one JSON object per line, written synchronously so none is lost at exit.
 *  The file is opened before anything is created, so a bad path changes nothing. */
export function eventWriter(target: string): { write: (e: RuntimeEvent) => void; close: () => void } {
  let fd: number;
  try {
    fd = target === '-' ? 1 : openSync(target, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NsxError(`--events ${target}: cannot write there (${code})`, {
      hint: 'give a file in a directory you can write to, or - for standard output',
    });
  }
  return {
    write: (e) => writeSync(fd, JSON.stringify({ ...e, time: new Date().toISOString() }) + '\n'),
    close: () => {
      if (fd !== 1) closeSync(fd);
    },
  };
}
