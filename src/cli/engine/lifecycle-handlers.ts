// The work of nsx pause, unpause, restart, rename, update and container prune: clients of nsxd,
// printing what docker's CLI prints for each (the container as it was named; nothing for rename).
import { createInterface } from 'node:readline';
import { parseSize } from '../../runtime/validate.js';
import { engineClient } from '../../engine/client.js';
import { UsageError } from '../types.js';
import { each } from './handlers.js';

const out = (s: string) => process.stdout.write(s);
const enc = encodeURIComponent;

/** A POST to each container's path, printing its name as docker does. */
const post =
  (verb: string, query = '') =>
  (a: { containers: string[] }) =>
    each(a.containers, async (client, c) => {
      await client.call('POST', `/containers/${enc(c)}/${verb}${query}`);
      out(`${c}\n`);
    });

export const pause = (a: { containers: string[] }) => post('pause')(a);
export const unpause = (a: { containers: string[] }) => post('unpause')(a);
export const restart = (a: { containers: string[]; time?: number }) =>
  post('restart', a.time !== undefined ? `?t=${a.time}` : '')(a);

export async function rename(a: { container: string; name: string }): Promise<number> {
  const client = engineClient();
  await client.call('POST', `/containers/${enc(a.container)}/rename?name=${enc(a.name)}`);
  return 0;
}

export function update(a: { containers: string[]; memory?: string; pidsLimit?: number; cpus?: number }) {
  if (a.memory === undefined && a.pidsLimit === undefined && a.cpus === undefined)
    throw new UsageError('you must provide one or more flags when using this command'); // docker's words
  return each(a.containers, async (client, c) => {
    const body = {
      ...(a.memory !== undefined ? { Memory: parseSize(a.memory, '--memory') } : {}),
      ...(a.pidsLimit !== undefined ? { PidsLimit: a.pidsLimit } : {}),
      ...(a.cpus !== undefined ? { NanoCpus: Math.round(a.cpus * 1e9) } : {}),
    };
    const r = await client.call<{ Warnings?: string[] }>('POST', `/containers/${enc(c)}/update`, body);
    for (const w of r?.Warnings ?? []) process.stderr.write(`${w}\n`);
    out(`${c}\n`);
  });
}

/** docker container prune: asks first unless --force, then lists what went and the space it freed. */
export async function prune(a: { force?: boolean }): Promise<number> {
  if (!a.force) {
    out('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    const rl = createInterface({ input: process.stdin });
    const answer = await new Promise<string>((r) => {
      rl.once('line', r);
      rl.once('close', () => r(''));
    });
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) return 0;
  }
  const client = engineClient();
  const r = await client.call<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>(
    'POST',
    '/containers/prune',
  );
  const deleted = r?.ContainersDeleted ?? [];
  if (deleted.length) out(`Deleted Containers:\n${deleted.join('\n')}\n\n`);
  out(`Total reclaimed space: ${humanSize(r?.SpaceReclaimed ?? 0)}\n`);
  return 0;
}

/** go-units HumanSize: decimal units, four significant digits ("0B", "2.048kB", "13.1MB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let n = bytes;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}
