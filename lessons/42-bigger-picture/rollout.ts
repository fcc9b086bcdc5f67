// rollout IMAGE [REPLICAS]: a rolling update with a round-robin in front, on one machine. Requests go,
// one every 20 ms, to the replicas web-1…web-N in turn, each reached at its own address (its network
// namespace's eth0, the far end of its veth pair). Meanwhile each replica in turn is replaced: a new
// container of IMAGE starts, joins the rotation once it answers, the old one leaves the rotation and
// only then is removed; the new one takes the old one's name. At the end: the answers counted by
// version, and the requests that got none.
import { execFileSync } from 'node:child_process';
import { get } from 'node:http';
import { EngineClient } from '../../src/engine/client.js';

const api = new EngineClient();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A container's address: its veth's host end is nsxh<first 8 of its id> with a /30; eth0 is the next one. */
export function addressOf(id: string): string {
  const out = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'dev', `nsxh${id.slice(0, 8)}`], { encoding: 'utf8' });
  const m = /inet (\d+\.\d+\.\d+)\.(\d+)\//.exec(out);
  if (!m) throw new Error(`no address on nsxh${id.slice(0, 8)}`);
  return `${m[1]}.${Number(m[2]) + 1}`;
}

/** One request: the page's text ("server 1.0"), or undefined when none came within a second. */
export function ask(address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: address, port: 8080, path: '/', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(/server [\d.]+/.exec(body)?.[0]));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

async function answers(address: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await ask(address)) return true;
    await sleep(100);
  }
  return false;
}

async function main(argv: string[]): Promise<number> {
  const [image, count = '3'] = argv;
  const replicas = Number(count);
  const id = async (name: string) => (await api.request('GET', `/containers/${name}/json`)).json<{ Id: string }>().Id;
  // The rotation: the addresses the round-robin sends requests to, by replica.
  const rotation = new Map<string, string>();
  for (let i = 1; i <= replicas; i++) rotation.set(`web-${i}`, addressOf(await id(`web-${i}`)));
  const counts = new Map<string, number>();
  let failed = 0;
  let sent = 0;
  let running = true;
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const targets = [...rotation.values()];
      const p = ask(targets[n % targets.length]).then((v) => {
        if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
        else failed++;
        inFlight.delete(p);
      });
      inFlight.add(p);
      sent++;
      await sleep(20);
    }
  })();
  for (let i = 1; i <= replicas; i++) {
    const name = `web-${i}`;
    const made = await api.request('POST', `/containers/create?name=${name}-next`, {
      Image: image,
      Cmd: ['server', '--serve'],
      HostConfig: { NetworkMode: 'veth', RestartPolicy: { Name: 'always' } },
    });
    if (made.status !== 201) throw new Error(`create ${name}-next: ${made.body}`);
    await api.request('POST', `/containers/${name}-next/start`);
    const address = addressOf(await id(`${name}-next`));
    if (!(await answers(address))) throw new Error(`${name}-next (${address}) does not answer`);
    rotation.set(`${name}-next`, address); // in: it answers
    rotation.delete(name); // out: no new requests go to the old one
    await Promise.all([...inFlight]); // those on their way still get their answer
    await api.request('DELETE', `/containers/${name}?force=true`);
    await api.request('POST', `/containers/${name}-next/rename?name=${name}`);
    rotation.set(name, rotation.get(`${name}-next`)!);
    rotation.delete(`${name}-next`);
    process.stdout.write(`rollout: ${name} now runs ${image} (${address})\n`);
  }
  await sleep(300);
  running = false;
  await loop;
  await Promise.all([...inFlight]);
  const by = [...counts].map(([v, n]) => `${n} by ${v}`).join(', ');
  process.stdout.write(`rollout: ${sent} requests: ${by}; ${failed} failed\n`);
  return failed ? 1 : 0;
}

if (process.argv[1]?.endsWith('rollout.js')) void main(process.argv.slice(2)).then((c) => (process.exitCode = c));
