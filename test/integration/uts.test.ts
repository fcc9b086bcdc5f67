// The UTS namespace: the hostname differs inside, and the host's is unchanged (uts_namespaces(7)).
import { describe, expect } from '@jest/globals';
import { hostname } from 'node:os';
import { evidenceAfter, itRoot, run } from '../helpers.js';

describe('UTS namespace', () => {
  itRoot("gives the container its own hostname and leaves the host's alone", async () => {
    const before = hostname();
    const r = await run(['-h', 'inside-box'], ['/probe', 'whoami']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split(' ')[4]).toBe('inside-box');
    expect(hostname()).toBe(before);
    const ev = evidenceAfter(r, 'hostname')!;
    expect(ev.inside!.hostname).toBe('inside-box');
    expect(ev.process.ns.uts).not.toBe(ev.host.ns.uts);
  });

  itRoot('defaults the hostname to the short container id, like docker', async () => {
    const r = await run([], ['/bin/hostname']);
    const created = r.events.find((e) => e.type === 'created') as { id: string };
    expect(r.stdout.trim()).toBe(created.id.slice(0, 12));
  });
});
