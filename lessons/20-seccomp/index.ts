import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Demo, Lesson } from '../../src/learn/lesson.js';
import { packageRoot } from '../../src/paths.js';
import { defaultProfilePath } from '../../src/runtime/seccomp/index.js';
import { checkTask } from './check.js';

/** The status lines that say what a process is allowed (proc(5)): its capabilities, no_new_privs,
 *  its seccomp mode (0 none, 2 filter) and how many filters it has (Linux 5.9+). */
const STATUS = '^(CapEff|NoNewPrivs|Seccomp|Seccomp_filters):';

/** The calls tried from inside, before and after the filter, by a process the engine execs into the
 *  container as the `s` shell is (its namespaces, root, capabilities and, once there, the filter).
 *  Busybox has no keyctl: the walk below shows what the filter does with that one. */
const TRIES = [
  `grep -E "${STATUS}" /proc/self/status`,
  'unshare -U true && echo "unshare -U: ok"',
  'unshare -Urm sh -c "mount -t tmpfs none /tmp && echo \\"mount, in a user namespace of its own: ok\\""',
].join('; ');

/** The lab's profile: Docker's default with mkdir and mkdirat out of its allow list (so they get the
 *  default action, ERRNO(EPERM)); one file per nsx process, removed when the lesson ends. */
const LAB_PROFILE = join(tmpdir(), `nsx-seccomp-lab.${process.pid}.json`);
const DEFAULT = defaultProfilePath();

/** The call busybox's and coreutils' mkdir make: aarch64 has no mkdir(2), only mkdirat (asm-generic/unistd.h). */
const MKDIR = process.arch === 'arm64' ? 'mkdirat' : 'mkdir';

/** The task's helper, shipped in this folder (lesson.md explains it). */
export const DENY_HELPER = join(packageRoot(), 'lessons', '20-seccomp', 'deny.pl');

const inside = (after: Demo['after'], notice: string): Demo => ({
  after,
  onHost: true,
  command: ['{nsx}', 'exec', '{id}', '/bin/sh', '-c', TRIES],
  notice,
});

const seccomp: Lesson = {
  id: 'seccomp',
  title: 'Seccomp: a filter on every system call',
  minutes: 12,
  needsRoot: true,
  manPages: ['seccomp(2)', 'prctl(2)', 'proc(5)', 'unshare(2)', 'user_namespaces(7)', 'personality(2)', 'clone(2)'],
  run: {
    // no_new_privs, so that the capabilities step drops to Docker's set at once: without it nsx keeps
    // CAP_SYS_ADMIN until the filter is in (see plan.ts), and the before/after would differ in it too.
    options: { securityOpt: ['no-new-privileges'] },
    command: ['/bin/sh', '-c', `exec 2>&1; ${TRIES}; echo "mkdir: $(mkdir /tmp/d && echo ok)"`],
  },
  focus: ['no-new-privs', 'capabilities', 'seccomp', 'exec'],
  demos: [
    {
      after: 'capabilities',
      onHost: true,
      command: ['grep', '-E', STATUS, '/proc/{pid}/status'],
      notice: "The host's view of the container's process: Docker's 14 capabilities, no_new_privs, Seccomp: 0.",
    },
    inside(
      'capabilities',
      "The container's view, from a process the engine execs into it as your `s` shell: the same, and both calls work: a user namespace needs no capability, and root in a new one may mount a tmpfs in its own mount namespace.",
    ),
    {
      after: 'seccomp',
      onHost: true,
      command: ['grep', '-E', STATUS, '/proc/{pid}/status'],
      notice: 'The same process after the step: Seccomp: 2 (a filter), one filter; CapEff has not changed.',
    },
    inside(
      'seccomp',
      'The same commands, the same capabilities: now unshare(2) fails with EPERM. The filter answered before the kernel ran the call.',
    ),
    {
      after: 'seccomp',
      onHost: true,
      command: ['{nsx}', 'seccomp', '--trace', 'keyctl', '--trace', 'read'],
      notice:
        'The program nsx compiled from Docker\'s JSON: the architecture check at the top, then one "jeq" per system call number. keyctl is in no rule: it runs past every jeq to the default, ERRNO(EPERM); read matches the first and is allowed.',
    },
    {
      after: 'seccomp',
      onHost: true,
      command: ['{nsx}', 'seccomp', '--trace', 'clone:0x10000000', '--trace', 'personality:0x8'],
      notice:
        'Conditions on arguments, 32 bits at a time: clone with CLONE_NEWUSER (0x10000000) fails the mask 0x7e020000 test and gets EPERM; personality(PER_LINUX32) equals the second value Docker allows.',
    },
    {
      after: 'exit',
      onHost: true,
      command: [
        'sh',
        '-c',
        `sed -E '/^\\s*"mkdir(at)?",$/d' ${DEFAULT} > ${LAB_PROFILE}; diff ${DEFAULT} ${LAB_PROFILE}`,
      ],
      notice: "A profile of the lab's own: Docker's default with two lines taken out of its allow list.",
      cleanup: ['rm', '-f', LAB_PROFILE],
    },
    {
      after: 'exit',
      onHost: true,
      command: [
        '{nsx}',
        'run',
        '--rm',
        '--rootfs',
        '{rootfs}',
        '--security-opt',
        `seccomp=${LAB_PROFILE}`,
        '/bin/sh',
        '-c',
        'mkdir /tmp/d; touch /tmp/f && echo "touch: ok"; ls /tmp; ' + `grep -E "^Seccomp:" /proc/self/status`,
      ],
      notice: 'A container under that profile: mkdir fails with EPERM, the rest works as before.',
    },
    {
      after: 'exit',
      onHost: true,
      command: [
        '{nsx}',
        'run',
        '--rm',
        '--rootfs',
        '{rootfs}',
        '--security-opt',
        'seccomp=unconfined',
        '/bin/sh',
        '-c',
        `${TRIES}; mkdir /tmp/d && echo "mkdir: ok"`,
      ],
      notice:
        'And with no filter at all (seccomp=unconfined): Seccomp: 0, and unshare works again. Only the capabilities are left between this container and those calls.',
    },
  ],
  check: async () => checkTask(),
  hints: [
    'seccomp(2): a process installs a filter on itself, and it stays across execve(2); so you need a small program that installs one and then executes your command.',
    `Perl is on every Debian system: ${DENY_HELPER} is such a program, seven BPF instructions. Read it first.`,
    'Keep the process running (sleep will do) while you check, and try the denied call under the same filter first, to see its EPERM.',
    `For example: perl ${DENY_HELPER} ${MKDIR} sh -c 'mkdir /tmp/x; exec sleep 600', then nsx check seccomp from a second terminal.`,
  ],
  quiz: [
    {
      question:
        'After the seccomp step, `unshare -U` fails with EPERM; before it, with the same capabilities, it worked. What refused it?',
      choices: [
        'The capability check of unshare(2): creating a user namespace needs CAP_SYS_ADMIN',
        "The filter: Docker's profile allows unshare only to containers that hold CAP_SYS_ADMIN, and returns ERRNO(EPERM) before the call runs",
        'The user namespace limit in /proc/sys/user/max_user_namespaces',
      ],
      answer: 1,
      why: 'user_namespaces(7): "Starting in Linux 3.8, unprivileged processes can create user namespaces", which is why it worked before. Docker\'s profile lists unshare in a rule with "includes": {"caps": ["CAP_SYS_ADMIN"]}; without that capability the call matches no rule and gets the default action, SCMP_ACT_ERRNO with errno 1. seccomp(2): with SECCOMP_RET_ERRNO the errno is returned "without executing the system call".',
    },
    {
      question: 'Why must a process set no_new_privs (or hold CAP_SYS_ADMIN) before it may install a filter?',
      choices: [
        'Because BPF programs could crash the kernel',
        "So that it cannot filter a set-user-ID program it executes, e.g. make that program's setuid(2) fail or lie, and leave it running with privileges it meant to drop",
        'Because the filter is shared with every other process of the user',
      ],
      answer: 1,
      why: 'seccomp(2), SECCOMP_SET_MODE_FILTER: "This requirement ensures that an unprivileged process cannot apply a malicious filter and then invoke a set-user-ID or other privileged program using execve(2), thus potentially compromising that program." Otherwise it fails with EACCES. With no_new_privs, execve grants no privileges (prctl(2)), so there is nothing to compromise.',
    },
    {
      question:
        'Two filters are installed; for one call the first returns SECCOMP_RET_ERRNO and the second SECCOMP_RET_KILL_PROCESS. What happens?',
      choices: [
        'The call fails with the errno: the first filter installed wins',
        'The process is killed: the action of highest precedence wins',
        'The call is allowed, since the two disagree',
      ],
      answer: 1,
      why: 'seccomp(2): all filters run, the newest first, and "the return value for the evaluation of a given system call is the first-seen action value of highest precedence". KILL_PROCESS has the highest, then KILL_THREAD, TRAP, ERRNO, USER_NOTIF, TRACE, LOG, ALLOW. Filters only add restrictions: a later one can never allow what an earlier one denies.',
    },
  ],
};

export default seccomp;
