// Renders a lesson's events for a person: one function per event kind (lesson events and the runtime
// events a lesson passes through), as renderEvent in terminal.ts does for nsx run. The terminal, the
// --print transcript and the tests' transcripts are all these lines; nothing else writes lesson text.
import type { ChalkInstance } from 'chalk';
import type { DemoEvent, PlayerEvent } from '../learn/events.js';
import { shellLine } from '../shellwords.js';
import type { Evidence } from '../runtime/observe.js';
import { evidenceTable, prose, screenWidth, stepHeader, wrap } from './terminal.js';

export interface LessonRenderContext {
  c: ChalkInstance;
  /** lesson.md's markdown as terminal lines (colour or not, as the UI is). */
  markdown(md: string): string[];
  /** Interactive: a quiz question was asked on the screen already, so its verdict stands alone. */
  mode: 'interactive' | 'auto' | 'print';
  /** The lesson's container, from its 'container-planned' event (lessonRenderer keeps it). */
  container?: { id: string; total: number; focus: string[] };
  /** The last focus step's evidence, for 't' (the whole table). */
  last?: { evidence: Evidence; changed: string[] };
  /** A tour command's output while it streams in: the line not ended yet, and the blank lines held
   *  back (shown only when a line with text follows, as the whole output's trimEnd() drops them). */
  stream?: { partial: string; blanks: number };
}

type Renderer<K extends PlayerEvent['type']> = (
  e: Extract<PlayerEvent, { type: K }>,
  ctx: LessonRenderContext,
) => string[];
export type LessonRenderers = { [K in PlayerEvent['type']]: Renderer<K> };

/** Text as shown to the learner: the container's 64-character id written <id>, as the docs write
 *  it (nsx/<id>), so that demo lines naming its cgroup fit the screen. The events keep it whole. */
export function shownText(text: string, id: string): string {
  return id ? text.split(id).join('<id>') : text;
}

/** A demo's line as shown: "  host$ " and the command, broken between words to fit `width`
 *  columns (the screen's), continuation lines indented under the command. */
export function commandLines(prompt: string, line: string, width = screenWidth()): string[] {
  const head = `  ${prompt}$ `;
  const indent = ' '.repeat(head.length + 2);
  const out: string[] = [];
  let cur = head;
  let fresh = true;
  for (const word of line.split(' ')) {
    if (!fresh && cur.length + 1 + word.length > width) {
      out.push(cur);
      cur = indent + word;
    } else cur = fresh ? cur + word : `${cur} ${word}`;
    fresh = false;
  }
  out.push(cur);
  return out;
}

/** A program's output as shown: indented, each line folded at the screen's width, never cut (a cut
 *  `ip route` line lost its device; the events keep it whole). */
export function outputLines(text: string, width = screenWidth()): string[] {
  return text
    .trimEnd()
    .split('\n')
    .flatMap((l) => fold(l, width));
}

/** A line of output as shown: indented 4, and folded at the width, its continuations indented 6. */
export function fold(line: string, width = screenWidth()): string[] {
  const out = [`    ${line}`.slice(0, width)];
  for (let rest = line.slice(width - 4); rest.length; rest = rest.slice(width - 6)) {
    out.push(`      ${rest.slice(0, width - 6)}`);
  }
  return out.map((l) => l.trimEnd());
}

/** A tour's command line as shown (host$, cyan). */
function tourCommand(command: string[], c: ChalkInstance): string[] {
  return commandLines('host', shellLine(command)).map((l) => c.cyan(l));
}

/** Complete lines of a streaming output as shown: each folded as outputLines folds it, blank lines
 *  held until text follows them; `end`: the output is over, its unended last line is shown too. The
 *  lines, chunk by chunk, are the lines the whole output gives at once. */
function streamLines(text: string, ctx: LessonRenderContext, end = false): string[] {
  const s = (ctx.stream ??= { partial: '', blanks: 0 });
  const lines = (s.partial + text).split('\n');
  s.partial = end ? '' : lines.pop()!;
  const out: string[] = [];
  for (const line of lines) {
    if (!line.trimEnd()) {
      s.blanks++;
      continue;
    }
    for (; s.blanks; s.blanks--) out.push('');
    out.push(...fold(line));
  }
  if (end) ctx.stream = undefined;
  return out;
}

function demoLines(e: DemoEvent, ctx: LessonRenderContext): string[] {
  const { c, container } = ctx;
  const notice = prose(`→ ${e.notice}`, 2).map((l) => c.yellow(l));
  // Shown as it came ('demo-started', 'demo-output'): what is left is its last line and the notice.
  if (e.streamed) return [...streamLines('', ctx, true), ...notice, ''];
  if (e.stop) {
    // Folded, not cut: a tour's outputs are tables and traces whose right-hand end matters (a STATUS
    // column, a system call's result).
    const output = e.output.trim()
      ? e.output
          .trimEnd()
          .split('\n')
          .flatMap((l) => fold(l))
      : [];
    return [...tourCommand(e.command, c), ...output, ...notice, ''];
  }
  // The container's long id is shown as <id>.
  const shown = (t: string) => shownText(t, container?.id ?? '');
  const prompt = e.onHost ? 'host' : 'inside';
  const command = commandLines(prompt, shown(shellLine(e.command))).map((l) => c.cyan(l));
  return [...command, ...outputLines(shown(e.output)), ...notice, ''];
}

const none = (): string[] => [];

export const LESSON_RENDERERS: LessonRenderers = {
  'lesson-started': (e, { c }) => [c.bold(e.title), ''],
  intro: (e, { markdown }) => markdown(e.text),
  'variant-intro': (e, { c, markdown }) => [
    '',
    ...prose(`Variant "${e.name}": ${e.title}`, 0).map((l) => c.bold(l)),
    ...markdown(e.text),
  ],
  'run-as': (e, { c }) => (e.note ? ['', ...prose(e.note, 0).map((l) => c.yellow(l)), ''] : []),
  'container-planned': none,
  explained: (e, { markdown }) => (e.text ? ['', ...markdown(e.text)] : []),
  'stop-reached': (e, { c }) => ['', c.bold(`[${e.index + 1}/${e.total}] ${e.title}`)],
  'table-asked': (_e, { c, last }) =>
    last ? ['', ...evidenceTable(last.evidence, last.changed, c, { short: false }), ''] : [],
  'stop-running': () => [''],
  'demo-started': (e, ctx) => {
    ctx.stream = { partial: '', blanks: 0 };
    return tourCommand(e.command, ctx.c);
  },
  'demo-output': (e, ctx) => streamLines(e.text, ctx),
  demo: (e, ctx) => (e.held ? [] : demoLines(e, ctx)),
  'demo-shown': (e, ctx) => demoLines(e.demo, ctx),
  'demo-cleanup': (e, { c }) => [
    c.dim(`  cleaning up, host$ ${shellLine(e.command)}`),
    ...(e.status === 0
      ? []
      : e.output
          .trimEnd()
          .split('\n')
          .map((l) => c.red(`    ${l}`))),
  ],
  'lab-removed': (e, { c }) => e.removed.flatMap((line) => wrap(`cleaning up: ${line}`, 2).map((l) => c.dim(l))),
  output: (e, { c }) => (e.text.trim() ? [c.dim('  the command printed:'), ...outputLines(e.text), ''] : []),
  stopped: (e, { c }) => {
    const gone = e.what === 'tour' ? 'the lesson started' : 'the container had';
    const stopped = `Stopped. Everything ${gone} is removed; \`nsx learn\` picks this lesson up again.`;
    return prose(stopped, 0).map((l) => c.dim(l));
  },
  'variant-ended': (e, { c, markdown }) => {
    const instead = e.failedAt ? `it failed at ${e.failedAt}` : 'it did not fail';
    const meant = `This variant was meant to fail at the ${e.failsAt} step, but ${instead}.`;
    const failed = e.failsAt ? meant : 'This variant failed.';
    const why = e.more ? ['', ...markdown(e.more), ''] : [];
    return [...(e.asMeant ? [] : ['', ...prose(failed, 0).map((l) => c.yellow(l))]), ...why];
  },
  summary: (e, { c, markdown }) => [
    '',
    c.bold(e.seen === false ? 'In short' : 'What you saw'),
    ...markdown(e.text),
    ...(e.rule ? ['', ...prose(`Rule: ${e.rule}`, 0).map((l) => c.bold(l))] : []),
  ],
  task: (e, { c, markdown }) => [
    '',
    c.bold('Try it yourself'),
    ...markdown(e.text),
    ...wrap(`Then run: nsx check ${e.lesson}   (nsx check ${e.lesson} --hint for a nudge)`, 2),
    '',
  ],
  quiz: (e, { c, mode }) => {
    const right = e.choices[e.answer];
    const wrong = c.yellow(`Not quite: the answer is "${right}".`);
    const verdict = e.correct === undefined ? `Answer: ${right}` : e.correct ? c.green('Right.') : wrong;
    // In a terminal the question was asked on the screen (ui.ask); elsewhere it is written here.
    const choices = e.choices.flatMap((ch, i) => prose(`${i + 1}. ${ch}`, 2, c));
    const question = [...prose(`Quiz: ${e.question}`, 0).map((l) => c.bold(l)), ...choices];
    const shown = mode === 'interactive' ? [] : question;
    return [...shown, ...prose(verdict, 0), ...prose(e.why, 2, c), ''];
  },
  'variant-offered': (e, { c }) =>
    wrap(`Another way: nsx lesson ${e.lesson} --variant ${e.name} (${e.title})`, 0).map((l) => c.dim(l)),
  'quiz-left': (e, { c }) => [
    ...wrap(
      `You left the quiz${e.unanswered ? ` (${e.unanswered} question${e.unanswered > 1 ? 's' : ''} not answered)` : ''}.`,
      0,
    ).map((l) => c.dim(l)),
    '',
  ],
  'lesson-complete': (e, { c }) => {
    const score = e.score ? ` Quiz: ${e.score.right} of ${e.score.of} right.` : '';
    return ['', ...wrap(`Lesson complete: ${e.title}.${score}`, 0).map((l) => c.bold(c.green(l)))];
  },
  'engine-started': (e, { c }) =>
    wrap(
      `This lesson started the nsx engine (nsxd, pid ${e.pid}, unix://${e.socket}): its containers are the engine's. It stays running after the lesson, for the next ones; stop it with: ${e.stop}`,
      0,
    ).map((l) => c.dim(l)),
  'lesson-finished': none,

  // The runtime's events, as a lesson shows them: the steps it stops at in full, the others in a line.
  created: none,
  'step-started': (e, { c, container }) => {
    const total = container?.total ?? 0;
    if (container?.focus.includes(e.step.id)) return ['', ...stepHeader(e.index, total, e.step, c)];
    return [c.dim(`[${e.index + 1}/${total}] ${e.step.title}`)];
  },
  'step-skipped': (e, { c, container }) =>
    prose(`[${e.index + 1}/${container?.total ?? 0}] ${e.step.title}: skipped (${e.reason})`, 0).map((l) => c.dim(l)),
  // The rows the step changed and the key ones; the whole table on "t" at the next prompt.
  'step-applied': (e, { c, container, mode }) =>
    container?.focus.includes(e.step.id) && e.evidence
      ? [
          ...evidenceTable(e.evidence, e.changed, c, {
            short: true,
            more:
              mode === 'interactive'
                ? 't at the next prompt shows them'
                : 'played in a terminal, t at a prompt shows them',
          }),
          '',
        ]
      : [],
  'step-failed': (e, { c }) => [
    ...prose(`failed: ${e.error.message}`, 2).map((l) => c.red(l)),
    ...(e.error.hint ? prose(e.error.hint, 4).map((l) => c.yellow(l)) : []),
    '',
  ],
  started: none,
  exited: none,
  'cleaned-up': none,
};

/** A renderer for one lesson's events in order: it keeps what 'container-planned' said for the
 *  events after it. The same events always give the same lines. */
export function lessonRenderer(base: Omit<LessonRenderContext, 'container'>): (e: PlayerEvent) => string[] {
  const ctx: LessonRenderContext = { ...base };
  return (e) => {
    if (e.type === 'container-planned') ctx.container = { id: e.id, total: e.total, focus: e.focus };
    if (e.type === 'step-applied' && e.evidence && ctx.container?.focus.includes(e.step.id))
      ctx.last = { evidence: e.evidence, changed: e.changed };
    return (LESSON_RENDERERS[e.type] as (e: PlayerEvent, ctx: LessonRenderContext) => string[])(e, ctx);
  };
}

/** All the lines of a recorded lesson. */
export function renderLesson(events: PlayerEvent[], base: Omit<LessonRenderContext, 'container'>): string[] {
  const render = lessonRenderer(base);
  return events.flatMap(render);
}
