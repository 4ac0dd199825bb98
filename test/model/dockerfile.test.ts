/**
 * What a Dockerfile's FROM lines pull, by Docker's substitution rules
 * (https://docs.docker.com/reference/dockerfile/#environment-replacement).
 */
import { describe, expect, it } from 'vitest';
import { dockerfileBaseImages, substitute } from '../../src/model/dockerfile.js';

const bases = (text: string, buildArgs: Record<string, string> = {}) => dockerfileBaseImages(text, buildArgs);

describe('dockerfileBaseImages', () => {
  it('substitutes global ARGs in every form Docker accepts', () => {
    const text = ['ARG REG=r.azurecr.io', 'ARG TAG', 'FROM $REG/a:1', 'FROM ${REG}/b:${TAG:-2}', 'FROM ${NOPE:-d.azurecr.io}/c', 'FROM x.azurecr.io/e${TAG:+-never}:3'].join('\n');
    expect(bases(text)).toEqual(['r.azurecr.io/a:1', 'r.azurecr.io/b:2', 'd.azurecr.io/c', 'x.azurecr.io/e:3']);
  });

  it('a build arg overrides a declared ARG, and only a declared one', () => {
    const text = 'ARG BASE=mcr.microsoft.com/hello-world\nFROM ${BASE}\nFROM ${UNDECLARED:-docker.io/library/busybox}\n';
    expect(bases(text, { BASE: 'b.azurecr.io/base:1', UNDECLARED: 'c.azurecr.io/x' })).toEqual(['b.azurecr.io/base:1', 'docker.io/library/busybox']);
  });

  it('`:-` takes the word for an empty value, `-` only for an unset one; `:+`/`+` the reverse', () => {
    const scope = new Map([['EMPTY', ''], ['SET', 'v']]);
    expect(substitute('${EMPTY:-w}|${EMPTY-w}|${UNSET-w}|${EMPTY:+w}|${EMPTY+w}|${SET:+w}|${UNSET+w}', scope)).toBe('w||w||w|w|');
    expect(substitute('${UNSET:-${SET}x}', scope)).toBe('vx');
    expect(substitute('\\$SET-$SET', scope)).toBe('$SET-v');
  });

  it('ARGs after the first FROM belong to a stage and are not seen by later FROMs', () => {
    expect(bases('FROM a.azurecr.io/one\nARG NEXT=b.azurecr.io/two\nFROM ${NEXT:-c.azurecr.io/three}\n')).toEqual(['a.azurecr.io/one', 'c.azurecr.io/three']);
  });

  it('earlier stages (any case), scratch, repeats and empty images pull nothing', () => {
    const text = 'ARG EMPTY\nFROM r.azurecr.io/sdk AS Build\nFROM build AS final\nFROM BUILD\nFROM scratch\nFROM r.azurecr.io/sdk\nFROM ${EMPTY}\n';
    expect(bases(text)).toEqual(['r.azurecr.io/sdk']);
  });

  it('flags, line continuations and the escape directive are the parser’s', () => {
    const text = '# escape=`\nARG REG=r.azurecr.io\nFROM --platform=$BUILDPLATFORM `\n  $REG/img-${TARGETARCH}:1 AS b\nRUN echo `\n hi\n';
    expect(bases(text)).toEqual(['r.azurecr.io/img-amd64:1']);
  });
});
