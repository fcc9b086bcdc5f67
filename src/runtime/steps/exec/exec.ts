// docker exec's exec step: execve(2) of the new command, beside the container's PID 1; it ends with
// the container at the latest (pid_namespaces(7): when PID 1 dies, the kernel kills the rest).
import { exec, execActions } from '../exec.js';
import type { ExecStep } from '../step.js';

export const execExec: ExecStep<'exec'> = {
  ...exec,
  why: "The command replaces the runtime's code; it runs beside PID 1 and ends with the container at the latest (pid_namespaces(7): when PID 1 dies, the kernel kills every other process of its namespace).",

  build: execActions,
};
