// docker-log's reading of one connection: the requests a client sent on it (HTTP/1.1 keep-alive:
// several), each paired with the engine's status line in the order the replies came.
import { describe, expect, it } from '@jest/globals';
import { exchanges, shown } from '../../lessons/docker-log.js';

describe('docker-log', () => {
  it('splits a keep-alive connection into its requests, skips bodies by Content-Length, pairs the replies', () => {
    const body = '{"Image":"busybox","Cmd":["echo","hi"]}';
    const sent =
      'HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n\r\n' +
      `POST /v1.43/containers/create HTTP/1.1\r\nHost: api.moby.localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      'GET /v1.43/containers/json HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n';
    const received =
      'HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\n' + // HEAD: no body
      'HTTP/1.1 201 Created\r\nContent-Length: 22\r\n\r\n{"Id":"abc","Warn":[]}' +
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n';
    const list = exchanges(sent, received);
    expect(list.map((x) => [x.head[0], x.body, x.status])).toEqual([
      ['HEAD /_ping HTTP/1.1', undefined, 'HTTP/1.1 200 OK'],
      ['POST /v1.43/containers/create HTTP/1.1', body, 'HTTP/1.1 201 Created'],
      ['GET /v1.43/containers/json HTTP/1.1', undefined, 'HTTP/1.1 200 OK'],
    ]);
    expect(shown(list.slice(0, 1))).toEqual([
      '> HEAD /_ping HTTP/1.1',
      '> Host: api.moby.localhost',
      '> User-Agent: Docker-Client/28.2.2 (linux)',
      '< HTTP/1.1 200 OK',
    ]);
  });

  it('reads past a chunked request body, and says so when a request got no answer', () => {
    const sent =
      'POST /v1.43/build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n';
    const list = exchanges(sent, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(list.map((x) => [x.head[0], x.status])).toEqual([
      ['POST /v1.43/build HTTP/1.1', 'HTTP/1.1 200 OK'],
      ['GET /x HTTP/1.1', undefined],
    ]);
    expect(shown(list).at(-1)).toBe('< (no answer)');
    expect(shown(list)).toContain('> 5\\r\\nhello\\r\\n0\\r\\n\\r\\n'); // the chunks, on one line
  });
});
