// Limits for a container's cgroup in the kernel's units (bytes, tasks, microseconds), and the
// check that they are numbers the interface files accept, before anything is created. Which
// command-line flag a limit came from is the CLI's business (src/runtime/options.ts), so the
// messages here name the limit and the kernel file, never a flag.
import { NsxError } from '../errors.js';

/** Limits for a container's cgroup, in the kernel's units. Absent or 0: no limit (pidsMax -1 too). */
export interface CgroupLimits {
  memoryBytes?: number;
  pidsMax?: number;
  /** CPU time the cgroup may use per period, across all CPUs: 150000 per 100000 = 1.5 CPUs. */
  cpuQuotaUs?: number;
  /** The period the quota is measured over; default CPU_PERIOD_US. Used only with a quota. */
  cpuPeriodUs?: number;
}

/** Docker's floor for a memory limit (linuxMinMemory in moby): "Minimum memory limit allowed is 6MB". */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** The CFS period when none is given: 100 ms, the kernel's default and Docker's. */
export const CPU_PERIOD_US = 100_000;
/** The kernel rejects a CFS quota under 1 ms (cgroup-v2.rst "cpu.max"; sched-bwc.rst). */
const MIN_CPU_QUOTA_US = 1000;
/** sched-bwc.rst: "The minimum period is 1ms and the maximum is 1s" (so is the kernel's check). */
const MIN_CPU_PERIOD_US = 1000;
const MAX_CPU_PERIOD_US = 1_000_000;

// ---------------------------------------------------------------------------------------------
// Validating limits

export interface CheckedLimits {
  memoryBytes?: number;
  pidsMax?: number;
  cpu?: { quotaUs: number; periodUs: number };
}

/** Docker semantics: 0 means "no limit" for all three, and pidsMax -1 means unlimited too. */
export function checkLimits(limits: CgroupLimits): CheckedLimits {
  const out: CheckedLimits = {};
  const { memoryBytes, pidsMax, cpuQuotaUs, cpuPeriodUs } = limits;
  if (memoryBytes !== undefined && memoryBytes !== 0) {
    if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 0) {
      throw new NsxError(`memory limit ${memoryBytes}: not a whole, positive number of bytes`, {
        detail: 'memory',
        hint: 'memory.max (v2) and memory.limit_in_bytes (v1) take a byte count, e.g. 268435456 for 256 MiB',
      });
    }
    if (memoryBytes < MIN_MEMORY_BYTES) {
      throw new NsxError(
        `memory limit ${memoryBytes} bytes: minimum memory limit allowed is 6MB (${MIN_MEMORY_BYTES} bytes)`,
        {
          detail: 'memory',
          hint: "below that even starting the container's first process gets OOM-killed (Docker refuses it too)",
        },
      );
    }
    out.memoryBytes = memoryBytes;
  }
  if (pidsMax !== undefined && pidsMax !== 0 && pidsMax !== -1) {
    if (!Number.isSafeInteger(pidsMax) || pidsMax < 0) {
      throw new NsxError(`pids limit ${pidsMax}: not a whole number of processes`, {
        detail: 'pids',
        hint: 'pids.max takes a whole number of tasks, e.g. 100 (0 or -1: no limit)',
      });
    }
    out.pidsMax = pidsMax;
  }
  if (cpuQuotaUs !== undefined && cpuQuotaUs !== 0) {
    if (!Number.isSafeInteger(cpuQuotaUs) || cpuQuotaUs < MIN_CPU_QUOTA_US) {
      throw new NsxError(`cpu quota ${cpuQuotaUs}µs: out of range; the smallest CFS quota is ${MIN_CPU_QUOTA_US}µs`, {
        detail: 'cpu',
        hint:
          'the kernel needs a quota of at least 1ms per period (cpu.max, cpu.cfs_quota_us); ' +
          'e.g. 50000 per 100000 is half a CPU',
      });
    }
    const periodUs = cpuPeriodUs ?? CPU_PERIOD_US;
    if (!Number.isSafeInteger(periodUs) || periodUs < MIN_CPU_PERIOD_US || periodUs > MAX_CPU_PERIOD_US) {
      const message = `cpu period ${periodUs}µs: out of range; the CFS period is 1000µs (1ms) to 1000000µs (1s)`;
      throw new NsxError(message, {
        detail: 'cpu',
        hint: `leave it out for the kernel's default of ${CPU_PERIOD_US}µs (100ms)`,
      });
    }
    // No upper bound on the quota: one above the machine's CPU count is accepted by the kernel and
    // simply never throttles (Docker refuses it up front; we let learners see that it has no effect).
    out.cpu = { quotaUs: cpuQuotaUs, periodUs };
  }
  return out;
}
