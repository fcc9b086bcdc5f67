// The vm-vs-container lesson end to end on the real kernel: a real VM booted by qemu (where qemu and
// a kernel image are installed: otherwise that half is skipped, and the lesson and this test say
// why) and a real container answer the same script; the container's kernel is the host's (its
// release and boot id), the VM's is another (its boot id); the measured numbers are shown; nothing
// of the lab is left, also when the VM's command is killed mid-boot. One VM boot in this file.
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { findLesson } from '../../src/learn/course.js';
import { countOnlyStartedSince } from '../../src/learn/kernel.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { startVmLab } from '../../lessons/03-vm-vs-container/lab.js';
import { emulator, kernelImage } from '../../lessons/03-vm-vs-container/machine.js';
import { NSX, TEST_ROOTFS, itRoot } from '../helpers.js';
import { sleep, waitFor } from '../live.js';
import { playForTest } from './play.js';
import { lessonInTerminal } from './terminal.js';

type Demo = Extract<PlayerEvent, { type: 'demo' }>;

const HOST_BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const emu = emulator();
const kernel = kernelImage();
/** Why this machine boots no VM (then the VM half is checked to say so), or undefined. */
const noVm = !emu.ok ? emu.why : !kernel.ok ? kernel.why : undefined;
if (noVm) console.log(`vm-vs-container: the VM half is skipped here: ${noVm}`);

/** Processes whose command line names path (the lab's qemu, nsx runtime run, vm-lab). */
function processesNaming(path: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Gone, or a zombie: its parent killed, it waits for whoever reaps orphans here. */
const gone = (pid: number) =>
  !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

const factOf = (output: string, key: string) => new RegExp(`\\] ${key}: (.*)$`, 'm').exec(output)?.[1];

describe('lesson: vm-vs-container', () => {
  itRoot(
    "boots a VM and runs a container on the same script: the VM's kernel is another, the container's the host's",
    async () => {
      const p = await playForTest('vm-vs-container');
      expect(p.completed).toBe(true);
      const demos = p.events.filter((e): e is Demo => e.type === 'demo');
      const by = (cmd: string) => demos.find((d) => d.command.join(' ').startsWith(cmd))!;

      // The host's own answers: this kernel.
      const host = by('sh /').output;
      expect(host).toContain(`kernel release: ${release()}\n`);
      expect(host).toContain(`boot id: ${HOST_BOOT_ID}\n`);
      const lab = /\/tmp\/nsx-vm-[A-Za-z0-9]+/.exec(by('sh /').command[1])![0];

      // The container: the host's kernel answers; its cgroup's peak, read from the host.
      const c = by('vm-lab container');
      expect(c.status).toBe(0);
      expect(c.output).toContain(`$ nsx runtime run -m 256m --network none --rootfs ${lab}/rootfs /bin/sh -c`);
      expect(factOf(c.output, 'kernel release')).toBe(release());
      expect(factOf(c.output, 'boot id')).toBe(HOST_BOOT_ID);
      expect(c.output).toMatch(/^first output after \d+\.\d\d s$/m);
      const peak = /its cgroup's memory peaked at ([\d.]+) MiB, limit 256\.0 MiB; read from the host in (\S+)\n/.exec(
        c.output,
      );
      expect(peak).not.toBeNull();
      expect(Number(peak![1])).toBeGreaterThan(0);
      expect(peak![2]).toMatch(/\/nsx\/[0-9a-f]{64}\/memory\.(peak|max_usage_in_bytes)$/);
      expect(existsSync(peak![2])).toBe(false); // the container's cgroup went with it

      // The VM: another kernel (its boot id), qemu's board and CPU, the RAM it was given; or why not.
      const vm = by('vm-lab vm');
      const compare = by('vm-lab compare').output;
      if (noVm) {
        expect(vm.output).toContain(`(no VM booted: ${noVm}`);
        expect(compare).toContain(`No VM here: ${noVm}.`);
        expect(compare).toMatch(/^kernels that answered \(distinct boot ids\)\n {2}1: the host's/m);
      } else {
        expect(vm.status).toBe(0);
        expect(vm.output).toMatch(/^accelerator: (KVM first|TCG \(software emulation\): )/m);
        expect(vm.output).toContain(`-kernel ${kernel.ok && kernel.path} -initrd ${lab}/initramfs.cpio.gz`);
        const vmBoot = factOf(vm.output, 'boot id');
        expect(vmBoot).toMatch(/^[0-9a-f-]{36}$/);
        expect(vmBoot).not.toBe(HOST_BOOT_ID);
        expect(factOf(vm.output, 'kernel release')).toBe(kernel.ok && kernel.release);
        const memory = Number(/^(\d+) kB$/.exec(factOf(vm.output, 'memory seen') ?? '')?.[1]);
        expect(memory).toBeGreaterThan(100 * 1024);
        expect(memory).toBeLessThanOrEqual(256 * 1024);
        expect(factOf(vm.output, 'machine')).toMatch(/^QEMU /);
        expect(vm.output).toMatch(/\] qemu exited: the VM powered itself off\n/);
        expect(vm.output).toMatch(/^first output after \d+\.\d\d s, under (KVM|TCG)$/m);
        expect(vm.output).toMatch(/^qemu's resident set peaked at [\d.]+ MiB \(VmHWM\) for a VM given 256 MiB$/m);
        expect(compare).toMatch(/^time to first output \(from the command's start, this run\)\n {2}VM +\d+\.\d\d s/m);
        expect(compare).toContain(`  VM         ${vmBoot}  (another boot: another kernel)`);
        expect(compare).toMatch(/^kernels that answered \(distinct boot ids\)\n {2}2: the host's/m);
      }
      expect(compare).toContain(`  container  ${HOST_BOOT_ID}  (the host's: the same kernel answered)`);
      expect(compare).toMatch(/^ {2}container {2}its cgroup's peak [\d.]+ MiB {2}\(limit 256\.0 MiB\)$/m);

      // Nothing left: no lab directory, no process of the lab (qemu, nsx), no mount under it.
      expect(existsSync(lab)).toBe(false);
      expect(processesNaming(lab)).toEqual([]);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(lab);
    },
    300_000,
  );

  (noVm ? itRoot.skip : itRoot)(
    `the teardown ends a VM whose command was killed mid-boot${noVm ? ` [skipped: ${noVm}]` : ''}`,
    async () => {
      const lab = await startVmLab();
      const dir = lab.vars.dir;
      const helper = spawn('vm-lab', ['vm'], { env: { ...process.env, ...lab.env }, stdio: 'ignore' });
      try {
        await waitFor(() => existsSync(join(dir, 'qemu.pid')), 20000);
        const qemu = Number(readFileSync(join(dir, 'qemu.pid'), 'utf8'));
        expect(readFileSync(`/proc/${qemu}/cmdline`, 'utf8')).toMatch(/^qemu-system-/);
        helper.kill('SIGKILL'); // as the tour's abort does (q, Ctrl-C): the helper cannot end qemu
        await sleep(200);
        expect(gone(qemu)).toBe(false);
        const removed = await lab.teardown();
        expect(removed[0]).toMatch(/^ended qemu-system-\S+ \(pid \d+\), left running by the lesson's command$/);
        expect(gone(qemu)).toBe(true);
        expect(existsSync(dir)).toBe(false);
      } finally {
        helper.kill('SIGKILL');
        await lab.teardown();
      }
    },
    60_000,
  );

  // In a terminal, Ctrl-C reaches the foreground process group: nsx and vm-lab (which ends qemu's
  // group), and nsx tears the lab down. A boot cut short, not a second one.
  (noVm ? itRoot.skip : itRoot)(
    `in a terminal, Ctrl-C while the VM boots leaves no qemu and no lab${noVm ? ` [skipped: ${noVm}]` : ''}`,
    async () => {
      const term = lessonInTerminal('vm-vs-container', 30000);
      const { waitFor, key } = term;
      let lab = '';
      try {
        for (const stop of ['[1/6]', '[2/6]', '[3/6]']) {
          await waitFor(stop);
          await waitFor('⏎ run');
          key('\r');
        }
        // The stops' output shows when each command ends: the lab's directory is in the first's.
        lab = /\/tmp\/nsx-vm-[A-Za-z0-9]+/.exec(term.screen)![0];
        for (let i = 0; i < 300 && !existsSync(join(lab, 'qemu.pid')); i++) await sleep(100);
        const qemu = Number(readFileSync(join(lab, 'qemu.pid'), 'utf8'));
        expect(gone(qemu)).toBe(false);
        const t0 = Date.now();
        key('\x03');
        expect(await term.exited).toBe(130);
        // At once, not when the boot would have ended: the VM's command was stopped, not waited for.
        expect(Date.now() - t0).toBeLessThan(20000);
        expect(term.screen).not.toContain('the VM powered itself off');
        expect(term.screen).toContain(`removed ${lab}`);
        expect(gone(qemu)).toBe(true);
        expect(existsSync(lab)).toBe(false);
        expect(processesNaming(lab)).toEqual([]);
      } finally {
        term.close();
      }
    },
    120_000,
  );

  describe('nsx check vm-vs-container', () => {
    const started: ChildProcess[] = [];
    afterEach(async () => {
      for (const c of started.splice(0)) c.kill('SIGTERM');
      await sleep(500);
      countOnlyStartedSince(undefined);
    });

    // The check reads only host state, so the VM here is a qemu stopped before its first instruction
    // (-S): a real VM process, no second boot.
    (!emu.ok ? itRoot.skip : itRoot)(
      `fails until a VM and a container of the learner's run side by side${!emu.ok ? ` [skipped: ${emu.ok || emu.why}]` : ''}`,
      async () => {
        const { check } = findLesson('vm-vs-container').lesson;
        countOnlyStartedSince(Date.now());
        // A process's start is known to the clock tick after the boot time's whole second (proc(5),
        // btime and starttime): one started within the same second could count as started before.
        await sleep(1100);
        // Other containers started meanwhile (another test's) may count: only a VM is certain to be absent.
        expect((await check()).message).toMatch(/^(Neither a VM|A container runs .* but no VM beside it yet)/);
        const program = emu.ok ? emu.program : '';
        const vm = spawn(program, ['-S', '-m', '64', '-nodefaults', '-display', 'none', '-nic', 'none'], {
          stdio: 'ignore',
        });
        started.push(vm);
        await waitFor(() => existsSync(`/proc/${vm.pid}/comm`));
        let r = await check();
        for (let i = 0; i < 50 && !r.message.includes(`process ${vm.pid}`); i++) r = await sleep(100).then(check);
        if (!r.ok)
          expect(r.message).toBe(
            `A VM runs (qemu, process ${vm.pid}), but no container of yours beside it yet: start one whose program lasts.`,
          );
        const ctr = spawn(process.execPath, [NSX, 'runtime', 'run', '--rootfs', TEST_ROOTFS, 'sleep', '60'], {
          stdio: 'ignore',
        });
        started.push(ctr);
        for (let i = 0; i < 100 && !r.ok; i++) r = await sleep(100).then(check);
        expect(r.ok).toBe(true);
        expect(r.message).toMatch(
          new RegExp(
            `^Side by side, seen from the host: the container's \\S+ is host process \\d+, scheduled by the host's kernel like any other( \\(its cgroup: \\d+\\.\\d MiB in use\\))?; the VM is qemu, process ${vm.pid}: \\d+ threads and \\d+ MiB resident of -m 64, and none of the programs its kernel runs is in the host's process table\\. Two kernels run your programs now\\.$`,
          ),
        );
      },
      60_000,
    );
  });
});
