/**
 * One scenario under every renderer the binary chooses from: the live list (a terminal with
 * colours), plain lines (no terminal, NO_COLOR or --no-color) and JSON lines (--json). The same
 * steps, the same results, the same summary — and a stopped run the same way.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, expectNoStack, jsonLines, STEP_IDS, tempDir, WORKFLOW_IDS } from '../cli/helpers.js';
import { binaryInTmux, type BinaryInTerminal } from './helpers.js';

/** The whole workflow, unattended, on a fresh instant sim. */
const scenario = (wd: string) => ['run', '--target', 'sim', '--sim-speed', 'instant', '--yes', '--workdir', wd];
/** A run that stops: the target registry is Basic, preflight refuses. */
const stopped = (wd: string) => [...scenario(wd), '--sim-scenario', 'basic-sku'];

let term: BinaryInTerminal | undefined;
afterEach(async () => {
  await term?.kill();
  term = undefined;
});

const SPINNER_OR_MARK = /^[✔✖↓◼⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /m;

describe('the live list (a terminal with colours)', () => {
  it('shows every step done with its time and evidence, then the summary table and the report', async () => {
    const t = (term = await binaryInTmux(scenario('wd')));
    expect(await t.waitForExit(30_000)).toBe(0);
    const screen = await t.screen();
    for (const id of STEP_IDS) expect(screen).toMatch(new RegExp(`^✔ ${id} {2}.* \\d+\\.\\d s$`, 'm'));
    expect(screen).toContain('  › changed — publicNetworkAccess = Disabled on acrtrustdemo');
    expect(screen).toContain('  › changed — run ca1 Succeeded');
    expect(screen).toMatch(/^ {2}› changed — run ca2 Failed: failed to unmarshal task before running: failed to resolve secrets: failed to get ACR refresh token/m);
    expect(screen).not.toContain('│ '); // a run's log tail goes with its step
    expect(screen).toMatch(/^step {2,}result {2,}time {2,}evidence$/m);
    for (const id of STEP_IDS) expect(screen).toMatch(new RegExp(`^${id} +(done|applied) +\\d+\\.\\d s `, 'm'));
    expect(screen).toContain('Finished: 10 step(s) hold (checked now), 8 changed by this run.');
    expect(screen).toMatch(/^Report: .*\/wd\/report\.md$/m);
    expect(screen).not.toContain('Replay these answers'); // nothing was asked
    expect(screen).not.toContain('[1/11]'); // not the plain lines
  });

  it('a stopped run: the step marked failed with its reason and hint, the rest not run, the explanation on stderr', async () => {
    const t = (term = await binaryInTmux(stopped('wd')));
    expect(await t.waitForExit(30_000)).toBe(1);
    const screen = await t.screen();
    expect(screen).toMatch(/^✖ preflight {2}/m);
    expect(screen).toMatch(/^ {2}› blocked — Registry acrtrustdemo is Basic: network rules and disabling public access need the Premium SKU\. \[SkuNotPremium\]$/m);
    expect(screen).toMatch(/^ {4}→ Upgrade it: `az acr update -n acrtrustdemo --sku Premium`\.$/m);
    expect(screen).toMatch(/^↓ create-task {2}not run$/m);
    expect(screen).toMatch(/^preflight +blocked /m);
    expect(screen).toMatch(/^acr-trust: stopped at preflight \(blocked\): Registry acrtrustdemo is Basic/m);
    expect(screen).toContain('  see https://learn.microsoft.com/azure/container-registry/container-registry-skus');
  });

  it('--explain shows why, the az lines and the portal path under the running step', async () => {
    const t = (term = await binaryInTmux([...scenario('wd'), '--pause', '--explain']));
    const screen = await t.waitForText('? Next: preflight');
    expect(screen).toMatch(/^ {2}› Why: {7}The workflow changes a registry's network rules/m);
    expect(screen).toContain('$ az account show --subscription 6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c');
    expect(screen).toMatch(/Portal: {4}Container registry → Settings → Networking/);
  });

  it('NO_COLOR or --no-color in a terminal: plain lines instead', async () => {
    const t = (term = await binaryInTmux(scenario('wd'), { env: { NO_COLOR: '1' } }));
    expect(await t.waitForExit(30_000)).toBe(0);
    expect(await t.scrollback()).toContain('[11/11] confirm-denied: ');
    await t.kill();
    const u = (term = await binaryInTmux([...scenario('wd'), '--no-color']));
    expect(await u.waitForExit(30_000)).toBe(0);
    const text = await u.scrollback();
    expect(text).toContain('[1/11] preflight: ');
    expect(text).not.toMatch(SPINNER_OR_MARK);
  });
});

describe('plain lines (no terminal)', () => {
  it('prints a line per step start and result, the run log, the summary table and the report', () => {
    const wd = join(tempDir(), 'wd');
    const r = cli(scenario(wd));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^acr-trust run — target embedded sim \(scenario default, instant\)$/m);
    for (const id of STEP_IDS) expect(r.stdout).toMatch(new RegExp(`^\\[${WORKFLOW_IDS.indexOf(id) + 1}/11\\] ${id}: `, 'm'));
    expect(r.stdout).toMatch(/^ {6}- agent-pool: not used: the task reaches the registry through the bypass/m);
    expect(r.stdout).toMatch(/^ {6}✓ applied publicNetworkAccess = Disabled on acrtrustdemo \(\d+\.\d s\)$/m);
    expect(r.stdout).toMatch(/^ {6}… run ca1: Succeeded$/m);
    expect(r.stdout).toMatch(/^ {6}\| Run ID: ca1 was successful after 0s$/m);
    expect(r.stdout).toMatch(/^step {2,}result {2,}time {2,}evidence$/m);
    for (const id of STEP_IDS) expect(r.stdout).toMatch(new RegExp(`^${id} +(done|applied) +\\d+\\.\\d s `, 'm'));
    expect(r.stdout).toContain('Finished: 10 step(s) hold (checked now), 8 changed by this run.');
    expect(r.stdout).toContain(`Report: ${wd}/report.md`);
    expect(r.stdout).not.toContain('\x1b[');
    expect(r.stdout).not.toMatch(SPINNER_OR_MARK);
  });

  it('a stopped run: the blocked line with its code, hint and link, the summary, the explanation on stderr', () => {
    const wd = join(tempDir(), 'wd');
    const r = cli(stopped(wd));
    expect(r.status).toBe(1);
    expectNoStack(r);
    expect(r.stdout).toMatch(/^ {6}✗ blocked Registry acrtrustdemo is Basic: .* \[SkuNotPremium\] \(\d+\.\d s\)$/m);
    expect(r.stdout).toContain('        → Upgrade it: `az acr update -n acrtrustdemo --sku Premium`.');
    expect(r.stdout).toContain('        see https://learn.microsoft.com/azure/container-registry/container-registry-skus');
    expect(r.stdout).toMatch(/^create-task +not run$/m);
    expect(r.stdout).toContain('Stopped at preflight (blocked).');
    expect(r.stderr).toMatch(/^acr-trust: stopped at preflight \(blocked\): Registry acrtrustdemo is Basic/);
  });

  it('--explain: why, az lines and portal before each step; the evidence after it', () => {
    const r = cli([...scenario(join(tempDir(), 'wd')), '--explain']);
    expect(r.status, r.stderr).toBe(0);
    const step7 = r.stdout.slice(r.stdout.indexOf('[8/11] disable-public-access'), r.stdout.indexOf('[9/11] run-task'));
    expect(step7).toMatch(/^ {2}Why: {7}The article closes the registry to the public network/m);
    expect(step7).toContain('  Azure CLI:\n    $ az acr update -n acrtrustdemo --public-network-enabled false');
    expect(step7).toMatch(/^ {2}Portal: {4}Target registry → Settings → Networking → Public access: "Disabled" → Save$/m);
    expect(step7).toMatch(/^ {2}Caution: {3}Every client that is not on a private endpoint/m);
    expect(step7).toMatch(/^ {2}Evidence: {2}publicNetworkAccess = Disabled on acrtrustdemo — changed by this run \(\d+\.\d s\)$/m);
  });
});

describe('JSON lines (--json)', () => {
  it('every line parses; start, each step start and result, ending with the summary', () => {
    const r = cli([...scenario(join(tempDir(), 'wd')), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const events = jsonLines(r.stdout);
    expect(events[0]).toMatchObject({ event: 'start', command: 'run', target: 'embedded sim (scenario default, instant)' });
    expect(events.filter((e) => e.event === 'step-start').map((e) => e.id)).toEqual(STEP_IDS);
    const steps = events.filter((e) => e.event === 'step');
    expect(steps.map((e) => [e.id, e.status])).toEqual(WORKFLOW_IDS.map((id) => [id, id === 'agent-pool' ? 'skipped' : id === 'preflight' || id === 'allow-trusted-services' ? 'done' : 'applied']));
    expect(steps.find((e) => e.id === 'disable-public-access').evidence).toBe('publicNetworkAccess = Disabled on acrtrustdemo');
    expect(events.at(-1)).toMatchObject({ event: 'summary', outcome: 'complete', exitCode: 0, notRun: [] });
    expect(events.at(-1).steps).toHaveLength(11);
  });

  it('a stopped run: the blocked step with its problem (code, hint, link), ending with the summary', () => {
    const r = cli([...stopped(join(tempDir(), 'wd')), '--json']);
    expect(r.status).toBe(1);
    const events = jsonLines(r.stdout);
    expect(events.find((e) => e.event === 'step' && e.id === 'preflight')).toMatchObject({
      status: 'blocked',
      problem: { code: 'SkuNotPremium', hint: expect.stringContaining('--sku Premium'), link: 'https://learn.microsoft.com/azure/container-registry/container-registry-skus' },
    });
    expect(events.at(-1)).toMatchObject({ event: 'summary', outcome: 'stopped', exitCode: 1, notRun: STEP_IDS.slice(1) });
  });

  it('--explain changes nothing in JSON', () => {
    const r = cli([...scenario(join(tempDir(), 'wd')), '--json', '--explain']);
    expect(r.status, r.stderr).toBe(0);
    expect(jsonLines(r.stdout).map((e) => e.event)).not.toContain('explain');
  });
});
