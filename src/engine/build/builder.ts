// docker build, the legacy builder's way (moby's builder/dockerfile): one step per instruction, each
// making an image of the store from the one before — config-only instructions an image with one more
// history entry (empty_layer), RUN a container of the engine (created and started as `docker run`
// would: the same namespaces, capabilities, seccomp filter and cgroup; no network: its network
// namespace has only lo) whose overlay upper directory becomes the layer, COPY and ADD a layer of the
// context's files. A step whose parent image and instruction (and, for COPY/ADD, whose files) were
// built before is taken from the cache: the image that step made, found by its key in the store.
// The progress is docker's stream: "Step 1/3 : FROM busybox", " ---> Running in …", " ---> <id>",
// "Successfully built <id>", "Successfully tagged <name>".
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { NsxError } from '../../runtime/errors.js';
import { secureJoin } from '../../runtime/securejoin.js';
import { BUILD_CACHE_ANNOTATION, writeImage, writeLayer } from '../../image/commit.js';
import {
  applyToConfig,
  commandOf,
  DockerfileError,
  envMap,
  keyValues,
  parseDockerfile,
  substitute,
  type Instruction,
} from '../../image/dockerfile.js';
import type { ImageStore, ResolvedImage } from '../../image/store.js';
import type { OciImageConfig } from '../../image/types.js';
import type { Engine } from '../engine.js';
import { FrameDecoder } from '../stream.js';
import { copyTar, planCopy } from './copy.js';
import { containerOwner } from '../verbs/commit.js';

/** A RUN whose command exited non-zero. moby's builder reports it as a jsonmessage.JSONError whose
 *  Code is that exit status (builder/dockerfile/dispatchers.go, dispatchRun), so the legacy
 *  `docker build` exits with it (docker/cli cli/command/image/build.go: the error's code, 1 if none). */
export class RunFailed extends NsxError {
  constructor(
    cmd: string[],
    readonly status: number,
  ) {
    super(`The command '${cmd.join(' ')}' returned a non-zero code: ${status}`);
  }
}

export interface BuildOptions {
  /** The Dockerfile's path inside the context (docker build -f). */
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string>;
  noCache: boolean;
}

type RunConfig = NonNullable<OciImageConfig['config']>;
const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** The Dockerfile read from the context and parsed: a refusal comes before any step runs. */
export function readDockerfile(context: string, path: string): Instruction[] {
  let text: string;
  try {
    text = readFileSync(secureJoin(context, path), 'utf8');
  } catch {
    throw new DockerfileError(`Cannot locate specified Dockerfile: ${path}`, {
      hint: 'the Dockerfile must be inside the build context (docker build -f PATH)',
    });
  }
  const steps = parseDockerfile(text, path);
  const froms = steps.filter((s) => s.name === 'FROM');
  if (froms.length > 1)
    throw new DockerfileError(`${path} line ${froms[1].line}: nsx's builder builds one stage (one FROM) only`);
  if (/\s+AS\s+/i.test(froms[0].args))
    throw new DockerfileError(`${path} line ${froms[0].line}: nsx's builder has no named stages (FROM … AS)`);
  return steps;
}

export class Builder {
  private image?: ResolvedImage;
  private config: RunConfig = {};
  /** ARG values: declared ones, with --build-arg's value or their default. */
  private vars: Record<string, string> = {};
  private saidNoNetwork = false;

  constructor(
    private readonly engine: Engine,
    private readonly store: ImageStore,
    private readonly context: string,
    private readonly o: BuildOptions,
    private readonly say: (text: string) => void,
  ) {}

  /** Runs every step; returns the image id (config digest). */
  async build(steps: Instruction[]): Promise<string> {
    for (const [n, step] of steps.entries()) {
      this.say(`Step ${n + 1}/${steps.length} : ${step.original}\n`);
      await this.step(step);
    }
    if (!this.image) throw new NsxError('the Dockerfile made no image');
    const id = this.image.configDigest;
    return id;
  }

  private async step(i: Instruction): Promise<void> {
    const sub = (s: string) => substitute(s, { ...envMap(this.config.Env), ...this.vars });
    switch (i.name) {
      case 'FROM':
        return this.from(sub(i.args));
      case 'ARG': {
        for (const [k, v] of argPairs(i)) this.vars[k] = this.o.buildArgs[k] ?? sub(v ?? '');
        if (!this.image) return; // before FROM: for FROM's own line only
        return this.commitConfig(i, this.config, `ARG ${i.args}`);
      }
      case 'RUN':
        return this.run(i);
      case 'COPY':
      case 'ADD':
        return this.copy(i);
      case 'WORKDIR':
        return this.workdir(i);
      default:
        return this.commitConfig(i, applyToConfig(i, this.config, this.vars), i.original);
    }
  }

  private async from(name: string): Promise<void> {
    if (name === 'scratch') {
      this.image = undefined;
      this.config = {};
      this.say(' ---> Using an empty image (scratch)\n');
      return;
    }
    let image = this.store.resolve(name);
    if (!image) {
      const { pullImage } = await import('../../image/verbs.js');
      this.say(`Pulling ${name} (nsx pull)\n`);
      await pullImage(this.store, name);
      image = this.store.resolve(name);
      if (!image) throw new NsxError(`pull access denied for ${name}`);
    }
    this.image = image;
    this.config = { ...image.config.config };
    this.say(` ---> ${short(image.configDigest)}\n`);
  }

  private key(parts: unknown): string {
    return createHash('sha256')
      .update(JSON.stringify({ parent: this.image?.configDigest ?? 'scratch', ...(parts as object) }))
      .digest('hex');
  }

  /** The image a step with this key made before (docker's " ---> Using cache"), now the current one. */
  private cached(key: string): boolean {
    if (this.o.noCache) return false;
    const hit = this.store.readIndex().manifests.find((m) => m.annotations?.[BUILD_CACHE_ANNOTATION] === key);
    const image = hit && this.store.resolve(hit.digest);
    if (!image) return false;
    this.image = image;
    this.config = { ...image.config.config };
    this.say(` ---> Using cache\n ---> ${short(image.configDigest)}\n`);
    return true;
  }

  private async made(
    key: string,
    config: RunConfig,
    createdBy: string,
    layer?: Awaited<ReturnType<typeof writeLayer>>,
  ): Promise<void> {
    const { id } = await writeImage(this.store, {
      parent: this.image,
      layer,
      config,
      createdBy,
      annotations: { [BUILD_CACHE_ANNOTATION]: key },
    });
    this.image = this.store.resolve(id)!;
    this.config = config;
    this.say(` ---> ${short(id)}\n`);
  }

  /** ENV, CMD, LABEL…: a new image with the config changed and no layer. */
  private async commitConfig(i: Instruction, config: RunConfig, text: string): Promise<void> {
    const key = this.key({ step: text, config, vars: this.vars });
    if (this.cached(key)) return;
    await this.made(key, config, `/bin/sh -c #(nop)  ${text}`);
  }

  private async run(i: Instruction): Promise<void> {
    if (!this.image || !this.image.config.rootfs.diff_ids.length)
      throw new DockerfileError(`line ${i.line}: RUN needs an image with a program to run (FROM scratch has none)`);
    const cmd = commandOf(i);
    const argEnv = Object.entries(this.vars).map(([k, v]) => `${k}=${v}`);
    const createdBy = `${argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ` : ''}${cmd.join(' ')}`;
    const key = this.key({ run: cmd, config: this.config, vars: this.vars });
    if (this.cached(key)) return;
    const env = Object.entries({ ...envMap(this.config.Env), ...this.vars }).map(([k, v]) => `${k}=${v}`);
    const created = await this.engine.create({
      Image: this.image.configDigest,
      Cmd: cmd,
      Entrypoint: [],
      Env: env,
      ...(this.config.WorkingDir ? { WorkingDir: this.config.WorkingDir } : {}),
      ...(this.config.User ? { User: this.config.User } : {}),
      HostConfig: { NetworkMode: 'none' },
    });
    const id = created.Id;
    this.say(` ---> Running in ${short(id)}\n`);
    if (!this.saidNoNetwork) {
      this.say(" ---> (nsx: RUN has no network: its network namespace has only lo; nsx's builder fetches nothing)\n");
      this.saidNoNetwork = true;
    }
    try {
      const { hub } = this.engine.attach(id);
      const decoder = new FrameDecoder((_s, d) => this.say(d.toString('utf8')));
      const out = (d: Buffer) => decoder.push(d);
      hub.on('data', out);
      try {
        await this.engine.start(id);
        const { StatusCode } = await this.engine.wait(id);
        if (StatusCode !== 0) throw new RunFailed(cmd, StatusCode);
      } finally {
        hub.off('data', out);
      }
      const c = this.engine.get(id)!;
      const upper = c.record.Root?.overlay?.upper;
      if (!upper)
        throw new NsxError(
          `RUN's container had its layers copied (${c.record.Root?.copied?.reason ?? 'copy mode'}): nsx builds only on overlayfs`,
        );
      const { upperTar } = await import('../../image/upper.js');
      const layer = await writeLayer(this.store, upperTar(upper, { owner: containerOwner(this.engine.root) }));
      await this.engine.remove(id, true);
      this.say(` ---> Removed intermediate container ${short(id)}\n`);
      await this.made(key, this.config, createdBy, layer);
    } finally {
      if (this.engine.has(id)) await this.engine.remove(id, true);
    }
  }

  /** WORKDIR: the config's, and the directory made (docker makes it, with its missing parents, as
   *  a layer of the step) when the image does not have it. */
  private async workdir(i: Instruction): Promise<void> {
    const config = applyToConfig(i, this.config, this.vars);
    const dir = config.WorkingDir ?? '/';
    const { imageView } = await import('../../image/rootfs.js');
    const view = this.image?.config.rootfs.diff_ids.length ? await imageView(this.store, this.image) : undefined;
    const missing: string[] = [];
    for (let p = dir; p !== '/' && !view?.isDirectory(p); p = posix.dirname(p)) missing.unshift(p);
    if (!missing.length) return this.commitConfig(i, config, i.original);
    const key = this.key({ step: i.original, config, vars: this.vars, mkdir: missing });
    if (this.cached(key)) return;
    const layer = await writeLayer(this.store, copyTar({ entries: [], parents: missing, checksum: '', dest: dir }));
    await this.made(key, config, `/bin/sh -c #(nop) WORKDIR ${dir}`, layer);
  }

  private async copy(i: Instruction): Promise<void> {
    const { imageView } = await import('../../image/rootfs.js');
    const view = this.image ? await imageView(this.store, this.image) : undefined;
    const plan = planCopy(i, this.context, this.config.WorkingDir ?? '', { ...this.vars }, (p) =>
      view ? view.isDirectory(p) : false,
    );
    const key = this.key({ copy: i.original, files: plan.checksum, config: this.config, vars: this.vars });
    if (this.cached(key)) return;
    const layer = await writeLayer(this.store, copyTar(plan));
    await this.made(key, this.config, `/bin/sh -c #(nop) ${i.name} file:${plan.checksum} in ${plan.dest} `, layer);
  }
}

/** ARG NAME[=DEFAULT] ... */
function argPairs(i: Instruction): [string, string | undefined][] {
  return i.args
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => {
      const eq = w.indexOf('=');
      if (eq < 0) return [w, undefined];
      const [[k, v]] = keyValues(w, 'ARG', i.line);
      return [k, v];
    });
}
