/**
 * report.md: the whole workflow run by the engine against the simulated Azure, then the handout
 * written from its results and the registry as it is afterwards; and the access model the Mermaid
 * diagram is drawn from, setting by setting.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cloud, NetworkSettings } from '../../src/azure/index.js';
import type { ResolvedAnswers } from '../../src/engine/answers.js';
import type { StepResult } from '../../src/engine/events.js';
import { runSteps, type RunReport } from '../../src/engine/runner.js';
import { StateStore } from '../../src/engine/state.js';
import { accessPaths, renderReport, writeReport, type AccessFacts, type ReportInput } from '../../src/cli/report.js';
import { startSim, type RunningSim } from '../../src/sim/index.js';
import { timings, workflow, type World } from '../../steps/index.js';
import { simCloud } from '../azure/sim-cloud.js';

const answersFor = (sim: RunningSim): ResolvedAnswers => ({
  target: 'sim',
  simScenario: 'default',
  subscription: sim.subscriptionId,
  resourceGroup: 'acr-trust-demo',
  registry: 'acrtrustdemo',
  targetRegistry: 'acrtrustdemo',
  task: 'acr-trust-task',
  role: 'AcrPush',
});

describe('report.md after a full run against the simulated Azure', () => {
  let sim: RunningSim;
  let dir: string;
  let report: string;
  let run: RunReport;

  beforeAll(async () => {
    sim = await startSim({ scenario: 'default', speed: 'instant' });
    dir = mkdtempSync(join(tmpdir(), 'acr-trust-report-'));
    const cloud: Cloud = simCloud(sim);
    const answers = answersFor(sim);
    const world: World = { answers, cloud, timing: timings.instant };
    run = await runSteps(workflow, world, StateStore.load(join(dir, 'state.json')), { emit: () => undefined });
    const registryFinal = await cloud.getRegistry(answers.resourceGroup, answers.targetRegistry);
    const file = writeReport(dir, {
      answers,
      steps: workflow,
      world,
      results: run.results,
      notRun: run.notRun,
      outcome: run.outcome,
      registryFinal,
      targetLabel: 'embedded sim (scenario default, instant)',
      command: 'acr-trust run --target sim',
      ms: 4200,
      at: new Date('2025-07-01T10:00:00Z'),
    });
    expect(file).toBe(join(dir, 'report.md'));
    report = readFileSync(file, 'utf8');
  });

  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ran the whole workflow', () => {
    expect(run.outcome).toBe('complete');
  });

  it('starts with the outcome and the answers', () => {
    expect(report).toContain('# acr-trust report: acr-trust-task → acrtrustdemo');
    expect(report).toContain('Run complete in 4.2 s on 2025-07-01T10:00:00.000Z against embedded sim (scenario default, instant).');
    expect(report).toContain('Repeat or resume it with `acr-trust run --target sim`.');
    expect(report).toContain(`| subscription | ${sim.subscriptionId} |`);
    expect(report).toContain('| target registry | acrtrustdemo |');
    expect(report).toContain("| role for the task's identity | AcrPush |");
  });

  it('has every step with its result, time, evidence and az command', () => {
    const world = { answers: answersFor(sim), cloud: {} as Cloud, timing: timings.instant };
    for (const [i, step] of workflow.entries()) {
      expect(report).toContain(`### ${i + 1}. ${step.id} — ${step.title}`);
      // The agent-pool path's own step, on the bypass path: skipped, with why.
      if (step.skipReason?.(world) !== undefined) {
        expect(report).toMatch(new RegExp(`^\\| ${i + 1} \\| ${step.id} \\| skipped \\| {2}\\| not used: the task reaches the registry through the bypass .+ \\|$`, 'm'));
        continue;
      }
      expect(report).toMatch(new RegExp(`^\\| ${i + 1} \\| ${step.id} \\| (done|applied) \\| \\d+\\.\\d s \\| .+ \\|$`, 'm'));
      for (const az of step.az({ answers: answersFor(sim), cloud: {} as Cloud, timing: timings.instant })) expect(report).toContain(az);
    }
    expect(report).toContain('az acr update -n acrtrustdemo --public-network-enabled false');
    expect(report).toMatch(/- Result: \*\*applied \(changed by this run\)\*\* in \d+\.\d s/);
    expect(report).toMatch(/- Evidence: run \w+ Succeeded/);
  });

  it('draws who reaches the registry with the settings as they are after the run', () => {
    const diagram = report.match(/```mermaid\n([\s\S]*?)```/)?.[1];
    expect(diagram).toBeDefined();
    expect(diagram).toMatch(/^flowchart LR$/m);
    // the article's end state: public access off, trusted services off, task bypass on
    expect(diagram).toContain('target[("acrtrustdemo<br/>Premium<br/>public access Disabled<br/>firewall allows all<br/>trusted services not allowed<br/>task bypass on")]');
    expect(diagram).toMatch(/^ {2}task --x\|"refused — the network rule applies and networkRuleBypassOptions = None \(trusted services not allowed\)"\| target$/m);
    expect(diagram).toMatch(/^ {2}internet --x\|"refused — publicNetworkAccess = Disabled"\| target$/m);
    expect(diagram).toMatch(/^ {2}trusted --x\|"refused — networkRuleBypassOptions = None"\| target$/m);
    expect(diagram).toMatch(/^ {2}quick --x\|"refused — never trusted/m);
    expect(diagram).toMatch(/^ {2}private -\.->/m);
    expect(diagram).toMatch(/^ {2}linkStyle 0,1,2,3 stroke:#c62828/m);
    expect(diagram).toMatch(/^ {2}task\["ACR task acr-trust-task<br\/>in registry acrtrustdemo<br\/>system-assigned identity [0-9a-f-]{36}"\]$/m);
    expect(report).toContain('- **task acr-trust-task (system-assigned identity)**: refused — the network rule applies and networkRuleBypassOptions = None');
  });

  it('compares the settings before acr-trust with those after the run', () => {
    expect(report).toContain('| `publicNetworkAccess` | Enabled | Disabled |');
    expect(report).toContain('| `networkRuleBypassOptions` | AzureServices | None |');
    expect(report).toContain('| `networkRuleBypassAllowedForTasks` | false | true |');
  });

  it('ends with what to do next', () => {
    expect(report).toContain('- `acr-trust reset --yes` puts the registry\'s network settings back');
  });

  it('carries no secrets', () => {
    expect(report).not.toMatch(/[?&]sig=/i);
    expect(report).not.toMatch(/Bearer\s+[A-Za-z0-9]/);
  });
});

describe('report.md for a run that stopped', () => {
  const answers: ResolvedAnswers = {
    target: 'azure',
    subscription: '00000000-0000-0000-0000-000000000001',
    resourceGroup: 'rg',
    registry: 'contosobuild',
    targetRegistry: 'contosoprod',
    task: 'nightly',
    role: 'AcrPush',
  };
  const world: World = { answers, cloud: {} as Cloud, timing: timings.azure };
  const res = (id: string, status: StepResult['status'], evidence: string, extra: Partial<StepResult> = {}): StepResult => ({
    id,
    title: workflow.find((s) => s.id === id)!.title,
    status,
    evidence,
    outputs: {},
    ms: 2500,
    ...extra,
  });
  const input: ReportInput<World> = {
    answers,
    steps: workflow,
    world,
    results: [
      res('preflight', 'done', 'registries found', { outputs: { original: { publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false } } }),
      res('create-task', 'failed', 'run log at https://acct.blob.core.windows.net/logs/ca1.log?sv=2024&sig=SECRETSIG refused | denied\nwith Bearer abc.def', {
        problem: { reason: 'x', hint: 'Check the role, then retry.', code: 'AuthorizationFailed', link: 'https://aka.ms/acr/tasks' },
      }),
    ],
    notRun: workflow.slice(2).map((s) => s.id),
    outcome: 'stopped',
    command: 'acr-trust run --target azure --yes',
  };

  it('redacts signed URLs and tokens, and keeps table cells on one line', () => {
    const report = renderReport(input);
    expect(report).not.toContain('SECRETSIG');
    expect(report).not.toContain('abc.def');
    expect(report).toContain('https://acct.blob.core.windows.net/logs/ca1.log?<redacted>');
    expect(report).toMatch(/^\| 2 \| create-task \| failed \| 2\.5 s \| run log at .*refused \\\| denied with Bearer <redacted> \|$/m);
  });

  it('shows the problem, the fix and the steps not run', () => {
    const report = renderReport(input);
    expect(report).toContain('- Result: **failed** in 2.5 s');
    expect(report).toContain('(`AuthorizationFailed`)');
    expect(report).toContain('- To fix: Check the role, then retry.');
    expect(report).toContain('- See: https://aka.ms/acr/tasks');
    expect(report).toMatch(/^\| 3 \| assign-role \| not run \| {2}\| {2}\|$/m);
    expect(report).toContain('- Result: not run — the run ended before this step.');
    expect(report).toContain('- Fix what stopped create-task (Check the role, then retry.), then run `acr-trust run --target azure --yes` again');
  });

  it('says so when the registry could not be read, instead of drawing a guess', () => {
    const report = renderReport(input);
    expect(report).not.toContain('```mermaid');
    expect(report).toContain("The registry's settings could not be read after the run");
  });
});

describe('who reaches the target registry', () => {
  const open: NetworkSettings = { publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false };
  const facts = (s: Partial<NetworkSettings>, over: Partial<AccessFacts> = {}): AccessFacts => ({
    task: 't1',
    registry: 'r1',
    target: { name: 'r1', sku: 'Premium', ...open, ...s },
    role: 'AcrPush',
    roleHolds: true,
    credentialHolds: true,
    ...over,
  });
  const verdicts = (f: AccessFacts) => accessPaths(f).map((p) => `${p.allowed ? 'in' : 'out'}: ${p.why}`);

  it('an open registry lets everyone in; no bypass is involved', () => {
    expect(verdicts(facts({}))).toEqual([
      'in: AcrPush the network is open (publicNetworkAccess = Enabled, no deny rule), so no bypass is involved',
      'in: publicNetworkAccess = Enabled and no deny rule',
      'in: the network is open',
      'in: the network is open',
    ]);
  });

  it('behind the rules, the task needs trusted services and the task bypass', () => {
    const closed = { publicNetworkAccess: 'Disabled' } as const;
    expect(verdicts(facts({ ...closed, networkRuleBypassAllowedForTasks: true }))[0]).toBe(
      'in: AcrPush through the trusted-services bypass (networkRuleBypassOptions = AzureServices) and the task bypass (networkRuleBypassAllowedForTasks = true)',
    );
    expect(verdicts(facts(closed))[0]).toBe('out: the network rule applies and networkRuleBypassAllowedForTasks = false (tasks need it since June 2025)');
    expect(verdicts(facts({ ...closed, networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: true }))[0]).toMatch(/^out: .*networkRuleBypassOptions = None/);
    expect(verdicts(facts(closed))[3]).toBe('out: never trusted: only a task with its system-assigned identity may bypass the rules');
  });

  it('a bypass without the role or the credential still refuses the task', () => {
    const f = facts({ publicNetworkAccess: 'Disabled', networkRuleBypassAllowedForTasks: true }, { roleHolds: false, credentialHolds: false });
    expect(verdicts(f)[0]).toBe('out: the network lets it in, but no AcrPush role assignment and no [system] credential for the login server');
  });

  it('firewall rules let in only the listed addresses', () => {
    const f = facts({ networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '203.0.113.0/24' }] } });
    expect(verdicts(f)[1]).toBe('in: only from 203.0.113.0/24 (firewall defaultAction Deny)');
    expect(verdicts(f)[0]).toMatch(/^out: the network rule applies and networkRuleBypassAllowedForTasks = false/);
  });
});
