// reconcile IMAGE REPLICAS [--watch]: a desired-state controller in a few dozen lines. It reads what
// should be ("REPLICAS containers named web-1…web-N, each of IMAGE, running"), asks the engine what is
// (GET /containers/json?all=1), and makes the difference go away through the engine's API: a replica
// missing, stopped or of another image is removed and made anew. With --watch it does it again every
// second, as a Kubernetes controller's loop does (observe, diff, act), until it is stopped.
import { EngineClient } from '../../src/engine/client.js';

interface Row {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
}

const api = new EngineClient(); // $NSX_ENGINE_SOCKET, else the engine's default socket

/** One pass: observe, diff, act. Returns what it did, one line per action. */
export async function reconcile(image: string, replicas: number): Promise<string[]> {
  const rows = (await api.request('GET', '/containers/json?all=1')).json<Row[]>();
  const byName = new Map(rows.map((r) => [r.Names[0].slice(1), r]));
  const did: string[] = [];
  for (let i = 1; i <= replicas; i++) {
    const name = `web-${i}`;
    const have = byName.get(name);
    if (have && have.State === 'running' && have.Image === image) continue; // as it should be
    if (have) {
      await api.request('DELETE', `/containers/${have.Id}?force=true`);
      did.push(`removed ${name} (${have.State}, ${have.Image})`);
    }
    const made = await api.request('POST', `/containers/create?name=${name}`, {
      Image: image,
      Cmd: ['server', '--serve'],
      HostConfig: { NetworkMode: 'veth', RestartPolicy: { Name: 'always' } },
      Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/'], Interval: 1e9 },
    });
    if (made.status !== 201) throw new Error(`create ${name}: ${made.body}`);
    await api.request('POST', `/containers/${name}/start`);
    did.push(`started ${name} (${image})`);
  }
  for (const [name, r] of byName) {
    const n = /^web-(\d+)$/.exec(name);
    if (n && Number(n[1]) > replicas) {
      await api.request('DELETE', `/containers/${r.Id}?force=true`);
      did.push(`removed ${name} (more than ${replicas} replicas)`);
    }
  }
  return did;
}

async function main(argv: string[]): Promise<number> {
  const [image, count] = argv;
  const replicas = Number(count);
  if (!image || !(replicas > 0)) {
    process.stderr.write('usage: reconcile IMAGE REPLICAS [--watch]\n');
    return 2;
  }
  do {
    const did = await reconcile(image, replicas);
    process.stdout.write(did.length ? did.map((l) => `reconcile: ${l}\n`).join('') : '');
    if (argv.includes('--watch')) await new Promise((r) => setTimeout(r, 1000));
  } while (argv.includes('--watch'));
  process.stdout.write(`reconcile: ${replicas} replicas of ${image} running\n`);
  return 0;
}

if (process.argv[1]?.endsWith('reconcile.js')) void main(process.argv.slice(2)).then((c) => (process.exitCode = c));
