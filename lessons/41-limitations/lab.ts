// The limitations lesson's lab: on top of a private engine (../engine-lab.ts), everything its
// attempts aim at, all of it harmless and undone by the teardown however the lesson ends:
//   - a root filesystem of its own (a copy of the sandbox's busybox) holding three foreign
//     executables (formats.ts) and limits-probe (probe.c, built here with cc -static);
//   - a "host disk": a 1 MiB file with a marker in its first block, attached to a loop device that
//     this process holds open, marked to detach at its last close (so even a SIGKILL leaves none);
//   - a marker file of the host, outside every container's root, and the file handle of the top
//     directory of its filesystem (name_to_handle_at(2)), for open_by_handle_at;
//   - a host process: `sleep` in a cgroup of its own, in the freezer hierarchy (cgroup v1) or in the
//     unified hierarchy (v2's cgroup.freeze).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { processRuns } from '../../src/learn/kernel.js';
import type { TourLab } from '../../src/learn/lesson.js';
import { sandboxRootfs } from '../../src/learn/sandbox.js';
import { NsxError } from '../../src/runtime/errors.js';
import { detectLayout } from '../../src/runtime/cgroups/index.js';
import { packageRoot } from '../../src/paths.js';
import { startLab } from '../engine-lab.js';
import { binfmtHandlerFor, foreignArch, linuxElf, macosMachO, windowsPe } from './formats.js';

/** Every name the lab gives the host (its cgroup, its marker file) starts with this. */
export const LAB_PREFIX = 'nsx-limits-';

/** How the lab's host process is frozen: the hierarchy a container mounts, the file it writes. */
export interface Freezer {
  /** The mount inside the container: "-t cgroup -o freezer" (v1) or "-t cgroup2" (v2). */
  mount: string;
  /** The cgroup's directory on the host. */
  hostDir: string;
  /** The file and the values that freeze and thaw it. */
  file: 'freezer.state' | 'cgroup.freeze';
  freeze: string;
  thaw: string;
  /** The file that says whether it is frozen now. */
  stateFile: 'freezer.state' | 'cgroup.events';
}

/** Where the host's freezer is: the v1 freezer hierarchy if mounted, else the unified hierarchy (its
 *  cgroup.freeze: Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"). */
export function freezerFor(name: string): Freezer | undefined {
  const layout = detectLayout();
  if (layout.v1.freezer)
    return {
      mount: '-t cgroup -o freezer',
      hostDir: join(layout.v1.freezer, name),
      file: 'freezer.state',
      freeze: 'FROZEN',
      thaw: 'THAWED',
      stateFile: 'freezer.state',
    };
  if (layout.unified)
    return {
      mount: '-t cgroup2',
      hostDir: join(layout.unified, name),
      file: 'cgroup.freeze',
      freeze: '1',
      thaw: '0',
      stateFile: 'cgroup.events',
    };
  return undefined;
}

function run(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new NsxError(`${argv.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`, {
      hint:
        argv[0] === 'cc'
          ? 'install a C compiler and a static C library: sudo apt-get install build-essential'
          : undefined,
    });
  return r.stdout;
}

/** The top directory of the filesystem that holds path (where st_dev changes going up). */
function filesystemTop(path: string): string {
  let dir = path;
  const dev = statSync(path).dev;
  while (dirname(dir) !== dir && statSync(dirname(dir)).dev === dev) dir = dirname(dir);
  return dir;
}

export async function startLimitsLab(): Promise<TourLab> {
  const busybox = sandboxRootfs(); // before the lab: if it cannot be built, there is nothing to undo
  const lab = await startLab({ registry: false });
  const dir = lab.vars.dir;
  const tag = randomBytes(4).toString('hex');
  let device: string | undefined;
  let holder: number | undefined; // this process's fd on the device: its last holder
  let sleeper: number | undefined;
  let freezer: Freezer | undefined;

  const teardown = async (): Promise<string[]> => {
    const removed: string[] = [];
    if (sleeper !== undefined) {
      if (freezer && existsSync(freezer.hostDir)) {
        try {
          writeFileSync(join(freezer.hostDir, freezer.file), freezer.thaw); // a frozen task dies only once thawed
        } catch {
          /* gone already */
        }
      }
      try {
        process.kill(sleeper, 'SIGKILL');
      } catch {
        /* gone already */
      }
      for (let i = 0; i < 50 && processRuns(sleeper); i++) await new Promise((r) => setTimeout(r, 100));
      removed.push(`killed the host's sleep (pid ${sleeper})`);
      sleeper = undefined;
    }
    if (freezer && existsSync(freezer.hostDir)) {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(freezer.hostDir);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100)); // EBUSY until the killed sleep has left it
        }
      }
      removed.push(`removed the cgroup ${freezer.hostDir}`);
    }
    if (device) {
      // While the fd is open the device is still the lab's (no one else can have been given its
      // number): LOOP_CLR_FD then only marks it for autoclear, and the close below detaches it.
      spawnSync('losetup', ['-d', device]);
      if (holder !== undefined) closeSync(holder);
      holder = undefined;
      removed.push(`detached ${device}`);
      device = undefined;
    }
    return [...removed, ...(await lab.teardown())];
  };

  try {
    // The root filesystem: busybox, the three foreign executables, the probe.
    const rootfs = join(dir, 'rootfs');
    run(['cp', '-a', busybox, rootfs]);
    const foreign = foreignArch();
    const files: [string, Buffer][] = [
      ['hello.exe', windowsPe()],
      ['hello-macos', macosMachO()],
      [`hello-${foreign.name}`, linuxElf(foreign.machine)],
    ];
    for (const [name, bytes] of files) writeFileSync(join(rootfs, name), bytes, { mode: 0o755 });
    const probe = join(rootfs, 'limits-probe');
    run(['cc', '-static', '-O2', '-o', probe, join(packageRoot(), 'lessons', '41-limitations', 'probe.c')]);
    const handler = binfmtHandlerFor(linuxElf(foreign.machine));

    // The host's marker file, and the handle of the top of its filesystem.
    const secret = join(dir, `${LAB_PREFIX}secret.txt`);
    writeFileSync(secret, `${LAB_PREFIX}${tag}: a file of the host, outside every container's root\n`);
    chmodSync(secret, 0o600);
    const top = filesystemTop(dir);
    const handle = run([probe, 'handle', top]).trim();

    // The "host disk".
    const image = join(dir, 'disk.img');
    const disk = Buffer.alloc(1024 * 1024);
    disk.write(`${LAB_PREFIX}disk ${tag}: the host's data\n`, 0, 'latin1');
    writeFileSync(image, disk);
    device = run(['losetup', '-f', '--show', image]).trim();
    // A SIGKILL runs no teardown: the kernel must detach the device itself. LO_FLAGS_AUTOCLEAR does,
    // at the device's last close (loop(4); drivers/block/loop.c, lo_release), so this process holds
    // it open (O_CLOEXEC: no child inherits it) and the probe sets the flag; when this process dies,
    // however it dies, its close is the last one and the device is detached. (A container that opens
    // the device holds it only as long as its command runs.) Only a kill between losetup and the
    // probe, a few milliseconds, could still leave it attached.
    holder = openSync(device, 'r');
    run([probe, 'autoclear', device]);
    const rdev = statSync(device).rdev;
    const major = Math.floor(rdev / 256) & 0xfff;
    const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);

    // The host process, in a cgroup of its own.
    const cgroup = `${LAB_PREFIX}${tag}`;
    freezer = freezerFor(cgroup);
    if (!freezer) throw new NsxError('no freezer: neither a v1 freezer hierarchy nor a cgroup v2 one is mounted');
    mkdirSync(freezer.hostDir);
    // setpriv(1) --pdeathsig: the kernel kills the sleep when this process dies, even by SIGKILL
    // (prctl(2) PR_SET_PDEATHSIG, kept across its execve of sleep), so no kill of nsx leaves it behind.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'sleep', '3600'], { detached: true, stdio: 'ignore' });
    child.unref();
    sleeper = child.pid!;
    writeFileSync(join(freezer.hostDir, 'cgroup.procs'), String(sleeper));

    lab.vars = {
      ...lab.vars,
      rootfs,
      foreign: `hello-${foreign.name}`,
      foreignArch: foreign.name,
      binfmt: handler ? `${handler.name} (${handler.interpreter})` : 'none',
      secret,
      secretFromTop: relative(top, secret),
      handle,
      image,
      device,
      major: String(major),
      minor: String(minor),
      sleep: String(sleeper),
      cgroup,
      freezeMount: freezer.mount,
      freezeFile: freezer.file,
      freeze: freezer.freeze,
      thaw: freezer.thaw,
      cgroupDir: freezer.hostDir,
      stateFile: freezer.stateFile,
    };
    return { ...lab, teardown };
  } catch (e) {
    await teardown();
    throw e;
  }
}
