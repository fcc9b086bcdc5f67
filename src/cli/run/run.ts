// nsx run goes to the engine (engine-run.ts; --step: engine-step.ts). Apart from handler.ts (nsx
// runtime run, the runtime in this process) so that a run loads the engine's client only, not the
// runtime's modules.
import { isRealRoot } from '../../runtime/real-root.js';
// Imported with this module (one round of the module loader instead of two): every run but --step's needs it.
import { runThroughEngine } from './engine-run.js';
import type { RunArgs } from './index.js';

/** nsx run: through the engine (engine-run.ts), or with --step one step at a time over its API
 *  (engine-step.ts). */
export async function runContainer(a: RunArgs): Promise<number> {
  const root = isRealRoot();
  if (a['unsafe-chroot']) {
    const { UNSAFE_CHROOT_WARNING } = await import('../../runtime/steps/pivot-root.js');
    process.stderr.write(`nsx: ${UNSAFE_CHROOT_WARNING}\n`);
  }
  if (a.step && !(a.detach || a.interactive || a.tty || a.restart !== undefined)) {
    const { stepThroughEngine } = await import('./engine-step.js');
    return stepThroughEngine(a, (a.command ?? []).map(String), root);
  }
  return runThroughEngine(a, (a.command ?? []).map(String), root);
}
