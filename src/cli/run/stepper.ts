// --step: pause before every step. Enter applies it, s opens a shell inside the half-built container
// (nsenter into its namespaces), c continues without pausing, q quits (and cleans up).
import type { ChalkInstance } from 'chalk';
import type { RuntimeEvent } from '../../runtime/events.js';
import type { PlannedStep } from '../../runtime/plan.js';
import { renderEvent } from '../../render/terminal.js';
import { KeyReader } from '../../ui/keys.js';
import { openShell } from '../../ui/shell.js';

/** What the stepper needs of the container: in this process (Container), or the engine's. */
export interface StepTarget {
  /** How many steps the plan has (for "[6/20]"). */
  readonly total: number;
  /** The process to enter now (the shim, then PID 1 once forked). */
  pid(): Promise<number | undefined>;
}

export class Stepper {
  shellOpen = false;
  private continuing = false;
  /** A step that changes the root is applied (from the events): a shell must enter /proc/PID/root. */
  private rootChanged = false;
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

  /** A shell in the container as it stands: its namespaces, and its root once pivot_root is done. */
  private async shell(): Promise<void> {
    const pid = await this.container.pid();
    if (pid === undefined) return;
    const pivoted = this.rootChanged;
    this.print([this.c.dim(`  nsenter -t ${pid} --all${pivoted ? ' -r -w' : ''} /bin/sh   (type exit to come back)`)]);
    this.keys.release();
    this.shellOpen = true;
    try {
      await openShell(pid, pivoted, (m) => this.print([this.c.red(`  ${m}`)]));
    } finally {
      this.shellOpen = false;
      this.keys.resume();
    }
  }

  close(): void {
    this.keys.release();
  }
}
