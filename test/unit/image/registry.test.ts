// The registry client's pure parts: WWW-Authenticate, platform selection, media types, and the
// security rules (which hosts go without TLS, where credentials may go).
import { describe, expect, it } from '@jest/globals';
import {
  checkImageManifest,
  connectionError,
  dockerCredentials,
  hostPlatform,
  isLoopbackHost,
  manifestMediaType,
  mayCarryCredentials,
  parsePlatform,
  parseWWWAuthenticate,
  selectManifest,
  transportFor,
} from '../../../src/image/registry.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, type Descriptor, type OciIndex, type OciManifest } from '../../../src/image/types.js';

describe('WWW-Authenticate', () => {
  it("Docker Hub's Bearer challenge", () => {
    expect(
      parseWWWAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull',
        },
      },
    ]);
  });
  it('Basic, token values, spaces, escapes, case', () => {
    expect(parseWWWAuthenticate('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseWWWAuthenticate('BEARER Realm=https://x/token , Service=reg')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } },
    ]);
    expect(parseWWWAuthenticate('Bearer realm="a\\"b",scope="repository:x:pull,push"')[0].params).toEqual({
      realm: 'a"b',
      scope: 'repository:x:pull,push',
    });
  });
  it('several challenges in one header', () => {
    expect(
      parseWWWAuthenticate('Basic realm="r", Bearer realm="https://t/token",service="s"').map((c) => c.scheme),
    ).toEqual(['basic', 'bearer']);
  });
  it('nothing usable', () => {
    expect(parseWWWAuthenticate('')).toEqual([]);
    expect(parseWWWAuthenticate('Negotiate')).toEqual([{ scheme: 'negotiate', params: {} }]);
  });
});

describe('transport: TLS unless loopback or configured insecure', () => {
  it.each([
    ['docker.io', 'https://registry-1.docker.io'],
    ['index.docker.io', 'https://registry-1.docker.io'],
    ['quay.io', 'https://quay.io'],
    ['localhost:5000', 'http://localhost:5000'],
    ['127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['127.1.2.3:5000', 'http://127.1.2.3:5000'],
    ['[::1]:5000', 'http://[::1]:5000'],
    ['128.0.0.1:5000', 'https://128.0.0.1:5000'],
    ['localhost.example.com', 'https://localhost.example.com'],
    ['10.0.0.5:5000', 'https://10.0.0.5:5000'],
  ])('%s → %s', (domain, base) => {
    expect(transportFor(domain).base).toBe(base);
  });
  it('an insecure registry goes over HTTP', () => {
    expect(transportFor('myreg:5000', ['myreg:5000'])).toEqual({ base: 'http://myreg:5000', secure: false });
  });
  it('loopback is 127.0.0.0/8, ::1 and localhost only', () => {
    expect(['localhost', '127.0.0.1', '127.255.255.254', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(
      ['127.0.0.256', '0.0.0.0', '::', '::ffff:127.0.0.1', '1.127.0.0', 'localhost.evil.com', '127.0.0.1.nip.io'].some(
        isLoopbackHost,
      ),
    ).toBe(false);
  });
  it('credentials go over TLS, to loopback, or to a registry listed insecure', () => {
    expect(mayCarryCredentials(new URL('https://auth.docker.io/token'))).toBe(true);
    expect(mayCarryCredentials(new URL('http://127.0.0.1:4000/token'))).toBe(true);
    expect(mayCarryCredentials(new URL('http://auth.example.com/token'))).toBe(false);
    expect(mayCarryCredentials(new URL('http://myreg:5000/token'), ['myreg:5000'])).toBe(true);
    expect(mayCarryCredentials(new URL('ftp://127.0.0.1/token'))).toBe(false);
  });
});

describe("credentials from docker's config.json", () => {
  it('auth (base64 user:password) by registry, Docker Hub under its v1 URL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsx-dockercfg-'));
    try {
      writeFileSync(
        join(dir, 'config.json'),
        JSON.stringify({
          auths: {
            'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub:pw').toString('base64') },
            'localhost:5000': { username: 'u', password: 'p' },
          },
        }),
      );
      expect(dockerCredentials('docker.io', { DOCKER_CONFIG: dir })).toEqual({
        username: 'hubuser',
        password: 'hub:pw',
      });
      expect(dockerCredentials('localhost:5000', { DOCKER_CONFIG: dir })).toEqual({ username: 'u', password: 'p' });
      expect(dockerCredentials('quay.io', { DOCKER_CONFIG: dir })).toBeUndefined();
      expect(dockerCredentials('quay.io', { DOCKER_CONFIG: join(dir, 'none') })).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('platform selection in an index', () => {
  const d = (
    architecture: string,
    variant?: string,
    mediaType: string = MediaType.ociManifest,
    os = 'linux',
  ): Descriptor => ({
    mediaType,
    digest: `sha256:${(architecture + (variant ?? '') + os)
      .padEnd(64, '0')
      .replace(/[^a-f0-9]/g, 'a')
      .slice(0, 64)}`,
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  });
  const index = (...m: Descriptor[]): OciIndex => ({ schemaVersion: 2, manifests: m });

  it('the host: linux/amd64 or linux/arm64/v8', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });
  it('picks the same os and architecture', () => {
    const amd = d('amd64');
    const arm = d('arm64', 'v8');
    expect(selectManifest(index(d('arm', 'v7'), amd, arm), { os: 'linux', architecture: 'amd64' })).toBe(amd);
    expect(selectManifest(index(d('arm', 'v7'), amd, arm), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(
      arm,
    );
  });
  it('arm64 without a variant is v8', () => {
    const arm = d('arm64');
    expect(selectManifest(index(d('amd64'), arm), hostPlatform('arm64'))).toBe(arm);
  });
  it('an exact variant wins over a variant-less entry; a wrong variant never matches', () => {
    const v6 = d('arm', 'v6');
    const v7 = d('arm', 'v7');
    const none = d('arm');
    expect(selectManifest(index(v6, none, v7), parsePlatform('linux/arm/v7'))).toBe(v7);
    expect(selectManifest(index(v6, none), parsePlatform('linux/arm/v7'))).toBe(none);
    expect(selectManifest(index(v6), parsePlatform('linux/arm/v7'))).toBeUndefined();
  });
  it('skips attestations, other OSes and nested indexes', () => {
    const att = d('unknown', undefined, MediaType.ociManifest, 'unknown');
    const win = d('amd64', undefined, MediaType.ociManifest, 'windows');
    const nested = d('amd64', undefined, MediaType.ociIndex);
    const docker = d('amd64', undefined, MediaType.dockerManifest);
    expect(selectManifest(index(att, win, nested, docker), hostPlatform('x64'))).toBe(docker);
    expect(selectManifest(index(att, win, nested), hostPlatform('x64'))).toBeUndefined();
  });
  it('parses --platform', () => {
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(() => parsePlatform('linux//x')).toThrow('invalid platform');
  });
});

describe('media types', () => {
  it('from Content-Type, else the document', () => {
    expect(manifestMediaType('application/vnd.oci.image.index.v1+json; charset=utf-8', {})).toBe(MediaType.ociIndex);
    expect(manifestMediaType('application/json', { mediaType: MediaType.dockerManifest })).toBe(
      MediaType.dockerManifest,
    );
    expect(manifestMediaType(null, { schemaVersion: 1 })).toBe(MediaType.dockerSchema1);
    expect(manifestMediaType('application/json', { schemaVersion: 2, manifests: [] })).toBe(MediaType.ociIndex);
    expect(manifestMediaType(null, { schemaVersion: 2, config: {}, layers: [] })).toBe(MediaType.ociManifest);
  });
  const ok: OciManifest = {
    schemaVersion: 2,
    config: { mediaType: MediaType.ociConfig, digest: `sha256:${'a'.repeat(64)}`, size: 10 },
    layers: [
      { mediaType: MediaType.ociLayerGzip, digest: `sha256:${'b'.repeat(64)}`, size: 10 },
      { mediaType: MediaType.dockerLayerGzip, digest: `sha256:${'c'.repeat(64)}`, size: 10 },
      { mediaType: MediaType.ociLayerZstd, digest: `sha256:${'d'.repeat(64)}`, size: 10 },
      { mediaType: MediaType.ociLayer, digest: `sha256:${'e'.repeat(64)}`, size: 10 },
    ],
  };
  it('accepts OCI and Docker image manifests', () => {
    expect(() => checkImageManifest(ok, 'x')).not.toThrow();
  });
  it.each([
    [
      'a foreign layer',
      (m: OciManifest) => (m.layers[0].mediaType = MediaType.dockerForeignLayerGzip),
      'foreign (Windows) layer',
    ],
    [
      'an unknown layer type',
      (m: OciManifest) => (m.layers[0].mediaType = 'application/x-unknown'),
      'unsupported media type application/x-unknown for layer',
    ],
    [
      'an artifact config',
      (m: OciManifest) => (m.config.mediaType = 'application/vnd.cncf.helm.config.v1+json'),
      'for the image config',
    ],
    ['a sha512 digest', (m: OciManifest) => (m.layers[0].digest = `sha512:${'a'.repeat(128)}`), 'invalid digest'],
    ['a path in a digest', (m: OciManifest) => (m.layers[0].digest = 'sha256:../../../etc/passwd'), 'invalid digest'],
    ['a negative size', (m: OciManifest) => (m.layers[0].size = -1), 'invalid size'],
    ['a huge config', (m: OciManifest) => (m.config.size = 1e9), 'more than nsx accepts'],
  ])('refuses %s', (_what, change, message) => {
    const m = JSON.parse(JSON.stringify(ok));
    change(m);
    expect(() => checkImageManifest(m, 'x')).toThrow(message);
  });
});

describe("connection errors in docker's words", () => {
  const fail = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: { code } });
  it.each([
    [
      'ENOTFOUND',
      'https://registry-1.docker.io/v2/',
      'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
      'No network',
    ],
    [
      'ECONNREFUSED',
      'http://127.0.0.1:5000/v2/',
      'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
      'Is the registry running at http://127.0.0.1:5000?',
    ],
    [
      'ERR_SSL_WRONG_VERSION_NUMBER',
      'https://myreg:5000/v2/',
      'Get "https://myreg:5000/v2/": dial tcp myreg:5000: ERR_SSL_WRONG_VERSION_NUMBER',
      'unless it is listed in "insecure"',
    ],
    [
      'bad port',
      'http://127.0.0.1:6000/v2/',
      'Get "http://127.0.0.1:6000/v2/": dial tcp 127.0.0.1:6000: bad port',
      'blocked ports',
    ],
  ])('%s', (code, url, message, hint) => {
    const e = connectionError(fail(code), new URL(url), 'GET');
    expect(e.message).toContain(`Error response from daemon: ${message}`);
    expect(e.info.hint).toContain(hint);
    expect(e.kind).toBe('unreachable');
  });
});
