import type { Lesson } from '../../src/learn/lesson.js';
import { firstPid } from '../02-run-flow/index.js';
import { checkTask } from './check.js';
import { LAB_PACKAGE, RUNC_NAME, startProblemsLab } from './lab.js';

const pidAs = (name: string) => (top: string) => {
  const p = firstPid(top).program;
  return p ? { [name]: p } : {};
};
/** The "Digest: sha256:…" line of nsx pull's output (docker's). */
const digestAs = (name: string) => (out: string) => {
  const d = /Digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
  return d ? { [name]: d } : {};
};

const SERVER1 = 'nsx-sandbox/server:1';
// Machine A's digest, read back from its pull's output (a digest is too long for an 80-column line).
const DIGEST = `D=$(sed -n 's/^Digest: //p' {dir}/pull-a)`;
// The engine was started before the lab's registry, so it does not search it: runs name it in full.
const RUN1 = '{registry}/nsx-sandbox/server:1';
const CONF = `/etc/${LAB_PACKAGE}.conf`;
// The package of the removal stop: a program and a conffile (deb-conffiles(5)), built offline.
const BUILD_DEB = [
  'mkdir -p {pkg}/DEBIAN {pkg}/usr/bin {pkg}/etc',
  `printf 'Package: ${LAB_PACKAGE}\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: nsx lab <lab@nsx.invalid>\\nDescription: the problems-solved lesson\\x27s demo package\\n' > {pkg}/DEBIAN/control`,
  `echo ${CONF} > {pkg}/DEBIAN/conffiles`,
  `printf '#!/bin/sh\\necho greeting: $(cat ${CONF})\\n' > {pkg}/usr/bin/${LAB_PACKAGE} && chmod 755 {pkg}/usr/bin/${LAB_PACKAGE}`,
  `echo hello > {pkg}${CONF}`,
  `dpkg-deb --root-owner-group --build {pkg} {dir}/${LAB_PACKAGE}.deb`,
].join(' && ');
const LEFT = `ls -l /usr/bin/${LAB_PACKAGE} ${CONF} 2>&1; dpkg -s ${LAB_PACKAGE} 2>&1 | grep -E '^Status|not installed'`;

const problemsSolved: Lesson = {
  id: 'problems-solved',
  title: 'What problems containers solve: each promise, tested',
  minutes: 12,
  needsRoot: true,
  manPages: ['network_namespaces(7)', 'pid_namespaces(7)', 'cgroups(7)', 'mount_namespaces(7)', 'dpkg(1)'],
  focus: [],
  demos: [],
  tour: {
    setup: startProblemsLab,
    stops: [
      {
        id: 'isolation',
        title: 'Isolation of dependencies: two versions, one port number',
        commands: [
          {
            command: ['nsx', 'run', '-d', '--name', 'v1', '--network', 'none', RUN1, 'server', '--serve'],
            notice: "Version 1 of the server, pulled from the lab's registry, serving on port 8080 in the background.",
          },
          {
            command: [
              'nsx',
              'run',
              '-d',
              '--name',
              'v2',
              '--network',
              'none',
              '{registry}/nsx-sandbox/server:2',
              'server',
              '--serve',
            ],
            notice: 'Version 2, the same paths in its image, also on port 8080: no "address already in use".',
          },
          { command: ['nsx', 'top', 'v1'], notice: "v1's server as the host numbers it.", gives: pidAs('first') },
          { command: ['nsx', 'top', 'v2'], notice: "v2's server.", gives: pidAs('second') },
          {
            command: [
              'sh',
              '-c',
              'for p in {first} {second}; do echo "pid $p: $(readlink /proc/$p/ns/net)"; nsenter -t $p -n ss -ltnH; done',
            ],
            notice: 'Two network namespaces, each with its own port 8080 listening (ss run inside each with nsenter).',
          },
          {
            command: ['nsenter', '-t', '{first}', '-n', 'curl', '-s', '--noproxy', '*', 'http://127.0.0.1:8080/'],
            notice: 'Asked on 127.0.0.1:8080 inside v1: version 1 answers.',
          },
          {
            command: ['nsenter', '-t', '{second}', '-n', 'curl', '-s', '--noproxy', '*', 'http://127.0.0.1:8080/'],
            notice: 'The same address and port inside v2: version 2 answers. Both run at once.',
          },
          {
            command: [
              'sh',
              '-c',
              'mkdir -p {hostroot} && cp -a {layers}/server-1/. {hostroot}/ && SERVER_HOME={hostroot}/usr/lib/server sh {hostroot}/usr/bin/server',
            ],
            notice:
              'Now without containers: version 1 "installed" on one root (the lab\'s hostroot/), as a package would.',
          },
          {
            command: [
              'sh',
              '-c',
              'cp -a {layers}/server-2/. {hostroot}/ && SERVER_HOME={hostroot}/usr/lib/server sh {hostroot}/usr/bin/server && find {hostroot}/usr -type f | sort',
            ],
            notice: 'Version 2 at the same paths replaced version 1: one root holds one version of each file.',
          },
          { command: ['nsx', 'rm', '-f', 'v1', 'v2'], notice: 'Both servers stopped and removed.' },
        ],
      },
      {
        id: 'consistency',
        title: 'Consistency: one digest, the same tree everywhere',
        commands: [
          {
            command: ['sh', '-c', `NSX_ROOT={dir}/machine-a nsx pull ${SERVER1} | tee {dir}/pull-a`],
            notice: 'Machine A (a store of its own) pulls version 1: its digest names exactly these bytes.',
            gives: digestAs('digest'),
          },
          {
            command: ['sh', '-c', `${DIGEST}; NSX_ROOT={dir}/machine-b nsx pull nsx-sandbox/server@$D`],
            notice: 'Machine B, another empty store, pulls by that digest.',
          },
          {
            command: ['sh', '-c', `${DIGEST}; lab-tool tree {dir}/machine-a {registry}/nsx-sandbox/server@$D`],
            notice: "Machine A's root filesystem, unpacked from its store, hashed: every path, mode, owner and byte.",
          },
          {
            command: ['sh', '-c', `${DIGEST}; lab-tool tree {dir}/machine-b {registry}/nsx-sandbox/server@$D`],
            notice: "Machine B's: the same hash. The same digest gives the same tree, byte for byte.",
          },
          {
            command: ['env', 'NSX_ROOT={dir}/machine-a', 'nsx', 'pull', 'nsx-sandbox/server:stable'],
            notice: 'A tag, stable: today it names the same image as version 1 (the same digest).',
            gives: digestAs('before'),
          },
          {
            command: ['nsx', 'pull', 'nsx-sandbox/server:2'],
            notice: 'A publisher (the lab store) has version 2 ...',
          },
          {
            command: ['nsx', 'tag', '{registry}/nsx-sandbox/server:2', '{registry}/nsx-sandbox/server:stable'],
            notice: '... names it stable ...',
          },
          {
            command: ['nsx', 'push', '{registry}/nsx-sandbox/server:stable'],
            notice: "... and pushes it: the lab's registry takes pushes, so the tag now points elsewhere.",
          },
          {
            command: ['env', 'NSX_ROOT={dir}/machine-a', 'nsx', 'pull', 'nsx-sandbox/server:stable'],
            notice: 'The same name pulled again: a new digest. A tag can move; a digest cannot.',
            gives: digestAs('after'),
          },
          {
            command: ['sh', '-c', "grep -E '^(POST|PATCH|PUT) ' {registryLog} | sed -E 's/[0-9a-f-]{36}/UUID/'"],
            notice: 'What the push did on the registry: the manifest PUT under the tag stable moved it.',
          },
        ],
      },
      {
        id: 'containment',
        title: 'Containment: a program that misbehaves',
        commands: [
          {
            command: ['sh', '-c', 'ls -l /etc/shadow; echo "{victim}: $(cat /proc/{victim}/cmdline | tr "\\0" " ")"'],
            notice: 'The host: a file of secrets, and a process of the host (the lab\'s "victim", sleep 3600).',
          },
          {
            command: ['nsx', 'run', '--rm', RUN1, 'sh', '-c', 'cat /etc/shadow; ls /; cat /proc/{victim}/cmdline'],
            notice: "Inside: no /etc/shadow (the image's root is all it sees) and no such process.",
          },
          {
            command: ['nsx', 'run', '--rm', RUN1, 'sh', '-c', 'kill -9 {victim}; kill -9 -1; echo after kill -1:; ps'],
            notice:
              'It kills what it can: kill -1 reaches only its own PID namespace (pid_namespaces(7)); the host PID is unknown there.',
          },
          {
            command: ['sh', '-c', 'ps -o pid,stat,cmd -p {victim}'],
            notice: 'From the host: the victim is still alive.',
          },
          {
            command: [
              'nsx',
              'run',
              '--rm',
              '-m',
              '32m',
              RUN1,
              'sh',
              '-c',
              'sh -c \'a=$(head -c 100m /dev/zero | tr "\\\\0" a); echo got ${#a} bytes\'; echo "the child sh: exit $?"',
            ],
            notice:
              "A child shell reads 100 MiB into a variable: at 32 MiB the cgroup's OOM killer ends it (137, SIGKILL), inside the container only.",
          },
          {
            command: ['sh', '-c', "grep -E 'MemTotal|MemAvailable' /proc/meminfo"],
            notice: "The host's memory: untouched by that (the limit is the cgroup's memory.max, cgroups(7)).",
          },
          {
            command: [
              'nsx',
              'run',
              '--rm',
              '--pids-limit',
              '20',
              RUN1,
              'sh',
              '-c',
              'for i in $(seq 40); do sleep 5 & done; echo "processes in the container: $(ls /proc | grep -c \'^[0-9]\')"',
            ],
            notice: 'A fork loop: past 20 processes fork fails with EAGAIN (pids.max).',
          },
          {
            command: [
              'sh',
              '-c',
              'echo "the host still forks: $(sh -c "echo pid \\$\\$")"; cut -d" " -f4 /proc/loadavg',
            ],
            notice: 'The host can still start processes (running/total on the host).',
          },
        ],
      },
      {
        id: 'removal',
        title: 'Deterministic removal: back to the start',
        commands: [
          { command: ['lab-tool', 'footprint', '{store}', '{state}'], notice: 'Before: what the lab occupies now.' },
          {
            command: ['nsx', 'run', '-d', '--name', 'temp', '{registry}/busybox', 'sleep', '300'],
            notice: 'busybox pulled (a new image) and run in the background.',
          },
          {
            command: ['lab-tool', 'footprint', '{store}', '{state}'],
            notice: 'During: more files (the image, the container), mounts in its namespace, its cgroup, its process.',
          },
          { command: ['nsx', 'rm', '-f', 'temp'], notice: 'The container removed ...' },
          { command: ['nsx', 'rmi', '{registry}/busybox'], notice: '... and the image.' },
          {
            command: ['lab-tool', 'footprint', '{store}', '{state}'],
            notice: 'After: the same counts as before, line for line.',
          },
          {
            command: ['sh', '-c', BUILD_DEB],
            notice: `The contrast: a Debian package built offline, a program plus a conffile (${CONF}).`,
          },
          {
            command: ['dpkg', '-i', `{dir}/${LAB_PACKAGE}.deb`],
            notice: 'Installed on the host.',
            seconds: 60,
          },
          { command: ['dpkg', '-r', LAB_PACKAGE], notice: 'Removed with dpkg -r ...', seconds: 60 },
          {
            command: ['sh', '-c', LEFT],
            notice: '... the program is gone, but the conffile stays: "deinstall ok config-files".',
          },
          { command: ['dpkg', '--purge', LAB_PACKAGE], notice: 'Only --purge removes it.', seconds: 60 },
          { command: ['sh', '-c', LEFT], notice: 'Now nothing is left of the package.' },
        ],
      },
      {
        id: 'portability',
        title: 'Portability: one image, another runtime',
        commands: [
          {
            command: ['sh', '-c', 'cat {layout}/index.json; echo; ls {layout}/blobs/sha256'],
            notice: 'nsx-sandbox/server:1 as an OCI image layout: an index, a manifest, a config, two layers.',
          },
          {
            command: ['lab-tool', 'unpack', '{layout}', '{bundle}'],
            notice: "Its layers unpacked, in order, into one root filesystem (an OCI bundle's rootfs/).",
          },
          {
            command: ['nsx', 'run', '--rm', '--rootfs', '{bundle}/rootfs', '/usr/bin/server'],
            notice: 'nsx runs it.',
          },
          {
            command: [
              'sh',
              '-c',
              `cd {bundle} && runc spec && sed -i -e 's/"terminal": true/"terminal": false/' -e 's|"sh"$|"/usr/bin/server"|' config.json && runc --root {runc} run ${RUNC_NAME}`,
            ],
            notice:
              'runc (the runtime under Docker) runs the same root filesystem, from its own config.json (runc spec).',
            needs: { program: 'runc', why: "Debian's runc package: apt-get install runc" },
          },
          {
            command: ['uname', '-sm'],
            notice:
              "The boundary: the image's config says linux and one architecture (lab-tool's line above); only a kernel of that kind runs it.'s arch) and needs a Linux kernel of that architecture.",
          },
        ],
      },
    ],
  },
  check: checkTask,
  hints: [
    "Two containers, one from each version of nsx-sandbox/server, serving at the same time: the image's own command only prints its version and exits.",
    "The image's program serves when asked: `server --serve` listens on port 8080 in the foreground; nsx run -d keeps a container in the background.",
    'nsx run -d nsx-sandbox/server:1 server --serve, then the same with :2 (with sudo; the images must be in the store: npm run sandbox:images -- --load).',
  ],
  quiz: [
    {
      question: 'Two containers both listen on port 8080. Why is there no "address already in use"?',
      choices: [
        'The engine rewrites one of the ports',
        'Each has its own network namespace, with its own ports',
        'Only one of them really listens',
      ],
      answer: 1,
      why: "A network namespace has its own network stack: its own devices, addresses, routes and port numbers (network_namespaces(7)). The lesson's ss, run inside each with nsenter, showed 8080 listening in both, and each answered with its own version.",
    },
    {
      question: 'A deployment says image:stable. Which reference gives the same bytes on every machine, every time?',
      choices: ['image:stable', 'image:latest', 'image@sha256:…'],
      answer: 2,
      why: "A digest is the sha256 of the manifest, which names its layers by their digests: the same digest cannot name other bytes (OCI image-spec, descriptor.md). A tag is a name a push can move: the lesson's push moved stable to version 2.",
    },
    {
      question: 'dpkg -r removed a package. What can still be on the disk?',
      choices: ['Nothing', 'Its conffiles, until dpkg --purge', 'Its program'],
      answer: 1,
      why: "dpkg -r (remove) keeps the conffiles, so a reinstall keeps the admin's configuration; --purge removes them too (dpkg(1)). Removing a container and its image deletes its directories: the lesson's footprint was back to the start.",
    },
  ],
};

export default problemsSolved;
