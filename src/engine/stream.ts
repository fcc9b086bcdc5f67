// A container's standard streams as the Docker Engine API carries them. Without a terminal, stdout
// and stderr travel multiplexed: each chunk behind an 8-byte header (the stream: 1 stdout, 2
// stderr; three zero bytes; the length, 32-bit big-endian), docker's "stdcopy" format. With a
// terminal there is one raw stream, as the terminal mixed it. The log file holds the same bytes, so
// logs and attach serve one format.

export type StreamId = 1 | 2;

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** One chunk in docker's multiplexed format. */
export function frame(stream: StreamId, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(data.length, 4);
  return Buffer.concat([head, data]);
}

/** Splits a multiplexed byte stream, chunks arriving in any sizes, into (stream, data) pairs. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: StreamId, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      const stream = this.buf[0];
      if (stream === 1 || stream === 2) this.onFrame(stream, this.buf.subarray(8, 8 + len));
      this.buf = this.buf.subarray(8 + len);
    }
  }

  /** Bytes of an incomplete last frame (none once the stream ended cleanly). */
  get pending(): number {
    return this.buf.length;
  }
}

/** The frames of a multiplexed buffer whose streams are wanted, as they were (logs' stdout=, stderr=). */
export function filterFrames(data: Buffer, want: { stdout: boolean; stderr: boolean }): Buffer {
  if (want.stdout && want.stderr) return data;
  const out: Buffer[] = [];
  new FrameDecoder((s, d) => {
    if ((s === 1 && want.stdout) || (s === 2 && want.stderr)) out.push(frame(s, d));
  }).push(data);
  return Buffer.concat(out);
}

/** The 101 answer that turns an HTTP request into the raw two-way stream (docker's hijack). */
export function upgradeHead(tty: boolean): string {
  return `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${tty ? RAW_STREAM : MULTIPLEXED_STREAM}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`;
}
