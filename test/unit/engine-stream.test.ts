// docker's multiplexed stream (stream.ts) and nsx run's options for the engine (engine-run.ts): pure.
import { describe, expect, it } from '@jest/globals';
import { FrameDecoder, filterFrames, frame, upgradeHead } from '../../src/engine/stream.js';
import { createRequest, parseRestart } from '../../src/cli/run/engine-run.js';
import { markCommandStart, type RunArgs } from '../../src/cli/run/index.js';

describe('multiplexed frames', () => {
  it("puts docker's 8-byte header before each chunk: the stream, three zeros, the length big-endian", () => {
    const f = frame(2, Buffer.from('oops\n'));
    expect([...f.subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 5]);
    expect(f.subarray(8).toString()).toBe('oops\n');
    expect([...frame(1, Buffer.alloc(300)).subarray(4, 8)]).toEqual([0, 0, 1, 44]);
  });

  it('decodes frames cut anywhere, byte by byte too', () => {
    const all = Buffer.concat([
      frame(1, Buffer.from('out one\n')),
      frame(2, Buffer.from('err\n')),
      frame(1, Buffer.from('')),
    ]);
    for (const size of [1, 3, 8, 9, all.length]) {
      const got: [number, string][] = [];
      const d = new FrameDecoder((s, data) => got.push([s, data.toString()]));
      for (let i = 0; i < all.length; i += size) d.push(all.subarray(i, i + size));
      expect(got).toEqual([
        [1, 'out one\n'],
        [2, 'err\n'],
        [1, ''],
      ]);
      expect(d.pending).toBe(0);
    }
  });

  it('keeps an incomplete last frame pending, and picks streams (logs?stdout=0&stderr=1)', () => {
    const d = new FrameDecoder(() => {});
    d.push(frame(1, Buffer.from('abc')).subarray(0, 9));
    expect(d.pending).toBe(9);
    const both = Buffer.concat([frame(1, Buffer.from('o')), frame(2, Buffer.from('e'))]);
    expect(filterFrames(both, { stdout: false, stderr: true })).toEqual(frame(2, Buffer.from('e')));
    expect(filterFrames(both, { stdout: true, stderr: true })).toBe(both);
  });

  it('answers the upgrade as docker does, raw for a terminal', () => {
    expect(upgradeHead(true)).toBe(
      'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    expect(upgradeHead(false)).toContain('application/vnd.docker.multiplexed-stream');
  });
});

describe('nsx run through the engine: options → create request', () => {
  it('reads --restart as docker does', () => {
    expect(parseRestart(undefined)).toBeUndefined();
    expect(parseRestart('no')).toBeUndefined();
    expect(parseRestart('always')).toEqual({ Name: 'always' });
    expect(parseRestart('on-failure:2')).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    for (const bad of ['sometimes', 'always:3', 'on-failure:x', 'on-failure:1:2'])
      expect(() => parseRestart(bad)).toThrow(/--restart/);
  });

  it("maps docker run's options to the create body", () => {
    const a = {
      rootfs: '/r',
      command: [],
      name: 'web',
      memory: '64m',
      'pids-limit': 10,
      cpus: '0.5',
      'cap-drop': ['ALL'],
      tty: true,
      interactive: true,
      restart: 'on-failure:3',
      env: ['A=1'],
      workdir: '/w',
      user: '1000',
      network: 'none',
    } as RunArgs;
    const { body, name } = createRequest(a, ['/bin/sh', '-c', 'echo hi']);
    expect(name).toBe('web');
    expect(body).toEqual(
      expect.objectContaining({
        Rootfs: '/r',
        Cmd: ['/bin/sh', '-c', 'echo hi'],
        Env: ['A=1'],
        WorkingDir: '/w',
        User: '1000',
        Tty: true,
        OpenStdin: true,
        StdinOnce: true,
      }),
    );
    expect(body.HostConfig).toEqual(
      expect.objectContaining({
        Memory: 64 * 1024 * 1024,
        PidsLimit: 10,
        NanoCpus: 5e8,
        CapDrop: ['ALL'],
        NetworkMode: 'none',
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
      }),
    );
  });

  it('takes the first word as the image without --rootfs; --trace and --events observe, except with -d or create', () => {
    expect(createRequest({ command: [], detach: true } as RunArgs, ['busybox', 'ls']).body).toEqual(
      expect.objectContaining({ Image: 'busybox', Cmd: ['ls'], StdinOnce: false }),
    );
    expect(createRequest({ command: [], trace: true } as RunArgs, ['busybox']).body.Nsx).toEqual({ Observe: true });
    expect(createRequest({ command: [], events: '-' } as RunArgs, ['busybox']).body.Nsx).toEqual({ Observe: true });
    expect(createRequest({ command: [] } as RunArgs, ['busybox']).body.Nsx).toBeUndefined();
    expect(() => createRequest({ command: [], trace: true, detach: true } as RunArgs, ['busybox'])).toThrow(
      /--trace cannot be used with -d/,
    );
    expect(() => createRequest({ command: [], events: 'f' } as RunArgs, ['busybox'], true)).toThrow(
      /--events cannot be used with nsx create/,
    );
    expect(() => createRequest({ command: [], step: true, interactive: true } as RunArgs, ['busybox'])).toThrow(
      /--step cannot be used with -d, -i, -t, --restart or nsx create/,
    );
    expect(() =>
      createRequest({ command: [], rm: true, detach: true, restart: 'always' } as RunArgs, ['busybox']),
    ).toThrow(/both --restart and --rm/);
  });

  it('finds where the command starts for create and exec too', () => {
    expect(markCommandStart(['exec', '-it', 'web', 'sh', '-c', 'ls -l'])).toEqual([
      'exec',
      '-it',
      '--',
      'web',
      'sh',
      '-c',
      'ls -l',
    ]);
    expect(markCommandStart(['create', '--name', 'x', 'busybox', 'ls', '-l'])).toEqual([
      'create',
      '--name',
      'x',
      '--',
      'busybox',
      'ls',
      '-l',
    ]);
    expect(markCommandStart(['run', '-d', '--restart', 'always', 'busybox', 'top'])).toEqual([
      'run',
      '-d',
      '--restart',
      'always',
      '--',
      'busybox',
      'top',
    ]);
    expect(markCommandStart(['ps', '-a'])).toEqual(['ps', '-a']);
  });
});
