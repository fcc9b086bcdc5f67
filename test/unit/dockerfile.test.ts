// nsx's Dockerfile subset (src/image/dockerfile.ts): parsing (continuations, comments, exec and shell
// forms), refusals by name and line, variable substitution, and the config instructions that docker
// build and docker commit --change apply.
import { describe, expect, it } from '@jest/globals';
import { applyChanges, applyToConfig, commandOf, parseDockerfile, substitute } from '../../src/image/dockerfile.js';
import { thrownNsxError } from '../helpers.js';

describe('parseDockerfile', () => {
  it('instructions with their first line, continuations joined, comments left out, exec form read', () => {
    const steps = parseDockerfile(
      '# a comment\nfrom busybox\n\nRUN echo a \\\n  && echo b\nCMD ["cat", "/x"]\nENTRYPOINT [not json\n',
    );
    expect(steps.map((s) => [s.line, s.name, s.args])).toEqual([
      [2, 'FROM', 'busybox'],
      [4, 'RUN', 'echo a   && echo b'],
      [6, 'CMD', '["cat", "/x"]'],
      [7, 'ENTRYPOINT', '[not json'],
    ]);
    expect(commandOf(steps[2])).toEqual(['cat', '/x']);
    expect(commandOf(steps[3])).toEqual(['/bin/sh', '-c', '[not json']); // docker's rule: not JSON, the shell form
  });

  it('refuses an instruction outside the subset by name and line, and an unknown one as docker does', () => {
    expect(thrownNsxError(() => parseDockerfile('FROM busybox\nRUN true\nVOLUME /data\n')).message).toBe(
      "Dockerfile line 3: nsx's builder does not support VOLUME: nsx has no volumes",
    );
    expect(thrownNsxError(() => parseDockerfile('FROM busybox\nFOO bar\n')).message).toBe(
      'dockerfile parse error on line 2: unknown instruction: FOO',
    );
    expect(thrownNsxError(() => parseDockerfile('RUN true\n')).message).toContain('the first instruction must be FROM');
    expect(thrownNsxError(() => parseDockerfile('\n# only\n')).message).toContain('cannot be empty');
  });
});

describe('variables and config', () => {
  it('substitutes $X, ${X}, ${X:-d}, ${X:+a}; \\$ stays', () => {
    const vars = { A: 'x', E: '' };
    expect(substitute('$A ${A} ${B:-dflt} ${A:+alt} ${E:-e} \\$A', vars)).toBe('x x dflt alt e $A');
  });

  it('ENV (both forms), LABEL, EXPOSE, USER, WORKDIR (relative to the last), CMD, ENTRYPOINT', () => {
    let c = { Env: ['PATH=/bin'], Cmd: ['sh'] } as Parameters<typeof applyToConfig>[1];
    const [env, old, label, expose, user, wd1, wd2, ep] = parseDockerfile(
      'FROM x\nENV A=1 B="two words"\nENV C $A-c\nLABEL k=v\nEXPOSE 80 53/udp\nUSER learner\nWORKDIR /app\nWORKDIR sub\nENTRYPOINT ["/bin/run"]\n',
    ).slice(1);
    for (const i of [env, old, label, expose, user, wd1, wd2]) c = applyToConfig(i, c);
    expect(c).toEqual({
      Env: ['PATH=/bin', 'A=1', 'B=two words', 'C=1-c'],
      Cmd: ['sh'],
      Labels: { k: 'v' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      User: 'learner',
      WorkingDir: '/app/sub',
    });
    expect(applyToConfig(ep, c)).toEqual(expect.objectContaining({ Entrypoint: ['/bin/run'], Cmd: null }));
  });

  it('commit --change takes the config instructions only', () => {
    expect(applyChanges(['CMD ["a"]', 'ENV X=1'], {})).toEqual({ Cmd: ['a'], Env: ['X=1'] });
    expect(thrownNsxError(() => applyChanges(['RUN true'], {})).message).toBe('RUN is not a valid change command');
  });
});
