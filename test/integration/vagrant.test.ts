// The VM's files: the Vagrantfile passes `vagrant validate`, the shell scripts pass shellcheck, and
// the login message names a command nsx has. vagrant and shellcheck are Debian packages
// (`sudo bash scripts/install-deps.sh --tests`); without them those checks are skipped, with the
// reason printed. The provisioning itself runs on a fresh Debian 13 in `sudo npm run test:provision`.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NSX, ROOT } from '../helpers.js';

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const hasVagrant = which('vagrant');
const hasShellcheck = which('shellcheck');
const hasRuby = which('ruby');
if (!hasVagrant)
  console.warn(
    "vagrant: Vagrantfile checks skipped: no vagrant command (sudo bash scripts/install-deps.sh --tests installs Debian's)",
  );
if (!hasShellcheck)
  console.warn(
    'vagrant: shell script checks skipped: no shellcheck command (sudo bash scripts/install-deps.sh --tests installs it)',
  );

/** `vagrant ARGS` in the project folder, with its state in a temporary folder, offline. */
function vagrant(args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-vagrant-'));
  try {
    const r = spawnSync('vagrant', args, {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60000,
      env: {
        ...process.env,
        VAGRANT_HOME: join(dir, 'home'),
        VAGRANT_DOTFILE_PATH: join(dir, 'dot'),
        VAGRANT_CHECKPOINT_DISABLE: '1',
        NSX_VM_CPUS: '',
        NSX_VM_MEMORY: '',
        NSX_VM_BOX: '',
        NSX_VM_CA_CERTS: '',
        ...env,
      },
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `it`, or a skip whose name says why. */
const itWhen = (ok: boolean, why: string): typeof it =>
  ((name: string, fn: any, t?: number) => (ok ? it(name, fn, t) : it.skip(`${name} [skipped: ${why}]`, fn, t))) as any;
const itVagrant = itWhen(hasVagrant, 'no vagrant command');
const itShellcheck = itWhen(hasShellcheck, 'no shellcheck command');
const itRuby = itWhen(hasRuby, 'no ruby command');

describe('the Vagrantfile', () => {
  // Without a provider installed (VirtualBox, libvirt, ...) vagrant validates everything but the
  // provider blocks; `ruby -c` below checks those parse.
  itVagrant(
    'passes vagrant validate',
    () => {
      const r = vagrant(['validate', '--ignore-provider']);
      expect(r.out).toContain('Vagrantfile validated successfully');
      expect(r.status).toBe(0);
    },
    60000,
  );

  itVagrant(
    'takes CPUs and memory from NSX_VM_CPUS and NSX_VM_MEMORY, and refuses nonsense',
    () => {
      expect(vagrant(['validate', '--ignore-provider'], { NSX_VM_CPUS: '4', NSX_VM_MEMORY: '4096' }).status).toBe(0);
      const bad = vagrant(['validate', '--ignore-provider'], { NSX_VM_MEMORY: '2G' });
      expect(bad.status).not.toBe(0);
      expect(bad.out).toContain('NSX_VM_MEMORY="2G" is not a whole number');
    },
    60000,
  );

  itRuby('parses as Ruby, provider blocks included', () => {
    const r = spawnSync('ruby', ['-c', join(ROOT, 'Vagrantfile')], { encoding: 'utf8' });
    expect(r.stdout).toContain('Syntax OK');
  });
});

describe('the shell scripts', () => {
  const scripts = [
    ...readdirSync(join(ROOT, 'scripts'))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => join('scripts', f)),
    ...readdirSync(join(ROOT, 'sandbox'))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => join('sandbox', f)),
    join('.ci', 'run'),
  ];

  it('include the provisioning and its test', () => {
    expect(scripts).toEqual(expect.arrayContaining(['scripts/provision.sh', 'scripts/test-provision.sh']));
  });

  itShellcheck('pass shellcheck', () => {
    const r = spawnSync('shellcheck', ['--external-sources', ...scripts], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the login message', () => {
  it('names a command that nsx has', () => {
    const script = readFileSync(join(ROOT, 'scripts', 'provision.sh'), 'utf8');
    const command = /^START_COMMAND='sudo nsx ([a-z-]+)/m.exec(script)?.[1];
    expect(command).toBeTruthy();
    const r = spawnSync(process.execPath, [NSX, command!, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
  });
});

describe("provision.sh's docker context", () => {
  const itDocker = itWhen(which('docker'), 'no docker command (Docker CLI) on this machine');
  // Its two functions, run as root with a home of the test's (getent answers for it): the real
  // docker CLI makes the context, and a second run changes nothing.
  itDocker("makes nsx the current context, at nsxd's socket, once", () => {
    const script = readFileSync(join(ROOT, 'scripts', 'provision.sh'), 'utf8');
    const fn = (name: string) => new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?\\n\\}$`, 'm').exec(script)![0];
    const home = mkdtempSync(join(tmpdir(), 'nsx-docker-context-'));
    try {
      const step = [
        'set -euo pipefail',
        'say() { echo "say: $*"; }; changed() { echo "changed: $*"; }; die() { echo "die: $*"; exit 1; }',
        `getent() { echo "root:x:0:0::${home}:/bin/sh"; }`,
        'OWNER=root; ENGINE_SOCKET=/run/nsx/nsxd.sock',
        fn('docker_as'),
        fn('docker_context'),
        'docker_context',
      ].join('\n');
      const env = { ...process.env };
      delete env.DOCKER_HOST; // it would win over any context (docker context(1))
      delete env.DOCKER_CONTEXT;
      const runStep = () => spawnSync('bash', ['-c', step], { encoding: 'utf8', env });
      const first = runStep();
      expect(first.status).toBe(0);
      expect(first.stdout).toContain('changed: docker context: created nsx (unix:///run/nsx/nsxd.sock) for root');
      expect(first.stdout).toContain("changed: docker context: nsx is root's current docker context");
      const second = runStep();
      expect(second.status).toBe(0);
      expect(second.stdout).not.toContain('changed:');
      const show = spawnSync('docker', ['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}'], {
        encoding: 'utf8',
        env: { ...env, HOME: home },
      });
      expect(show.stdout.trim()).toBe('unix:///run/nsx/nsxd.sock');
      expect(JSON.parse(readFileSync(join(home, '.docker', 'config.json'), 'utf8')).currentContext).toBe('nsx');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
