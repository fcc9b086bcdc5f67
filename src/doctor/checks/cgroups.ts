// cgroups(7): which layout this machine mounts (v1, v2 or hybrid) and whether the controllers
// nsx limits with (memory, pids, cpu) are usable. Read through detectLayout(), the runtime's own.
import { join } from 'node:path';
import { NSX_CONTROLLERS, type CgroupLayout, type NsxController } from '../../runtime/cgroups/index.js';
import type { DoctorEnv } from '../env.js';
import { checker, type Check } from '../types.js';

/** detectLayout() via the env, or the error it threw (no cgroup filesystem mounted). */
export function readLayout(env: DoctorEnv): CgroupLayout | Error {
  try {
    return env.cgroupLayout();
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * cgroups(7) "CGROUPS VERSION 1/2": the layout. As root nsx gives every container a cgroup, so
 * with no cgroup filesystem at all it cannot run; without root it makes none (limits need root).
 */
export function checkCgroupLayout(env: DoctorEnv, layout: CgroupLayout | Error): Check {
  const c = checker('cgroup-layout', 'cgroups', env.uid() === 0);
  if (layout instanceof Error) {
    const hint = (layout as Error & { info?: { hint?: string } }).info?.hint;
    return c.bad(layout.message.replace(/^cgroups: /, ''), hint ?? 'sudo mount -t cgroup2 none /sys/fs/cgroup');
  }
  const v1Mounts = new Set(Object.values(layout.v1));
  const unified = layout.unified ? `unified at ${layout.unified}` : '';
  switch (layout.version) {
    case 'v2':
      return c.ok(`v2 (${unified}; controllers: ${layout.unifiedControllers.join(' ') || 'none'})`);
    case 'v1':
      return c.ok(`v1 (${v1Mounts.size} controller hierarchies)`);
    case 'hybrid':
      return c.ok(
        `hybrid (${v1Mounts.size} v1 hierarchies; ${unified} with: ${layout.unifiedControllers.join(' ') || 'no controllers'})`,
      );
  }
}

/** cgroups(7): a controller is bound to one hierarchy, a v1 mount or else the v2 root's cgroup.controllers. */
function placement(layout: CgroupLayout, controller: NsxController): string | undefined {
  const v1 = layout.v1[controller];
  if (v1 !== undefined) return `v1, mounted at ${v1}`;
  if (layout.unified !== undefined && layout.unifiedControllers.includes(controller)) {
    return `v2, listed in ${join(layout.unified, 'cgroup.controllers')}`;
  }
  return undefined;
}

const CONFIG: Record<NsxController, string> = {
  memory: 'CONFIG_MEMCG',
  pids: 'CONFIG_CGROUP_PIDS',
  cpu: 'CONFIG_CGROUP_SCHED',
};
const OPTION: Record<NsxController, string> = { memory: '--memory', pids: '--pids-limit', cpu: '--cpus' };

/** cgroups(7) "/proc/cgroups": the controllers built into the kernel, and whether each is enabled. */
function kernelState(env: DoctorEnv, controller: NsxController): 'enabled' | 'disabled' | 'absent' | 'unknown' {
  const text = env.readFile('/proc/cgroups');
  if (text === undefined) return 'unknown';
  const row = text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[0] === controller);
  if (!row) return 'absent';
  return row[3] === '0' ? 'disabled' : 'enabled';
}

function controllerFix(env: DoctorEnv, layout: CgroupLayout, controller: NsxController): string {
  const state = kernelState(env, controller);
  if (state === 'absent') return `use a kernel built with ${CONFIG[controller]}=y`;
  const cmdline =
    controller === 'memory'
      ? 'add cgroup_enable=memory cgroup_memory=1 to the kernel command line (Raspberry Pi: /boot/firmware/cmdline.txt) and reboot'
      : `remove cgroup_disable=${controller} from the kernel command line and reboot`;
  if (state === 'disabled' || layout.version === 'v2') return cmdline;
  const dir = `/sys/fs/cgroup/${controller}`;
  return `mount it: sudo mkdir -p ${dir} && sudo mount -t cgroup -o ${controller} cgroup ${dir}; if that fails, ${cmdline}`;
}

/** cgroups(7): is this controller usable? Only the matching limit option needs it, so never critical. */
export function checkController(env: DoctorEnv, layout: CgroupLayout | Error, controller: NsxController): Check {
  const c = checker(`cgroup-${controller}`, `cgroup ${controller}`, false);
  if (layout instanceof Error) return c.warn('unknown: no cgroup filesystem (see "cgroups")', 'fix "cgroups" first');
  const where = placement(layout, controller);
  if (where) return c.ok(where);
  const disabled = kernelState(env, controller) === 'disabled' ? ' (switched off: /proc/cgroups says enabled 0)' : '';
  return c.warn(
    `not available${disabled}: ${OPTION[controller]} will not work`,
    controllerFix(env, layout, controller),
  );
}

export function checkCgroups(env: DoctorEnv): Check[] {
  const layout = readLayout(env);
  return [checkCgroupLayout(env, layout), ...NSX_CONTROLLERS.map((ctl) => checkController(env, layout, ctl))];
}
