// The Dockerfile subset nsx builds (docs.docker.com/reference/dockerfile/): FROM, RUN, COPY, ADD of
// local files, ENV, WORKDIR, USER, CMD, ENTRYPOINT, LABEL, EXPOSE, ARG. Lines are joined at a
// trailing backslash, "#" lines are comments, an instruction is case-insensitive; RUN, CMD and
// ENTRYPOINT take the exec form (a JSON array) or the shell form (run by /bin/sh -c). Anything else
// is refused by name and line before anything is built. The same instructions (CMD, ENTRYPOINT, ENV,
// EXPOSE, LABEL, USER, WORKDIR) are docker commit's --change.
import { NsxError } from '../runtime/errors.js';
import type { OciImageConfig } from './types.js';

export const SUPPORTED = [
  'FROM',
  'RUN',
  'COPY',
  'ADD',
  'ENV',
  'WORKDIR',
  'USER',
  'CMD',
  'ENTRYPOINT',
  'LABEL',
  'EXPOSE',
  'ARG',
];
/** Dockerfile instructions nsx knows of but does not build, and why. */
const LEFT_OUT: Record<string, string> = {
  VOLUME: 'nsx has no volumes',
  HEALTHCHECK: 'nsx runs no health checks',
  ONBUILD: 'nsx keeps no triggers for later builds',
  SHELL: 'RUN always uses /bin/sh -c in nsx',
  STOPSIGNAL: 'nsx stops containers with SIGTERM, then SIGKILL',
  MAINTAINER: 'it is deprecated: use LABEL maintainer=…',
};
/** What docker commit --change may set (moby's validCommitCommands, those nsx has). */
export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'WORKDIR'];

export interface Instruction {
  /** 1-based line of the instruction's first line. */
  line: number;
  name: string;
  /** The arguments as written (continuations joined). */
  args: string;
  /** The exec form's array (RUN, CMD, ENTRYPOINT, COPY, ADD), when the arguments are one. */
  json?: string[];
  /** The instruction as docker prints it in a step: "RUN echo hi". */
  original: string;
}

export class DockerfileError extends NsxError {}

/** Parses a Dockerfile; refuses an instruction outside the subset, naming it and its line. */
export function parseDockerfile(text: string, what = 'Dockerfile'): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i];
    if (/^\s*(#.*)?$/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, '');
      i++;
      if (/^\s*#/.test(lines[i])) continue; // a comment inside a continued instruction is dropped
      line += lines[i];
    }
    const m = /^\s*(\S+)\s*(.*?)\s*$/.exec(line)!;
    const name = m[1].toUpperCase();
    const args = m[2];
    if (!SUPPORTED.includes(name)) {
      const why = LEFT_OUT[name];
      throw new DockerfileError(
        why
          ? `${what} line ${first}: nsx's builder does not support ${name}: ${why}`
          : `dockerfile parse error on line ${first}: unknown instruction: ${m[1]}`,
        { hint: `nsx builds ${SUPPORTED.join(', ')}` },
      );
    }
    if (args === '' && name !== 'CMD' && name !== 'ENTRYPOINT')
      throw new DockerfileError(`${what} line ${first}: ${name} requires at least one argument`);
    const json = ['RUN', 'CMD', 'ENTRYPOINT', 'COPY', 'ADD'].includes(name) ? jsonArray(args) : undefined;
    out.push({ line: first, name, args, ...(json ? { json } : {}), original: `${name} ${args}`.trim() });
  }
  if (!out.length) throw new DockerfileError(`${what}: the Dockerfile cannot be empty`);
  const firstReal = out.find((x) => x.name !== 'ARG');
  if (firstReal?.name !== 'FROM')
    throw new DockerfileError(
      `${what} line ${firstReal?.line ?? 1}: the first instruction must be FROM (only ARG may come before it)`,
    );
  return out;
}

function jsonArray(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined; // docker's rule: not valid JSON, so the shell form
  }
}

/** $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt} from VARS; "\$" stays a literal "$". */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      if (all === '\\$') return '$';
      const name = braced ?? bare!;
      const v = vars[name];
      if (op === '-') return v ? v : (word ?? '');
      if (op === '+') return v ? (word ?? '') : '';
      return v ?? '';
    },
  );
}

/** KEY=VALUE pairs (quotes removed), or the old "KEY VALUE" form of ENV and LABEL. */
export function keyValues(args: string, name: string, line: number): [string, string][] {
  const words = splitWords(args);
  if (!words.length || !words[0].includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(args);
    if (!m) throw new DockerfileError(`line ${line}: ${name} needs KEY=VALUE (or KEY VALUE)`);
    return [[m[1], unquote(m[2])]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new DockerfileError(`line ${line}: ${name}: "${w}" is not KEY=VALUE`);
    return [unquote(w.slice(0, eq)), unquote(w.slice(eq + 1))];
  });
}

/** Words split at unquoted spaces, quotes kept (unquote removes them). */
export function splitWords(s: string): string[] {
  return s.match(/(?:[^\s"'\\]+|"(?:[^"\\]|\\.)*"|'[^']*'|\\.)+/g) ?? [];
}

function unquote(s: string): string {
  return s.replace(/"((?:[^"\\]|\\.)*)"|'([^']*)'|\\(.)/g, (_m, dq: string, sq: string, esc: string) =>
    dq !== undefined ? dq.replace(/\\(.)/g, '$1') : sq !== undefined ? sq : esc,
  );
}

type RunConfig = NonNullable<OciImageConfig['config']>;

/** The command of RUN, CMD or ENTRYPOINT: the exec form as it is, the shell form through /bin/sh -c. */
export function commandOf(i: Instruction): string[] {
  return i.json ?? ['/bin/sh', '-c', i.args];
}

/** A config-only instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR) applied to a copy
 *  of CONFIG; VARS are the build's variables (ARG and ENV) for the ones docker substitutes in. */
export function applyToConfig(i: Instruction, config: RunConfig, vars: Record<string, string> = {}): RunConfig {
  const c: RunConfig = { ...config };
  const sub = (s: string) => substitute(s, { ...envMap(c.Env), ...vars });
  switch (i.name) {
    case 'CMD':
      c.Cmd = i.args === '' ? null : commandOf(i);
      break;
    case 'ENTRYPOINT':
      c.Entrypoint = i.args === '' ? null : commandOf(i);
      c.Cmd = null; // docker: a new ENTRYPOINT resets the CMD inherited from the base image
      break;
    case 'ENV': {
      const env = [...(c.Env ?? [])];
      for (const [k, v] of keyValues(i.args, 'ENV', i.line)) {
        const value = sub(v);
        const at = env.findIndex((e) => e.startsWith(`${k}=`));
        if (at >= 0) env[at] = `${k}=${value}`;
        else env.push(`${k}=${value}`);
      }
      c.Env = env;
      break;
    }
    case 'LABEL':
      c.Labels = {
        ...c.Labels,
        ...Object.fromEntries(keyValues(i.args, 'LABEL', i.line).map(([k, v]) => [k, sub(v)])),
      };
      break;
    case 'EXPOSE': {
      const ports = { ...c.ExposedPorts };
      for (const p of splitWords(sub(i.args))) {
        if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p))
          throw new DockerfileError(`line ${i.line}: EXPOSE ${p}: expected PORT[/PROTOCOL]`);
        ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
      }
      c.ExposedPorts = ports;
      break;
    }
    case 'USER':
      c.User = sub(i.args);
      break;
    case 'WORKDIR': {
      const dir = sub(i.args);
      c.WorkingDir = dir.startsWith('/') ? dir : `${(c.WorkingDir || '/').replace(/\/$/, '')}/${dir}`;
      break;
    }
    default:
      throw new DockerfileError(`line ${i.line}: ${i.name} changes the filesystem, not the config`);
  }
  return c;
}

export function envMap(env: string[] | undefined): Record<string, string> {
  return Object.fromEntries(
    (env ?? []).map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? [e, ''] : [e.slice(0, eq), e.slice(eq + 1)];
    }),
  );
}

/** docker commit --change LINES applied to a config (only CHANGE_INSTRUCTIONS). */
export function applyChanges(changes: string[], config: RunConfig): RunConfig {
  let c = config;
  for (const text of changes) {
    for (const i of parseChange(text)) {
      if (!CHANGE_INSTRUCTIONS.includes(i.name))
        throw new DockerfileError(`${i.name} is not a valid change command`, {
          hint: `docker commit --change takes ${CHANGE_INSTRUCTIONS.join(', ')}`,
        });
      c = applyToConfig(i, c);
    }
  }
  return c;
}

function parseChange(text: string): Instruction[] {
  const m = /^\s*(\S+)\s*(.*?)\s*$/s.exec(text);
  if (!m) return [];
  const name = m[1].toUpperCase();
  const json = jsonArray(m[2]);
  return [{ line: 1, name, args: m[2], ...(json ? { json } : {}), original: text }];
}
