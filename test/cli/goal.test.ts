/**
 * The goal (issue 15 §1): `setup` stops after run-task and leaves the task reaching the restricted
 * registry through the bypass; `demo` is the whole workflow with the negative test. Through the
 * binary and the embedded sim: where the goal comes from, what each leaves in the cloud, what the
 * summary and report.md say, and that Azure never guesses it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, expectNoStack, jsonLines, registryNamed, simCloud, tempDir } from './helpers.js';

const SIM = ['--target', 'sim', '--yes', '--sim-speed', 'instant'];
const REGISTRY = 'acrtrustdemo';

function registry(wd: string) {
  return registryNamed(simCloud(wd), REGISTRY);
}

describe('--goal', () => {
  it('setup stops after run-task and leaves the registry closed, with the task let in through the bypass', async () => {
    const wd = join(tempDir(), 'wd');
    const r = await cliAsync(['run', ...SIM, '--goal', 'setup', '--workdir', wd]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run-task +applied .*run ca1 Succeeded/m);
    expect(r.stdout).toMatch(/^disable-trusted-services +skipped +not part of --goal setup/m);
    expect(r.stdout).toMatch(/^confirm-denied +skipped +not part of --goal setup/m);
    // No way back to print: nothing was demonstrated.
    expect(r.stdout).not.toContain('Back to the working setup');
    const reg = registry(wd);
    expect(reg.properties).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: true });
    const report = readFileSync(join(wd, 'report.md'), 'utf8');
    expect(report).toContain('| goal | setup (up to run-task, left working) |');
    expect(report).toContain('**State:** working setup — acrtrustdemo is closed to the public and the task reaches it through the trusted-services bypass.');
    expect(readFileSync(join(wd, 'answers.yaml'), 'utf8')).toMatch(/^goal: setup$/m);
    // verify checks the setup's steps, each holding itself (trusted services on, not reversed).
    const verify = await cliAsync(['verify', '--workdir', wd]);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stdout).toContain('All 8 steps hold.');
    expect(verify.stdout).not.toContain('confirm-denied');
  });

  it('demo is the default on the sim; its summary gives the commands back to the setup and to before, and the report says where the registry is', async () => {
    const wd = join(tempDir(), 'my wd');
    const r = await cliAsync(['run', ...SIM, '--workdir', wd]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^confirm-denied +applied .*run ca2 Failed/m);
    expect(r.stdout).toContain(`Back to the working setup (trusted services on again; the task reaches acrtrustdemo through the bypass): acr-trust run --goal setup --workdir '${wd}' --yes`);
    expect(r.stdout).toContain(`Everything as it was before acr-trust: acr-trust reset --workdir '${wd}' --yes`);
    expect(registry(wd).properties.networkRuleBypassOptions).toBe('None');
    const report = readFileSync(join(wd, 'report.md'), 'utf8');
    expect(report).toContain('| goal | demo (the whole workflow, with the negative test) |');
    expect(report).toMatch(/\*\*State:\*\* after the demonstration — trusted services are off on acrtrustdemo/);
    expect(report).toContain('`acr-trust run --goal setup` brings the registry back to the working setup');
    expect(readFileSync(join(wd, 'answers.yaml'), 'utf8')).toMatch(/^goal: demo$/m);

    // The printed way back: checked live, trusted services go on again; the demo's steps are not run.
    const back = await cliAsync(['run', '--goal', 'setup', '--workdir', wd, '--yes']);
    expect(back.status, back.stderr).toBe(0);
    expect(back.stdout).toMatch(/^allow-trusted-services +applied .*networkRuleBypassOptions = AzureServices/m);
    expect(back.stdout).toMatch(/^confirm-denied +skipped +not part of --goal setup/m);
    expect(registry(wd).properties).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: true });
    expect(readFileSync(join(wd, 'report.md'), 'utf8')).toContain('**State:** working setup');
  });

  it('comes from the answers file and the environment, is saved, shown by status and replayed', async () => {
    const dir = tempDir();
    const answers = join(dir, 'answers.yaml');
    writeFileSync(answers, 'target: sim\ngoal: setup\n');
    const wd = join(dir, 'wd');
    const first = await cliAsync(['run', '--yes', '--sim-speed', 'instant', '--answers', answers, '--workdir', wd, '--json']);
    expect(first.status, first.stderr).toBe(0);
    expect(jsonLines(first.stdout)[0]).toMatchObject({ event: 'start', answers: { goal: 'setup' } });
    // Skipped by the goal: the negative test (agent-pool is skipped too, as on every bypass-path run).
    const skipped = jsonLines(first.stdout).at(-1)!.steps.filter((s: { status: string }) => s.status === 'skipped');
    expect(skipped.filter((s: { evidence: string }) => s.evidence === 'not part of --goal setup').map((s: { id: string }) => s.id)).toEqual(['disable-trusted-services', 'confirm-denied']);
    expect(skipped.map((s: { id: string }) => s.id)).toEqual(['agent-pool', 'disable-trusted-services', 'confirm-denied']);

    const status = await cliAsync(['status', '--workdir', wd, '--json']);
    expect(status.status, status.stderr).toBe(0);
    expect(jsonLines(status.stdout)[0]).toMatchObject({ event: 'start', command: 'status', answers: { goal: 'setup' } });

    // The saved answers replay it unattended, in another workdir.
    const replay = await cliAsync(['run', '--yes', '--sim-speed', 'instant', '--answers', join(wd, 'answers.yaml'), '--workdir', join(dir, 'replay'), '--json']);
    expect(replay.status, replay.stderr).toBe(0);
    expect(jsonLines(replay.stdout)[0].answers.goal).toBe('setup');

    // The environment gives it where nothing else does; a flag wins over it.
    const wd2 = join(dir, 'wd2');
    const env = await cliAsync(['run', ...SIM, '--workdir', wd2, '--json'], { env: { ACR_TRUST_GOAL: 'setup' } });
    expect(env.status, env.stderr).toBe(0);
    expect(jsonLines(env.stdout)[0].answers.goal).toBe('setup');
    const flag = await cliAsync(['run', ...SIM, '--goal', 'demo', '--workdir', wd2, '--json'], { env: { ACR_TRUST_GOAL: 'setup' } });
    expect(jsonLines(flag.stdout)[0].answers.goal).toBe('demo');
    const bad = await cliAsync(['run', ...SIM, '--workdir', join(dir, 'wd3')], { env: { ACR_TRUST_GOAL: 'teardown' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"teardown" is not a valid goal; choose one of: setup, demo.');
    expectNoStack(bad);
  });

  it('on Azure unattended it is never guessed: exit 2 naming --goal, before anything is written', async () => {
    const dir = tempDir();
    const wd = join(dir, 'wd');
    const r = await cliAsync(['run', '--target', 'azure', '--yes', '--workdir', wd, '--subscription', '11111111-2222-3333-4444-555555555555', '--resource-group', 'rg', '--registry', 'myregistry1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing answer: goal (--goal setup|demo');
    expect(r.stderr).toContain('--goal setup stops after run-task');
    expectNoStack(r);
    expect(existsSync(wd)).toBe(false);
    // With --goal setup, a step after run-task is a contradiction.
    const until = await cliAsync(['run', ...SIM, '--goal', 'setup', '--until', 'confirm-denied', '--workdir', join(dir, 'wd2')]);
    expect(until.status).toBe(2);
    expect(until.stderr).toContain('--until confirm-denied is after run-task, where --goal setup ends.');
  });
});
