// The cgroups lesson end to end on the real kernel (v1, v2 or hybrid, as the machine has it), and
// its try-it-yourself check before and after a correct solution.
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TASK_CGROUP, checkTask } from '../../lessons/17-cgroups/check.js';
import { findLesson } from '../../src/learn/course.js';
import { detectLayout } from '../../src/runtime/cgroups/index.js';
import { itRoot } from '../helpers.js';
import { commandOutput, demoOutputs, evidence, playForTest } from './play.js';

/** "real\t0m 1.12s" → 1.12 (busybox time's format). */
function seconds(out: string, field: 'real' | 'user'): number {
  const m = new RegExp(`^${field}\\s+(\\d+)m\\s*([\\d.]+)s`, 'm').exec(out);
  if (!m) throw new Error(`no "${field}" line in: ${out}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

describe('lesson: cgroups', () => {
  itRoot("limits memory, processes and CPU, and shows the files and counters of this machine's layout", async () => {
    const layout = detectLayout();
    const p = await playForTest('cgroups');
    expect(p.completed).toBe(true);

    // The container's first process was moved into nsx/<id> in every hierarchy nsx uses.
    const ev = evidence(p, 'cgroup')!;
    const nsxLines = ev.process.cgroups.filter((l) => /:\/nsx\/[0-9a-f]{64}$/.test(l));
    expect(nsxLines.length).toBeGreaterThan(0);
    if (layout.unified) expect(nsxLines.some((l) => l.startsWith('0::'))).toBe(true);

    const [mounts, procCgroup, memory, pids, cpu] = demoOutputs(p, 'cgroup', 'host');
    if (layout.unified) expect(mounts).toMatch(new RegExp(`^cgroup2\\s+${layout.unified}$`, 'm'));
    for (const m of new Set(Object.values(layout.v1))) expect(mounts).toMatch(new RegExp(`^cgroup\\s+${m}$`, 'm'));
    expect(procCgroup.split('\n').sort()).toEqual([...ev.process.cgroups].sort());
    expect(memory).toBe(String(16 * 1024 * 1024));
    expect(pids).toBe('10');
    expect(cpu).toBe(layout.v1.cpu ? '20000' : '20000 100000');

    // The baseline loop ran outside the cgroup; the same loop inside was throttled to a fifth.
    const [baseline] = demoOutputs(p, 'seccomp');
    expect(seconds(baseline, 'user')).toBeGreaterThan(0);
    const out = commandOutput(p);
    expect(out).toContain('dd: exit status 137');
    expect(out).toMatch(/can't fork: Resource temporarily unavailable/);
    expect(out).toMatch(/^1 2 3 4 5 6 7 8 /m); // 10 processes: the two shells and 8 sleeps
    expect(out).not.toMatch(/ 9 /);
    // CFS bandwidth control: at most 20 ms of CPU per 100 ms, so real >= 5 x user (less rounding).
    expect(seconds(out, 'real')).toBeGreaterThan(3.5 * seconds(out, 'user'));

    // The counters, read on the host after the command exited and before the cgroup was removed.
    const [oom, pidsEvents, cpuStat] = demoOutputs(p, 'exit', 'host');
    expect(Number(/^oom_kill (\d+)$/m.exec(oom)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^max (\d+)$/m.exec(pidsEvents)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^nr_throttled (\d+)$/m.exec(cpuStat)?.[1])).toBeGreaterThan(0);
    const exited = p.events.find((e) => e.type === 'exited');
    // docker's State.OOMKilled is about PID 1; here a child was OOM-killed and PID 1 exited 0 (the
    // memory.oom_control / memory.events counter above is what shows the kill).
    expect(exited).toMatchObject({ oomKilled: false, exitCode: 0 });

    // Shown with the container's id as <id>, within 80 columns.
    expect(p.transcript).toMatch(/host\$ cat \/\S+\/nsx\/<id>\/pids\.max/);
    for (const line of p.transcript.split('\n').filter((l) => l.includes('$ ')))
      expect(line.length).toBeLessThanOrEqual(80);
    expect(p.transcript).toContain('Rule: a cgroup limits what its processes use');

    // Every file the lesson names is one this machine has: v1's where a v1 hierarchy holds the
    // controller, v2's where the unified one does (the step's syscalls, the demos, hints, quiz).
    const { lesson } = findLesson('cgroups');
    const shown = p.transcript.replace(/\n +/g, ' '); // the text as it reads, unwrapped
    const said = [shown, ...lesson.hints, ...lesson.quiz.map((q) => q.why)].join('\n');
    const memV1 = layout.v1.memory !== undefined;
    const cpuV1 = layout.v1.cpu !== undefined;
    const memDir = join(layout.v1.memory ?? layout.unified!, 'nsx/<id>');
    const cpuDir = join(layout.v1.cpu ?? layout.unified!, 'nsx/<id>');
    const memFile = memV1 ? 'memory.limit_in_bytes' : 'memory.max';
    expect(shown).toContain(`syscall: write("${memDir}/${memFile}", "16777216")`);
    expect(shown).toContain(`host$ cat ${memDir}/${memFile}`);
    expect(shown).toContain(cpuV1 ? `write("${cpuDir}/cpu.cfs_quota_us", "20000")` : `write("${cpuDir}/cpu.max"`);
    expect(lesson.quiz[0].why).toContain(memV1 ? 'memory.limit_in_bytes (v1, as here)' : 'memory.max (v2, as here)');
    expect(lesson.hints.join('\n')).toMatch(layout.v1.pids ? /Here pids .*v1/ : /Here pids .*v2 hierarchy/);
    // The other version's files appear only where the words name both, saying which is which.
    const other = memV1 ? /memory\.max/g : /memory\.limit_in_bytes/g;
    for (const m of said.matchAll(other)) {
      const around = said.slice(Math.max(0, m.index! - 80), m.index! + 80);
      expect(around).toMatch(memV1 ? /v2/ : /v1/);
    }
    if (cpuV1) expect(shown).not.toMatch(/cpu\.max"/);
  });

  describe('nsx check cgroups', () => {
    let solution: ChildProcess | undefined;
    let made: string | undefined;
    afterEach(async () => {
      if (solution && solution.exitCode === null && solution.signalCode === null) {
        const gone = new Promise((r) => solution!.once('exit', r));
        solution.kill('SIGKILL');
        await gone;
      }
      solution = undefined;
      if (made) {
        for (let i = 0; i < 50 && existsSync(made); i++) {
          try {
            rmdirSync(made);
          } catch {
            await sleep(20); // EBUSY until the killed process is reaped
          }
        }
        expect(existsSync(made)).toBe(false);
        made = undefined;
      }
    });

    itRoot('fails before the task is done and passes after a correct solution', async () => {
      const { check } = findLesson('cgroups').lesson;
      expect((await check()).ok).toBe(false);

      // The solution, where this machine keeps the pids controller (a v1 hierarchy, or the v2 one).
      const layout = detectLayout();
      const root = layout.v1.pids ?? layout.unified!;
      if (!layout.v1.pids) {
        const control = readFileSync(join(root, 'cgroup.subtree_control'), 'utf8');
        if (!control.split(/\s+/).includes('pids')) writeFileSync(join(root, 'cgroup.subtree_control'), '+pids');
      }
      made = join(root, TASK_CGROUP);
      mkdirSync(made);
      let r = await checkTask();
      expect(r).toEqual({ ok: false, message: `${made} exists, but no pids or memory limit is written in it yet.` });

      writeFileSync(join(made, 'pids.max'), '5');
      r = await checkTask();
      expect(r).toEqual({
        ok: false,
        message: `${made} allows at most 5 processes (pids.max), but no process is in it yet.`,
      });

      solution = spawn('sleep', ['60'], { stdio: 'ignore' });
      writeFileSync(join(made, 'cgroup.procs'), String(solution.pid));
      r = await check();
      expect(r.ok).toBe(true);
      expect(r.message).toBe(
        `${made} allows at most 5 processes (pids.max), and process ${solution.pid} (sleep) is in it.`,
      );
    });
  });
});
