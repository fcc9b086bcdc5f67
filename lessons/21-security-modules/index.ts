import type { Lesson } from '../../src/learn/lesson.js';
import { checkTask } from './check.js';
import { APPARMOR_OFF_WHY, APPARMOR_ON, LAB_PROFILE, labProfileFile, landlockTool } from './lab.js';

// The container: Docker's defaults (root, 14 capabilities with CAP_DAC_OVERRIDE and CAP_MKNOD, the
// default seccomp filter, which allows the three Landlock calls, nsx-default where AppArmor is
// enabled). Its command waits a second (for the host to read its AppArmor label), then writes outside
// /tmp before and after a Landlock ruleset, and makes and opens a block device node.
const COMMAND = [
  'exec 2>&1; sleep 1',
  'echo "uid $(id -u), $(grep CapEff /proc/self/status)"',
  'echo "AppArmor: $(cat /proc/self/attr/current 2>/dev/null || echo none, no label to read)"',
  'echo one > /dev/shm/note && echo "write /dev/shm/note: ok"',
  'if abi=$(/tmp/landlock --abi); then echo "Landlock ABI $abi"; ' +
    '/tmp/landlock -w /tmp -- /bin/sh -c \'echo two > /dev/shm/note; echo ok > /tmp/note && echo "write /tmp/note: ok"\'; ' +
    'else echo "Landlock: $abi"; fi',
  'mknod /dev/sda b 8 0 && echo "mknod /dev/sda: ok"',
  'head -c 1 /dev/sda >/dev/null',
].join('; ');

const securityModules: Lesson = {
  id: 'security-modules',
  title: 'Security modules: mandatory access control',
  minutes: 10,
  needsRoot: true,
  manPages: ['landlock(7)', 'apparmor(7)', 'apparmor_parser(8)', 'apparmor.d(5)', 'capabilities(7)', 'ptrace(2)'],
  run: { options: {}, command: ['/bin/sh', '-c', COMMAND] },
  focus: ['devices', 'lsm', 'exec'],
  demos: [
    {
      after: 'devices',
      onHost: true,
      command: [
        'sh',
        '-c',
        'd=$(sed -n "s/^[0-9]*:devices://p" /proc/{pid}/cgroup); ' +
          'if [ -n "$d" ]; then echo "cgroup v1, /sys/fs/cgroup/devices$d/devices.list:"; cat /sys/fs/cgroup/devices$d/devices.list; ' +
          'else d=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/{pid}/cgroup); echo "cgroup v2: no rule files; an eBPF program is attached to $d"; ' +
          'if command -v bpftool >/dev/null; then bpftool cgroup show $d; else echo "(bpftool is not installed: the step\'s note gives the program\'s length)"; fi; fi',
      ],
      notice:
        'The container may read, write and make (r w m) only the character devices its /dev holds, and make (m) any node: opening any other is refused, whatever its capabilities.',
    },
    {
      after: 'pivot-root',
      onHost: true,
      command: [
        'sh',
        '-c',
        'cat /sys/kernel/security/lsm 2>/dev/null || unshare --mount --propagation private sh -c ' +
          '"mount -t securityfs securityfs /sys/kernel/security && cat /sys/kernel/security/lsm"; echo',
      ],
      notice:
        'The security modules this kernel runs (securityfs, read in a mount namespace of its own where it is not mounted); the capability module is always one of them.',
    },
    {
      after: 'pivot-root',
      onHost: true,
      command: ['cp', '-v', landlockTool(), '/proc/{pid}/root/tmp/landlock'],
      notice:
        "The lesson's Landlock tool, copied into the container's own /tmp (a tmpfs that goes with it): busybox has no Landlock command.",
    },
    {
      // Only where the lsm step is applied (AppArmor enabled, as root): a skipped step runs no demos.
      after: 'lsm',
      onHost: true,
      command: ['sed', '-n', '/^profile/,$p', labProfileFile()],
      notice:
        "nsx-default's rules as text, in the lab's copy of them: the same rules under the name nsx-lab, plus one deny rule at the end, used after the command.",
    },
    {
      after: 'exec',
      onHost: true,
      command: [
        'sh',
        '-c',
        `if ${APPARMOR_ON}; then cat /proc/{pid}/attr/current; else echo "${APPARMOR_OFF_WHY}"; fi`,
      ],
      notice:
        "Where AppArmor is enabled: the command's label, read from the host, is nsx-default (enforce): the kernel switched to it at the execve.",
    },
    {
      after: 'exit',
      onHost: true,
      command: [
        'sh',
        '-c',
        `if ! ${APPARMOR_ON}; then echo "${APPARMOR_OFF_WHY}"; exit 0; fi; ` +
          `apparmor_parser -r ${labProfileFile()} && echo "${LAB_PROFILE} loaded" && ` +
          `{nsx} run --rm --security-opt apparmor=${LAB_PROFILE} --rootfs {rootfs} /bin/sh -c ` +
          '"cat /proc/self/attr/current; echo x > /tmp/lab"; ' +
          `(dmesg 2>/dev/null || journalctl -k -q) | grep 'apparmor="DENIED"' | grep ${LAB_PROFILE} | tail -n 1`,
      ],
      notice:
        'Where AppArmor is enabled: a second container under the lab profile, denied a write to /tmp, and the kernel\'s audit line for it (apparmor="DENIED").',
      cleanup: (output) =>
        output.includes(`${LAB_PROFILE} loaded`) ? ['apparmor_parser', '-R', labProfileFile()] : undefined,
      // A second container (and its nsx, and the engine's autostart where it is not running): a
      // second or two on a real machine, over a minute in an emulated VM (scripts/kernel-vm.sh).
      timeoutSeconds: 180,
    },
  ],
  check: () => checkTask(),
  hints: [
    'A security module decides in addition to the permission bits and capabilities: for the check, a process of yours must be refused a write that its user could otherwise make. The check tries a new directory in /var/tmp, which every user may write.',
    "Landlock needs no root: the lesson's tool is shim/nsx-landlock in nsx's folder (`nsx-landlock -w DIR -- COMMAND` leaves only DIR writable). In the VM, an AppArmor profile of your own works too: apparmor_parser(8) loads it, aa-exec(1) runs a command under it.",
    'Keep the process running (a shell, or sleep), started after the lesson showed the task, and run the check from another terminal.',
    'Under the tool, a `sleep` with /tmp as its one writable directory leaves /var/tmp read-only to it; run as root, it also shows that CAP_DAC_OVERRIDE does not help. With AppArmor: `file,` allows everything, one `deny` rule for /var/tmp takes it back.',
  ],
  quiz: [
    {
      question:
        'Inside the container, root with CAP_DAC_OVERRIDE is refused a write to /dev/shm/note after the Landlock ruleset. Which check refused it?',
      choices: [
        'The file mode bits: root is not the owner',
        'Landlock: a mandatory check of its own, beside the permission bits, which CAP_DAC_OVERRIDE does not bypass',
        'The seccomp filter',
      ],
      answer: 1,
      why: 'landlock(7): Landlock is a stackable LSM, "new security layers in addition to the existing system-wide access-controls": the kernel asks it as well as the permission bits (which CAP_DAC_OVERRIDE lets root bypass), and no capability bypasses it. A ruleset restricts "the thread enforcing it, and its future children".',
    },
    {
      question: 'mknod /dev/sda succeeds in the container, but opening it fails with EPERM. Why?',
      choices: [
        'The container has no CAP_MKNOD',
        'The device cgroup allows making any node (m) but not reading or writing block device 8:0',
        'The disk is called vda on this machine',
      ],
      answer: 1,
      why: 'The kernel\'s Documentation/admin-guide/cgroup-v1/devices.rst: an entry\'s access is a composition of r (read), w (write) and m (mknod); Docker allows `c *:* m` and `b *:* m`, and rw only for its own /dev nodes. On cgroup v2 the same rules are an eBPF program (cgroup-v2.rst, "Device controller"). The device cgroup is checked at open, before the driver: EPERM whether the disk exists or not.',
    },
    {
      question: 'Where does a process pick up the AppArmor profile nsx writes into /proc/self/attr/apparmor/exec?',
      choices: [
        "At once, for the rest of the runtime's steps",
        "At its next execve(2): the container's command",
        'At the next fork(2)',
      ],
      answer: 1,
      why: 'proc(5), /proc/PID/attr/exec: "This file represents the attributes to assign to the process upon a subsequent execve(2)"; since Linux 5.8 AppArmor also has its own copy, /proc/PID/attr/apparmor/exec. runc applies the profile the same way, writing "exec PROFILE" there (libcontainer/apparmor).',
    },
  ],
};

export default securityModules;
