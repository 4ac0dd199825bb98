import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AcrTrustError } from '../../src/errors.js';
import { completeAnswers, readAnswersFile, readInputs, saveAnswers, simDefaults, type AnswerSources } from '../../src/engine/answers.js';
import { tempDir } from './helpers.js';

const SUB = '11111111-2222-3333-4444-555555555555';

function file(text: string, name = 'answers.yaml'): string {
  const f = join(tempDir(), name);
  writeFileSync(f, text);
  return f;
}

function usage(fn: () => unknown): AcrTrustError {
  try {
    fn();
  } catch (e) {
    expect((e as AcrTrustError).name).toBe('AcrTrustError');
    expect((e as AcrTrustError).exitCode).toBe(2);
    return e as AcrTrustError;
  }
  throw new Error('expected exit 2');
}

const read = (src: Partial<AnswerSources>) => readInputs({ flags: {}, env: {}, ...src });

describe('answers precedence', () => {
  it('flags > --answers file > saved answers > env > defaults', () => {
    const answersFile = file('registry: fromfile1\nresourceGroup: rg-file\ntask: task-file\n');
    const saved = file('registry: fromsaved\nresourceGroup: rg-saved\ntask: task-saved\nrole: AcrPull\n');
    const env = { ACR_TRUST_REGISTRY: 'fromenv1', ACR_TRUST_TASK: 'task-env', ACR_TRUST_ROLE: 'AcrPush', AZURE_SUBSCRIPTION_ID: SUB };
    const { inputs, from } = read({ flags: { registry: 'fromflag1' }, file: answersFile, saved, env });
    expect(inputs).toMatchObject({ registry: 'fromflag1', resourceGroup: 'rg-file', task: 'task-file', role: 'AcrPull', subscription: SUB });
    expect(from).toMatchObject({ registry: '--registry', resourceGroup: answersFile, role: saved, subscription: 'AZURE_SUBSCRIPTION_ID' });

    const a = completeAnswers(inputs, {});
    expect(a).toMatchObject({ target: 'azure', targetRegistry: 'fromflag1' });
    const b = completeAnswers(read({ flags: { registry: 'myregistry', resourceGroup: 'rg', subscription: SUB } }).inputs, {});
    expect(b).toEqual({ target: 'azure', subscription: SUB, resourceGroup: 'rg', registry: 'myregistry', targetRegistry: 'myregistry', task: 'acr-trust-task', role: 'AcrPush' });
  });

  it('accepts JSON answers files', () => {
    expect(readAnswersFile(file('{"registry": "jsonreg1", "role": "Container Registry Repository Writer"}', 'a.json'))).toEqual({
      registry: 'jsonreg1',
      role: 'Container Registry Repository Writer',
    });
  });

  it("ignores an earlier run's saved answers for another target, so sim names never reach Azure", () => {
    const saved = file('target: sim\nregistry: acrtrustdemo\nresourceGroup: acr-trust-demo\n');
    expect(read({ flags: { target: 'azure' }, saved }).inputs).toEqual({ target: 'azure' });
    expect(read({ saved }).inputs).toMatchObject({ target: 'sim', registry: 'acrtrustdemo' });
  });

  it('sim defaults: the demo names, the sim subscription, and the second registry for two-registries', () => {
    const inputs = read({ flags: { target: 'sim' } }).inputs;
    expect(completeAnswers(inputs, simDefaults('default', SUB))).toEqual({
      target: 'sim',
      goal: 'demo', // the article's whole workflow stays the sim's default
      simScenario: 'default',
      subscription: SUB,
      resourceGroup: 'acr-trust-demo',
      registry: 'acrtrustdemo',
      targetRegistry: 'acrtrustdemo',
      task: 'acr-trust-task',
      role: 'AcrPush',
    });
    expect(completeAnswers({ target: 'sim', simScenario: 'two-registries' }, simDefaults('two-registries', SUB)).targetRegistry).toBe('acrtrusttarget');
  });
});

describe('answers validation', () => {
  it('on Azure a missing answer is exit 2 naming the flag and the file key — never a silent default', () => {
    const e = usage(() => completeAnswers({ target: 'azure', subscription: SUB }, {}));
    expect(e.message).toContain('--resource-group');
    expect(e.message).toContain('"resourceGroup:"');
    expect(e.message).toContain('--registry');
    expect(e.message).toContain('"registry:"');
    expect(usage(() => completeAnswers({ registry: 'myregistry', resourceGroup: 'rg' }, {})).message).toContain('--subscription');
  });

  it('an unknown key names it and lists the valid ones', () => {
    const e = usage(() => readAnswersFile(file('registy: typo1\n')));
    expect(e.message).toContain('unknown key "registy"');
    expect(e.hint).toContain('subscription, resourceGroup, registry, targetRegistry, task, role, taskFile, target, goal, agentPool, agentPoolSubnet, agentPoolTier, simScenario, simSpeed');
  });

  it('a wrong type is exit 2 with how to quote it', () => {
    const e = usage(() => readAnswersFile(file('registry: 12345678\n')));
    expect(e.message).toContain('"registry"');
    expect(e.message).toContain('must be a string, not number');
    expect(usage(() => readAnswersFile(file('task: [a, b]\n'))).message).toContain('not a list');
    expect(usage(() => readAnswersFile(file('- registry\n'))).message).toContain('mapping');
  });

  it('invalid YAML is exit 2 with the line', () => {
    const e = usage(() => readAnswersFile(file('registry: abcde\nrole: [AcrPush\ntask: x\n')));
    expect(e.message).toMatch(/is not valid YAML \(line \d+, column \d+\)/);
  });

  it('an alias to nothing, or one that expands too far, is exit 2 "not valid YAML"', () => {
    for (const text of ['subscription: *nowhere\n', `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nregistry: *c\n`]) {
      const e = usage(() => readAnswersFile(file(text)));
      expect(e.message).toMatch(/is not valid YAML: .*alias/i);
      expect(e.hint).toMatch(/^Fix the file/);
    }
  });

  it('duplicate keys are exit 2: which one wins would be a guess', () => {
    expect(usage(() => readAnswersFile(file('registry: abcde1\nregistry: abcde2\n'))).message).toMatch(/not valid YAML.*[Uu]nique|not valid YAML.*duplicate/);
  });

  it('a task file that is not a task is refused with the answers, before anything runs', () => {
    const task = file('version: v1.1.0\n', 'task.yaml');
    const e = usage(() => readInputs({ flags: { taskFile: task }, env: {} }));
    expect(e.message).toMatch(/is not an ACR task: it needs a non-empty `steps:` list/);
    expect(e.hint).toMatch(/leave out --task-file/);
    const good = file('version: v1.1.0\nsteps:\n  - cmd: bash echo {{.Run.ID}}\n', 'good.yaml');
    expect(readInputs({ flags: { taskFile: good }, env: {} }).inputs.taskFile).toBe(good);
  });

  it('a missing answers file is exit 2', () => {
    expect(usage(() => readAnswersFile('/nonexistent/answers.yaml')).message).toContain('ENOENT');
  });

  for (const [key, value, expected] of [
    ['registry', 'my-registry', '5–50 letters and digits'],
    ['registry', 'abcd', '5–50 letters and digits'],
    ['targetRegistry', 'x'.repeat(51), '5–50 letters and digits'],
    ['task', 'my task', '5–50 letters, digits, hyphens or underscores'],
    ['task', 'tsk', '5–50'],
    ['resourceGroup', 'rg.', 'end with a period'],
    ['resourceGroup', 'rg/x', '1–90'],
    ['resourceGroup', 'r'.repeat(91), '1–90'],
    ['subscription', 'not-a-guid', 'GUID'],
    ['role', 'Owner', 'choose one of: AcrPush, AcrPull, "Container Registry Repository Writer"'],
    ['target', 'aws', 'choose one of: sim, azure'],
    ['simSpeed', 'fast', 'instant, realistic'],
    ['simScenario', 'nope', 'basic-sku'],
    ['taskFile', '/nonexistent/task.yaml', 'does not exist'],
  ] as const) {
    it(`rejects ${key} = ${JSON.stringify(value).slice(0, 20)} the way ARM would, saying how to fix it`, () => {
      const e = usage(() => read({ flags: { [key]: value } }));
      expect(e.message).toContain(expected);
      expect(e.hint).toContain(`"${key}:"`);
    });
  }

  it('accepts names ARM accepts', () => {
    const ok = { registry: 'MyRegistry01', resourceGroup: 'rg_(prod).eu-1', task: 'my_task-01', subscription: SUB.toUpperCase() };
    expect(read({ flags: ok }).inputs).toMatchObject(ok);
    expect(read({ flags: { resourceGroup: 'ré-groupe' } }).inputs.resourceGroup).toBe('ré-groupe');
  });

  it('a bad value from a file says where it came from', () => {
    const f = file('registry: bad-name\n');
    expect(usage(() => read({ file: f })).hint).toContain(`it came from ${f}`);
  });
});

describe('saveAnswers', () => {
  it('writes 0600 YAML that reads back to the same answers', () => {
    const f = join(tempDir(), 'answers.yaml');
    const answers = completeAnswers({ target: 'sim', role: 'Container Registry Repository Reader' }, simDefaults('default', SUB));
    saveAnswers(f, answers);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(f, 'utf8')).toMatch(/^# acr-trust answers/);
    expect(completeAnswers(readAnswersFile(f), {})).toEqual(answers);
  });
});
