// Linux security modules nsx can teach with: Landlock and AppArmor. Neither is needed to run.
import type { DoctorEnv } from '../env.js';
import { checker, type Check } from '../types.js';

/** AppArmor's module parameter (Documentation/admin-guide/LSM/apparmor.rst): "Y" when enabled at boot. */
export function apparmorEnabled(env: DoctorEnv): boolean {
  return env.readFile('/sys/module/apparmor/parameters/enabled')?.trim() === 'Y';
}

/** securityfs is mounted when mountinfo (proc(5)) has a mount of that type. */
function securityfsMounted(env: DoctorEnv): boolean {
  return /\s-\ssecurityfs\s/.test(env.readFile('/proc/self/mountinfo') ?? '');
}

/**
 * landlock(7): the kernel lists its active LSMs in /sys/kernel/security/lsm (securityfs);
 * Landlock (5.13+) is usable when "landlock" is among them.
 */
export function checkLandlock(env: DoctorEnv): Check {
  const c = checker('landlock', 'Landlock', false);
  const lsm = env.readFile('/sys/kernel/security/lsm');
  if (lsm === undefined) {
    if (!securityfsMounted(env)) {
      return c.warn('unknown: securityfs not mounted (mount -t securityfs securityfs /sys/kernel/security)', 'sudo mount -t securityfs securityfs /sys/kernel/security, then run nsx doctor again');
    }
    return c.warn('unknown: no /sys/kernel/security/lsm (kernel older than 4.15?)', 'Landlock needs Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK=y');
  }
  const active = lsm.trim().split(',').filter(Boolean);
  if (active.includes('landlock')) return c.ok(`active (LSMs: ${active.join(',')})`);
  return c.warn(
    `not active (LSMs: ${active.join(',') || 'none'}); only the Landlock lesson needs it`,
    `Linux 5.13+ with CONFIG_SECURITY_LANDLOCK=y, and lsm=landlock,${active.join(',') || 'capability'} on the kernel command line`,
  );
}

/** AppArmor (Documentation/admin-guide/LSM/apparmor.rst): the LSM lesson's example profile needs it. */
export function checkApparmor(env: DoctorEnv): Check {
  const c = checker('apparmor', 'AppArmor', false);
  if (apparmorEnabled(env)) return c.ok('active (/sys/module/apparmor/parameters/enabled is Y)');
  const why = env.exists('/sys/module/apparmor') ? 'disabled at boot' : 'not in this kernel';
  return c.warn(
    `not active (${why}): fine, only the LSM lesson needs it`,
    'sudo apt-get install apparmor, and boot with apparmor=1 security=apparmor on the kernel command line',
  );
}
