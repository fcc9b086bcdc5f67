// This installation and this user: the shim, the commands nsx calls, the sandbox root
// filesystem, and whether nsx runs as root.
import { join } from 'node:path';
import type { DoctorEnv } from '../env.js';
import { checker, type Check } from '../types.js';

/**
 * The C shim (shim/nsx-shim.c) does the unshare(2)/clone work a multi-threaded Node process cannot
 * (user_namespaces(7), pid_namespaces(7)); without it nothing runs. Built by `npm ci` ("prepare").
 */
export function checkShim(env: DoctorEnv): Check {
  const c = checker('shim', 'shim', true);
  const path = env.shimPath();
  if (env.executable(path)) return c.ok(`built: ${path}`);
  const root = env.packageRoot();
  const compiler = env.which('cc') ? '' : 'sudo apt-get install build-essential, then ';
  const fix = `${compiler}cd ${root} && npm ci (it compiles shim/nsx-shim.c)`;
  if (env.exists(path)) return c.fail(`${path} is not an executable file`, `chmod +x ${path}, or rebuild: ${fix}`);
  return c.fail(`not built: no ${path}`, fix);
}

/** A C compiler (cc, as scripts/build-shim.mjs uses) is needed only to build the shim again. */
export function checkCompiler(env: DoctorEnv): Check {
  const c = checker('c-compiler', 'C compiler', false);
  const cc = env.which('cc');
  if (cc) return c.ok(`cc is ${cc}`);
  const why = env.executable(env.shimPath())
    ? 'the shim is built, so only rebuilding it needs one'
    : 'the shim cannot be built';
  return c.warn(`no cc on PATH: ${why}`, 'sudo apt-get install build-essential');
}

const TOOLS: Array<{ cmd: string; pkg: string; use: string }> = [
  { cmd: 'nsenter', pkg: 'util-linux', use: "joins a container's namespaces (--network veth, the lessons)" },
  { cmd: 'ip', pkg: 'iproute2', use: 'sets up --network veth' },
];

/** nsenter(1) and ip(8): run by nsx for --network veth and by the lessons; found on PATH. */
export function checkTools(env: DoctorEnv): Check[] {
  return TOOLS.map(({ cmd, pkg, use }) => {
    const c = checker(`tool-${cmd}`, cmd, false);
    const path = env.which(cmd);
    return path ? c.ok(path) : c.warn(`not on PATH; it ${use}`, `sudo apt-get install ${pkg}`);
  });
}

/** The busybox root filesystem that `npm run sandbox` builds for the examples (--rootfs). */
export function checkSandbox(env: DoctorEnv): Check {
  const c = checker('rootfs-busybox', 'busybox rootfs', false);
  const rootfs = join(env.packageRoot(), 'sandbox', 'rootfs', 'busybox');
  const busybox = join(rootfs, 'bin', 'busybox');
  if (env.executable(busybox)) return c.ok(rootfs);
  const install = env.exists('/bin/busybox') ? '' : 'sudo apt-get install busybox-static, then ';
  return c.warn(
    `not built: no ${busybox}; the examples use it as --rootfs`,
    `${install}cd ${env.packageRoot()} && npm run sandbox`,
  );
}

/**
 * user_namespaces(7): root in the initial user namespace has uid_map "0 0 4294967295"; uid 0
 * anywhere else is root only over what its namespace owns (no host cgroups, no host veth).
 */
export function checkRoot(env: DoctorEnv): Check {
  const c = checker('root', 'user', false);
  const uid = env.uid();
  if (uid !== 0) {
    return c.warn(
      `uid ${uid}: rootless mode: cgroup limits and --network veth need root (sudo)`,
      'run nsx with sudo to use --memory, --pids-limit, --cpus and --network veth',
    );
  }
  const map = env.readFile('/proc/self/uid_map')?.trim().split(/\s+/).join(' ');
  if (map === undefined || map === '0 0 4294967295') return c.ok('root (uid 0 in the initial user namespace)');
  return c.warn(
    `uid 0 inside a user namespace (uid_map: ${map}): cgroup limits and --network veth may be refused`,
    'run nsx as root on the host (not inside a container or user namespace)',
  );
}
