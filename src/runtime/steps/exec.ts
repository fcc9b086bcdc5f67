// exec: execve(2) replaces the runtime's code in PID 1 with the container's command; the
// process keeps its namespaces, cgroup, credentials and seccomp filter.
import { shellLine } from '../../shellwords.js';
import { shim } from '../actions.js';
import type { ContainerSpec } from '../spec.js';
import type { FailureFacts, Step } from './step.js';

function pathOf(spec: ContainerSpec): string {
  return spec.process.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
}

/** Why execve failed; docker exec's exec step fails the same ways. */
export function execHint(f: FailureFacts, spec: ContainerSpec): string | undefined {
  const e = f.errnoName;
  if (e === 'ENOENT')
    return `"${f.detail}" is not in the root filesystem (PATH inside: ${pathOf(spec)}), or its ELF interpreter (dynamic loader) or #! interpreter is missing there; look with: ls ${spec.root.path}/bin`;
  if (e === 'EACCES')
    return `"${f.detail}" is not executable by the container's user (check its mode and the directories above it)`;
  if (e === 'ENOEXEC') return `"${f.detail}" is not a program for this machine (wrong architecture or missing #! line)`;
  if (e === 'EPERM')
    return 'execve was refused: a seccomp profile or an LSM forbids it, or the file has file capabilities the bounding set no longer allows (capabilities(7))';
  if (e === 'E2BIG') {
    const { args, env } = spec.process;
    const bytes = [...args, ...env].reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
    return `the arguments and environment (${args.length + env.length} strings, ${bytes} bytes) are more than execve takes: in all at most a quarter of the stack limit (ulimit -s; 8 MiB gives 2 MiB), and 128 KiB for any one string (execve(2), "Limits on size of arguments and environment")`;
  }
  if (e === 'EMSGSIZE')
    return "the command's arguments and environment are bigger than the shim takes in one message (256 MiB), far more than execve would take anyway (execve(2))";
  return undefined;
}

/** chdir to the working directory, then execve: the actions and how a learner would write them. */
export function execActions(spec: ContainerSpec) {
  const { args, env, cwd } = spec.process;
  return {
    syscalls: [`chdir("${cwd}")`, `execve("${args[0]}", …)`],
    shell: `exec ${shellLine(args)}`,
    actions: [shim({ op: 'chdir', path: cwd }), shim({ op: 'exec', argv: args, env })],
  };
}

export const exec: Step<'exec'> = {
  id: 'exec',
  title: "Execute the container's command",
  syscalls: ['execve(path, argv, envp)'],
  shell: 'exec COMMAND',
  manPage: 'execve(2)',
  why: "The runtime's code is replaced by the command, which runs as PID 1 of the container; when it exits, the container is over.",
  startsCommand: true,

  build: execActions,
  hint: execHint,
};
