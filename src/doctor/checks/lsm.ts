// Linux security modules: Landlock and AppArmor, as the kernel reports them. Neither is needed to run.
import type { DoctorEnv } from '../env.js';
import { checker, type Check } from '../types.js';

/** AppArmor's module parameter (Documentation/admin-guide/LSM/apparmor.rst): "Y" when enabled at boot;
 *  or the kernel's list of active LSMs names it. */
export function apparmorEnabled(env: DoctorEnv): boolean {
  return (
    env.readFile('/sys/module/apparmor/parameters/enabled')?.trim() === 'Y' || !!env.activeLsms()?.includes('apparmor')
  );
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
  const active = env.activeLsms();
  if (active === undefined) {
    if (!securityfsMounted(env)) {
      if (env.uid() !== 0) {
        return c.warn(
          'unknown: securityfs is not mounted, and reading it elsewhere needs root',
          'run sudo nsx doctor (it reads the list in a mount namespace of its own)',
        );
      }
      return c.warn(
        'unknown: securityfs not mounted, and it could not be mounted privately (mount -t securityfs securityfs /sys/kernel/security)',
        'sudo mount -t securityfs securityfs /sys/kernel/security, then run nsx doctor again',
      );
    }
    return c.warn(
      'unknown: no /sys/kernel/security/lsm (kernel older than 4.15?)',
      'Landlock needs Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK=y',
    );
  }
  if (active.includes('landlock')) return c.ok(`active (LSMs: ${active.join(',')})`);
  return c.warn(
    `not active (LSMs: ${active.join(',') || 'none'}); nsx runs without it, and the security-modules lesson skips its Landlock part`,
    `Linux 5.13+ with CONFIG_SECURITY_LANDLOCK=y, and lsm=landlock,${active.join(',') || 'capability'} on the kernel command line`,
  );
}

/** AppArmor (Documentation/admin-guide/LSM/apparmor.rst): where it is enabled, Docker confines containers with it. */
export function checkApparmor(env: DoctorEnv): Check {
  const c = checker('apparmor', 'AppArmor', false);
  if (apparmorEnabled(env)) return c.ok('active (/sys/module/apparmor/parameters/enabled is Y)');
  const why = env.exists('/sys/module/apparmor') ? 'disabled at boot' : 'not in this kernel';
  return c.warn(
    `not active (${why}): fine, nsx runs without it, and the security-modules lesson skips its AppArmor parts`,
    'sudo apt-get install apparmor, and boot with apparmor=1 security=apparmor on the kernel command line',
  );
}
