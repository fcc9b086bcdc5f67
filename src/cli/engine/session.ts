// The CLI's side of an attached container or exec: what the docker CLI does around a hijacked
// stream. The engine's output goes to this process's stdout and stderr (demultiplexed without a
// terminal); with -i this process's input goes to the container; with -t the local terminal is put
// in raw mode (every key, Ctrl-C included, goes to the container's terminal) and its size follows
// the local one (SIGWINCH).
import type { Socket } from 'node:net';
import { FrameDecoder } from '../../engine/stream.js';

export interface SessionOptions {
  tty: boolean;
  /** Send this process's stdin (docker's -i). */
  stdin: boolean;
  /** Start sending it only then (nsx run --step: the stepper reads the keys until the command runs). */
  inputAfter?: Promise<void>;
  /** Where the size goes: POST …/resize?h=&w=. */
  resize?: (rows: number, cols: number) => Promise<unknown>;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  input?: NodeJS.ReadableStream;
}

/** This terminal's size, [rows, columns], when stdout is one: the size the container's terminal
 *  starts with (docker's ConsoleSize); SIGWINCH sends the changes. */
export function consoleSize(): [number, number] | undefined {
  const o = process.stdout as NodeJS.WriteStream;
  return o.isTTY && o.rows && o.columns ? [o.rows, o.columns] : undefined;
}

/** Copies the stream until the engine ends it; resolves then. */
export function runSession(socket: Socket, head: Buffer, o: SessionOptions): Promise<void> {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const input = o.input ?? process.stdin;
  const decoder = o.tty ? undefined : new FrameDecoder((s, d) => (s === 1 ? out : err).write(d));
  const take = (d: Buffer) => (decoder ? decoder.push(d) : out.write(d));
  if (head.length) take(head);
  socket.on('data', take);

  const local = process.stdin as NodeJS.ReadStream;
  const raw = o.tty && o.stdin && input === process.stdin && local.isTTY;
  let sending = false;
  const resize = () => {
    const { rows, columns } = process.stdout as NodeJS.WriteStream;
    if (o.resize && rows && columns) o.resize(rows, columns).catch(() => {});
  };
  if (o.tty && (process.stdout as NodeJS.WriteStream).isTTY) process.on('SIGWINCH', resize);
  const send = (d: Buffer) => socket.write(d);
  const inputEnd = () => socket.end(); // a half-close: the input ended, the output goes on
  let closed = false;
  const startInput = () => {
    if (!o.stdin || closed) return;
    sending = true;
    if (raw) local.setRawMode(true);
    input.on('data', send);
    input.once('end', inputEnd);
    input.resume();
  };
  if (o.inputAfter) void o.inputAfter.then(startInput);
  else startInput();
  return new Promise((resolve) => {
    const done = () => {
      closed = true;
      socket.off('data', take);
      if (sending) {
        input.off('data', send);
        input.off('end', inputEnd);
        input.pause();
      }
      process.off('SIGWINCH', resize);
      if (raw && sending) local.setRawMode(false);
      resolve();
    };
    socket.once('close', done);
    socket.once('end', () => socket.destroy());
    socket.once('error', done);
  });
}
