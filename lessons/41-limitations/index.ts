import type { Lesson, TourCommand } from '../../src/learn/lesson.js';
import { checkTask } from './check.js';
import { startLimitsLab } from './lab.js';

/** `nsx run --rm` on the lab's root filesystem, with extra options, through the lab's engine. */
const inContainer = (options: string[], command: string[], notice: string): TourCommand => ({
  command: ['nsx', 'run', '--rm', ...options, '--rootfs', '{rootfs}', ...command],
  notice,
});

// The "host disk" attempt: mknod a node for the loop device, read its first line, write its second
// block. Each line says what happened: "ok" or the shell's error. conv=fsync: a write to a block
// device stays in the device's page cache until it is flushed (fsync(2), or at its last close:
// block/bdev.c), and the lab holds the device open (lab.ts), so the container's close is not the
// last; the host then reads the disk's file.
const DISK = [
  'mknod /dev/hostdisk b {major} {minor} && echo "mknod: ok"',
  'echo "read: $(head -n 1 /dev/hostdisk 2>&1)"',
  'echo "written by a container" | dd of=/dev/hostdisk bs=512 seek=1 conv=notrunc,fsync 2>/tmp/e && echo "write: ok" || echo "write: $(tail -n 1 /tmp/e)"',
].join('; ');

// The host process: mount the cgroup hierarchy that holds it, and freeze its cgroup.
const FREEZE = [
  'mkdir -p /tmp/cg',
  'mount {freezeMount} none /tmp/cg || exit 1',
  'echo "mounted; the lab\'s cgroup: $(ls -d /tmp/cg/{cgroup} 2>&1)"',
  '[ -d /tmp/cg/{cgroup} ] || exit 1',
  'echo {freeze} > /tmp/cg/{cgroup}/{freezeFile} && echo "froze {cgroup}"',
].join('; ');

const limitations: Lesson = {
  id: 'limitations',
  title: 'Limitations: one kernel, and walls only as good as the flags',
  minutes: 12,
  needsRoot: true,
  manPages: [
    'execve(2)',
    'elf(5)',
    'uname(2)',
    'init_module(2)',
    'capabilities(7)',
    'open_by_handle_at(2)',
    'loop(4)',
    'mknod(2)',
    'cgroups(7)',
    'cgroup_namespaces(7)',
    'seccomp(2)',
  ],
  focus: [],
  demos: [],
  tour: {
    setup: startLimitsLab,
    stops: [
      {
        id: 'formats',
        title: 'Only Linux programs, for this machine',
        commands: [
          {
            command: [
              'sh',
              '-c',
              'cd {rootfs} && for f in hello.exe hello-macos {foreign}; do printf "%-14s" $f; od -An -c -N 4 $f; done',
            ],
            notice:
              'The first bytes of three programs: "MZ" (Windows PE), the Mach-O magic 0xfeedfacf (macOS), and "\\177ELF" (Linux, but for {foreignArch}).',
          },
          inContainer(
            [],
            ['/hello.exe'],
            'docker\'s answer, word for word: the container started, the kernel refused the file ("exec format error"), and PID 1 ended with 255.',
          ),
          inContainer(
            [],
            ['/limits-probe', 'exec', '/hello.exe', '/hello-macos', '/{foreign}'],
            "execve(2) of each, asked directly: ENOEXEC for all three, unless a binfmt_misc handler took the {foreignArch} one (this machine's: {binfmt}).",
          ),
          {
            command: [
              'sh',
              '-c',
              'ls /proc/sys/fs/binfmt_misc; cat /proc/sys/fs/binfmt_misc/status 2>/dev/null || echo "(binfmt_misc is not mounted: no handlers)"',
            ],
            notice:
              "The host's binfmt_misc: the extra formats this kernel knows (qemu-user's handlers, where installed). One setting of the host's kernel, for every container alike.",
          },
        ],
      },
      {
        id: 'kernel',
        title: 'One kernel for all',
        commands: [
          { command: ['uname', '-r'], notice: "The host's kernel release." },
          inContainer([], ['uname', '-r'], "The container's: the same kernel, the only one there is."),
          inContainer(
            [],
            ['/limits-probe', 'module'],
            "Loading a module from a default container: EPERM (Docker's seccomp profile, and no CAP_SYS_MODULE).",
          ),
          inContainer(
            ['--security-opt', 'seccomp=unconfined'],
            ['/limits-probe', 'module'],
            "Without the seccomp filter: EPERM from the kernel's own check, no CAP_SYS_MODULE; or ENOSYS, where the kernel was built without modules (no /proc/modules) and has no loader to ask.",
          ),
          inContainer(
            ['--privileged'],
            ['/limits-probe', 'module'],
            "With --privileged both walls are gone: the kernel judged the bytes and refused them as no module (ENOEXEC and the like; ENOSYS without module support), not EPERM (but on a locked-down kernel). A real module would now be in the host's kernel, under every container.",
          ),
        ],
      },
      {
        id: 'disk',
        title: 'A host disk',
        commands: [
          {
            command: ['losetup', '{device}'],
            notice:
              'The lab\'s "host disk": a loop device ({major}:{minor}) over a file of 1 MiB with a marker in its first block.',
          },
          inContainer(
            [],
            ['/bin/sh', '-c', DISK],
            'A default container may make the node (mknod is allowed) but not open it: the device cgroup refuses, EPERM.',
          ),
          inContainer(
            ['--privileged'],
            ['/bin/sh', '-c', DISK],
            "With --privileged the device cgroup allows every device: the marker is read, and the host's disk written.",
          ),
          {
            command: ['sh', '-c', 'dd if={image} bs=512 skip=1 count=1 status=none | tr -d "\\000"'],
            notice: "The disk's second block, read on the host: the container's line is there.",
          },
        ],
      },
      {
        id: 'files',
        title: "The host's files by handle (shocker)",
        commands: [
          {
            command: ['cat', '{secret}'],
            notice: "A file of the host, outside the container's root filesystem ({rootfs}).",
          },
          inContainer(
            [],
            ['/limits-probe', 'shocker', '{handle}', '{secretFromTop}'],
            'open_by_handle_at from a default container: EPERM, refused by the seccomp filter.',
          ),
          inContainer(
            ['--security-opt', 'seccomp=unconfined'],
            ['/limits-probe', 'shocker', '{handle}', '{secretFromTop}'],
            'Without the filter: still EPERM, from the kernel itself: open_by_handle_at needs CAP_DAC_READ_SEARCH.',
          ),
          inContainer(
            ['--privileged'],
            ['/limits-probe', 'shocker', '{handle}', '{secretFromTop}'],
            "With --privileged: the handle opens the top of the host's filesystem, and the file below it is read. pivot_root did not matter.",
          ),
        ],
      },
      {
        id: 'process',
        title: 'A host process',
        commands: [
          {
            command: ['sh', '-c', 'ps -o pid,stat,args -p {sleep}; cat /proc/{sleep}/cgroup | grep -m1 "{cgroup}"'],
            notice: "A process of the host: sleep, alone in the lab's cgroup {cgroup}.",
          },
          inContainer(
            [],
            ['/bin/sh', '-c', FREEZE],
            'A default container cannot mount a cgroup hierarchy: no CAP_SYS_ADMIN, and the seccomp filter refuses mount(2).',
          ),
          inContainer(
            ['--privileged'],
            ['/bin/sh', '-c', FREEZE],
            '--privileged may mount it, but sees only its own cgroup: its cgroup namespace is rooted there. That wall --privileged keeps.',
          ),
          inContainer(
            ['--privileged', '--cgroupns', 'host'],
            ['/bin/sh', '-c', FREEZE],
            "With the host's cgroup namespace as well, the lab's cgroup is there, and the container froze it.",
          ),
          {
            command: ['sh', '-c', 'ps -o pid,stat,args -p {sleep}; cat {cgroupDir}/{stateFile}'],
            notice:
              'On the host: the sleep is frozen (its cgroup says so); nothing of the host would stop a container from doing this to any process.',
          },
          {
            command: ['sh', '-c', 'echo {thaw} > {cgroupDir}/{freezeFile}; cat {cgroupDir}/{stateFile}'],
            notice: 'Thawed again, from the host. The lab kills the sleep at the end.',
          },
        ],
      },
    ],
  },
  check: checkTask,
  hints: [
    'The task wants a file that is not a program for this machine: the lesson made three; you can make your own with printf (a few bytes of a header are enough).',
    'Put it in a root filesystem the engine can run (a copy of sandbox/rootfs/busybox will do), with its execute bit set.',
    "Run it as the container's command with sudo nsx run --rootfs DIR /yourfile, without --rm: the check reads the container nsx ps -a keeps.",
  ],
  quiz: [
    {
      question:
        'A container image built for aarch64 is run on an x86_64 Linux machine with no binfmt_misc handlers. What happens?',
      choices: [
        'The container runtime translates the instructions',
        'execve(2) fails with ENOEXEC: the host kernel has no loader for aarch64 code ("exec format error")',
        'The container boots an aarch64 kernel of its own',
      ],
      answer: 1,
      why: 'A container has no kernel of its own: its programs are loaded by the host\'s kernel, whose ELF loader accepts only its own machine type (fs/binfmt_elf.c, elf_check_arch); execve(2): "ENOEXEC An executable is not in a recognized format, is for the wrong architecture". qemu-user registered in binfmt_misc (as Docker Desktop does) is how such images run anyway: emulated, by the host.',
    },
    {
      question:
        "Which wall stops a default Docker container from reading the host's disk through a device node it made?",
      choices: [
        'mknod(2) fails without CAP_MKNOD',
        'The device cgroup: mknod is allowed, but opening the block device is refused with EPERM',
        "The disk is not visible in the container's mount namespace",
      ],
      answer: 1,
      why: "Docker keeps CAP_MKNOD and its rules let it make a node for any device, but open() of a device is checked against the container's device cgroup rules (Documentation/admin-guide/cgroup-v1/devices.rst; on v2 a BPF program). --privileged allows every device: the same node then reads and writes the host's disk.",
    },
    {
      question: 'What does --privileged leave in place, in nsx as in docker on cgroup v2?',
      choices: [
        'Nothing: it is the same as running on the host',
        'The namespaces: the container still has its own mount, PID and (by default) cgroup namespace, though with every capability it can reach around them',
        'The seccomp filter',
      ],
      answer: 1,
      why: "docker run --privileged gives every capability, every device, no seccomp filter, no masked paths, no AppArmor profile; it does not join the host's namespaces. Those are --pid host, --network host, --userns host and --cgroupns host. But with CAP_SYS_ADMIN and every device the namespaces are no wall: the host's disk, its files by handle and its modules are all in reach.",
    },
  ],
};

export default limitations;
