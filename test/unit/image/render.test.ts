// docker's words from pull and push events; plain lines when the output is not a terminal.
import { describe, expect, it } from '@jest/globals';
import { dockerBar, humanSize, layerLine, pullRenderer, pushRenderer } from '../../../src/render/pull.js';
import { created, humanDuration, imagesTable } from '../../../src/cli/image/messages.js';
import type { PullEvent } from '../../../src/image/pull.js';

const sink = () => {
  const out = { text: '', isTTY: false, write: (s: string) => (out.text += s) };
  return out;
};
const D = `sha256:${'ab'.repeat(32)}`;

describe('pull output', () => {
  it("non-TTY: docker's lines, no bars, no byte counts", () => {
    const out = sink();
    const r = pullRenderer(out);
    const events: PullEvent[] = [
      { type: 'missing-locally', ref: 'dockerinaction/hello_world:latest' },
      { type: 'resolving', ref: 'docker.io/dockerinaction/hello_world:latest', registry: 'docker.io' },
      { type: 'pulling-from', tag: 'latest', repository: 'dockerinaction/hello_world', registry: 'docker.io' },
      { type: 'layer', id: 'a3ed95caeb02', digest: D, status: 'Pulling fs layer' },
      { type: 'layer', id: 'a3ed95caeb02', digest: D, status: 'Downloading', current: 10, total: 100 },
      { type: 'layer', id: 'a3ed95caeb02', digest: D, status: 'Downloading', current: 100, total: 100 },
      { type: 'layer', id: 'a3ed95caeb02', digest: D, status: 'Verifying Checksum' },
      { type: 'layer', id: 'a3ed95caeb02', digest: D, status: 'Download complete' },
      { type: 'layer', id: '1db09adb5ddd', digest: D, status: 'Already exists' },
      { type: 'digest', digest: D },
      {
        type: 'status',
        status: 'downloaded',
        message: 'Downloaded newer image for dockerinaction/hello_world:latest',
        ref: 'docker.io/dockerinaction/hello_world:latest',
      },
    ];
    events.forEach((e) => r.onEvent(e));
    r.finish();
    expect(out.text).toBe(
      [
        "Unable to find image 'dockerinaction/hello_world:latest' locally",
        'latest: Pulling from dockerinaction/hello_world',
        'a3ed95caeb02: Pulling fs layer',
        'a3ed95caeb02: Verifying Checksum',
        'a3ed95caeb02: Download complete',
        '1db09adb5ddd: Already exists',
        `Digest: ${D}`,
        'Status: Downloaded newer image for dockerinaction/hello_world:latest',
        '',
      ].join('\n'),
    );
  });

  it('quiet: only the reference', () => {
    const out = sink();
    const r = pullRenderer(out, { quiet: true });
    r.onEvent({ type: 'pulling-from', tag: 'latest', repository: 'library/busybox', registry: 'docker.io' });
    r.onEvent({
      type: 'status',
      status: 'up-to-date',
      message: 'Image is up to date for busybox:latest',
      ref: 'docker.io/library/busybox:latest',
    });
    expect(out.text).toBe('docker.io/library/busybox:latest\n');
  });

  it('a TTY gets a progress line per layer, as docker draws it', () => {
    expect(layerLine('a3ed95caeb02', { status: 'Downloading', current: 1_230_000, total: 2_500_000 })).toBe(
      `a3ed95caeb02: Downloading [${'='.repeat(23)}>${' '.repeat(26)}]  1.23MB/2.5MB`,
    );
    expect(layerLine('a3ed95caeb02', { status: 'Pull complete' })).toBe('a3ed95caeb02: Pull complete');
    expect(dockerBar(0, 10, 10)).toBe('[          ]');
    expect(dockerBar(10, 10, 10)).toBe('[=========>]');
    const out = {
      text: '',
      isTTY: true,
      columns: 100,
      write: (s: string) => ((out.text += s), true),
      on: () => out,
      removeListener: () => out,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
      clearScreenDown: () => true,
    };
    const r = pullRenderer(out as never, { tty: true });
    r.onEvent({ type: 'pulling-from', tag: 'latest', repository: 'library/busybox', registry: 'docker.io' });
    r.onEvent({ type: 'layer', id: 'a3ed95caeb02', digest: D, status: 'Downloading', current: 50, total: 100 });
    r.onEvent({ type: 'digest', digest: D });
    r.finish();
    expect(out.text).toContain('latest: Pulling from library/busybox');
    expect(out.text).toContain('a3ed95caeb02: Downloading [========================>');
    expect(out.text).toContain(`Digest: ${D}`);
  });
});

describe('push output', () => {
  it("docker's lines", () => {
    const out = sink();
    const r = pushRenderer(out);
    r.onEvent({ type: 'push-repository', repository: 'localhost:5000/busybox' });
    r.onEvent({ type: 'push-layer', id: 'a3ed95caeb02', digest: D, status: 'Preparing' });
    r.onEvent({ type: 'push-layer', id: 'a3ed95caeb02', digest: D, status: 'Pushing', current: 1, total: 2 });
    r.onEvent({ type: 'push-layer', id: 'a3ed95caeb02', digest: D, status: 'Pushed' });
    r.onEvent({ type: 'push-layer', id: '1db09adb5ddd', digest: D, status: 'Mounted from', from: 'library/other' });
    r.onEvent({ type: 'pushed', tag: 'latest', digest: D, size: 527 });
    expect(out.text).toBe(
      [
        'The push refers to repository [localhost:5000/busybox]',
        'a3ed95caeb02: Preparing',
        'a3ed95caeb02: Pushed',
        '1db09adb5ddd: Mounted from library/other',
        `latest: digest: ${D} size: 527`,
        '',
      ].join('\n'),
    );
  });
});

describe("docker's units", () => {
  it.each([
    [527, '527B'],
    [1234, '1.234kB'],
    [4_260_000, '4.26MB'],
    [2_500_000_000, '2.5GB'],
  ])('%d bytes → %s', (n, s) => expect(humanSize(n)).toBe(s));
  it('sizes in the images table have 3 digits', () => expect(humanSize(4_261_234, 3)).toBe('4.26MB'));
  it.each([
    [500, 'Less than a second'],
    [30_000, '30 seconds'],
    [90_000, 'About a minute'],
    [3_600_000, 'About an hour'],
    [5 * 3_600_000, '5 hours'],
    [3 * 86_400_000, '3 days'],
    [20 * 86_400_000, '2 weeks'],
    [100 * 86_400_000, '3 months'],
    [800 * 86_400_000, '2 years'],
  ])('%d ms → %s', (ms, s) => expect(humanDuration(ms)).toBe(s));
  it('CREATED of an image without a date', () => expect(created(undefined)).toBe('N/A'));
  it('the images table', () => {
    const now = Date.parse('2024-01-15T00:00:00Z');
    const row = {
      repository: 'busybox',
      tag: 'latest',
      digest: D,
      id: `sha256:${'c'.repeat(64)}`,
      created: '2024-01-01T00:00:00Z',
      size: 4_260_000,
      manifestDigest: D,
    };
    expect(imagesTable([row], { now })).toBe(
      'REPOSITORY   TAG      IMAGE ID       CREATED       SIZE\n' +
        `busybox      latest   ${'c'.repeat(12)}   2 weeks ago   4.26MB\n`,
    );
    expect(imagesTable([row], { now, digests: true }).split('\n')[0]).toBe(
      `REPOSITORY   TAG      DIGEST${' '.repeat(D.length - 6 + 3)}IMAGE ID       CREATED       SIZE`,
    );
  });
});
