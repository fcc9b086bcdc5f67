// docker update: new resource limits for a container (moby's daemon/update.go). Kept in its record
// (its next start makes its cgroup with them, inspect's HostConfig shows them) and, while it runs,
// written to its live cgroup: memory.limit_in_bytes / memory.max, pids.max, cpu.cfs_quota_us /
// cpu.max (src/runtime/cgroups/files.ts). nsx's limits are these three and the restart policy; the
// request's other fields (docker's UpdateConfig, all sent by the CLI) must be left at zero.
import { CPU_PERIOD_US } from '../../runtime/cgroups/index.js';
import { NsxError } from '../../runtime/errors.js';
import { checkLimits } from '../../runtime/cgroups/limits.js';
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import type { HostConfig } from '../state.js';
import { cgroupFailure, cgroupOf } from './pause.js';
import { checkRestartPolicy } from './restart.js';

export interface UpdateBody {
  Memory?: number;
  PidsLimit?: number;
  NanoCpus?: number;
  RestartPolicy?: HostConfig['RestartPolicy'];
}

const ours = new Set(['Memory', 'PidsLimit', 'NanoCpus', 'RestartPolicy']);

/** The request body: docker's UpdateConfig. A field nsx has no limit for may only be zero, empty or null. */
export function updateBody(raw: unknown): UpdateBody {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ApiError(400, 'the update body must be a JSON object (docker UpdateConfig)');
  const body = raw as Record<string, unknown>;
  const zero = (v: unknown) =>
    v === null || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0) || v === undefined;
  const other = Object.keys(body).filter((k) => !ours.has(k) && !zero(body[k]));
  if (other.length)
    throw new ApiError(
      400,
      `nsx's update does not change ${other.join(', ')}: it changes Memory (--memory), PidsLimit (--pids-limit), ` +
        'NanoCpus (--cpus) and the restart policy, the limits nsx sets on a container',
    );
  const num = (k: string) => {
    const v = body[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ApiError(400, `${k} must be a whole number`);
    return v;
  };
  const policy = body.RestartPolicy as HostConfig['RestartPolicy'] | undefined;
  const out: UpdateBody = {};
  const memory = num('Memory');
  if (memory) out.Memory = memory;
  if (body.PidsLimit !== undefined && body.PidsLimit !== null) out.PidsLimit = num('PidsLimit');
  const cpus = num('NanoCpus');
  if (cpus) out.NanoCpus = cpus;
  if (policy && policy.Name) out.RestartPolicy = policy;
  return out;
}

export function update(engine: Engine, c: EngineContainer, body: UpdateBody): { Warnings: string[] } {
  const h = c.record.HostConfig;
  if (c.status === 'removing')
    throw new ApiError(409, `Cannot update container ${c.id}: container is marked for removal`);
  if (body.RestartPolicy) {
    checkRestartPolicy({ ...h, RestartPolicy: body.RestartPolicy });
  }
  const limits = {
    ...(body.Memory ? { memoryBytes: body.Memory } : {}),
    ...(body.PidsLimit !== undefined && body.PidsLimit > 0 ? { pidsMax: body.PidsLimit } : {}),
    ...(body.NanoCpus ? { cpuQuotaUs: Math.round((body.NanoCpus * CPU_PERIOD_US) / 1e9) } : {}),
  };
  const pidsUnlimited = body.PidsLimit !== undefined && body.PidsLimit <= 0;
  try {
    checkLimits(limits); // before anything changes: the same checks as at create
  } catch (e) {
    if (e instanceof NsxError) throw new ApiError(400, e.message, e.info.hint);
    throw e;
  }
  const live = !!c.run && !!c.record.State.Pid && (c.status === 'running' || c.status === 'paused');
  const changesCgroup = Object.keys(limits).length > 0 || pidsUnlimited;
  if (live && changesCgroup) {
    try {
      cgroupOf(engine, c, 'update').update({ ...limits, pidsUnlimited });
    } catch (e) {
      throw cgroupFailure(e);
    }
  }
  if (body.Memory) h.Memory = body.Memory;
  if (body.PidsLimit !== undefined) h.PidsLimit = body.PidsLimit > 0 ? body.PidsLimit : 0;
  if (body.NanoCpus) h.NanoCpus = body.NanoCpus;
  if (body.RestartPolicy) h.RestartPolicy = body.RestartPolicy;
  engine.save();
  engine.event(c, 'update');
  return { Warnings: [] };
}
