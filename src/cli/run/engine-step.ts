// nsx run --step: the container is the engine's, built one step at a time over its API, so that
// `nsx ps` and `nsx inspect` in a second terminal show it half built and the step it is paused
// before. This command follows the runtime's events (GET /containers/{id}/steps), asks before each
// step (the Stepper) and answers (POST /containers/{id}/step). It owns the half-built container: if
// it goes — q, Ctrl-C, even kill -9 — the engine removes the container.
import { makeChalk } from '../../render/terminal.js';
import { engineClient, type EngineClient } from '../../engine/client.js';
import { lines } from '../../engine/remote.js';
import { NsxError } from '../../runtime/errors.js';
import type { RuntimeEvent } from '../../runtime/events.js';
import { runSession } from '../engine/session.js';
import { engineShell } from '../../ui/shell.js';
import { createRequest } from './engine-run.js';
import { eventWriter } from './events.js';
import type { RunArgs } from './index.js';
import { Stepper } from './stepper.js';

const enc = encodeURIComponent;

export async function stepThroughEngine(a: RunArgs, command: string[], root: boolean): Promise<number> {
  const events = a.events ? eventWriter(a.events) : undefined; // a bad path changes nothing: opened first
  const client = engineClient();
  const terminal = !!(process.stdin.isTTY && process.stdout.isTTY);
  const { body, name } = createRequest(
    {
      ...a,
      step: false,
      trace: false,
      events: undefined,
      'unsafe-chroot': false,
      rm: true,
      tty: terminal,
      interactive: true,
    },
    command,
  );
  body.Nsx = { Step: true, ...(a['unsafe-chroot'] ? { UnsafeChroot: true } : {}) };
  body.StdinOnce = true;
  if (body.Image) {
    const { imageForRun, parsePullPolicy } = await import('./image.js');
    (await imageForRun(body.Image, parsePullPolicy(a.pull), !root)).remove();
  }
  const created = await client.call<{ Id: string }>(
    'POST',
    `/containers/create${name ? `?name=${enc(name)}` : ''}`,
    body,
  );
  const id = created!.Id;
  const c = enc(id);
  const chalk = makeChalk(process.stderr);
  let total = 0;
  const stepper = new Stepper(
    {
      get total() {
        return total;
      },
      pid: () => pidOf(client, c),
      shell: () => engineShell(client, id),
    },
    chalk,
  );

  // The output (and, once the command runs, the input) through attach; the exit code through wait.
  let startInput!: () => void;
  const inputGate = new Promise<void>((r) => (startInput = r));
  const { socket, head } = await client.hijack(`/containers/${c}/attach?stream=1&stdin=1&stdout=1&stderr=1`);
  const waited = client.call<{ StatusCode: number }>('POST', `/containers/${c}/wait?condition=removed`);
  const session = runSession(socket, head, {
    tty: terminal,
    stdin: true,
    inputAfter: inputGate,
    resize: (h, w) => client.call('POST', `/containers/${c}/resize?h=${h}&w=${w}`),
  });

  let failure: Extract<RuntimeEvent, { type: 'step-failed' }> | undefined;
  let queue = Promise.resolve();
  const answer = (action: string) => client.call('POST', `/containers/${c}/step?action=${action}`).catch(() => {}); // gone meanwhile: the stream ends
  const onEvent = (e: RuntimeEvent) => {
    events?.write(e);
    if (e.type === 'created') total = e.steps.length;
    if (e.type === 'step-failed') failure = e;
    stepper.onEvent(e);
    if (e.type === 'started') startInput();
    if (e.type === 'step-started')
      queue = queue.then(async () => void (await answer(await stepper.beforeStep(e.step, e.index))));
  };
  const signalExit: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  const onSignal = (sig: NodeJS.Signals) => {
    if (stepper.shellOpen && sig === 'SIGINT') return; // Ctrl-C belongs to the learner's shell
    void client.call('POST', `/containers/${c}/step?action=abort&exit=${signalExit[sig]}`).catch(() => {});
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    await client.call('POST', `/containers/${c}/start`);
    const followed = await client.request('GET', `/containers/${c}/steps`, undefined, lines(onEvent));
    if (followed.status >= 400) throw new NsxError(`the engine did not stream the steps: ${followed.body}`);
    // The run is over (its last event came): a question still open (aborted by a signal) needs no answer.
    const w = await waited;
    startInput();
    await Promise.race([session, new Promise((r) => setTimeout(r, 2000))]);
    socket.destroy();
    if (failure)
      process.stderr.write(`nsx: ${failure.error.message}${failure.error.hint ? `\n  ${failure.error.hint}` : ''}\n`);
    return w?.StatusCode ?? 0;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    stepper.close();
    events?.close();
  }
}

/** The process to enter now: the engine knows it (inspect's Nsx.Step.Pid, or State.Pid once running). */
async function pidOf(client: EngineClient, c: string): Promise<number | undefined> {
  const info = await client
    .call<{ State: { Pid: number }; Nsx?: { Step?: { Pid: number } } }>('GET', `/containers/${c}/json`)
    .catch(() => undefined);
  return info?.Nsx?.Step?.Pid || info?.State.Pid || undefined;
}
