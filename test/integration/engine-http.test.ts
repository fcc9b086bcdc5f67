// What the engine refuses at the HTTP level, over a raw socket: each answered at once with a 4xx in
// docker's error shape ({"message": ...}), never a 500 with a stack, never a hang; the engine
// still answers /_ping afterwards.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { MAX_BODY } from '../../src/engine/server.js';
import { TestEngine } from '../engine.js';
import { isRoot, itRoot } from '../helpers.js';

interface RawReply {
  statusLine: string;
  headers: string;
  body: string;
  /** The engine closed the connection after answering. */
  closed: boolean;
}

/** Writes `head` (and `body` chunks) to the engine's socket; resolves with the first answer and
 *  whether the engine then closed the connection (within a second), or rejects when no answer
 *  comes within 5 s (a hang). */
function raw(socket: string, head: string, body: (Buffer | string)[] = []): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let got = '';
    let reply: Omit<RawReply, 'closed'> | undefined;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer in 5 s to ${JSON.stringify(head.split('\r\n')[0])}: ${got}`));
    }, 5000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ ...reply!, closed });
    };
    s.on('data', (d) => {
      got += d.toString('utf8');
      const end = got.indexOf('\r\n\r\n');
      if (reply || end < 0) return;
      const headers = got.slice(0, end);
      const length = Number(/content-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
      if (Buffer.byteLength(got.slice(end + 4)) < length) return;
      reply = { statusLine: headers.split('\r\n')[0], headers, body: got.slice(end + 4) };
      setTimeout(() => finish(false), 1000);
    });
    s.on('error', () => {}); // the engine may close while a refused body is still being written
    s.on('close', () => (reply ? finish(true) : reject(new Error(`closed without an answer: ${got}`))));
    s.write(head);
    for (const b of body) s.write(b);
  });
}

describe('the engine refuses malformed HTTP cleanly', () => {
  const engine = new TestEngine();
  beforeAll(async () => {
    if (isRoot) await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  const stillAnswers = async () => {
    const ping = await engine.api('GET', '/_ping');
    expect([ping.status, ping.text]).toEqual([200, 'OK']);
  };
  const message = (r: RawReply) => JSON.parse(r.body).message as string;

  itRoot('a request target that is not a path: GET //[ is answered 400, and closed', async () => {
    const r = await raw(engine.socket, 'GET //[ HTTP/1.1\r\nHost: nsxd\r\n\r\n');
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(message(r)).toMatch(/malformed request/);
    expect(r.body).not.toContain('    at ');
    expect(r.closed).toBe(true);
    await stillAnswers();
  });

  itRoot('a request line Node cannot parse: 400 in docker shape, closed', async () => {
    const r = await raw(engine.socket, 'THIS IS NOT HTTP\r\n\r\n');
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(message(r)).toMatch(/^malformed HTTP request: /);
    expect(r.closed).toBe(true);
    await stillAnswers();
  });

  itRoot('percent-encoding errors in the path or the query: 400', async () => {
    for (const target of ['/containers/%zz/json', '/containers/%E0%A4/json', '/containers/json?all=%E0%A4%A']) {
      const r = await raw(engine.socket, `GET ${target} HTTP/1.1\r\nHost: nsxd\r\n\r\n`);
      expect(r.statusLine).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.closed).toBe(true);
      expect(message(r)).toMatch(/invalid percent-encoding|not a path/);
      expect(r.body).not.toContain('    at ');
    }
    await stillAnswers();
  });

  itRoot('an upload to an endpoint nsx does not implement is read to its end, then answered 501', async () => {
    // A client may still be sending its body when the engine knows it will refuse it: answered
    // mid-upload, with the connection closed, the CLI would print EPIPE instead of the sentence.
    const body = Buffer.alloc(4 << 20, 'x');
    const r = await raw(
      engine.socket,
      `POST /volumes/create HTTP/1.1\r\nHost: nsxd\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      [body],
    );
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 501 /);
    expect(message(r)).toMatch(/^nsx does not implement docker volume create/);
    expect(r.closed).toBe(false);
    await stillAnswers();
  });

  itRoot('JSON that does not parse: 400 naming it', async () => {
    const body = '{"Rootfs": "/x", "Cmd": [';
    const r = await raw(
      engine.socket,
      `POST /containers/create HTTP/1.1\r\nHost: nsxd\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      [body],
    );
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(message(r)).toMatch(/^invalid JSON in the request body: /);
    await stillAnswers();
  });

  itRoot(`a body declared over ${MAX_BODY >> 20} MiB: 413 before it is read, closed`, async () => {
    const r = await raw(
      engine.socket,
      `POST /containers/create HTTP/1.1\r\nHost: nsxd\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`,
    );
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 413 /);
    expect(message(r)).toMatch(/request body too large/);
    expect(r.closed).toBe(true);
    await stillAnswers();
  });

  itRoot('a chunked body that grows over the limit: 413, the rest not read', async () => {
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const chunks = Array.from({ length: (MAX_BODY >> 20) + 2 }, () =>
      Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]),
    );
    const r = await raw(
      engine.socket,
      'POST /containers/create HTTP/1.1\r\nHost: nsxd\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      chunks,
    );
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 413 /);
    expect(message(r)).toMatch(/request body too large/);
    expect(r.closed).toBe(true);
    await stillAnswers();
  });
});
