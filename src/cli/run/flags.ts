// docker run's flags as the runtime's option names: one mapping for both ways a container is run
// (through the engine, engine-run.ts; in process, handler.ts), so a flag cannot reach one and not the other.
import type { RunArgs } from './index.js';

export function containerFlags(a: RunArgs) {
  return {
    entrypoint: a.entrypoint,
    env: a.env,
    hostname: a.hostname,
    workdir: a.workdir,
    user: a.user,
    memory: a.memory,
    pidsLimit: a['pids-limit'],
    cpus: a.cpus,
    capAdd: a['cap-add'],
    capDrop: a['cap-drop'],
    privileged: a.privileged,
    securityOpt: a['security-opt'],
    network: a.network,
    userns: a.userns,
    cgroupns: a.cgroupns,
    unsafeChroot: a['unsafe-chroot'],
  };
}
