// The limitations lesson's task, checked against the machine's engine: a container the learner ran
// (after the task was shown) whose command the kernel refused as no program for this machine — it
// ended with 255 and its log holds runc's words, "exec PATH: exec format error".
import type { CheckResult } from '../../src/learn/lesson.js';
import { readProgress } from '../../src/learn/progress.js';
import { reachEngine } from '../engine-lab.js';

interface Inspect {
  Name: string;
  Created: string;
  Path: string;
  State: { Status: string; ExitCode: number };
}

export async function checkTask(): Promise<CheckResult> {
  const reached = await reachEngine(', then run your container');
  if ('fail' in reached) return reached.fail;
  const { client } = reached;
  const shownAt = readProgress().lessons.limitations?.taskShownAt;
  const since = shownAt ? Date.parse(shownAt) : 0;
  const all = (await client.call<{ Id: string }[]>('GET', '/containers/json?all=1')) ?? [];
  let other: string | undefined;
  for (const { Id } of all) {
    const c = await client.call<Inspect>('GET', `/containers/${Id}/json`);
    if (!c || c.State.Status !== 'exited' || Date.parse(c.Created) < since) continue;
    const name = c.Name.replace(/^\//, '');
    if (c.State.ExitCode !== 255) {
      if ([126, 127].includes(c.State.ExitCode))
        other ??= `${name} ended with ${c.State.ExitCode}: its command was not found or not executable, which is not the same refusal. Look at nsx logs ${name}.`;
      continue;
    }
    const logs = await client.request('GET', `/containers/${Id}/logs?stdout=1&stderr=1`);
    const line = /exec (\S+): exec format error/.exec(logs.body);
    if (line)
      return {
        ok: true,
        message: `${name} ran ${line[1]}, and the kernel refused it: "exec format error" (ENOEXEC), exit 255. No loader for that format on this machine's one kernel.`,
      };
  }
  return {
    ok: false,
    message:
      other ??
      'No container has ended with "exec format error" yet (nsx ps -a, nsx logs): run a file that is no program for this machine as a container\'s command.',
  };
}
