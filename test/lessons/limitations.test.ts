// The limitations lesson end to end on the real kernel (--print): the three foreign executables
// refused with ENOEXEC (exit 255 and runc's words through nsx run), the host's kernel release inside,
// and every attempt at the host — module loading, the "host disk", open_by_handle_at, freezing a host
// process — refused in a default container, by the wall the lesson names, and done once the flag
// removes it. Afterwards, and after a Ctrl-C in the middle, nothing of the lab is left: its loop
// device, marker files, host sleep, cgroup, engine and directory. After a SIGKILL (no teardown runs)
// the kernel still detaches the loop device (autoclear) and kills the sleep (pdeathsig).
import { describe, expect } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import {
  binfmtHandlerFor,
  foreignArch,
  linuxElf,
  macosMachO,
  windowsPe,
} from '../../lessons/41-limitations/formats.js';
import { LAB_PREFIX, freezerFor } from '../../lessons/41-limitations/lab.js';
import { alive, until, useCheckEngine } from '../engine.js';
import { NSX, TEST_ROOTFS, itRoot } from '../helpers.js';
import { leftovers } from '../leaks.js';
import { playForTest, playTourUntil } from './play.js';
import { lessonInTerminal } from './terminal.js';

type Demo = Extract<PlayerEvent, { type: 'demo' }>;

function readIfThere(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
const demosOf = (events: PlayerEvent[]) => events.filter((e): e is Demo => e.type === 'demo');

/** The lab's facts, read back from the commands it filled in. */
function labOf(demos: Demo[]) {
  const rootfs = demos.find((d) => d.command[0] === 'nsx')!.command.find((w, i, a) => a[i - 1] === '--rootfs')!;
  const dir = rootfs.replace(/\/rootfs$/, '');
  const device = demos.find((d) => d.command[0] === 'losetup')?.command[1];
  const sleep = demos.find((d) => d.command.join(' ').includes('ps -o pid,stat,args -p'))?.command[2];
  const cgroupDir = /(\/\S+\/nsx-limits-[0-9a-f]+)\/(freezer\.state|cgroup\.freeze)/.exec(
    demos.map((d) => d.command.join(' ')).join('\n'),
  )?.[1];
  return {
    dir,
    device,
    sleep: sleep ? Number(/-p (\d+)/.exec(sleep)?.[1]) : undefined,
    cgroupDir,
  };
}

/** The loop devices whose backing file is below dir (the kernel's own list: /sys/block/loopN/loop/
 *  backing_file, there while the device is attached; Documentation/ABI/testing/sysfs-block-loop). */
function loopsBelow(dir: string): string[] {
  return readdirSync('/sys/block')
    .filter((d) => d.startsWith('loop'))
    .filter((d) => readIfThere(`/sys/block/${d}/loop/backing_file`).startsWith(`${dir}/`))
    .map((d) => `/dev/${d}`);
}

/** Nothing of the lab left on the host. */
async function expectGone(lab: ReturnType<typeof labOf>) {
  expect(existsSync(lab.dir)).toBe(false); // markers, disk image, root filesystem, engine state
  if (lab.device) expect(await until(() => loopsBelow(lab.dir).length === 0, 3000)).toBe(true);
  if (lab.device) expect(spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout).not.toContain(lab.dir);
  if (lab.sleep) expect(await until(() => !alive(lab.sleep!), 5000)).toBe(true);
  if (lab.cgroupDir) expect(existsSync(lab.cgroupDir)).toBe(false);
  const l = leftovers();
  expect([...l.cgroups, ...l.mounts, ...l.containers].filter((s) => s.includes(lab.dir))).toEqual([]);
}

describe('lesson: limitations', () => {
  itRoot(
    'foreign programs get ENOEXEC; every escape fails by default and works without its wall; nothing is left',
    async () => {
      const p = await playForTest('limitations');
      expect(p.completed).toBe(true);
      const demos = demosOf(p.events);
      const by = (stop: string, words: string) =>
        demos.filter((d) => d.after === stop && d.command.join(' ').includes(words));
      const foreign = foreignArch();

      // Only Linux programs, for this machine: exit 255 and runc's words; ENOEXEC from execve itself.
      const [exe] = by('formats', '/hello.exe');
      if (!binfmtHandlerFor(windowsPe()))
        expect([exe.status, exe.output.trim()]).toEqual([255, 'exec /hello.exe: exec format error']);
      // Each ENOEXEC, unless this machine's binfmt_misc has a handler that takes it (qemu-user, Wine).
      const probed = by('formats', 'limits-probe exec')[0].output.trim().split('\n');
      const files: [string, Buffer][] = [
        ['/hello.exe', windowsPe()],
        ['/hello-macos', macosMachO()],
        [`/hello-${foreign.name}`, linuxElf(foreign.machine)],
      ];
      expect(probed).toEqual(
        files.map(([name, bytes]) =>
          binfmtHandlerFor(bytes)
            ? expect.stringMatching(new RegExp(`^${name}: ran`))
            : `${name}: ENOEXEC (Exec format error)`,
        ),
      );

      // One kernel: the same release; modules refused by seccomp, then by the capability (or absent).
      const [hostRelease, inside] = demos.filter((d) => d.command.includes('uname')).map((d) => d.output.trim());
      expect(inside).toBe(hostRelease);
      const modules = existsSync('/proc/modules');
      const [modDefault, modUnconfined, modPrivileged] = by('kernel', 'limits-probe module').map((d) =>
        d.output.trim(),
      );
      expect(modDefault).toBe('init_module: EPERM\nfinit_module: EPERM');
      expect(modUnconfined).toBe(
        modules ? 'init_module: EPERM\nfinit_module: EPERM' : 'init_module: ENOSYS\nfinit_module: ENOSYS',
      );
      // Past seccomp and CAP_SYS_MODULE the loader judges the bytes (ENOEXEC...), but a kernel locked
      // down (kernel_lockdown(7)) refuses an unsigned module with EPERM first.
      const locked = /\[(integrity|confidentiality)\]/.test(readIfThere('/sys/kernel/security/lockdown'));
      for (const line of modPrivileged.split('\n'))
        expect(line).toMatch(
          locked ? /^(init|finit)_module: E[A-Z]+$/ : /^(init|finit)_module: E(?!PERM|ACCES)[A-Z]+$/,
        );

      // The host disk: the device cgroup refuses the open; --privileged reads the marker and writes.
      const [diskDefault, diskPrivileged] = by('disk', 'mknod /dev/hostdisk').map((d) => d.output.trim().split('\n'));
      expect(diskDefault[0]).toBe('mknod: ok');
      expect(diskDefault[1]).toMatch(/^read: .*Operation not permitted$/);
      expect(diskDefault[2]).toMatch(/^write: .*Operation not permitted$/);
      expect(diskPrivileged).toEqual([
        'mknod: ok',
        expect.stringMatching(/^read: nsx-limits-disk [0-9a-f]{8}: the host's data$/),
        'write: ok',
      ]);
      expect(by('disk', 'skip=1')[0].output.trim()).toBe('written by a container');

      // The host's file by handle: seccomp, then CAP_DAC_READ_SEARCH; --privileged reads it.
      const marker = demos.find((d) => d.after === 'files' && d.command[0] === 'cat')!.output.trim();
      expect(marker).toMatch(/^nsx-limits-[0-9a-f]{8}: a file of the host/);
      const shocker = by('files', 'limits-probe shocker').map((d) => d.output.trim());
      expect(shocker.slice(0, 2)).toEqual(['open_by_handle_at: EPERM', 'open_by_handle_at: EPERM']);
      expect(shocker[2]).toMatch(/^open_by_handle_at: ok; \S+nsx-limits-secret\.txt says: /);
      expect(shocker[2].replace(/\n\s*/g, '')).toContain(marker);

      // The host process: no mount by default; --privileged mounts but its cgroup namespace hides the
      // host's cgroups; with --cgroupns host it freezes the sleep, which the host then sees frozen.
      const freeze = by('process', 'mount -t').map((d) => d.output.trim());
      expect(freeze[0]).toMatch(/mount: permission denied/);
      expect(freeze[1]).toMatch(/^mounted; the lab's cgroup: ls: .*No such file or directory$/);
      expect(freeze[2]).toMatch(/^mounted; the lab's cgroup: \/tmp\/cg\/nsx-limits-[0-9a-f]+\nfroze nsx-limits-/);
      const frozen = demos.filter((d) => d.after === 'process' && d.command.join(' ').includes('ps -o'))[1].output;
      expect(frozen).toMatch(/^(FROZEN|.*frozen 1)$/m);

      await expectGone(labOf(demos));
      expect(p.transcript).toContain('Rule: a container runs only what the host');
    },
    240000,
  );

  itRoot(
    'Ctrl-C in the middle (the disk attached, the sleep running): the lab is gone all the same',
    async () => {
      const r = await playTourUntil('limitations', (e) => e.type === 'demo' && e.command[0] === 'losetup');
      const events = r.events;
      expect([r.completed, r.exitCode]).toEqual([false, 130]);
      const demos = demosOf(events);
      expect(demos.at(-1)!.command[0]).toBe('losetup'); // nothing ran after Ctrl-C
      // The sleep and its cgroup were made by the lab's setup: find them by the lab's name.
      const lab = labOf(demos);
      const removed = events.find((e) => e.type === 'lab-removed');
      const said = removed && 'removed' in removed ? removed.removed.join('\n') : '';
      expect(said).toMatch(/killed the host's sleep \(pid \d+\)/);
      expect(said).toMatch(/removed the cgroup \S+nsx-limits-[0-9a-f]+/);
      expect(said).toContain(`detached ${lab.device}`);
      await expectGone({
        ...lab,
        sleep: Number(/sleep \(pid (\d+)\)/.exec(said)![1]),
        cgroupDir: /removed the cgroup (\S+)/.exec(said)![1],
      });
    },
    240000,
  );

  /** What the cleanup lines of a transcript or screen name: the lab, the sleep, its cgroup, the loop device. */
  function cleanedUp(text: string) {
    const flat = text.replace(/\n\s*/g, ' ');
    const dir = /removed (\/tmp\/nsx-lab-[A-Za-z0-9]+)/.exec(flat)?.[1];
    const sleep = /killed the host's sleep \(pid (\d+)\)/.exec(flat)?.[1];
    const cgroupDir = /removed the cgroup (\S+nsx-limits-[0-9a-f]+)/.exec(flat)?.[1];
    const device = /detached (\/dev\/loop\d+)/.exec(flat)?.[1];
    expect([dir, sleep, cgroupDir, device]).toEqual([
      expect.any(String),
      expect.any(String),
      expect.any(String),
      expect.any(String),
    ]);
    return { dir: dir!, sleep: Number(sleep), cgroupDir, device };
  }

  itRoot(
    'in a terminal: Enter runs a stop, q at the next prompt stops and removes the whole lab',
    async () => {
      const term = lessonInTerminal('limitations', 60000);
      const { waitFor, atTourPrompt } = term;
      try {
        await waitFor('[1/5]');
        await atTourPrompt('\r');
        await waitFor('exec /hello.exe: exec format error');
        await waitFor('[2/5]');
        await atTourPrompt('q');
        await waitFor('Stopped.');
        await term.exited;
      } finally {
        term.close();
      }
      await expectGone(cleanedUp(term.screen));
    },
    120000,
  );

  itRoot(
    'nsx lesson limitations --print and SIGINT to its process group during the disk stop: nothing left',
    async () => {
      const { child, progress, output, exited } = printedLesson('limits');
      try {
        expect(await until(() => output().includes('host$ losetup'), 90000)).toBe(true);
        process.kill(-child.pid!, 'SIGINT');
        expect((await exited).code).toBe(130);
        await expectGone(cleanedUp(output()));
      } finally {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        rmSync(progress, { force: true });
      }
    },
    120000,
  );

  itRoot(
    'nsx lesson limitations --print SIGKILLed during the disk stop: the kernel detaches the loop device',
    async () => {
      const { child, progress, output, exited } = printedLesson('limits-kill');
      let dir: string | undefined;
      try {
        expect(await until(() => /host\$ losetup \/dev\/loop\d+\n/.test(output()), 90000)).toBe(true);
        const out = output();
        dir = /(\/tmp\/nsx-lab-[A-Za-z0-9]+)\/rootfs/.exec(out)![1];
        const device = /host\$ losetup (\/dev\/loop\d+)/.exec(out)![1];
        expect(loopsBelow(dir)).toEqual([device]); // attached, over the lab's disk.img, before the kill
        process.kill(child.pid!, 'SIGKILL'); // the lesson's process only: no teardown, no handler runs
        expect((await exited).signal).toBe('SIGKILL');
        expect(await until(() => loopsBelow(dir!).length === 0, 3000)).toBe(true);
        expect(spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout).not.toContain(dir);
      } finally {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        rmSync(progress, { force: true });
        if (dir) await removeKilledLab(dir);
      }
    },
    120000,
  );

  /** `nsx lesson limitations --print` in a process group of its own, its output gathered as it comes. */
  function printedLesson(name: string) {
    const progress = join(tmpdir(), `nsx-progress-${name}-${process.pid}.json`);
    const child = spawn(process.execPath, [NSX, 'lesson', 'limitations', '--print'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, NSX_PROGRESS: progress },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.on('close', (code, signal) => r({ code, signal })),
    );
    return { child, progress, output: () => out, exited };
  }

  /** What a SIGKILLed lesson leaves besides the loop device (no teardown ran): the lab's engine (a
   *  daemon of its own; SIGTERM stops its containers), the sleep's cgroup, the directory. The loop
   *  device too, if the test failed. */
  async function removeKilledLab(dir: string) {
    for (const device of loopsBelow(dir)) spawnSync('losetup', ['-d', device]); // only if the test failed
    const engine = Number(readIfThere(join(dir, 'engine', 'nsxd.pid')).trim());
    if (engine > 0 && alive(engine)) {
      process.kill(engine, 'SIGTERM');
      expect(await until(() => !alive(engine), 20000)).toBe(true);
    }
    // The cgroup's name: the tag the lab wrote in the disk's marker ("nsx-limits-disk TAG: ...").
    const tag = /^nsx-limits-disk ([0-9a-f]+):/.exec(readIfThere(join(dir, 'disk.img')))?.[1];
    const cgroupDir = tag ? freezerFor(`${LAB_PREFIX}${tag}`)?.hostDir : undefined;
    if (cgroupDir)
      await until(() => {
        try {
          rmdirSync(cgroupDir); // EBUSY until the sleep, killed by its pdeathsig, has left it
        } catch {
          /* not yet, or gone */
        }
        return !existsSync(cgroupDir);
      }, 5000);
    rmSync(dir, { recursive: true, force: true });
    await expectGone({ dir, device: undefined, sleep: undefined, cgroupDir });
  }

  describe('nsx check limitations', () => {
    const engine = useCheckEngine();

    itRoot(
      'fails with no such container; passes once a container ended with "exec format error"',
      async () => {
        const { check } = findLesson('limitations').lesson;
        expect((await check()).message).toMatch(/No engine answers/);
        await engine.start();
        const rootfs = mkdtempSync(join(tmpdir(), 'nsx-limits-check-'));
        try {
          cpSync(TEST_ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
          await engine.run(rootfs, ['/bin/sh', '-c', 'exit 126'], 'notthis');
          await until(() => false, 500);
          const none = await check();
          expect(none.ok).toBe(false);
          expect(none.message).toMatch(/notthis ended with 126/);
          writeFileSync(join(rootfs, 'app.exe'), Buffer.from('MZ\x90\x00', 'latin1'));
          chmodSync(join(rootfs, 'app.exe'), 0o755);
          await engine.run(rootfs, ['/app.exe'], 'windows');
          let r = await check();
          for (let i = 0; i < 50 && !r.ok; i++) r = (await until(() => false, 100), await check());
          expect(r).toEqual({
            ok: true,
            message:
              'windows ran /app.exe, and the kernel refused it: "exec format error" (ENOEXEC), exit 255. No loader for that format on this machine\'s one kernel.',
          });
        } finally {
          rmSync(rootfs, { recursive: true, force: true });
        }
      },
      60000,
    );
  });
});

// The same bytes the lab writes: read back, they are what the lesson says they are.
describe('lesson: limitations, its foreign files', () => {
  itRoot('the foreign ELF is for the other architecture (e_machine)', () => {
    const f = foreignArch();
    expect(linuxElf(f.machine).readUInt16LE(18)).toBe(process.arch === 'arm64' ? 62 : 183);
    expect(readFileSync('/proc/self/exe').readUInt16LE(18)).not.toBe(f.machine);
  });
});
