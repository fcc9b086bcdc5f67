// lesson.md → its sections. The format, for lesson authors:
//
//   # Title (for people reading the file; the title the player shows is in index.ts)
//   ## intro             what the lesson is about, shown first
//   ## step fork         shown before the runtime step "fork" (any id of STEP_ORDER)
//   ### more            the deeper paragraph shown on "e" (explain more), with the man page
//   ## summary           what you saw; one line starting "Rule:" is the one-line rule
//   ## task              the try-it-yourself task (`nsx check <id>` verifies it)
//   ## stop registry     shown before the tour stop "registry" (lessons with a tour, not a container)
//   ## variant break     shown before the variant "break" runs (nsx lesson <id> --variant break)
//   ### more            shown after it: why the usual way is the right one
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { STEP_IDS, type StepId } from '../runtime/steps.js';
import type { LessonText } from './lesson.js';

export class LessonFormatError extends Error {}

export function parseLessonMarkdown(md: string, where = 'lesson.md'): LessonText {
  const out: LessonText = { intro: '', steps: {}, summary: '', rule: '', task: '' };
  let section:
    | { kind: 'intro' | 'summary' | 'task' | 'ignore' }
    | { kind: 'step'; id: StepId; part: 'text' | 'more' }
    | { kind: 'variant' | 'stop'; name: string; part: 'text' | 'more' } = { kind: 'ignore' };
  const append = (text: string) => {
    if (section.kind === 'step') {
      const s = (out.steps[section.id] ??= { text: '', more: '' });
      s[section.part] += text;
    } else if (section.kind === 'variant' || section.kind === 'stop') {
      const v = ((section.kind === 'variant' ? (out.variants ??= {}) : (out.stops ??= {}))[section.name] ??= {
        text: '',
        more: '',
      });
      v[section.part] += text;
    } else if (section.kind !== 'ignore') out[section.kind] += text;
  };
  for (const line of md.split('\n')) {
    const h2 = /^## (.+)$/.exec(line);
    const h3 = /^### (.+)$/.exec(line);
    if (h2) {
      const [kind, arg] = h2[1].trim().split(/\s+/);
      if (kind === 'step') {
        if (!(STEP_IDS as readonly string[]).includes(arg))
          throw new LessonFormatError(
            `${where}: "## step ${arg}": no such runtime step (one of ${STEP_IDS.join(', ')})`,
          );
        section = { kind: 'step', id: arg as StepId, part: 'text' };
      } else if ((kind === 'variant' || kind === 'stop') && arg) section = { kind, name: arg, part: 'text' };
      else if (kind === 'intro' || kind === 'summary' || kind === 'task') section = { kind };
      else
        throw new LessonFormatError(
          `${where}: unknown section "## ${h2[1]}" (intro, step <id>, stop <id>, summary, task, variant <name>)`,
        );
      continue;
    }
    if (
      h3 &&
      (section.kind === 'step' || section.kind === 'variant' || section.kind === 'stop') &&
      h3[1].trim() === 'more'
    ) {
      section = { ...section, part: 'more' };
      continue;
    }
    if (section.kind === 'summary' && line.startsWith('Rule:')) {
      out.rule = line.slice(5).trim();
      continue;
    }
    append(line + '\n');
  }
  const trim = (s: string) => s.trim();
  out.intro = trim(out.intro);
  out.summary = trim(out.summary);
  out.task = trim(out.task);
  for (const s of [
    ...Object.values(out.steps),
    ...Object.values(out.variants ?? {}),
    ...Object.values(out.stops ?? {}),
  ]) {
    s!.text = trim(s!.text);
    s!.more = trim(s!.more);
  }
  return out;
}

/** The lesson.md of lessons/<dir>/ (read from the package's source tree, also when running from dist/). */
export function loadLessonText(dir: string): LessonText {
  const path = join(packageRoot(), 'lessons', dir, 'lesson.md');
  return parseLessonMarkdown(readFileSync(path, 'utf8'), `lessons/${dir}/lesson.md`);
}
