// docker cp's paths and tars, resolved as if chrooted in a container's root (src/engine/fs/): an
// attacker's symlinks (absolute, relative, in any component), "..", hard links and tar entries must
// never reach a file outside the root. The "host" here is a directory beside the root holding a
// secret; every attack aims at it, and each test checks it is untouched and nothing appeared there.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { entryParts, InRoot } from '../../src/engine/fs/inroot.js';
import { absolutePath } from '../../src/engine/verbs/archive.js';
import { goFileMode, GO_MODE } from '../../src/engine/fs/stat.js';
import { rebaseName, untarInto } from '../../src/engine/fs/tar-in.js';
import { tarStream, tarTree } from '../../src/engine/fs/tar-out.js';
import { makeTar, type TarEntry } from '../tars.js';

let work: string;
let root: string;
let host: string;
let fs: InRoot;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'nsx-inroot-'));
  root = join(work, 'root');
  host = join(work, 'host');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'tmp'));
  writeFileSync(join(root, 'etc', 'passwd'), 'container\n');
  mkdirSync(host);
  writeFileSync(join(host, 'secret'), 'host\n');
  fs = new InRoot(root);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const hostUntouched = () => {
  expect(readdirSync(host)).toEqual(['secret']);
  expect(readFileSync(join(host, 'secret'), 'utf8')).toBe('host\n');
};

const untar = async (entries: TarEntry[], dir = '/', noOverwriteDirNonDir = true) =>
  untarInto(fs, dir, Readable.from([await makeTar(entries)]), { noOverwriteDirNonDir, chown: false });

describe('resolve: every path stays inside the root', () => {
  it('an absolute symlink is resolved from the root, not from the host', () => {
    symlinkSync(host, join(root, 'tmp', 'abs')); // "/…/host": in the root, that is ROOT/…/host
    expect(fs.host(fs.resolve('/tmp/abs/secret'))).toBe(join(root, host.slice(1), 'secret'));
    symlinkSync('/', join(root, 'tmp', 'slash'));
    expect(fs.resolve('/tmp/slash/etc/passwd')).toEqual(['etc', 'passwd']);
  });

  it('a relative symlink that climbs stops at the root', () => {
    symlinkSync('../../../../../../..', join(root, 'tmp', 'up'));
    expect(fs.resolve('/tmp/up/etc/passwd')).toEqual(['etc', 'passwd']);
    symlinkSync('../../../../host/secret', join(root, 'tmp', 'rel'));
    expect(fs.resolve('/tmp/rel')).toEqual(['host', 'secret']);
  });

  it('".." at the root stays at the root', () => {
    expect(fs.resolve('/../../..' + host + '/secret')).toEqual([...host.slice(1).split('/'), 'secret']);
    expect(fs.resolve('../etc/../etc/./passwd')).toEqual(['etc', 'passwd']);
  });

  it('a last component that is a symlink stays itself unless followed', () => {
    symlinkSync('/etc/passwd', join(root, 'tmp', 'pw'));
    expect(fs.resolve('/tmp/pw', false)).toEqual(['tmp', 'pw']);
    expect(fs.resolve('/tmp/pw', true)).toEqual(['etc', 'passwd']);
    symlinkSync('/etc', join(root, 'tmp', 'e'));
    expect(fs.resolve('/tmp/e/passwd', false)).toEqual(['etc', 'passwd']); // a middle one always is
  });

  it('a symlink loop is an error, not a hang', () => {
    symlinkSync('b', join(root, 'tmp', 'a'));
    symlinkSync('a', join(root, 'tmp', 'b'));
    expect(() => fs.resolve('/tmp/a/x')).toThrow(/too many levels of symbolic links/);
  });

  it('dir() makes missing parents inside the root, through symlinks resolved in it', () => {
    symlinkSync('/', join(root, 'tmp', 'slash'));
    expect(fs.dir('/tmp/slash/new/deep', true)).toEqual(['new', 'deep']);
    expect(lstatSync(join(root, 'new', 'deep')).isDirectory()).toBe(true);
    expect(fs.dir('/etc/passwd/x', true)).toBeUndefined(); // a file where a directory must be
  });

  it("a tar entry's name may not climb above the directory it is extracted into", () => {
    expect(entryParts('a/../b')).toEqual(['b']);
    expect(entryParts('/abs/name')).toEqual(['abs', 'name']);
    expect(entryParts('../x')).toBeUndefined();
    expect(entryParts('a/../../x')).toBeUndefined();
  });
});

describe('untarInto: an attacker’s tar lands inside the root or is refused', () => {
  it('a symlink entry to the host, then a file through it: the file is in the root', async () => {
    await untar([
      { name: 'tmp/evil', type: 'symlink', linkname: '/' },
      { name: 'tmp/evil' + host + '/secret', body: 'pwned\n' },
    ]);
    hostUntouched();
    expect(readFileSync(join(root, host.slice(1), 'secret'), 'utf8')).toBe('pwned\n');
  });

  it('a symlink already in the container, pointing up and out, is resolved in the root', async () => {
    symlinkSync('../../../../../../../../' + host.slice(1), join(root, 'tmp', 'out'));
    await expect(untar([{ name: 'secret', body: 'pwned\n' }], '/tmp/out')).rejects.toThrow(/Could not find/); // not in the root
    mkdirSync(join(root, host.slice(1)), { recursive: true });
    await untar([{ name: 'secret', body: 'pwned\n' }], '/tmp/out');
    hostUntouched();
    expect(readFileSync(join(root, host.slice(1), 'secret'), 'utf8')).toBe('pwned\n');
  });

  it('an entry that is an existing symlink is replaced, never written through', async () => {
    symlinkSync(join(host, 'secret'), join(root, 'tmp', 'link'));
    await untar([{ name: 'tmp/link', body: 'replaced\n' }]);
    hostUntouched();
    expect(lstatSync(join(root, 'tmp', 'link')).isFile()).toBe(true);
  });

  it('".." names, symlinks whose target leaves the directory and hard links out are refused', async () => {
    await expect(untar([{ name: '../escape', body: 'x' }], '/tmp')).rejects.toThrow(/outside of/);
    await expect(untar([{ name: 'l', type: 'symlink', linkname: '../../etc' }], '/tmp')).rejects.toThrow(
      /invalid symlink/,
    );
    await expect(untar([{ name: 'h', type: 'link', linkname: '../etc/passwd' }], '/tmp')).rejects.toThrow(
      /invalid hardlink/,
    );
    hostUntouched();
    expect(existsSync(join(root, 'escape'))).toBe(false);
    expect(existsSync(join(work, 'escape'))).toBe(false);
  });

  it('a hard link through a symlink to the host links the root’s file, not the host’s', async () => {
    const attack: TarEntry[] = [
      { name: 'tmp/to', type: 'symlink', linkname: host },
      { name: 'tmp/h', type: 'link', linkname: 'tmp/to/secret' },
    ];
    await expect(untar(attack)).rejects.toThrow(/invalid hardlink .*no such file/); // ROOT/<host>/secret: none
    mkdirSync(join(root, host.slice(1)), { recursive: true });
    writeFileSync(join(root, host.slice(1), 'secret'), 'decoy\n');
    await untar(attack);
    hostUntouched();
    expect(lstatSync(join(root, 'tmp', 'h')).ino).toBe(lstatSync(join(root, host.slice(1), 'secret')).ino);
    expect(lstatSync(join(root, 'tmp', 'h')).ino).not.toBe(lstatSync(join(host, 'secret')).ino);
  });

  it('a hard link to an earlier entry works', async () => {
    await untar(
      [
        { name: 'a', body: 'same\n' },
        { name: 'b', type: 'link', linkname: 'a' },
      ],
      '/tmp',
    );
    expect(lstatSync(join(root, 'tmp', 'b')).ino).toBe(lstatSync(join(root, 'tmp', 'a')).ino);
  });

  it('noOverwriteDirNonDir: a directory is not replaced by a file, nor a file by a directory', async () => {
    await expect(untar([{ name: 'etc', body: 'x' }])).rejects.toThrow(/cannot overwrite directory "\/etc"/);
    await expect(untar([{ name: 'etc/passwd/', type: 'directory' }])).rejects.toThrow(
      /cannot overwrite non-directory "\/etc\/passwd"/,
    );
    await untar([{ name: 'etc/passwd', body: 'new\n', mode: 0o600 }]);
    expect(readFileSync(join(root, 'etc', 'passwd'), 'utf8')).toBe('new\n');
    expect(lstatSync(join(root, 'etc', 'passwd')).mode & 0o777).toBe(0o600);
  });

  it('device nodes are refused', async () => {
    await expect(untar([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }])).rejects.toThrow(
      /makes no device nodes/,
    );
  });

  it('rebaseName replaces the first component only', () => {
    expect(rebaseName('etc/', { from: 'etc', to: 'new' })).toBe('new/');
    expect(rebaseName('etc/passwd', { from: 'etc', to: 'new' })).toBe('new/passwd');
    expect(rebaseName('etcetera/x', { from: 'etc', to: 'new' })).toBe('etcetera/x');
    expect(rebaseName('./a', { from: '.', to: 'dst' })).toBe('dst/a');
  });
});

describe('tarTree: a tree out as a tar, symlinks as symlinks', () => {
  it('writes names under the top name, never following a symlink out', async () => {
    symlinkSync(host, join(root, 'etc', 'hostlink'));
    const entries: { name: string; type: string; linkname: string | null }[] = [];
    const x = extract();
    const done = (async () => {
      for await (const e of x) {
        entries.push({ name: e.header.name, type: e.header.type, linkname: e.header.linkname });
        e.resume();
      }
    })();
    tarStream((p) => tarTree(fs, ['etc'], 'etc', p)).pipe(x as unknown as NodeJS.WritableStream);
    await done;
    expect(entries).toEqual([
      { name: 'etc/', type: 'directory', linkname: null },
      { name: 'etc/hostlink', type: 'symlink', linkname: host },
      { name: 'etc/passwd', type: 'file', linkname: null },
    ]);
    expect(readlinkSync(join(root, 'etc', 'hostlink'))).toBe(host);
  });

  it("Go's FileMode bits for docker's PathStat", () => {
    expect(goFileMode(lstatSync(join(root, 'etc')))).toBe(GO_MODE.dir + 0o755);
    symlinkSync('x', join(root, 'tmp', 's'));
    expect(goFileMode(lstatSync(join(root, 'tmp', 's')))).toBe(GO_MODE.symlink + 0o777);
  });
});

describe("absolutePath: docker's container paths, their trailing / and /. kept", () => {
  it('makes paths absolute and clean, keeping what decides directory semantics', () => {
    expect(absolutePath('etc/passwd')).toBe('/etc/passwd');
    expect(absolutePath('/etc/')).toBe('/etc/');
    expect(absolutePath('/etc/.')).toBe('/etc/.');
    expect(absolutePath('/a/../etc//x/')).toBe('/etc/x/');
    expect(absolutePath('/')).toBe('/');
    expect(() => absolutePath('')).toThrow('Path cannot be empty');
  });
});
