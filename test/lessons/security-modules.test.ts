// The security-modules lesson end to end on the real kernel: Landlock's EACCES for root with
// CAP_DAC_OVERRIDE inside the container, the device cgroup refusing an open while mknod works, the
// AppArmor parts run where AppArmor is enabled and skipped with their reason where it is not; then
// its check before and after a solution, and nothing left behind (no lab profile, no lab files).
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { findLesson, textOf } from '../../src/learn/course.js';
import { countOnlyStartedSince } from '../../src/learn/kernel.js';
import { playLesson, type PlayerEvent } from '../../src/learn/player.js';
import { makeUI } from '../../src/learn/ui.js';
import { apparmorEnabled, loadedProfiles } from '../../src/runtime/lsm/apparmor.js';
import { APPARMOR_OFF_WHY, LAB_PROFILE, landlockTool } from '../../lessons/21-security-modules/lab.js';
import { PROBE_DIR, tryWriteAs } from '../../lessons/21-security-modules/check.js';
import { TEST_ROOTFS, itRoot } from '../helpers.js';
import { pids, readOr } from '../live.js';

/** The lesson's container id, from the player's events. */
const idOf = (events: PlayerEvent[]) => events.flatMap((e) => (e.type === 'container-planned' ? [e.id] : []))[0];
import { commandOutput, demoOutputs, playForTest } from './play.js';
import { lessonInTerminal } from './terminal.js';

/** The kernel's Landlock ABI, or why there is none (the lesson's tool asks: landlock_create_ruleset(2)). */
function landlockAbi(): { abi?: number; why: string } {
  const r = spawnSync(landlockTool(), ['--abi'], { encoding: 'utf8' });
  return r.status === 0 ? { abi: Number(r.stdout.trim()), why: '' } : { why: r.stdout.trim() || String(r.error) };
}

const APPARMOR = apparmorEnabled();
const LANDLOCK = landlockAbi();

/** What the lesson could have left on the host: the lab profile, the check's directories, the tool
 *  or the device node in the rootfs, the container's processes or cgroups (by its id). */
function leftovers(id?: string): string[] {
  const out: string[] = [];
  if (APPARMOR && loadedProfiles()?.includes(LAB_PROFILE)) out.push(`AppArmor profile ${LAB_PROFILE} still loaded`);
  for (const f of readdirSync(PROBE_DIR)) if (f.startsWith('nsx-check-')) out.push(`${PROBE_DIR}/${f}`);
  for (const f of ['tmp/landlock', 'tmp/note', 'dev/sda', 'dev/shm/note'])
    if (existsSync(`${TEST_ROOTFS}/${f}`)) out.push(`${TEST_ROOTFS}/${f}`);
  if (id) {
    for (const p of pids()) if (readOr(`/proc/${p}/cgroup`).includes(`/nsx/${id}`)) out.push(`process ${p}`);
    for (const h of readdirSync('/sys/fs/cgroup'))
      if (existsSync(`/sys/fs/cgroup/${h}/nsx/${id}`)) out.push(`/sys/fs/cgroup/${h}/nsx/${id}`);
    if (existsSync(`/sys/fs/cgroup/nsx/${id}`)) out.push(`/sys/fs/cgroup/nsx/${id}`);
  }
  return out;
}

describe('lesson: security-modules', () => {
  itRoot("refuses root's write under Landlock, and the device open while mknod works", async () => {
    const p = await playForTest('security-modules');
    expect(p.completed).toBe(true);
    const lines = commandOutput(p).split('\n');

    // Root, with CAP_DAC_OVERRIDE (bit 1 of CapEff, capabilities(7)), and the write works before.
    expect(lines[0]).toMatch(/^uid 0, CapEff:\s+[0-9a-f]{16}$/);
    expect(BigInt('0x' + lines[0].split(/\s+/).pop()!) & 2n).toBe(2n);
    expect(lines[2]).toBe('write /dev/shm/note: ok');
    if (LANDLOCK.abi) {
      // The same write, the same root, the same capabilities: EACCES under the ruleset; /tmp still writable.
      expect(lines.slice(3, 6)).toEqual([
        `Landlock ABI ${LANDLOCK.abi}`,
        "/bin/sh: can't create /dev/shm/note: Permission denied",
        'write /tmp/note: ok',
      ]);
    } else {
      console.log(`security-modules: Landlock part not shown here: ${LANDLOCK.why}`);
      expect(lines[3]).toBe(`Landlock: ${LANDLOCK.why}`);
    }
    // The device cgroup: mknod is allowed (m), opening the block device is not (EPERM).
    expect(lines.slice(-3)).toEqual(['mknod /dev/sda: ok', 'head: /dev/sda: Operation not permitted', '']);
    const [rules] = demoOutputs(p, 'devices', 'host');
    if (rules.startsWith('cgroup v1')) expect(rules.split('\n').slice(1, 3)).toEqual(['c *:* m', 'b *:* m']);
    else expect(rules).toMatch(/^cgroup v2: no rule files; an eBPF program is attached to \/sys\/fs\/cgroup\//);

    // The kernel's list of modules, read from securityfs (in a mount namespace of its own if need be).
    const [lsms] = demoOutputs(p, 'pivot-root', 'host');
    expect(lsms.split(',')).toContain('capability');
    expect(lsms.split(',').includes('landlock')).toBe(LANDLOCK.abi !== undefined);

    // AppArmor: its label from the host and the lab profile where it is enabled; skipped, saying why, elsewhere.
    const lsmStep = p.events.find(
      (e) => (e.type === 'step-skipped' || e.type === 'step-applied') && e.step.id === 'lsm',
    );
    const [label] = demoOutputs(p, 'exec', 'host');
    const [lab] = demoOutputs(p, 'exit', 'host');
    if (APPARMOR) {
      expect(lsmStep?.type).toBe('step-applied');
      expect(demoOutputs(p, 'lsm', 'host')[0]).toMatch(
        /^profile nsx-lab flags=\(attach_disconnected,mediate_deleted\) \{\n/,
      );
      expect(label).toBe('nsx-default (enforce)');
      expect(lines[1]).toBe('AppArmor: nsx-default (enforce)');
      expect(lab).toContain(`${LAB_PROFILE} loaded`);
      expect(lab).toContain(`${LAB_PROFILE} (enforce)`);
      expect(lab).toMatch(/can't create \/tmp\/lab: Permission denied/);
      expect(lab).toMatch(/apparmor="DENIED".*profile="nsx-lab"/);
      const cleanups = p.events.filter((e) => e.type === 'demo-cleanup');
      expect(cleanups.map((e) => e.type === 'demo-cleanup' && e.command.slice(0, 2))).toEqual([
        ['apparmor_parser', '-R'],
      ]);
    } else {
      console.log(`security-modules: AppArmor parts skipped here: ${APPARMOR_OFF_WHY}`);
      expect(lsmStep?.type).toBe('step-skipped');
      expect(demoOutputs(p, 'lsm', 'host')).toEqual([]);
      expect(lines[1]).toBe('AppArmor: none, no label to read');
      expect([label, lab]).toEqual([APPARMOR_OFF_WHY, APPARMOR_OFF_WHY]);
      expect(p.events.some((e) => e.type === 'demo-cleanup')).toBe(false);
    }
    expect(idOf(p.events)).toMatch(/^[0-9a-f]+$/);
    expect(leftovers(idOf(p.events))).toEqual([]);
  });

  itRoot('leaves nothing behind when quit at a stop after the tool was copied in', async () => {
    const entry = findLesson('security-modules');
    const events: PlayerEvent[] = [];
    const ui = makeUI({ mode: 'print', out: new Writable({ write: (_c, _e, cb) => cb() }) });
    const choose = ui.choose.bind(ui);
    ui.choose = async (step) => (step.id === 'exec' ? 'quit' : choose(step));
    const r = await playLesson(entry.lesson, textOf(entry), {
      ui,
      onEvent: (e) => events.push(e),
      rootfs: TEST_ROOTFS,
    });
    expect(r.completed).toBe(false);
    expect(events.some((e) => e.type === 'demo' && e.command[0] === 'cp')).toBe(true);
    expect(leftovers(idOf(events))).toEqual([]);
  });

  itRoot('leaves nothing behind after Ctrl-C once the tool was copied in', async () => {
    const entry = findLesson('security-modules');
    const events: PlayerEvent[] = [];
    let container: { abort: (code?: number) => void } | undefined;
    const r = await playLesson(entry.lesson, textOf(entry), {
      ui: makeUI({ mode: 'print', out: new Writable({ write: (_c, _e, cb) => cb() }) }),
      onContainer: (c) => (container = c),
      // As nsx lesson does on SIGINT: abort the lesson's container, right after the copy.
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'demo' && e.command[0] === 'cp') container?.abort(130);
      },
      rootfs: TEST_ROOTFS,
    });
    expect([r.completed, r.exitCode]).toEqual([false, 130]);
    expect(events.some((e) => e.type === 'demo' && e.command[0] === 'cp')).toBe(true);
    expect(leftovers(idOf(events))).toEqual([]);
  });

  itRoot('in a terminal: Enter at the devices stop, Ctrl-C at the next one, nothing left behind', async () => {
    const term = lessonInTerminal('security-modules', 20000);
    const { waitFor, key, stopped } = term;
    let id: string | undefined;
    try {
      await waitFor('[2/20]');
      await waitFor('⏎ apply'); // at the devices step
      key('\r');
      await waitFor(/c \*:\* m|cgroup v2: no rule files/); // its rules, from the host (v1), or the eBPF program's cgroup (v2)
      await waitFor("copied into the container's own /tmp");
      await waitFor('⏎ apply'); // at the lsm step (AppArmor enabled) or the exec step
      key('\x03');
      expect(await stopped()).toBe(130);
      id = idOf(term.events());
    } finally {
      term.close();
    }
    expect(id).toMatch(/^[0-9a-f]+$/);
    expect(leftovers(id)).toEqual([]);
  });

  describe('nsx check security-modules', () => {
    let solution: ChildProcess | undefined;
    afterEach(() => {
      solution?.kill('SIGKILL');
      solution = undefined;
      countOnlyStartedSince(undefined);
    });

    itRoot('asks a process without changing it: its interrupted call is made again, once', async () => {
      // A sleep in nanosleep (restarted through restart_syscall) and a shell blocked in read(2).
      const started = Date.now();
      const sleeper = spawn('sleep', ['1.5'], { stdio: 'ignore' });
      const reader = spawn('sh', ['-c', 'read line; echo "got $line"'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      reader.stdout!.on('data', (d) => (out += d.toString()));
      await new Promise((res) => setTimeout(res, 300));
      for (const child of [sleeper, reader]) {
        const path = `${PROBE_DIR}/nsx-check-test-${child.pid}`;
        expect(tryWriteAs(child.pid!, path)).toEqual({ result: 'ok', why: '' });
        expect(existsSync(path)).toBe(true); // made by that process, with its credentials
        rmdirSync(path);
      }
      reader.stdin!.end('one\n');
      const [sleepCode, readCode] = await Promise.all(
        [sleeper, reader].map((c) => new Promise((res) => c.on('close', res))),
      );
      expect([sleepCode, readCode, out]).toEqual([0, 0, 'got one\n']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500); // it slept the whole time it asked for
    });

    itRoot('fails before the task is done, and passes for a process a Landlock ruleset confines', async () => {
      if (!LANDLOCK.abi && !APPARMOR) {
        console.log(`security-modules check: skipped, no LSM to confine a process with here: ${LANDLOCK.why}`);
        return;
      }
      const { check } = findLesson('security-modules').lesson;
      // As nsx check does: only processes started since the task was shown (btime has whole seconds).
      countOnlyStartedSince(Date.now() - 1000);
      expect((await check()).message).toMatch(/^No process of yours is under a security module yet/);
      // no_new_privs alone confines nothing: the write made as that process works (and is removed).
      solution = spawn('setpriv', ['--no-new-privs', 'sleep', '60'], { stdio: 'ignore' });
      await new Promise((res) => setTimeout(res, 300));
      let r = await check();
      expect([r.ok, r.message]).toEqual([false, expect.stringContaining(`${solution.pid} (sleep): created`)]);
      solution.kill('SIGKILL');
      if (!LANDLOCK.abi) return; // the VM's AppArmor solution is a profile of the learner's: not made here
      solution = spawn(landlockTool(), ['-w', '/tmp', '--', 'sleep', '60'], { stdio: 'ignore' });
      await new Promise((res) => setTimeout(res, 300));
      r = await check();
      expect(r.ok).toBe(true);
      expect(r.message).toMatch(
        new RegExp(`^Process ${solution.pid} \\(sleep\\) was refused a write as itself: mkdir ${PROBE_DIR}/nsx-check-`),
      );
      expect(r.message).toContain('failed with EACCES');
      if (!APPARMOR) expect(r.message).toContain('Landlock, the one a process sets on itself');
      // The process was only asked, not changed: it still sleeps, and ends when killed.
      expect(readOr(`/proc/${solution.pid}/comm`).trim()).toBe('sleep');
      expect(readFileSync(`/proc/${solution.pid}/status`, 'utf8')).toMatch(/^State:\s+S/m);
      expect(leftovers()).toEqual([]);
    });
  });
});
