// Single keys from a terminal (raw mode), or lines from a pipe (each line's first character, Enter
// for an empty line), so --step works the same interactively and under a test.
export class KeyReader {
  private queue: string[] = [];
  private waiters: ((k: string | null) => void)[] = [];
  private ended = false;
  private listening = false;
  private readonly onData = (chunk: Buffer) => {
    const text = chunk.toString();
    if (this.stream.isTTY) {
      for (const ch of text) this.push(ch === '\u0003' ? 'q' : ch); // Ctrl-C in raw mode arrives as a byte
    } else {
      for (const line of text.split(/(?<=\n)/)) if (line) this.push(line === '\n' ? '\n' : line[0]);
    }
  };
  private readonly onEnd = () => {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(null);
  };

  /** Called instead of queueing q (or Ctrl-C) when nobody is asking for a key: set while the
   *  lesson runs something long (a tour's command), so that q and Ctrl-C stop it there and then. */
  interrupt?: () => void;

  constructor(private readonly stream: NodeJS.ReadStream) {}

  private push(k: string) {
    const w = this.waiters.shift();
    if (w) w(k);
    else if (k === 'q' && this.interrupt) this.interrupt();
    else this.queue.push(k);
  }

  resume(): void {
    if (this.listening) return;
    this.listening = true;
    if (this.stream.isTTY) this.stream.setRawMode(true);
    this.stream.on('data', this.onData);
    this.stream.on('end', this.onEnd);
    this.stream.on('error', this.onEnd); // EIO: the terminal went away or another group owns it
    this.stream.resume();
  }

  /** Gives the terminal back (to a shell, or to the container's command). */
  release(): void {
    if (!this.listening) return;
    this.listening = false;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onEnd);
    if (this.stream.isTTY) {
      try {
        this.stream.setRawMode(false);
      } catch {
        /* the terminal is gone: nothing to restore */
      }
    }
    this.stream.pause();
  }

  /** The next key, or null when input has ended. */
  next(): Promise<string | null> {
    this.resume();
    const k = this.queue.shift();
    if (k !== undefined) return Promise.resolve(k);
    if (this.ended) return Promise.resolve(null);
    return new Promise((r) => this.waiters.push(r));
  }
}
