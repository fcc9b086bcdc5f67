// The images lesson end to end on the real kernel, under --print: the digests it shows are the
// store's (each blob's file name is the sha256 of its bytes, the config and diff ids are the ones
// nsx image inspect reports); a file changed in a container shows in nsx diff and in the overlay's
// upper directory while the layer below keeps the old one; commit, build (twice: the cache) and
// history ran; nothing of the lab is left. And its check, against a lab store: it fails before an
// image was made, and passes once a container's change is committed.
import { describe, expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findLesson } from '../../src/learn/course.js';
import { countOnlyStartedSince } from '../../src/learn/kernel.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { packageRoot } from '../../src/paths.js';
import { LAB_IMAGE, startLab } from '../../lessons/engine-lab.js';
import { checkImages } from '../../lessons/05-images/check.js';
import { itRoot } from '../helpers.js';
import { leftovers } from '../leaks.js';
import { playForTest } from './play.js';
import { lessonInTerminal } from './terminal.js';

type Demo = Extract<PlayerEvent, { type: 'demo' }>;

describe('lesson: images', () => {
  itRoot(
    'shows the store’s digests, copy-on-write in the upper directory, commit, build with its cache, history; leaves nothing',
    async () => {
      const p = await playForTest('images');
      const demos = p.events.filter((e): e is Demo => e.type === 'demo');
      const by = (cmd: string) => {
        const d = demos.find((x) => x.command.join(' ').startsWith(cmd));
        if (!d) throw new Error(`no demo ${cmd} in:\n${p.transcript}`);
        return d;
      };
      expect(p.completed).toBe(true);

      // The digests: index.json → manifest → config and layer; every blob file named by its sha256.
      const indexPath = by('cat ').command[1];
      const store = indexPath.replace(/\/images\/index\.json$/, '');
      const labDir = store.replace(/\/store$/, '');
      const manifestPath = by(`cat ${store}/images/blobs/`).command[1];
      const manifestHex = manifestPath.split('/').at(-1)!;
      expect(by('cat ').output).toContain(`"digest": "sha256:${manifestHex}"`);
      const sums = by('sha256sum').output.trim().split('\n');
      expect(sums).toHaveLength(2);
      for (const line of sums) {
        const [hex, path] = line.split(/\s+/);
        expect(path.endsWith(`/${hex}`)).toBe(true);
      }
      const manifest = JSON.parse(by(`cat ${store}/images/blobs/`).output) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      expect(sums[1].split(/\s+/)[0]).toBe(manifest.layers[0].digest.slice(7));
      const configShown = demos.filter((d) => d.command[0] === 'cat' && d.command[1].includes('/blobs/'))[1];
      expect(configShown.command[1].endsWith(manifest.config.digest.slice(7))).toBe(true);
      const config = JSON.parse(configShown.output) as { rootfs: { diff_ids: string[] } };
      const inspect = JSON.parse(by('nsx image inspect').output) as { Id: string; RootFS: { Layers: string[] } }[];
      expect(inspect[0].Id).toBe(manifest.config.digest);
      expect(inspect[0].RootFS.Layers).toEqual(config.rootfs.diff_ids);
      expect(by('ls ').command[1]).toBe(`${store}/layers/sha256/${config.rootfs.diff_ids[0].slice(7)}/diff`);
      expect(by('ls ').output).toMatch(/^passwd$/m);

      // Copy-on-write: diff lists the change, the upper directory holds it, the layer does not.
      expect(by('nsx diff box').output.trim().split('\n')).toEqual(
        expect.arrayContaining(['C /etc/passwd', 'C /home', 'A /home/note']),
      );
      const upper = by('find ').command[1];
      expect(by('find ').output.trim().split('\n')).toEqual(
        expect.arrayContaining([`${upper}/etc`, `${upper}/etc/passwd`, `${upper}/home/note`]),
      );
      const tail = by('tail ').output;
      const [, upperLast, lowerLast] = /==> .* <==\n(.*)\n\n==> .* <==\n(.*)/.exec(tail)!;
      expect(upperLast).toBe('learner:x:1000:1000::/home:/bin/sh');
      expect(lowerLast).not.toContain('learner');
      expect(by('tail ').command.at(-1)).toBe(
        `${store}/layers/sha256/${config.rootfs.diff_ids[0].slice(7)}/diff/etc/passwd`,
      );

      // commit, build twice (the second from the cache, the same id), history.
      expect(by('nsx commit').status).toBe(0);
      expect(by('nsx history localhost/changed').output).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE/);
      const builds = demos.filter((d) => d.command.slice(0, 2).join(' ') === 'nsx build');
      expect(builds.map((b) => b.status)).toEqual([0, 0]);
      expect(builds[0].output).not.toContain('Using cache');
      expect(builds[1].output).toContain('Using cache');
      const built = builds.map((b) => /Successfully built ([0-9a-f]{12})/.exec(b.output)?.[1]);
      expect(built[0]).toBeDefined();
      expect(built[1]).toBe(built[0]);
      expect(by('nsx history localhost/built').output).toContain('echo built > /built.txt');

      // Nothing left: the lab's directory (store, engine state), its containers' cgroups and mounts.
      expect(existsSync(labDir)).toBe(false);
      const l = leftovers();
      expect([...l.cgroups, ...l.mounts, ...l.containers].filter((s) => s.includes(labDir))).toEqual([]);
      expect(p.transcript).toContain('Rule: an image is read-only layers');
    },
    240000,
  );

  itRoot(
    'in a terminal: Enter runs a stop, e explains more, Ctrl-C at a prompt stops and removes the lab',
    async () => {
      const term = lessonInTerminal('images', 30000);
      const { waitFor, atTourPrompt, stopped } = term;
      try {
        await waitFor('[1/5]');
        await atTourPrompt('\r');
        await waitFor('Pull complete');
        await waitFor('[2/5]');
        await atTourPrompt('e');
        await waitFor('Mount options for overlay'); // the deeper paragraph
        await atTourPrompt('\r');
        await waitFor('RootFS');
        await waitFor('[3/5]');
        await atTourPrompt('\r');
        await waitFor('A /home/note');
        await waitFor('[4/5]');
        await atTourPrompt('\x03');
        expect(await stopped()).toBe(130);
      } finally {
        term.close();
      }
      const labDir = /\/tmp\/nsx-lab-[A-Za-z0-9]+/.exec(term.screen)?.[0];
      expect(labDir).toBeDefined();
      expect(existsSync(labDir!)).toBe(false);
      const l = leftovers();
      expect([...l.cgroups, ...l.mounts, ...l.containers].filter((x) => x.includes(labDir!))).toEqual([]);
    },
    120000,
  );

  itRoot(
    'nsx check images: fails before an image is made, passes for a committed change one layer over its base',
    async () => {
      expect(findLesson('images').lesson.check).toBe(checkImages);
      const lab = await startLab({ registry: true });
      // Asynchronously: the lab's registry answers from this process's event loop.
      const nsx = async (...args: string[]) => {
        const r = await promisify(execFile)(process.execPath, [join(packageRoot(), 'bin', 'nsx.cjs'), ...args], {
          env: { ...process.env, ...lab.env },
        }).catch((e: { code?: number; stderr?: string }) => ({ stdout: '', failed: `${e.code}: ${e.stderr}` }));
        expect({ args, failed: (r as { failed?: string }).failed }).toEqual({ args, failed: undefined });
        return r.stdout;
      };
      try {
        const store = lab.vars.store;
        expect((await checkImages(store)).message).toMatch(/no image/);
        await nsx('pull', LAB_IMAGE);
        countOnlyStartedSince(Date.now());
        const before = await checkImages(store);
        expect(before.ok).toBe(false);
        expect(before.message).toMatch(/No image made since the task was shown/);
        await nsx('run', '-d', '--name', 'mine', LAB_IMAGE, 'sleep', '300');
        await nsx('exec', 'mine', 'touch', '/x');
        await nsx('commit', 'mine', 'localhost/changed');
        const after = await checkImages(store);
        expect(after.ok).toBe(true);
        expect(after.message).toMatch(
          /^localhost\/changed:latest has 2 layers: the 1 of 127\.0\.0\.1:\d+\/dockerinaction\/hello_world:latest and one more, sha256:/,
        );
      } finally {
        countOnlyStartedSince(undefined);
        await lab.teardown();
      }
      expect(existsSync(lab.vars.dir)).toBe(false);
    },
    120000,
  );
});
