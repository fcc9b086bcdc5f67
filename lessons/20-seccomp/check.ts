// The seccomp lesson's task, checked against the live processes: a process the learner started after
// the task was shown (processes() counts only those, see nsx check), outside any container, running
// under a seccomp filter: "Seccomp: 2" (SECCOMP_MODE_FILTER) in /proc/PID/status (proc(5)).
// What the filter denies is not in /proc: reading the program back needs
// ptrace(PTRACE_SECCOMP_GET_FILTER), which nsx does not do; the learner sees the refused call.
import type { CheckResult } from '../../src/learn/lesson.js';
import { hostNamespaces, inNsxContainer, newestFirst, processes, statusField } from '../../src/learn/kernel.js';

export function checkTask(): CheckResult {
  const hostPid = hostNamespaces().pid;
  // Kernel threads have no command line; another PID namespace is some container's.
  const candidates = processes().filter(
    (p) => p.cmdline && p.pid !== process.pid && (!p.ns.pid || p.ns.pid === hostPid) && !inNsxContainer(p.pid),
  );
  for (const p of newestFirst(candidates)) {
    if (statusField(p.pid, 'Seccomp') !== '2') continue;
    const filters = statusField(p.pid, 'Seccomp_filters');
    const count = filters ? ` (Seccomp_filters: ${filters})` : '';
    const nnp = statusField(p.pid, 'NoNewPrivs') === '1' ? ', with no_new_privs set first' : '';
    return {
      ok: true,
      message: `Process ${p.pid} (${p.comm}) runs under a seccomp filter: Seccomp: 2${count}${nnp}, outside any container. Every child it starts inherits the filter.`,
    };
  }
  return {
    ok: false,
    message:
      'No process started since the task was shown runs under a seccomp filter outside a container yet ("Seccomp: 2" in /proc/PID/status).',
  };
}
