/** Bad input: exit 2 with a message that says what is wrong and how to fix it — never a stack. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, expectNoStack, tempDir } from './helpers.js';

function file(name: string, text: string): string {
  const f = join(tempDir(), name);
  writeFileSync(f, text);
  return f;
}

const SUB = '11111111-2222-3333-4444-555555555555';

describe.concurrent('bad input is exit 2 without a stack trace', () => {
  const cases: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    ['an invalid registry name', ['--target', 'sim', '--yes', '--registry', 'my-registry'], /not a valid registry name: ARM requires 5–50 letters and digits/],
    ['an invalid task name', ['--target', 'sim', '--yes', '--task', 'a b'], /not a valid task name/],
    ['an invalid resource group', ['--target', 'sim', '--yes', '--resource-group', 'rg.'], /end with a period/],
    ['an invalid subscription', ['--target', 'azure', '--goal', 'demo', '--yes', '--subscription', 'nope', '--registry', 'myregistry', '--resource-group', 'rg'], /GUID/],
    ['an unknown role', ['--target', 'sim', '--yes', '--role', 'Owner'], /choose one of: AcrPush/],
    ['an unknown target', ['--target', 'aws', '--yes'], /Allowed choices are sim, azure/],
    ['an unknown step for --from', ['--target', 'sim', '--yes', '--from', 'nope'], /unknown step "nope" for --from[\s\S]*preflight, create-task/],
    ['--only with --until', ['--target', 'sim', '--yes', '--only', 'run-task', '--until', 'run-task'], /--only cannot be combined/],
    ['an unknown option', ['--target', 'sim', '--yes', '--colour'], /unknown option/],
    ['--endpoint without --ca', ['--target', 'sim', '--yes', '--endpoint', 'https://127.0.0.1:1'], /--endpoint and --ca go together/],
    ['--ca without --endpoint on azure', ['--target', 'azure', '--yes', '--ca', '/x'], /--ca is the CA certificate of an --endpoint, and no --endpoint was given/],
    ['--ca without --endpoint on the sim', ['--target', 'sim', '--yes', '--ca', '/x'], /--ca is the CA certificate of an --endpoint/],
    ['--endpoint over http on azure', ['--target', 'azure', '--yes', '--endpoint', 'http://127.0.0.1:1'], /--endpoint http:\/\/127\.0\.0\.1:1 must be an https:\/\/ URL/],
    [
      'a CA file that does not exist, on azure',
      ['--target', 'azure', '--goal', 'demo', '--yes', '--subscription', SUB, '--resource-group', 'rg', '--registry', 'myregistry', '--endpoint', 'https://127.0.0.1:1', '--ca', '/nonexistent/ca.pem'],
      /cannot read the CA certificate \/nonexistent\/ca\.pem \(ENOENT\)/,
    ],
    ['a missing task file', ['--target', 'sim', '--yes', '--task-file', '/nonexistent.yaml'], /task file: the file does not exist/],
    ['no --yes without a terminal', ['--target', 'sim'], /no terminal to ask questions in[\s\S]*--yes[\s\S]*--answers/],
    ['reset without --yes', ['reset', '--target', 'sim'], /--yes/],
    [
      'missing answers on Azure',
      ['--target', 'azure', '--yes', '--subscription', SUB],
      /missing answers: resource group name \(--resource-group, or "resourceGroup:" in the --answers file\); registry name \(--registry, or "registry:"/,
    ],
    ['no subscription on Azure', ['--target', 'azure', '--goal', 'demo', '--yes', '--registry', 'myregistry', '--resource-group', 'rg'], /missing answer: subscription id \(--subscription/],
    ['a bad value in the environment', ['--target', 'sim', '--yes'], /it came from ACR_TRUST_REGISTRY/, { ACR_TRUST_REGISTRY: 'no_underscores' }],
  ];
  for (const [what, args, message, env] of cases) {
    it(what, async () => {
      const r = await cliAsync([...args, '--workdir', join(tempDir(), 'wd')], { env });
      expect(r.status, r.stderr).toBe(2);
      expectNoStack(r);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      // With --json the same refusal is the one line on stdout, for a script reading the last line.
      // (Without --yes, --json has a refusal of its own: it asks no questions.)
      if (!args.includes('--yes')) return;
      const j = await cliAsync([...args, '--json', '--workdir', join(tempDir(), 'wd')], { env });
      expect(j.status).toBe(2);
      const lines = j.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const event = JSON.parse(lines[0]!);
      expect(event).toMatchObject({ event: 'error', exitCode: 2 });
      expect(`${event.message}\n  ${event.hint ?? ''}`).toMatch(message);
    });
  }

  it('--json: an unknown option is one error line too', async () => {
    const r = await cliAsync(['run', '--target', 'sim', '--yes', '--json', '--bogus', '--workdir', join(tempDir(), 'wd')]);
    expect(r.status).toBe(2);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ event: 'error', exitCode: 2, message: "unknown option '--bogus'" }]);
  });

  it('an unknown command is named as one, with the list of commands (not "too many arguments for \'run\'")', async () => {
    for (const args of [['frob'], ['--yes', 'frob'], ['--workdir', join(tempDir(), 'wd'), '--target', 'sim', 'frob']]) {
      const r = await cliAsync(args);
      expect(r.status, args.join(' ')).toBe(2);
      expectNoStack(r);
      expect(r.stderr).toMatch(/^acr-trust: unknown command "frob"\n/);
      expect(r.stderr).toContain('Commands: run (the default), status, verify, reset, export, steps, doctor, sim, help.');
      expect(r.stderr).not.toContain('too many arguments');
      expect(r.stdout).toBe('');
    }
    // The commands themselves, and help, still work.
    expect((await cliAsync(['help'])).status).toBe(0);
    expect((await cliAsync(['steps', '--json'])).status).toBe(0);
  });

  it('an answers file with an unknown key names it and the valid keys', async () => {
    const r = await cliAsync(['--answers', file('a.yaml', 'target: sim\nregistery: abcdef\n'), '--yes']);
    expect(r.status).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toContain('unknown key "registery"');
    expect(r.stderr).toContain('Valid keys: subscription, resourceGroup, registry');
  });

  it('an answers file with a wrong type says how to quote it', async () => {
    const r = await cliAsync(['--answers', file('a.yaml', 'target: sim\nregistry: 123456\n'), '--yes']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('"registry" in');
    expect(r.stderr).toContain('must be a string, not number');
  });

  it('an answers file with invalid YAML gives the line', async () => {
    const r = await cliAsync(['--answers', file('a.yaml', 'target: sim\nrole: [AcrPush\n'), '--yes']);
    expect(r.status).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toMatch(/is not valid YAML \(line \d+, column \d+\)/);
  });

  it('a corrupt state.json is exit 2 with what to do, and the file is left as it was', async () => {
    const wd = join(tempDir(), 'wd');
    mkdirSync(wd);
    writeFileSync(join(wd, 'state.json'), '{"version":1,"steps":{"preflight":{"sta');
    const r = await cliAsync(['--target', 'sim', '--yes', '--workdir', wd]);
    expect(r.status).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toContain('state.json is not valid JSON');
    expect(r.stderr).toContain('Move it aside');
    expect(readFileSync(join(wd, 'state.json'), 'utf8')).toBe('{"version":1,"steps":{"preflight":{"sta');
  });

  it('answers for other resources than the workdir recorded are exit 2', async () => {
    const wd = join(tempDir(), 'wd');
    expect((await cliAsync(['--target', 'sim', '--yes', '--workdir', wd, '--until', 'create-task'])).status).toBe(0);
    const r = await cliAsync(['--target', 'sim', '--yes', '--workdir', wd, '--task', 'another-task']);
    expect(r.status).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toContain('task acr-trust-task, now another-task');
    expect(r.stderr).toContain('another --workdir');
  });

  it('answers come from an answers file (JSON too), and flags override it', async () => {
    const wd = join(tempDir(), 'wd');
    const answers = file('a.json', JSON.stringify({ target: 'sim', task: 'from-file-task' }));
    const r = await cliAsync(['--answers', answers, '--yes', '--workdir', wd, '--until', 'create-task', '--role', 'AcrPull', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const start = JSON.parse(r.stdout.split('\n')[0]!);
    expect(start.answers).toMatchObject({ task: 'from-file-task', role: 'AcrPull' });
    expect(readFileSync(join(wd, 'answers.yaml'), 'utf8')).toContain('task: from-file-task');
  });
});

describe('a mistyped registry does not trap the workdir', () => {
  it('the saved target registry was only the default: a corrected --registry takes it along', async () => {
    const wd = join(tempDir(), 'wd');
    const typo = await cliAsync(['run', '--target', 'sim', '--yes', '--registry', 'nosuchreg', '--workdir', wd]);
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain('Registry nosuchreg was not found');
    expect(readFileSync(join(wd, 'answers.yaml'), 'utf8')).toContain('targetRegistry: nosuchreg');

    const fixed = await cliAsync(['run', '--target', 'sim', '--yes', '--registry', 'acrtrustdemo', '--workdir', wd]);
    expectNoStack(fixed);
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('Finished: 10 step(s) hold (checked now)');
    expect(readFileSync(join(wd, 'answers.yaml'), 'utf8')).toContain('targetRegistry: acrtrustdemo');
  });
});
