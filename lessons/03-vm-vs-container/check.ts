// The vm-vs-container lesson's task, checked against the live processes: a VM (a qemu-system-*
// process) and a container of nsx's (a process in a PID namespace of its own under nsx's shim),
// both started by the learner and running at the same time. Seen from the host, the container's
// program is a process of the host's kernel like any other; the VM is one qemu process, and the
// programs its own kernel runs are not in the host's process table at all.
import { readFileSync } from 'node:fs';
import type { CheckResult } from '../../src/learn/lesson.js';
import {
  cgroupDirOf,
  inNewNamespace,
  inNsxContainer,
  newestFirst,
  processes,
  statusField,
} from '../../src/learn/kernel.js';

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

/** The value after an option in a command line (qemu's "-m 256": "256"). */
export function optionOf(cmdline: string, option: string): string | undefined {
  const words = cmdline.split(' ');
  const i = words.indexOf(option);
  return i >= 0 ? words[i + 1] : undefined;
}

/** The memory charged to the container's own cgroup now (not a parent's: nsx's are nsx/<id>). */
function memoryCurrent(pid: number): number | undefined {
  const dir = cgroupDirOf(pid, 'memory');
  if (!dir?.includes('/nsx/')) return undefined;
  for (const f of ['memory.current', 'memory.usage_in_bytes']) {
    try {
      return Number(readFileSync(`${dir}/${f}`, 'utf8').trim());
    } catch {
      /* the other generation's file, or no memory cgroup */
    }
  }
  return undefined;
}

export function checkSideBySide(): CheckResult {
  const procs = processes();
  // comm is cut at 15 characters: "qemu-system-x86" / "qemu-system-aar".
  const vm = newestFirst(procs.filter((p) => /^qemu-system-/.test(p.comm)))[0];
  const program = newestFirst(
    inNewNamespace('pid', procs).filter((p) => p.comm !== 'nsx-shim' && inNsxContainer(p.pid)),
  )[0];
  const ofVm = () => {
    const kernel = optionOf(vm!.cmdline, '-kernel');
    const threads = statusField(vm!.pid, 'Threads') ?? '?';
    const rss = Number(/^(\d+)/.exec(statusField(vm!.pid, 'VmRSS') ?? '')?.[1] ?? 0);
    return `the VM is qemu, process ${vm!.pid}${kernel ? ` booting ${kernel}` : ''}: ${threads} threads and ${mib(rss)} resident${optionOf(vm!.cmdline, '-m') ? ` of -m ${optionOf(vm!.cmdline, '-m')}` : ''}, and none of the programs its kernel runs is in the host's process table`;
  };
  const ofContainer = () => {
    const used = memoryCurrent(program!.pid);
    const inUse = used !== undefined ? ` (its cgroup: ${(used / 1048576).toFixed(1)} MiB in use)` : '';
    return `the container's ${program!.comm} is host process ${program!.pid}, scheduled by the host's kernel like any other${inUse}`;
  };
  if (vm && program)
    return {
      ok: true,
      message: `Side by side, seen from the host: ${ofContainer()}; ${ofVm()}. Two kernels run your programs now.`,
    };
  if (vm)
    return {
      ok: false,
      message: `A VM runs (qemu, process ${vm.pid}), but no container of yours beside it yet: start one whose program lasts.`,
    };
  if (program)
    return {
      ok: false,
      message: `A container runs (its ${program.comm} is host process ${program.pid}), but no VM beside it yet (no qemu-system-* process).`,
    };
  return {
    ok: false,
    message: 'Neither a VM (a qemu-system-* process) nor a container of yours is running yet.',
  };
}
