// Projector mode's pace (nsx lesson --auto --delay N): a pause of N seconds at each place a reader
// needs one, and, when the input is a terminal, any key holds the lesson at the next pause until
// another key. The terminal is in raw mode meanwhile, so Ctrl-C arrives as a byte: it is passed on
// as the SIGINT it would have been (termios(3), ISIG), and the lesson stops as it always does.
export class Projector {
  private held = false;
  private resume?: () => void;
  private listening = false;
  private readonly onData = (chunk: Buffer) => {
    for (const ch of chunk.toString()) {
      if (ch === '\u0003') {
        process.kill(process.pid, 'SIGINT');
        continue;
      }
      this.held = !this.held;
      this.say(this.held ? '  ‖ held: any key goes on' : '  ▶ going on');
      if (!this.held) {
        this.resume?.();
        this.resume = undefined;
      }
    }
  };

  constructor(
    private readonly seconds: number,
    private readonly say: (line: string) => void,
    private readonly input: NodeJS.ReadStream = process.stdin,
  ) {}

  private listen(): void {
    if (this.listening || !this.input.isTTY) return;
    this.listening = true;
    this.input.setRawMode(true);
    this.input.on('data', this.onData);
    this.input.resume();
  }

  /** Waits the delay, then for as long as a key holds the lesson. */
  async pause(): Promise<void> {
    this.listen();
    await new Promise((r) => setTimeout(r, this.seconds * 1000));
    if (this.held) await new Promise<void>((r) => (this.resume = r));
  }

  /** Gives the terminal back. */
  close(): void {
    if (!this.listening) return;
    this.listening = false;
    this.input.off('data', this.onData);
    try {
      this.input.setRawMode(false);
    } catch {
      /* the terminal is gone */
    }
    this.input.pause();
  }
}
