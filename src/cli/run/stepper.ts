// --step: pause before every step. Enter applies it, s opens a shell inside the half-built container
// (an exec of the engine's into what it has applied so far, src/ui/shell.ts), c continues without
// pausing, q quits (and cleans up).
import type { ChalkInstance } from 'chalk';
import type { RuntimeEvent } from '../../runtime/events.js';
import type { PlannedStep } from '../../runtime/plan.js';
import { renderEvent } from '../../render/terminal.js';
import { KeyReader } from '../../ui/keys.js';
import { shellHas } from '../../ui/shell.js';

/** What the stepper needs of the container: in this process (Container), or the engine's. */
export interface StepTarget {
  /** How many steps the plan has (for "[6/20]"). */
  readonly total: number;
  /** The process to enter now (the shim, then PID 1 once forked). */
  pid(): Promise<number | undefined>;
  /** A shell in the container as it stands, until it exits. */
  shell(): Promise<unknown>;
}

export class Stepper {
  shellOpen = false;
  private continuing = false;
  /** A step that changes the root is applied (from the events): a shell must enter /proc/PID/root. */
  private rootChanged = false;
  /** The steps applied so far (from the events), for what the shell has. */
  private readonly applied = new Set<string>();
  private readonly skipped = new Set<string>();
  private keys = new KeyReader(process.stdin);

  constructor(
    private readonly container: StepTarget,
    private readonly c: ChalkInstance,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  private print(lines: string[]) {
    this.out.write(lines.map((l) => l + '\n').join(''));
  }

  onEvent(e: RuntimeEvent): void {
    if (e.type === 'step-applied' && e.step.changesRoot) this.rootChanged = true;
    if (e.type === 'step-applied') this.applied.add(e.step.id);
    if (e.type === 'step-skipped') this.skipped.add(e.step.id);
    this.print(renderEvent(e, this.container.total, this.c));
  }

  async beforeStep(step: Pick<PlannedStep, 'id' | 'startsCommand'>, _index: number): Promise<'apply' | 'quit'> {
    if (this.continuing) {
      if (step.startsCommand) this.keys.release(); // from here on the terminal is the command's
      return 'apply';
    }
    for (;;) {
      const last = !!step.startsCommand;
      this.out.write(
        this.c.bold(
          `  ⏎ apply  s shell inside  c continue  q quit${last ? '  (after this, the command owns the terminal)' : ''} > `,
        ),
      );
      const key = await this.keys.next();
      this.out.write('\n');
      if (key === null || key === 'q') return 'quit';
      if (key === 'c') this.continuing = true;
      if (key === 's') {
        await this.shell();
        continue;
      }
      if (key === '\r' || key === '\n' || key === 'c' || key === ' ') {
        if (last) this.keys.release();
        return 'apply';
      }
    }
  }

  /** A shell in the container as it stands: what it has applied so far (src/ui/shell.ts). */
  private async shell(): Promise<void> {
    const pid = await this.container.pid();
    const has = shellHas({ applied: this.applied, skipped: this.skipped, rootChanged: this.rootChanged, pid });
    this.print([this.c.dim(`  a shell inside the container as it stands: ${has}. exit or Ctrl-D comes back.`)]);
    this.keys.release();
    this.shellOpen = true;
    try {
      await this.container.shell();
    } catch (e) {
      this.print([this.c.red(`  no shell: ${(e as Error).message}`)]);
    } finally {
      this.shellOpen = false;
      this.keys.resume();
    }
  }

  close(): void {
    this.keys.release();
  }
}
