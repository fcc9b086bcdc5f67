// Docker-style generated names (moby's pkg/namesgenerator: adjective_surname), a short list.
const LEFT = [
  'admiring',
  'brave',
  'clever',
  'dazzling',
  'eager',
  'focused',
  'gallant',
  'happy',
  'jolly',
  'keen',
  'loving',
  'nifty',
  'quirky',
  'serene',
  'tender',
  'vibrant',
  'wizardly',
  'zealous',
];
const RIGHT = [
  'babbage',
  'curie',
  'dijkstra',
  'einstein',
  'feynman',
  'hopper',
  'kare',
  'lamport',
  'lovelace',
  'noether',
  'pike',
  'ritchie',
  'shannon',
  'thompson',
  'torvalds',
  'turing',
  'wozniak',
  'yonath',
];

export function randomName(taken: (n: string) => boolean): string {
  for (let i = 0; ; i++) {
    const n = `${LEFT[Math.floor(Math.random() * LEFT.length)]}_${RIGHT[Math.floor(Math.random() * RIGHT.length)]}${i > 10 ? i : ''}`;
    if (!taken(n)) return n;
  }
}

/** docker's rule for --name (daemon/names.go: validContainerNamePattern). */
export const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
