// The UTS lesson end to end on the real kernel, and its try-it-yourself check before and after a
// correct solution.
import { afterEach, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { findLesson } from '../../src/learn/course.js';
import { itRoot } from '../helpers.js';
import { commandOutput, demoOutputs, evidence, playForTest } from './play.js';

describe('lesson: uts', () => {
  itRoot('renames the container, not the host, and shows it', async () => {
    const p = await playForTest('uts');
    expect(p.completed).toBe(true);
    expect(demoOutputs(p, 'namespaces')).toEqual([hostname()]);
    expect(demoOutputs(p, 'hostname')).toEqual(['classroom']);
    expect(demoOutputs(p, 'hostname', 'host')).toEqual([hostname()]);
    const ev = evidence(p, 'hostname')!;
    expect(ev.inside!.hostname).toBe('classroom');
    expect(ev.process.ns.uts).not.toBe(ev.host.ns.uts);
    expect(commandOutput(p)).toContain('inside, hostname says: classroom');
    expect(p.transcript).toContain('Rule: a UTS namespace gives a process its own hostname');
  });

  describe('nsx check uts', () => {
    let solution: ChildProcess | undefined;
    afterEach(() => {
      solution?.kill('SIGKILL');
      solution = undefined;
    });

    itRoot('fails before the task is done and passes after a correct solution', async () => {
      const { check } = findLesson('uts').lesson;
      expect((await check()).ok).toBe(false);
      solution = spawn('unshare', ['--uts', 'sh', '-c', 'hostname mybox && exec sleep 60'], { stdio: 'ignore' });
      let r = await check();
      for (let i = 0; i < 50 && !r.ok; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await check();
      }
      expect(r.ok).toBe(true);
      expect(r.message).toMatch(/mybox/);
      expect(hostname()).not.toBe('mybox');
    });
  });
});
