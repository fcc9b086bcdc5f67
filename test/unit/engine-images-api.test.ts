// The image endpoints' pure shaping: docker's ImageSummary list, the progress JSON of a pull, the
// name POST /images/create pulls, DELETE's body, and docker's status codes for the store's errors.
import { describe, expect, it } from '@jest/globals';
import {
  deleteResponse,
  errorLine,
  imageSummaries,
  progressLine,
  pullName,
  toApiError,
} from '../../src/engine/images-api.js';
import { ApiError } from '../../src/engine/errors.js';
import { RegistryError } from '../../src/image/registry.js';
import type { ImageSummary } from '../../src/image/types.js';
import { NsxError } from '../../src/runtime/errors.js';

const ID = `sha256:${'a1'.repeat(32)}`;
const ID2 = `sha256:${'b2'.repeat(32)}`;
const M = `sha256:${'c3'.repeat(32)}`;
const row = (over: Partial<ImageSummary>): ImageSummary => ({
  repository: 'busybox',
  tag: 'latest',
  digest: '<none>',
  id: ID,
  created: '2024-01-02T03:04:05Z',
  size: 1234,
  manifestDigest: M,
  ...over,
});

describe("GET /images/json: docker's ImageSummary", () => {
  it('one entry per image id with all its names; Created in unix seconds; -1 where docker does not count', () => {
    const list = imageSummaries([
      {
        row: row({}),
        names: { repoTags: ['busybox:latest', 'busybox:1.36'], repoDigests: [`busybox@${M}`] },
        labels: { a: 'b' },
      },
      {
        row: row({ tag: '1.36' }),
        names: { repoTags: ['busybox:latest', 'busybox:1.36'], repoDigests: [`busybox@${M}`] },
        labels: { a: 'b' },
      },
      {
        row: row({ repository: '<none>', tag: '<none>', id: ID2, created: undefined, size: 99 }),
        names: { repoTags: [], repoDigests: [] },
        labels: null,
      },
    ]);
    expect(list).toEqual([
      {
        Id: ID,
        ParentId: '',
        RepoTags: ['busybox:latest', 'busybox:1.36'],
        RepoDigests: [`busybox@${M}`],
        Created: 1704164645,
        Size: 1234,
        SharedSize: -1,
        Labels: { a: 'b' },
        Containers: -1,
      },
      // API 1.43: an untagged image has empty lists, not "<none>:<none>"
      {
        Id: ID2,
        ParentId: '',
        RepoTags: [],
        RepoDigests: [],
        Created: 0,
        Size: 99,
        SharedSize: -1,
        Labels: null,
        Containers: -1,
      },
    ]);
  });
});

describe('POST /images/create: what is pulled', () => {
  it('fromImage alone, or with a tag that replaces its tag, or a digest', () => {
    expect(pullName('busybox', '')).toBe('busybox');
    expect(pullName('busybox', '1.36')).toBe('busybox:1.36');
    expect(pullName('busybox:1.35', '1.36')).toBe('busybox:1.36');
    expect(pullName('localhost:5000/team/app', 'v1')).toBe('localhost:5000/team/app:v1');
    expect(pullName('localhost:5000/team/app:v0', 'v1')).toBe('localhost:5000/team/app:v1');
    expect(pullName('busybox:1.36', M)).toBe(`busybox@${M}`);
    expect(pullName(`busybox@${M}`, 'x')).toBe(`busybox:x@${M}`);
  });

  it('refuses a tag that is no tag', () => {
    expect(() => pullName('busybox', 'a/b')).toThrow(/invalid tag "a\/b"/);
  });

  it("docker's progress lines from the pull's events", () => {
    expect(
      progressLine({ type: 'pulling-from', tag: 'latest', repository: 'library/busybox', registry: 'docker.io' }),
    ).toEqual({ status: 'Pulling from library/busybox', id: 'latest' });
    expect(progressLine({ type: 'layer', id: 'c3c3c3c3c3c3', digest: M, status: 'Pulling fs layer' })).toEqual({
      status: 'Pulling fs layer',
      progressDetail: {},
      id: 'c3c3c3c3c3c3',
    });
    expect(
      progressLine({ type: 'layer', id: 'c3c3c3c3c3c3', digest: M, status: 'Downloading', current: 500, total: 1000 }),
    ).toEqual({
      status: 'Downloading',
      progressDetail: { current: 500, total: 1000 },
      progress: `[${'='.repeat(24)}>${' '.repeat(25)}]  500B/1kB`,
      id: 'c3c3c3c3c3c3',
    });
    expect(progressLine({ type: 'layer', id: 'c3c3c3c3c3c3', digest: M, status: 'Pull complete' })).toEqual({
      status: 'Pull complete',
      progressDetail: {},
      id: 'c3c3c3c3c3c3',
    });
    expect(progressLine({ type: 'digest', digest: M })).toEqual({ status: `Digest: ${M}` });
    expect(
      progressLine({
        type: 'status',
        status: 'downloaded',
        message: 'Downloaded newer image for busybox:latest',
        ref: 'docker.io/library/busybox:latest',
      }),
    ).toEqual({ status: 'Status: Downloaded newer image for busybox:latest' });
    expect(
      progressLine({ type: 'resolving', ref: 'docker.io/library/busybox:latest', registry: 'docker.io' }),
    ).toBeUndefined();
    expect(progressLine({ type: 'platform', platform: 'linux/amd64', digest: M })).toBeUndefined();
  });

  it("an error once the stream has begun is docker's errorDetail line", () => {
    expect(errorLine('blob unknown')).toEqual({ errorDetail: { message: 'blob unknown' }, error: 'blob unknown' });
    // jsonmessage.JSONError's code, omitted when 0: what docker's CLI exits with.
    expect(errorLine('RUN failed', 3)).toEqual({
      errorDetail: { code: 3, message: 'RUN failed' },
      error: 'RUN failed',
    });
    expect(errorLine('RUN failed', 0)).toEqual({ errorDetail: { message: 'RUN failed' }, error: 'RUN failed' });
  });
});

describe('DELETE /images/{name}', () => {
  it('the store\'s lines as docker\'s [{"Untagged"}, {"Deleted"}]', () => {
    expect(deleteResponse(['Untagged: busybox:latest', `Untagged: busybox@${M}`, `Deleted: ${ID}`])).toEqual([
      { Untagged: 'busybox:latest' },
      { Untagged: `busybox@${M}` },
      { Deleted: ID },
    ]);
  });
});

describe("the store's and the registry's errors with docker's status codes", () => {
  const status = (e: unknown) => toApiError(e).status;
  it("not found 404, conflict 409, a bad name 400, the rest 500; without the CLI's prefix", () => {
    const none = toApiError(new NsxError('Error response from daemon: No such image: nope:latest', { hint: 'h' }));
    expect(none).toEqual(expect.objectContaining({ status: 404, message: 'No such image: nope:latest', hint: 'h' }));
    expect(
      status(
        new RegistryError('Error response from daemon: manifest for x:1 not found: manifest unknown', 'not-found'),
      ),
    ).toBe(404);
    expect(status(new RegistryError('Error response from daemon: pull access denied for x', 'denied'))).toBe(404);
    expect(
      status(
        new NsxError(
          'Error response from daemon: conflict: unable to remove repository reference "x" (must force) - container 0123456789ab is using its referenced image abc',
        ),
      ),
    ).toBe(409);
    expect(status(new NsxError('invalid reference format: repository name must be lowercase'))).toBe(400);
    expect(status(new NsxError('invalid platform "a/b/c/d": expected os/arch[/variant], e.g. linux/arm64'))).toBe(400);
    expect(
      status(
        new RegistryError(
          'Error response from daemon: Get "http://127.0.0.1:1/v2/": dial tcp: connection refused',
          'unreachable',
        ),
      ),
    ).toBe(500);
    expect(status(new ApiError(418, 'as it is'))).toBe(418);
    expect(() => toApiError(new TypeError('a bug'))).toThrow(TypeError);
  });
});
