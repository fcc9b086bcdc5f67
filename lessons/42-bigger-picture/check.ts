// The bigger-picture lesson's task, checked against the machine's engine: a container made after the
// task was shown, with a health check and a restart policy, that has been restarted by its policy
// (RestartCount ≥ 1) and whose health check has run (State.Health has a probe in its log).
import type { CheckResult } from '../../src/learn/lesson.js';
import { readProgress } from '../../src/learn/progress.js';
import { reachEngine } from '../engine-lab.js';

interface Inspect {
  Name: string;
  Created: string;
  RestartCount: number;
  Config: { Healthcheck?: { Test?: string[] } };
  HostConfig: { RestartPolicy?: { Name: string } };
  State: { Status: string; Health?: { Status: string; Log: unknown[] } };
}

export async function checkTask(): Promise<CheckResult> {
  const reached = await reachEngine(', then run your service');
  if ('fail' in reached) return reached.fail;
  const { client } = reached;
  const shownAt = readProgress().lessons['bigger-picture']?.taskShownAt;
  const since = shownAt ? Date.parse(shownAt) : 0;
  const all = (await client.call<{ Id: string }[]>('GET', '/containers/json?all=1')) ?? [];
  let near: string | undefined;
  for (const { Id } of all) {
    const c = await client.call<Inspect>('GET', `/containers/${Id}/json`);
    if (!c || Date.parse(c.Created) < since) continue;
    const name = c.Name.replace(/^\//, '');
    const policy = c.HostConfig.RestartPolicy?.Name;
    if (!c.Config.Healthcheck) {
      near ??= `${name} has no health check: give nsx run --health-cmd (and --health-interval 1s, not to wait 30 s).`;
      continue;
    }
    if (!policy || policy === 'no') {
      near ??= `${name} has a health check but no restart policy: add --restart always (or on-failure).`;
      continue;
    }
    if (!c.State.Health?.Log.length) {
      near ??= `${name}'s health check has not run yet: wait one interval (nsx ps shows "health: starting" until then).`;
      continue;
    }
    if (c.RestartCount < 1) {
      near ??= `${name} is ${c.State.Health.Status} but was never restarted by its policy: kill its PID 1 from the host (nsx inspect ${name} shows the Pid).`;
      continue;
    }
    return {
      ok: true,
      message: `${name}: restarted ${c.RestartCount} time(s) by its "${policy}" policy, health ${c.State.Health.Status} after ${c.State.Health.Log.length} probe(s). The engine kept it alive; the probe said whether it works.`,
    };
  }
  return {
    ok: false,
    message:
      near ??
      'No container made since the task was shown has a health check and a restart policy yet: run one (nsx run -d --restart always --health-cmd …).',
  };
}
