// nsxd: the engine. A long-running process that owns the containers (they are its children, through
// the shim) and answers the CLI on a Unix socket that only its owner can open (mode 0600).
//   node dist/bundle/nsxd.mjs               (its bundle: nsx engine start and the VM's nsxd.service run it)
//   node dist/src/engine/nsxd.js            (tsc's build of the same source: what the tests start)
// Env: NSX_ENGINE_SOCKET, NSX_ENGINE_STATE (see config.ts).
import { chmodSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { privateDir, socketPath, stateDir } from './config.js';
import { Engine } from './engine.js';
import { NsxError } from '../runtime/errors.js';
import { createApiServer } from './server.js';

/** Whether something answers on the socket already (then this engine must not take it over). */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export async function main(): Promise<void> {
  const sock = socketPath();
  const dir = stateDir();
  if (process.getuid?.() === 0) mkdirSync(dirname(sock), { recursive: true, mode: 0o700 });
  else privateDir(dirname(sock)); // a user's engine: its socket's directory must be theirs alone
  if (await answering(sock)) {
    process.stderr.write(`nsxd: an engine already listens on ${sock}\n`);
    process.exit(1);
  }
  rmSync(sock, { force: true }); // a socket left by an engine that was killed
  const engine = new Engine(dir);
  for (const id of engine.recovered)
    process.stderr.write(`nsxd: container ${id.slice(0, 12)} died with the previous engine: marked exited (137)\n`);
  const server = createApiServer(engine);
  // The socket is created with mode 0600 (umask during bind): no moment when others could connect.
  const umask = process.umask(0o177);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(sock, resolve));
  process.umask(umask);
  chmodSync(sock, 0o600);
  writeFileSync(join(dir, 'nsxd.pid'), `${process.pid}\n`);
  process.stderr.write(`nsxd: listening on unix://${sock} (pid ${process.pid}, state in ${dir})\n`);
  for (const id of engine.restartRecovered())
    process.stderr.write(`nsxd: container ${id.slice(0, 12)}: started again (its restart policy)\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    server.close();
    await engine.shutdown();
    try {
      unlinkSync(sock);
    } catch {
      /* already gone */
    }
    rmSync(join(dir, 'nsxd.pid'), { force: true });
    process.exit(0);
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, () => void stop());
  // The containers die with the engine: a bug in one request must not take them all. Logged, kept going.
  const report = (what: string) => (e: unknown) =>
    process.stderr.write(`nsxd: ${what} (a bug in namespace-explorer): ${(e as Error)?.stack ?? e}\n`);
  process.on('unhandledRejection', report('unhandled rejection'));
  process.on('uncaughtException', report('uncaught exception'));
}

await main().catch((e: unknown) => {
  // An expected failure (a socket directory that is not the user's alone): its words, no stack.
  const text = e instanceof NsxError ? e.describe() : ((e as Error)?.stack ?? String(e));
  process.stderr.write(`nsxd: ${text}\n`);
  process.exit(1);
});
