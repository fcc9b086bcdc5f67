import type { Lesson } from '../../src/learn/lesson.js';
import { LAB_IMAGE, startLab } from '../engine-lab.js';
import { checkImages } from './check.js';

/** The first sha256 digest's hex after `key` in a JSON text (e.g. "digest" in index.json). */
function hexAfter(text: string, key: string, nth = 0): string | undefined {
  const all = [...text.matchAll(new RegExp(`"${key}"\\s*:\\s*"sha256:([0-9a-f]{64})"`, 'g'))];
  return all[nth]?.[1];
}

/** The manifest's digest, from the store's index.json (its one image). */
export function manifestOf(index: string): Record<string, string> {
  const m = hexAfter(index, 'digest');
  return m ? { manifest: m } : {};
}

/** The config's and the one layer's digests, from the manifest: config first, then layers. */
export function blobsOf(manifest: string): Record<string, string> {
  const config = hexAfter(manifest, 'digest', 0);
  const layer = hexAfter(manifest, 'digest', 1);
  return config && layer ? { config, layer } : {};
}

/** The layer's diff id (the sha256 of the uncompressed tar), from the config's rootfs.diff_ids. */
export function diffIdOf(config: string): Record<string, string> {
  const m = /"diff_ids"\s*:\s*\[\s*"sha256:([0-9a-f]{64})"/.exec(config);
  return m ? { diffid: m[1] } : {};
}

/** The overlay's directories, from nsx inspect's GraphDriver.Data (docker's names). */
export function overlayOf(inspect: string): Record<string, string> {
  const upper = /"UpperDir"\s*:\s*"([^"]+)"/.exec(inspect)?.[1];
  const lower = /"LowerDir"\s*:\s*"([^"]+)"/.exec(inspect)?.[1];
  return upper && lower ? { upper, lower: lower.split(':')[0] } : {};
}

const DOCKERFILE = `FROM ${LAB_IMAGE}\nRUN echo built > /built.txt\nCMD ["cat", "/built.txt"]\n`;

const images: Lesson = {
  id: 'images',
  title: 'Images: a stack of layers, copy-on-write, commit and build',
  minutes: 10,
  needsRoot: true,
  manPages: ['mount(8)', 'mount(2)', 'tar(1)', 'sh(1)'],
  focus: [],
  demos: [],
  tour: {
    setup: () => startLab({ registry: true }),
    stops: [
      {
        id: 'pull',
        title: 'Pull: a manifest, a config, layers, each named by its digest',
        commands: [
          {
            command: ['nsx', 'pull', LAB_IMAGE],
            notice: 'Downloaded from the lab registry: the manifest, then the blobs it names.',
          },
          {
            command: ['cat', '{store}/images/index.json'],
            notice: "The store's table of contents: one manifest, by its digest, under the image's name.",
            gives: manifestOf,
          },
          {
            command: ['cat', '{store}/images/blobs/sha256/{manifest}'],
            notice: 'The manifest: the config blob and the one layer blob, each by media type, digest and size.',
            gives: blobsOf,
          },
          {
            command: ['sha256sum', '{store}/images/blobs/sha256/{manifest}', '{store}/images/blobs/sha256/{layer}'],
            notice:
              "A blob's file name is the sha256 of its bytes: content-addressed, so a changed byte is a new name.",
          },
          {
            command: ['cat', '{store}/images/blobs/sha256/{config}'],
            notice:
              'The config: the command (Cmd) and rootfs.diff_ids, the sha256 of each layer uncompressed, bottom first.',
            gives: diffIdOf,
          },
        ],
      },
      {
        id: 'layers',
        title: 'A layer, unpacked once in the store',
        commands: [
          {
            command: ['ls', '{store}/layers/sha256/{diffid}/diff', '{store}/layers/sha256/{diffid}/diff/etc'],
            notice: 'The layer as files, under its diff id: what every container of this image starts from.',
          },
          {
            command: ['nsx', 'image', 'inspect', LAB_IMAGE],
            notice: 'The same digests as nsx reports them: Id is the config digest, RootFS.Layers the diff ids.',
          },
        ],
      },
      {
        id: 'diff',
        title: 'Run, change a file: copy-on-write in the upper directory',
        commands: [
          {
            command: [
              'engine-api',
              'POST',
              '/containers/create?name=box',
              JSON.stringify({ Image: LAB_IMAGE, Cmd: ['sleep', '300'] }),
            ],
            notice: 'A container of the image that keeps running (sleep 300).',
          },
          { command: ['nsx', 'start', 'box'], notice: 'Started: its root is an overlay mount, the layer below.' },
          {
            command: [
              'nsx',
              'exec',
              'box',
              'sh',
              '-c',
              'echo "learner:x:1000:1000::/home:/bin/sh" >> /etc/passwd; echo hello > /home/note',
            ],
            notice: 'Inside it: one line appended to /etc/passwd (a file of the layer), one new file /home/note.',
          },
          {
            command: ['nsx', 'diff', 'box'],
            notice:
              'C: changed (/etc/passwd, and /home, which has a new entry), A: added (/home/note), as docker diff prints them.',
          },
          {
            command: ['sh', '-c', 'nsx inspect box | grep -A 6 \'"GraphDriver"\''],
            notice: "Where the overlay lives: LowerDir is the layer of the store, UpperDir the container's own.",
            gives: overlayOf,
          },
          {
            command: ['find', '{upper}', '-mindepth', '1'],
            notice:
              'The upper directory holds only what changed: the copied-up /etc/passwd (and /etc, its directory, without its other files) and the new /home/note.',
          },
          {
            command: ['tail', '-n', '1', '{upper}/etc/passwd', '{lower}/etc/passwd'],
            notice: "The copy has the new line; the layer's file has not: the image is untouched.",
          },
        ],
      },
      {
        id: 'commit',
        title: 'Commit: the upper directory becomes a layer',
        commands: [
          {
            command: ['nsx', 'commit', 'box', 'localhost/changed'],
            notice:
              "A new image: the base's layers, plus one made of box's upper directory. Named localhost/…: in the lab a bare name would be looked up on the lab's registry.",
          },
          {
            command: ['nsx', 'history', 'localhost/changed'],
            notice: 'Its layers, newest first: the commit on top of the pulled image.',
          },
          {
            command: ['nsx', 'rm', '-f', 'box'],
            notice: 'The container goes, its upper directory with it; the image keeps the change.',
          },
        ],
      },
      {
        id: 'build',
        title: 'Build: a Dockerfile, and its cache',
        commands: [
          {
            command: [
              'sh',
              '-c',
              `mkdir -p {dir}/ctx && printf '%s' '${DOCKERFILE}' > {dir}/ctx/Dockerfile && cat {dir}/ctx/Dockerfile`,
            ],
            notice:
              'Three lines: the base image, one command run in a container (its changes: a layer), a config change.',
          },
          {
            command: ['nsx', 'build', '-t', 'localhost/built', '{dir}/ctx'],
            notice: 'Each step: RUN ran in a container of the engine and was committed; CMD changed only the config.',
            seconds: 60,
          },
          {
            command: ['nsx', 'build', '-t', 'localhost/built', '{dir}/ctx'],
            notice: 'Again: nothing changed, so every step is taken from the cache, and the image id is the same.',
            seconds: 60,
          },
          {
            command: ['nsx', 'history', 'localhost/built'],
            notice: 'The RUN made a layer (its size); CMD made a history entry of 0 B, no layer.',
          },
        ],
      },
    ],
  },
  check: checkImages,
  hints: [
    'Start from an image in your store (sudo nsx pull busybox, or any you have), run a container of it, and change something in it.',
    'nsx diff NAME shows what changed; nsx commit NAME REPOSITORY, or nsx build with a Dockerfile whose RUN writes a file, makes the image.',
    'sudo nsx run -d --name mine busybox sleep 300; sudo nsx exec mine touch /x; sudo nsx commit mine mine/changed; then sudo nsx check images.',
  ],
  quiz: [
    {
      question: 'A container appends a line to /etc/passwd of its image. Where does the changed file go?',
      choices: [
        "Into the image's layer, in place",
        "Into the container's upper directory: the whole file is copied up, then changed",
        'Into a new blob of the store, right away',
      ],
      answer: 1,
      why: 'overlayfs (kernel doc filesystems/overlayfs.rst): "when a file in the lower filesystem is accessed in a way that requires write-access ... the file is first copied from the lower filesystem to the upper filesystem (copy_up)". The lower layer stays read-only and shared; only a commit turns the upper directory into a blob.',
    },
    {
      question: 'Why is a blob in the store named by its sha256?',
      choices: [
        'So that the same bytes have the same name, and a changed byte a different one',
        'Because the registry encrypts it with that key',
        'To keep file names short',
      ],
      answer: 0,
      why: 'The OCI image spec (descriptor.md): a digest "uniquely identifies content by taking a collision-resistant hash of the bytes"; nsx and docker check each download against it, and two images with the same layer store it once.',
    },
  ],
};

export default images;
