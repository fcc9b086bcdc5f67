// Image references as docker parses them: the cases of distribution/reference's own tests.
import { describe, expect, it } from '@jest/globals';
import {
  candidates,
  familiarString,
  formatReference,
  normalize,
  parseReference,
  isValidDomain,
} from '../../../src/image/reference.js';
import { parseRegistriesConfig, registriesConfigPath } from '../../../src/image/registries.js';

const D = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';

describe('parseReference + default tag (docker pull NAME)', () => {
  // input → full normalized reference, familiar form
  const table: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['dockerinaction/hello_world', 'docker.io/dockerinaction/hello_world:latest', 'dockerinaction/hello_world:latest'],
    ['docker.io/library/alpine', 'docker.io/library/alpine:latest', 'alpine:latest'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest', 'alpine:latest'],
    ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3', 'alpine:3'],
    ['library/foo/bar', 'docker.io/library/foo/bar:latest', 'library/foo/bar:latest'],
    ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
    [`localhost:5000/x@${D}`, `localhost:5000/x@${D}`, `localhost:5000/x@${D}`],
    [`busybox:latest@${D}`, `docker.io/library/busybox:latest@${D}`, `busybox:latest@${D}`],
    [`redis@${D}`, `docker.io/library/redis@${D}`, `redis@${D}`],
    ['127.0.0.1:5000/library/debian', '127.0.0.1:5000/library/debian:latest', '127.0.0.1:5000/library/debian:latest'],
    ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000/docker/docker:latest', '[fc00::1]:5000/docker/docker:latest'],
    [
      'example.com:8000/private/moonbase',
      'example.com:8000/private/moonbase:latest',
      'example.com:8000/private/moonbase:latest',
    ],
    ['Foo/bar', 'Foo/bar:latest', 'Foo/bar:latest'], // an uppercase first part is a host
    ['test_com/foo', 'docker.io/test_com/foo:latest', 'test_com/foo:latest'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080/foo:latest', 'xn--n3h.com:18080/foo:latest'],
    ['192.168.0.1', 'docker.io/library/192.168.0.1:latest', '192.168.0.1:latest'],
    ['docker---rules/docker', 'docker.io/docker---rules/docker:latest', 'docker---rules/docker:latest'],
    ['dock__er/docker', 'docker.io/dock__er/docker:latest', 'dock__er/docker:latest'],
    [
      'docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
      'docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest',
      '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest',
    ],
  ];
  it.each(table)('%s → %s', (input, full, familiar) => {
    const r = normalize(input);
    expect(formatReference(r)).toBe(full);
    expect(familiarString(r)).toBe(familiar);
  });

  it('keeps domain, path, tag and digest apart', () => {
    expect(parseReference(`localhost:5000/team/app:1.0@${D}`)).toEqual({
      domain: 'localhost:5000',
      path: 'team/app',
      tag: '1.0',
      digest: D,
      qualified: true,
    });
    expect(parseReference('busybox')).toEqual({ domain: 'docker.io', path: 'library/busybox', qualified: false });
    expect(parseReference('dockerinaction/hello_world').qualified).toBe(false);
    expect(parseReference('docker.io/library/alpine').qualified).toBe(true);
  });

  const invalid: [string, string][] = [
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['docker/Docker', 'invalid reference format: repository name (docker/Docker) must be lowercase'],
    ['docker.io/docker/Docker', 'must be lowercase'],
    ['', 'repository name must have at least one component'],
    ['https://github.com/docker/docker', 'invalid reference format'],
    ['-docker', 'invalid reference format'],
    ['-docker/docker', 'invalid reference format'],
    ['docker-/docker', 'invalid reference format'],
    ['docker///docker', 'invalid reference format'],
    ['____/____', 'invalid reference format'],
    ['dock..er/docker', 'invalid reference format'],
    ['docker/', 'invalid reference format'],
    ['[fc00::1]:5000', 'invalid reference format'],
    ['fc00::1:5000/debian', 'invalid reference format'],
    ['[fe80::1%eth0]:5000/debian', 'invalid reference format'],
    ['busybox:', 'invalid reference format'],
    ['busybox:-tag', 'invalid reference format'],
    [`busybox:${'t'.repeat(129)}`, 'invalid reference format'],
    ['busybox@sha256:abc', 'invalid reference format'],
    [`busybox@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    [`busybox@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
    ['1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', 'cannot specify 64-byte hexadecimal strings'],
    [`${'a/'.repeat(130)}x`, 'must not be more than 255 characters'],
  ];
  it.each(invalid)('refuses %j: %s', (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
  });
});

describe('unqualified names and the search list', () => {
  it('one candidate per search registry, in order; only docker.io adds library/', () => {
    const list = candidates(normalize('busybox'), ['localhost:5000', 'docker.io']).map(formatReference);
    expect(list).toEqual(['localhost:5000/busybox:latest', 'docker.io/library/busybox:latest']);
    expect(
      candidates(normalize('dockerinaction/hello_world'), ['localhost:5000', 'index.docker.io']).map(formatReference),
    ).toEqual(['localhost:5000/dockerinaction/hello_world:latest', 'docker.io/dockerinaction/hello_world:latest']);
  });
  it('a qualified name stands for itself', () => {
    expect(candidates(normalize('quay.io/x/y'), ['localhost:5000']).map(formatReference)).toEqual([
      'quay.io/x/y:latest',
    ]);
    expect(candidates(normalize('docker.io/library/alpine'), ['localhost:5000']).map(formatReference)).toEqual([
      'docker.io/library/alpine:latest',
    ]);
  });
});

describe('registries.json', () => {
  it('reads the search list and insecure registries', () => {
    expect(
      parseRegistriesConfig('{"unqualifiedSearchRegistries":["localhost:5000","docker.io"],"insecure":["myreg:5000"]}'),
    ).toMatchObject({
      unqualifiedSearchRegistries: ['localhost:5000', 'docker.io'],
      insecure: ['myreg:5000'],
    });
    expect(parseRegistriesConfig('{}').unqualifiedSearchRegistries).toEqual(['docker.io']);
  });
  it.each([
    ['not json', 'not valid JSON'],
    ['[]', 'must be a JSON object'],
    ['{"unqualifiedSearchRegistries": "docker.io"}', '"unqualifiedSearchRegistries" must be a list of registry hosts'],
    [
      '{"unqualifiedSearchRegistries": ["http://x"]}',
      '"http://x" in "unqualifiedSearchRegistries" is not a registry host[:port]',
    ],
    ['{"unqualifiedSearchRegistries": []}', '"unqualifiedSearchRegistries" is empty'],
    ['{"searchRegistries": []}', 'unknown key "searchRegistries"'],
  ])('refuses %s', (text, message) => {
    expect(() => parseRegistriesConfig(text, '/etc/nsx/registries.json')).toThrow(
      `registries config /etc/nsx/registries.json: ${message}`,
    );
  });
  it('is found per user, overridable by NSX_REGISTRIES_CONFIG', () => {
    expect(registriesConfigPath({}, 0)).toBe('/etc/nsx/registries.json');
    expect(registriesConfigPath({ HOME: '/home/a' }, 1000)).toBe('/home/a/.config/nsx/registries.json');
    expect(registriesConfigPath({ XDG_CONFIG_HOME: '/x' }, 1000)).toBe('/x/nsx/registries.json');
    expect(registriesConfigPath({ NSX_REGISTRIES_CONFIG: '/t/r.json' }, 0)).toBe('/t/r.json');
  });
  it('knows a registry host', () => {
    expect(
      ['localhost:5000', '[::1]:5000', 'docker.io', '127.0.0.1:5000', 'registry-1.docker.io'].every(isValidDomain),
    ).toBe(true);
    expect(['http://x', 'a/b', '', 'x:y'].some(isValidDomain)).toBe(false);
  });
});
