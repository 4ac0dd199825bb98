/**
 * The interactive walkthrough, end to end: the real binary in a real terminal (tmux). It asks
 * where to run and picks everything else from the simulated Azure's live lists, shows the steps as
 * a live list, asks before the changes that can cut other clients off, and ends with the summary,
 * the handout and the command that replays the answers unattended. Ctrl-C in the middle of a task
 * run leaves the run alone and says how to cancel it; declining a confirmation changes nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, cliAsync, expectNoStack, STEP_IDS } from '../cli/helpers.js';
import { answerSimQuestions, binaryInTmux, confirm, confirmBypass, pick, type BinaryInTerminal } from './helpers.js';

let term: BinaryInTerminal | undefined;
afterEach(async () => {
  await term?.kill();
  term = undefined;
});

/** The sim's cloud as `acr-trust sim show` reads it from the workdir. */
function simShow(wd: string): any {
  const r = cli(['sim', 'show', '--state', join(wd, 'sim-cloud.json'), '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('acr-trust in a terminal, on the simulated Azure', () => {
  it('asks, runs the steps as a live list with confirmations, and ends with the summary, report.md and the replay command', async () => {
    const t = (term = await binaryInTmux(['--workdir', 'wd', '--sim-speed', 'instant']));
    const wd = join(t.cwd, 'wd');

    // Where to run: the simulated Azure is the first choice.
    let screen = await t.waitForText('? Where should acr-trust run the workflow?');
    expect(screen).toContain('❯ The simulated Azure');
    expect(screen).toContain('No account needed');
    await t.sendKeys('Enter');

    // The goal: on the sim the whole demonstration is preselected.
    screen = await t.waitForText('? What should the run leave behind?');
    expect(screen).toContain("❯ Demonstrate: the article's whole workflow");
    await t.sendKeys('Enter');

    // Live lists from the sim, searchable, with SKU and network settings.
    await pick(t, 'Subscription (type to filter)', 'simul', /❯ Simulated subscription {2}6b1f3a52-/);
    await pick(t, 'Resource group of the registries', 'demo', /❯ acr-trust-demo {2}eastus/);
    await t.waitForText('? Registry that owns the task');
    screen = await t.waitForText('acrtrustdemo  Premium  public access Enabled · firewall allows all · trusted services allowed · task bypass off'); // the list loads after the question shows
    await t.type('acrtrust');
    await t.sendKeys('Enter');
    await pick(t, 'Network-restricted registry the task must reach', '', /❯ acrtrustdemo .*\(the task's own registry\)/);

    // A typed value is validated as it is typed, with the reason.
    await t.waitForText('? Task name');
    await t.type('ab');
    expect(await t.waitForText('✗')).toContain('ab   ✗ ARM requires 5–50 letters, digits, hyphens or underscores');
    await t.type('c-nightly');
    await t.waitForText(/\? Task name.*abc-nightly$/m);
    await t.sendKeys('Enter');
    screen = await t.waitForText("? Role for the task's identity on acrtrustdemo");
    expect(screen).toContain("pull and push — the article's choice");
    await t.sendKeys('Enter');

    // The steps, live; the task bypass is asked for (what it opens, default yes), the public-access
    // change waits for a yes, showing what is at stake.
    screen = await confirmBypass(t, 'allow-task-bypass');
    expect(screen).toContain('? allow-task-bypass is about to set networkRuleBypassAllowedForTasks to true on acrtrustdemo (now false).');
    expect(screen).toContain('What it opens: The bypass lets any ACR task whose system identity holds a role on the registry past its network rules');
    screen = await confirm(t, 'disable-public-access', 'y');
    expect(screen).toContain('acr-trust run — target embedded sim (scenario default, instant)');
    expect(screen).toMatch(/^✔ preflight {2}Check the subscription/m);
    expect(screen).toMatch(/^✔ allow-task-bypass .*\d\.\d s$/m);
    expect(screen).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] disable-public-access {2}Disable public network access/m);
    expect(screen).toMatch(/^◼ run-task/m);
    expect(screen).toContain('? disable-public-access is about to change registry acrtrustdemo: Disable public network access to the target registry.');
    expect(screen).toContain('  Now: public access Enabled · firewall allows all · trusted services allowed · task bypass on');
    expect(screen).toContain('  Who may lose access: Every client that is not on a private endpoint or a trusted service loses access');

    // The negative test's change on the registry that existed before: asked too.
    screen = await confirm(t, 'disable-trusted-services', 'y');
    expect(screen).toMatch(/^✔ run-task .*\d\.\d s$/m);
    expect(screen).toContain('  › changed — run ca1 Succeeded');
    expect(screen).toContain('  Now: public access Disabled · firewall allows all · trusted services allowed · task bypass on');
    expect(screen).toContain('  Who may lose access: Every trusted service loses access to the registry');

    expect(await t.waitForExit(30_000)).toBe(0);
    screen = await t.screen();
    expect(screen).toMatch(/^step {2,}result {2,}time {2,}evidence$/m);
    for (const id of STEP_IDS) expect(screen).toMatch(new RegExp(`^${id} +(done|applied) +\\d+\\.\\d s `, 'm'));
    expect(screen).toMatch(/^confirm-denied +applied .*run ca2 Failed/m);
    expect(screen).toContain('Finished: 10 step(s) hold (checked now), 8 changed by this run.');
    expect(screen).toContain(`Report: ${wd}/report.md`);
    const replay = `acr-trust run --yes --answers ${wd}/answers.yaml`;
    expect(screen).toContain(`Replay these answers unattended: ${replay}`);
    expect(screen).not.toMatch(/^\s+at /m);

    const report = readFileSync(join(wd, 'report.md'), 'utf8');
    expect(report).toContain('# acr-trust report: abc-nightly → acrtrustdemo');
    expect(report).toContain('```mermaid');
    const answers = readFileSync(join(wd, 'answers.yaml'), 'utf8');
    expect(answers).toMatch(/^target: sim$/m);
    expect(answers).toMatch(/^task: abc-nightly$/m);
    expect(answers).toMatch(/^resourceGroup: acr-trust-demo$/m);

    // The printed command replays the answers unattended (here into a fresh workdir and cloud).
    const again = await cliAsync(['run', '--yes', '--answers', join(wd, 'answers.yaml'), '--workdir', join(t.cwd, 'replay')]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('task abc-nightly');
    expect(again.stdout).toContain('Finished: 10 step(s) hold');
    expect(again.stdout).not.toContain('Replay these answers'); // nothing was asked
  }, 60_000);

  it('Ctrl-C during the task run: one line saying what is saved, the run id and how to cancel it, exit 130; run --yes resumes to the end', async () => {
    const t = (term = await binaryInTmux(['--target', 'sim', '--workdir', 'wd', '--sim-speed', 'realistic']));
    const wd = join(t.cwd, 'wd');
    await answerSimQuestions(t);
    await confirmBypass(t, 'allow-task-bypass');
    await confirm(t, 'disable-public-access', 'y');
    await t.waitForText(/^ {2}› run ca1: (Queued|Started|Running)$/m, 30_000);
    await t.sendKeys('C-c');
    expect(await t.waitForExit()).toBe(130);
    const screen = await t.screen();
    expect(screen).toMatch(/^✖ run-task /m);
    expect(screen).toMatch(/^↓ confirm-denied {2}not run$/m);
    expect(screen).toMatch(/^acr-trust: interrupted — progress is saved in .*\/wd; run `acr-trust --target sim --workdir wd --sim-speed realistic` again to resume\.$/m);
    expect(screen).toContain('Task run ca1 goes on in the cloud: acr-trust left it alone, and a resumed run follows it.');
    expect(screen).toContain('To cancel it: `az acr task cancel-run -r acrtrustdemo --run-id ca1`.');
    expect(screen).not.toMatch(/^\s+at /m);
    expect(screen).not.toContain('Finished:');

    const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
    expect(state.steps['disable-public-access'].status).toBe('applied');
    expect(state.steps['run-task']).toMatchObject({ status: 'running', outputs: { runId: 'ca1' } });
    expect(existsSync(join(wd, 'report.md'))).toBe(true);

    const resumed = cli(['run', '--yes', '--workdir', wd, '--sim-speed', 'instant']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expectNoStack(resumed);
    expect(resumed.stdout).toMatch(/^disable-public-access +done .*publicNetworkAccess = Disabled on acrtrustdemo$/m); // checked again, live
    expect(resumed.stdout).toMatch(/^run-task +applied +.* run ca1 Succeeded$/m); // it followed ca1, started no other run
    expect(resumed.stdout).toContain('Finished: 10 step(s) hold');
    expect(simShow(wd).runs.map((r: any) => r.name)).toEqual(['ca1', 'ca2']); // ca1 and the negative test's ca2
  }, 90_000);

  it('declining a confirmation changes nothing on the registry and stops the run, exit 1; a re-run asks again', async () => {
    const t = (term = await binaryInTmux(['--target', 'sim', '--workdir', 'wd', '--sim-speed', 'instant']));
    const wd = join(t.cwd, 'wd');
    await answerSimQuestions(t);
    await confirmBypass(t, 'allow-task-bypass');
    await confirm(t, 'disable-public-access', 'Enter'); // the default is no
    expect(await t.waitForExit()).toBe(1);
    const screen = await t.screen();
    expect(screen).toMatch(/^✖ disable-public-access /m);
    expect(screen).toMatch(/^disable-public-access +blocked /m);
    expect(screen).toMatch(/^↓ run-task {2}not run$/m);
    expect(screen).toContain('acr-trust: stopped at disable-public-access (blocked): not confirmed, so nothing was changed: set publicNetworkAccess to Disabled on acrtrustdemo (now Enabled)');
    expect(screen).toContain('To go on, run `acr-trust --target sim --workdir wd --sim-speed instant` again: finished steps are kept.');
    expect(screen).not.toMatch(/^\s+at /m);

    const registry = simShow(wd).registries.find((r: any) => r.name === 'acrtrustdemo');
    expect(registry.properties.publicNetworkAccess).toBe('Enabled');
    expect(registry.properties.networkRuleBypassOptions).toBe('AzureServices');
    expect(simShow(wd).runs).toEqual([]);
    const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
    expect(state.steps['disable-public-access']).toMatchObject({ status: 'blocked', problem: { code: 'NotConfirmed' } });
    expect(readFileSync(join(wd, 'report.md'), 'utf8')).toContain('## Steps');

    // Run again in the terminal: the saved answers are not asked again; the confirmation is.
    await t.kill();
    const again = (term = await binaryInTmux(['--workdir', join(wd), '--sim-speed', 'instant']));
    await confirm(again, 'disable-public-access', 'y');
    await confirm(again, 'disable-trusted-services', 'y');
    expect(await again.waitForExit(30_000)).toBe(0);
    expect(await again.screen()).toContain('Finished: 10 step(s) hold');
  }, 60_000);

  it('Ctrl-C at a question before the steps: one line, exit 130, nothing changed, the workdir free again', async () => {
    const t = (term = await binaryInTmux(['--workdir', 'wd', '--sim-speed', 'instant']));
    await t.waitForText('? Where should acr-trust run the workflow?');
    await t.sendKeys('Enter');
    await t.waitForText('? What should the run leave behind?');
    await t.sendKeys('Enter');
    await t.waitForText('? Subscription (type to filter)');
    await t.sendKeys('C-c');
    expect(await t.waitForExit()).toBe(130);
    const screen = await t.scrollback();
    expect(screen).toContain('acr-trust: cancelled at a question; nothing was changed by it.');
    expect(screen).not.toContain('ExitPromptError');
    expect(screen).not.toMatch(/^\s+at /m);
    const wd = join(t.cwd, 'wd');
    expect(existsSync(join(wd, 'lock'))).toBe(false);
    expect(existsSync(join(wd, 'answers.yaml'))).toBe(false);
    expect(simShow(wd).tasks).toEqual([]);
  });

  it('--pause waits before each step; n stops the run there without starting it', async () => {
    const t = (term = await binaryInTmux(['--target', 'sim', '--yes', '--pause', '--workdir', 'wd', '--sim-speed', 'instant']));
    await t.waitForText("? Next: preflight — Check the subscription, the registries, your permissions and the task before changing anything. Run it? (Y/n)");
    await t.sendKeys('Enter');
    await t.waitForText("? Next: create-task — Create the ACR task with a system-assigned identity and its default auth mode off. Run it? (Y/n)");
    await t.type('n');
    await t.sendKeys('Enter');
    expect(await t.waitForExit()).toBe(1);
    const screen = await t.screen();
    expect(screen).toMatch(/^✔ preflight /m);
    expect(screen).toContain('acr-trust: stopped at create-task (blocked): not started: the run was stopped before this step');
    expect(simShow(join(t.cwd, 'wd')).tasks).toEqual([]);
  }, 60_000);
});

describe('without a person to ask', () => {
  it('--json in a terminal without --yes fails at once, naming --yes and --answers (exit 2)', async () => {
    const t = (term = await binaryInTmux(['--target', 'sim', '--json', '--workdir', 'wd']));
    expect(await t.waitForExit()).toBe(2);
    const screen = await t.scrollback();
    expect(screen).toContain('acr-trust: --json asks no questions, and --yes was not given.');
    expect(screen).toContain('--answers FILE');
  });

  it('CI set: a terminal is not enough to ask (exit 2, never waits)', async () => {
    const t = (term = await binaryInTmux(['--target', 'sim', '--workdir', 'wd'], { env: { CI: 'true' } }));
    expect(await t.waitForExit()).toBe(2);
    expect(await t.scrollback()).toContain('acr-trust: no terminal to ask questions in, and --yes was not given.');
  });

  it('--pause without a terminal is exit 2', () => {
    const r = cli(['--target', 'sim', '--yes', '--pause', '--workdir', 'wd']);
    expect(r.status).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toContain('--pause waits for Enter before each step, so it needs a terminal');
  });
});
