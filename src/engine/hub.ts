// A container's (or an exec's) standard streams inside the engine: one Hub per container, across its
// runs, so a client may attach before the container starts (docker run -it does).
import { EventEmitter } from 'node:events';
import { writeSync } from 'node:fs';
import type { Container } from '../runtime/runtime.js';
import { frame, type StreamId } from './stream.js';

/** Where a container's (or an exec's) output goes while it runs, and its input comes from: the
 *  engine reads the shim's stdout and stderr pipes, writes them to the log in the API's format
 *  (stream.ts) and to every attached client; an attached client's input goes to its stdin pipe. */
export class Hub extends EventEmitter {
  stdin?: NodeJS.WritableStream;
  /** Input that came before the container started (docker run -i attaches first), and its end. */
  private early: Buffer[] = [];
  private earlyEnd = false;
  constructor(
    readonly tty: boolean,
    readonly stdinOnce = false,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** Takes the streams of a container whose shim just started; resolves when both have ended. */
  connect(c: Container, logFd?: number): Promise<void> {
    this.stdin = c.stdin ?? undefined;
    this.stdin?.on('error', () => {}); // the container exited while input was on its way
    for (const d of this.early.splice(0)) this.stdin?.write(d);
    if (this.earlyEnd) this.stdin?.end();
    this.earlyEnd = false;
    const ended = [c.stdout, c.stderr].map(
      (s, i) =>
        new Promise<void>((resolve) => {
          if (!s) return resolve();
          s.on('data', (d: Buffer) => {
            const bytes = this.tty ? d : frame((i + 1) as StreamId, d);
            if (logFd !== undefined) writeSync(logFd, bytes);
            this.emit('data', bytes);
          });
          s.on('end', resolve).on('close', resolve).on('error', resolve);
        }),
    );
    return Promise.all(ended).then(() => undefined);
  }

  /** An attached client's input. */
  write(d: Buffer): void {
    if (this.stdin) this.stdin.write(d);
    else this.early.push(d);
  }

  /** An attached client ended its input: with StdinOnce (docker run -i), so does the container's. */
  inputEnded(): void {
    if (!this.stdinOnce) return;
    if (this.stdin) this.stdin.end();
    else this.earlyEnd = true;
  }
}
