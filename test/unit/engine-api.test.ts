// engine-api (lessons/engine-api.ts): the request as it goes on the engine's socket, and a reply's
// body cut to fit the screen without losing a character.
import { describe, expect, it } from '@jest/globals';
import { folded, requestText } from '../../lessons/engine-api.js';

describe('engine-api', () => {
  it('writes an HTTP/1.0 request, with a JSON body and its length when there is one', () => {
    expect(requestText('GET', '/containers/json')).toBe('GET /containers/json HTTP/1.0\r\nHost: nsxd\r\n\r\n');
    const body = '{"Image":"dockerinaction/hello_world"}';
    expect(requestText('POST', '/containers/create?name=first', body)).toBe(
      `POST /containers/create?name=first HTTP/1.0\r\nHost: nsxd\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  it('folds a body into lines of at most 74 characters, keeping every character', () => {
    const body = JSON.stringify([{ Id: 'a'.repeat(64), Names: ['/first'], State: 'running' }]) + '\n';
    const lines = folded(body);
    expect(lines.every((l) => l.length <= 74)).toBe(true);
    expect(lines.join('')).toBe(body.trimEnd());
    expect(folded('[]\n')).toEqual(['[]']);
  });
});
