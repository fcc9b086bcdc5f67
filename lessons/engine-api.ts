// engine-api METHOD PATH [JSON]: one HTTP request to the engine's Unix socket, printed as it travels
// (the request, "> " lines; the reply, "< " lines; then the reply's body), the way `curl -v
// --unix-socket` shows it. What the nsx CLI does for every verb, without the CLI around it. The
// lessons about the engine put it on their commands' PATH (lessons/engine-lab.ts).
//   engine-api GET /containers/json?all=1
//   engine-api POST '/containers/create?name=first' '{"Image": "dockerinaction/hello_world"}'
// The socket: $NSX_ENGINE_SOCKET, else the engine's default (src/engine/config.ts).
import { connect } from 'node:net';
import { socketPath } from '../src/engine/config.js';

/** The body as shown: cut into lines of at most `width` characters (the engine sends one line). */
export function folded(body: string, width = 74): string[] {
  const out: string[] = [];
  for (const line of body.replace(/\n$/, '').split('\n'))
    for (let i = 0; i < Math.max(line.length, 1); i += width) out.push(line.slice(i, i + width));
  return out;
}

/** The request as it goes on the wire. HTTP/1.0: the engine answers with a Content-Length and closes
 *  the connection, so the reply reads whole (no chunked encoding to undo). */
export function requestText(method: string, path: string, body?: string): string {
  const head = [`${method} ${path} HTTP/1.0`, 'Host: nsxd'];
  if (body !== undefined) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  return `${head.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

async function main(argv: string[]): Promise<number> {
  const [method, path, body] = argv;
  if (!method || !path?.startsWith('/')) {
    process.stderr.write('usage: engine-api METHOD /PATH [JSON-BODY]\n');
    return 2;
  }
  const socket = socketPath();
  const request = requestText(method.toUpperCase(), path, body);
  const [head] = request.split('\r\n\r\n');
  process.stdout.write(
    `* connect(unix:${socket})\n${head
      .split('\r\n')
      .map((l) => `> ${l}`)
      .join('\n')}\n>\n${
      body !== undefined
        ? folded(body)
            .map((l) => `> ${l}`)
            .join('\n') + '\n'
        : ''
    }`,
  );
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written, not ended: the engine closes the connection after its reply (HTTP/1.0).
    const s = connect(socket, () => s.write(request));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  }).catch((e: NodeJS.ErrnoException) => {
    process.stderr.write(
      `engine-api: connect(${socket}): ${e.code ?? e.message} — is the engine running? (nsx engine status)\n`,
    );
    return undefined;
  });
  if (!reply) return 1;
  const text = reply.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const replyHead = split < 0 ? text : text.slice(0, split);
  const replyBody = split < 0 ? '' : text.slice(split + 4);
  process.stdout.write(
    `${replyHead
      .split('\r\n')
      .map((l) => `< ${l}`)
      .join('\n')}\n<\n`,
  );
  if (replyBody) process.stdout.write(folded(replyBody).join('\n') + '\n');
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(replyHead)?.[1] ?? 0);
  return status >= 200 && status < 400 ? 0 : 1;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!))
  process.exitCode = await main(process.argv.slice(2));
