/**
 * `<workdir>/report.md`, written after every run: a handout that says what was asked, what each
 * step did (its az command, result, time and evidence) and — in a Mermaid diagram drawn from the
 * target registry's settings as they are after the run — who reaches that registry, and through
 * which setting.
 *
 * No secrets: free text goes through the adapter's `redact` (signed URLs, bearer tokens) and only
 * named, non-secret outputs are shown (the task identity's principal id).
 */
import { join } from 'node:path';
import { redact } from '../azure/errors.js';
import type { NetworkSettings, Registry } from '../azure/types.js';
import type { ResolvedAnswers } from '../engine/answers.js';
import type { RunOutcome, StepResult, StepStatus } from '../engine/events.js';
import type { Step } from '../engine/step.js';
import { writeFileAtomic } from '../files.js';
import { describeNetwork } from './explain.js';
import { withArgs } from './outcome.js';
import { seconds } from './render/plain.js';

export const REPORT_FILE = 'report.md';

export interface ReportInput<W> {
  answers: ResolvedAnswers;
  /** The workflow in order, and the world its az lines are written for. */
  steps: readonly Step<W>[];
  world: W;
  /** The engine's report: what each step did, and what it did not reach. */
  results: readonly StepResult[];
  notRun: readonly string[];
  outcome: RunOutcome;
  /** The target registry as read after the run; undefined when it could not be read. */
  registryFinal?: Pick<Registry, 'name' | 'sku'> & NetworkSettings;
  /** Where the run went ("embedded sim (scenario default, instant)", "Azure"). */
  targetLabel?: string;
  /** The command that repeats (or resumes) the run. */
  command?: string;
  /** Total run time (ms). */
  ms?: number;
  at?: Date;
}

/** Writes `<workdir>/report.md` and returns its path. */
export function writeReport<W>(workdir: string, input: ReportInput<W>): string {
  const file = join(workdir, REPORT_FILE);
  writeFileAtomic(file, renderReport(input));
  return file;
}

const HOLDS: readonly StepStatus[] = ['done', 'applied'];

const OUTCOME: Record<RunOutcome, string> = {
  complete: 'complete',
  stopped: 'stopped',
  interrupted: 'interrupted (Ctrl-C)',
};

const RESULT: Record<StepStatus, string> = {
  done: 'done (it already held)',
  applied: 'applied (changed by this run)',
  'would-change': 'would change (dry run)',
  blocked: 'blocked',
  failed: 'failed',
  skipped: 'skipped',
  undone: 'undone',
  unchanged: 'nothing to undo (checked now)',
};

export function renderReport<W>(input: ReportInput<W>): string {
  const a = input.answers;
  const byId = new Map(input.results.map((r) => [r.id, r]));
  const out: string[] = [];
  const line = (s = '') => out.push(s);

  line(`# acr-trust report: ${a.task} → ${a.targetRegistry}`);
  line();
  line(
    [
      `Run ${OUTCOME[input.outcome]}`,
      input.ms !== undefined ? `in ${seconds(input.ms)}` : undefined,
      `on ${(input.at ?? new Date()).toISOString()}`,
      input.targetLabel ? `against ${input.targetLabel}` : undefined,
    ]
      .filter(Boolean)
      .join(' ') + '.',
  );
  if (input.command) line(`Repeat or resume it with \`${input.command}\`.`);
  line();

  line('## Answers');
  line();
  line('| answer | value |');
  line('|---|---|');
  const answerRows: [string, string | undefined][] = [
    ['target', a.target === 'sim' ? `simulated Azure${a.simScenario ? ` (scenario ${a.simScenario})` : ''}` : 'Azure'],
    ['goal', a.goal === 'setup' ? 'setup (up to run-task, left working)' : a.goal === 'demo' ? 'demo (the whole workflow, with the negative test)' : undefined],
    ['subscription', a.subscription],
    ['resource group', a.resourceGroup],
    ["task's registry", a.registry],
    ['target registry', a.targetRegistry],
    ['task', a.task],
    ['way in', a.agentPool ? `dedicated agent pool ${a.agentPool} (${a.agentPoolTier ?? 'S1'}${a.agentPoolSubnet ? `, subnet ${a.agentPoolSubnet}` : ''}) — no bypass switch; the negative test does not apply` : 'the bypass (the article)'],
    ["role for the task's identity", a.role],
    ['task file', a.taskFile],
  ];
  for (const [k, v] of answerRows) if (v) line(`| ${k} | ${cell(v)} |`);
  line();

  line(`## Who reaches ${a.targetRegistry} now`);
  line();
  if (input.registryFinal) {
    const facts = accessFacts(input);
    const paths = accessPaths(facts);
    line(`**State:** ${registryState(input.registryFinal, a.targetRegistry)}`);
    line();
    line('```mermaid');
    for (const l of accessDiagram(facts, paths)) line(l);
    line('```');
    line();
    for (const p of paths) line(`- **${p.who}**: ${p.allowed ? 'allowed' : 'refused'} — ${p.why}.`);
    line();
    const before = byId.get('preflight')?.outputs.original as NetworkSettings | undefined;
    line('| setting | before acr-trust | after this run |');
    line('|---|---|---|');
    for (const [name, pick] of SETTINGS) line(`| \`${name}\` | ${before ? cell(pick(before)) : 'not recorded'} | ${cell(pick(input.registryFinal))} |`);
    line();
  } else {
    line(`The registry's settings could not be read after the run, so there is no diagram; \`az acr show -n ${a.targetRegistry}\` shows them.`);
    line();
  }

  line('## Steps');
  line();
  line('| # | step | result | time | evidence |');
  line('|---|---|---|---|---|');
  input.steps.forEach((step, i) => {
    const r = byId.get(step.id);
    line(`| ${i + 1} | ${step.id} | ${r ? r.status : 'not run'} | ${r && r.status !== 'skipped' ? seconds(r.ms) : ''} | ${r ? cell(redact(r.evidence)) : ''} |`);
  });
  line();

  input.steps.forEach((step, i) => {
    const r = byId.get(step.id);
    line(`### ${i + 1}. ${step.id} — ${step.title}`);
    line();
    if (!r) line(input.notRun.includes(step.id) ? '- Result: not run — the run ended before this step.' : '- Result: not run.');
    else {
      line(`- Result: **${RESULT[r.status]}**${r.status === 'skipped' ? '' : ` in ${seconds(r.ms)}`}`);
      const label = r.status === 'blocked' || r.status === 'failed' ? 'Problem' : r.status === 'skipped' ? 'Reason' : r.status === 'would-change' ? 'Would change' : 'Evidence';
      line(`- ${label}: ${text(r.evidence)}${r.problem?.code ? ` (\`${r.problem.code}\`)` : ''}`);
      if (r.problem?.hint) line(`- To fix: ${text(r.problem.hint)}`);
      if (r.problem?.link) line(`- See: ${r.problem.link}`);
    }
    if (step.portal) line(`- Portal: ${text(step.portal)}`);
    line();
    line('```bash');
    for (const az of step.az(input.world)) line(redact(az));
    line('```');
    line();
  });

  line('## Next');
  line();
  for (const l of nextSteps(input)) line(`- ${l}`);
  line();
  return out.join('\n');
}

const SETTINGS: [string, (s: NetworkSettings) => string][] = [
  ['publicNetworkAccess', (s) => s.publicNetworkAccess],
  ['networkRuleSet', (s) => (s.networkRuleSet ? `${s.networkRuleSet.defaultAction}${s.networkRuleSet.ipRules.length ? `, allow ${s.networkRuleSet.ipRules.map((r) => r.value).join(', ')}` : ''}` : 'none')],
  ['networkRuleBypassOptions', (s) => s.networkRuleBypassOptions],
  ['networkRuleBypassAllowedForTasks', (s) => String(s.networkRuleBypassAllowedForTasks)],
];

/** What the diagram is drawn from. */
export interface AccessFacts {
  task: string;
  /** The registry that owns the task. */
  registry: string;
  target: Pick<Registry, 'name' | 'sku'> & NetworkSettings;
  role: string;
  /** The task identity holds the role on the target (the assign-role step holds). */
  roleHolds: boolean;
  /** The task logs in to the target with its identity (the add-credential step holds). */
  credentialHolds: boolean;
  principalId?: string;
}

export interface AccessPath {
  who: string;
  allowed: boolean;
  /** The setting that decides it, in a user's words. */
  why: string;
}

function accessFacts<W>(input: ReportInput<W>): AccessFacts {
  const holds = (id: string) => HOLDS.includes(input.results.find((r) => r.id === id)?.status as StepStatus);
  const principalId = input.results.find((r) => r.id === 'create-task')?.outputs.principalId;
  return {
    task: input.answers.task,
    registry: input.answers.registry,
    target: input.registryFinal!,
    role: input.answers.role,
    roleHolds: holds('assign-role'),
    credentialHolds: holds('add-credential'),
    principalId: typeof principalId === 'string' ? principalId : undefined,
  };
}

/**
 * Who reaches the target registry with these settings, and why. The task's path follows the
 * simulator's model: behind network rules a task needs both trusted services
 * (`networkRuleBypassOptions = AzureServices`) and the task bypass
 * (`networkRuleBypassAllowedForTasks = true`), and then still its role and credential.
 */
export function accessPaths(f: AccessFacts): AccessPath[] {
  const s = f.target;
  const restricted = s.publicNetworkAccess === 'Disabled' || s.networkRuleSet?.defaultAction === 'Deny';
  const trusted = s.networkRuleBypassOptions === 'AzureServices';

  const network = !restricted
    ? { ok: true, why: 'the network is open (publicNetworkAccess = Enabled, no deny rule), so no bypass is involved' }
    : !trusted
      ? { ok: false, why: 'the network rule applies and networkRuleBypassOptions = None (trusted services not allowed)' }
      : !s.networkRuleBypassAllowedForTasks
        ? { ok: false, why: 'the network rule applies and networkRuleBypassAllowedForTasks = false (tasks need it since June 2025)' }
        : { ok: true, why: 'through the trusted-services bypass (networkRuleBypassOptions = AzureServices) and the task bypass (networkRuleBypassAllowedForTasks = true)' };
  const missing = [!f.roleHolds && `no ${f.role} role assignment`, !f.credentialHolds && 'no [system] credential for the login server'].filter(Boolean);
  const task: AccessPath = {
    who: `task ${f.task} (system-assigned identity)`,
    allowed: network.ok && missing.length === 0,
    why: network.ok && missing.length ? `the network lets it in, but ${missing.join(' and ')}` : `${network.ok ? `${f.role} ` : ''}${network.why}`,
  };

  const rules = s.networkRuleSet;
  const pub: AccessPath =
    s.publicNetworkAccess === 'Disabled'
      ? { who: 'clients on the public internet', allowed: false, why: 'publicNetworkAccess = Disabled' }
      : rules?.defaultAction === 'Deny'
        ? {
            who: 'clients on the public internet',
            allowed: rules.ipRules.length > 0,
            why: rules.ipRules.length ? `only from ${rules.ipRules.map((r) => r.value).join(', ')} (firewall defaultAction Deny)` : 'firewall defaultAction Deny with no IP rules',
          }
        : { who: 'clients on the public internet', allowed: true, why: 'publicNetworkAccess = Enabled and no deny rule' };

  const others: AccessPath = {
    who: 'other trusted services (Defender for Cloud, image import, Machine Learning)',
    allowed: !restricted || trusted,
    why: !restricted ? 'the network is open' : trusted ? 'trusted-services bypass: networkRuleBypassOptions = AzureServices' : 'networkRuleBypassOptions = None',
  };

  const quick: AccessPath = {
    who: 'quick runs (az acr build, az acr run)',
    allowed: !restricted,
    why: !restricted ? 'the network is open' : 'never trusted: only a task with its system-assigned identity may bypass the rules',
  };

  return [task, pub, others, quick];
}

/** The Mermaid flowchart of `paths`: solid arrows get in, crossed ones are refused. */
export function accessDiagram(f: AccessFacts, paths: AccessPath[]): string[] {
  const nodes = [
    `  task["ACR task ${f.task}<br/>in registry ${f.registry}<br/>system-assigned identity${f.principalId ? ` ${f.principalId}` : ''}"]`,
    '  internet["Public internet<br/>developers, CI, clusters outside the network"]',
    '  trusted["Other trusted Azure services<br/>Defender for Cloud, import, Machine Learning"]',
    '  quick["Quick runs<br/>az acr build, az acr run"]',
    '  private["Clients on a private endpoint"]',
    `  target[("${f.target.name}<br/>${f.target.sku}<br/>${mermaid(describeNetwork(f.target)).replace(/ · /g, '<br/>')}")]`,
  ];
  const ids = ['task', 'internet', 'trusted', 'quick'];
  const edges = paths.map((p, i) => `  ${ids[i]} ${p.allowed ? '-->' : '--x'}|"${mermaid(p.allowed ? p.why : `refused — ${p.why}`)}"| target`);
  edges.push('  private -.->|"private endpoints, if any: not governed by these settings"| target');
  const refused = paths.flatMap((p, i) => (p.allowed ? [] : [i]));
  return [
    'flowchart LR',
    ...nodes,
    ...edges,
    ...(refused.length ? [`  linkStyle ${refused.join(',')} stroke:#c62828,color:#c62828`] : []),
  ];
}

/**
 * Which state the target registry is in, from its settings as read after the run: the working
 * setup (closed to the public, trusted services and the task bypass on), the demonstration's end
 * (trusted services off: the task is refused), or neither (open, or part-way).
 */
export function registryState(r: NetworkSettings, name: string): string {
  const closed = r.publicNetworkAccess === 'Disabled' || r.networkRuleSet?.defaultAction === 'Deny';
  if (closed && r.networkRuleBypassOptions === 'AzureServices' && r.networkRuleBypassAllowedForTasks) {
    return `working setup — ${name} is closed to the public and the task reaches it through the trusted-services bypass.`;
  }
  if (closed && r.networkRuleBypassOptions === 'None') {
    return `after the demonstration — trusted services are off on ${name}, so the task (and every trusted Azure service) is refused. \`acr-trust run --goal setup\` turns them on again.`;
  }
  if (!closed) return `open — ${name} accepts public network access, so the bypass is not what lets the task in.`;
  return `part-way — ${name} is closed to the public, but the task bypass is off: the task is refused.`;
}

function nextSteps<W>(input: ReportInput<W>): string[] {
  const stop = input.results.find((r) => r.status === 'blocked' || r.status === 'failed');
  const resume = input.command ? `\`${input.command}\`` : 'the same command';
  if (input.outcome === 'interrupted') return [`The run was interrupted; what finished is saved. Run ${resume} again to resume.`];
  if (stop) {
    const again = input.command ? `\`${withArgs(input.command, stop.problem?.addArgs)}\`` : resume;
    return [`Fix what stopped ${stop.id}${stop.problem?.hint ? ` (${text(stop.problem.hint)})` : ''}, then run ${again} again: finished steps are kept.`];
  }
  const demoDone = input.answers.goal === 'demo' && input.results.some((r) => r.id === 'confirm-denied' && HOLDS.includes(r.status));
  return [
    ...(demoDone ? ['`acr-trust run --goal setup` brings the registry back to the working setup: trusted services on again, the task reaching it through the bypass.'] : []),
    '`acr-trust verify` checks every step again, live.',
    "`acr-trust reset --yes` puts the registry's network settings back as they were before acr-trust, and deletes the role assignment and the task it created.",
  ];
}

/** Text for a Markdown table cell: no pipes or line breaks. */
function cell(s: string): string {
  return text(s).replace(/\|/g, '\\|');
}

/** Free text: secrets redacted, one line. */
function text(s: string): string {
  return redact(s).replace(/\s*\n\s*/g, ' ');
}

/** Text inside a quoted Mermaid label. */
function mermaid(s: string): string {
  return s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}
