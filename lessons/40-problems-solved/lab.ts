// The problems-solved lab: engine-lab.ts's private engine and store, plus a writable registry on
// loopback serving every sandbox image (sandbox/images/, built here offline), an OCI layout of
// nsx-sandbox/server:1 for the portability stop, `lab-tool` (tools.ts) on PATH, and a "host victim"
// process for the containment stop. The teardown also purges the lab's Debian package (the removal
// stop installs it) and runc's state, whichever stop the lesson ended at.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAll, writeLayout } from '../../src/image/build.js';
import type { TourLab } from '../../src/learn/lesson.js';
import { packageRoot } from '../../src/paths.js';
import { startLab } from '../engine-lab.js';
import { serveWritable } from './registry.js';

/** The Debian package the removal stop builds, installs and removes. */
export const LAB_PACKAGE = 'nsx-lab-demo';
/** runc's container name in the portability stop. */
export const RUNC_NAME = 'nsx-lab-portable';

/** Whether the lab's package is known to dpkg (installed, or its conffiles left). */
export function packageKnown(): boolean {
  return spawnSync('dpkg', ['-s', LAB_PACKAGE], { stdio: 'ignore' }).status === 0;
}

export async function startProblemsLab(): Promise<TourLab> {
  const base = await startLab({ registry: false });
  const dir = base.vars.dir;
  let close: (() => Promise<void>) | undefined;
  let victim: number | undefined;
  const teardown = async (): Promise<string[]> => {
    const removed: string[] = [];
    if (victim) {
      try {
        process.kill(victim, 'SIGKILL');
        removed.push(`stopped the host's "victim" process (pid ${victim})`);
      } catch {
        /* gone */
      }
      victim = undefined;
    }
    const runcRoot = join(dir, 'runc');
    if (spawnSync('runc', ['--root', runcRoot, 'state', RUNC_NAME], { stdio: 'ignore' }).status === 0) {
      spawnSync('runc', ['--root', runcRoot, 'delete', '--force', RUNC_NAME], { stdio: 'ignore' });
      removed.push(`deleted runc's container ${RUNC_NAME}`);
    }
    if (packageKnown()) {
      spawnSync('dpkg', ['--purge', LAB_PACKAGE], { stdio: 'ignore' });
      removed.push(`purged the package ${LAB_PACKAGE} (dpkg --purge)`);
    }
    if (close) {
      await close();
      close = undefined;
      removed.push("stopped the lab's registry");
    }
    return [...removed, ...(await base.teardown())];
  };
  try {
    const images = await buildAll(join(packageRoot(), 'sandbox', 'images', 'images.json'));
    const log = join(dir, 'registry.log');
    writeFileSync(log, '');
    // stable: a tag that starts on version 1; the consistency stop moves it to version 2 by a push.
    const registry = await serveWritable(images, log, { 'nsx-sandbox/server:stable': 'nsx-sandbox/server:1' });
    close = registry.close;
    const config = join(dir, 'registries.json');
    writeFileSync(config, JSON.stringify({ unqualifiedSearchRegistries: [registry.host] }) + '\n');
    const server1 = images.find((i) => i.ref === 'docker.io/nsx-sandbox/server:1');
    if (!server1) throw new Error('sandbox/images/images.json has no nsx-sandbox/server:1');
    const layout = join(dir, 'oci', 'server-1');
    mkdirSync(join(dir, 'oci'));
    writeLayout(layout, server1);
    const tool = join(packageRoot(), 'dist', 'lessons', '40-problems-solved', 'tools.js');
    writeFileSync(join(dir, 'bin', 'lab-tool'), `#!/bin/sh\nexec '${process.execPath}' '${tool}' "$@"\n`, {
      mode: 0o755,
    });
    const sleeper = spawn('sleep', ['3600'], { stdio: 'ignore', detached: true });
    sleeper.unref();
    victim = sleeper.pid;
    return {
      vars: {
        ...base.vars,
        registry: registry.host,
        registryLog: log,
        layout,
        victim: String(victim),
        hostroot: join(dir, 'hostroot'),
        layers: join(packageRoot(), 'sandbox', 'images', 'layers'),
        pkg: join(dir, 'pkg'),
        runc: join(dir, 'runc'),
        bundle: join(dir, 'bundle'),
      },
      env: { ...base.env, NSX_REGISTRIES_CONFIG: config },
      teardown,
    };
  } catch (e) {
    await teardown();
    throw e;
  }
}
