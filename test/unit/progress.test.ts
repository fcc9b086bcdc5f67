// Progress (src/learn/progress.ts) and its marks (course.ts): a lesson is done only when a learner
// played it to its end; --auto and --print only watched it; nsx check's pass is a mark of its own.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mark, MARK_LEGEND, MARKS, resumeIndex } from '../../src/learn/course.js';
import { progressAfterPlay, readProgress, recordPlay, updateLesson } from '../../src/learn/progress.js';

describe('progress after a play', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsx-progress-'));
    path = join(dir, 'progress.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('marks done only an interactive play to the end', () => {
    expect(progressAfterPlay({ mode: 'interactive', completed: true })).toEqual({ status: 'done' });
    expect(progressAfterPlay({ mode: 'auto', completed: true })).toEqual({ watched: true });
    expect(progressAfterPlay({ mode: 'print', completed: true })).toEqual({ watched: true });
    expect(progressAfterPlay({ mode: 'interactive', completed: false })).toEqual({});
    expect(progressAfterPlay({ mode: 'interactive', completed: true, variant: 'break' })).toEqual({});
  });

  it('keeps --auto and --print from marking a lesson done, in the file', () => {
    updateLesson('uts', {}, path);
    recordPlay('uts', { mode: 'auto', completed: true }, path);
    expect(readProgress(path).lessons.uts).toMatchObject({ status: 'started', watched: true });
    recordPlay('pid', { mode: 'print', completed: true }, path);
    expect(readProgress(path).lessons.pid.status).toBe('started');
    recordPlay('uts', { mode: 'interactive', completed: true }, path);
    expect(readProgress(path).lessons.uts.status).toBe('done');
    // A later watch does not undo a play.
    recordPlay('uts', { mode: 'auto', completed: true }, path);
    expect(readProgress(path).lessons.uts.status).toBe('done');
  });

  it('tells checked, played, watched and started apart in the menu', () => {
    updateLesson('welcome', { status: 'done' }, path);
    updateLesson('uts', { watched: true }, path);
    updateLesson('pid', {}, path);
    updateLesson('net', { checked: true }, path);
    updateLesson('mnt', { status: 'done', checked: true }, path);
    const p = readProgress(path);
    expect(mark(p, 'welcome')).toBe(MARKS.done);
    expect(mark(p, 'uts')).toBe(MARKS.watched);
    expect(mark(p, 'pid')).toBe(MARKS.started);
    expect(mark(p, 'net')).toBe(MARKS.checked);
    expect(mark(p, 'mnt')).toBe(MARKS.checked);
    expect(mark(p, 'ipc')).toBe(' ');
    expect(new Set(Object.values(MARKS)).size).toBe(4);
    for (const m of Object.values(MARKS)) expect(MARK_LEGEND).toContain(m);
  });

  it('resumes at a lesson only watched: nobody has played it yet', () => {
    updateLesson('welcome', { status: 'done' }, path);
    recordPlay('run-flow', { mode: 'auto', completed: true }, path);
    expect(resumeIndex(readProgress(path))).toBe(1);
  });
});
