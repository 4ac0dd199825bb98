/**
 * The diagnosis: for each registry access a task makes, what the registry will do — decided by
 * the model the simulated Azure runs its tasks with (`src/model/access.ts`), over the resources
 * the doctor read (`read.ts`, ARM's own JSON) — and, for each refusal, the cause in the registry
 * owner's words, the evidence and the fix.
 *
 * Accesses, in the runner's order (Azure/acr-builder): the token exchange of every identity
 * credential (before any step), then the task's steps — read the way the sim's runner reads them
 * (`src/model/task-yaml.ts`): every push, and every pull of an image the run did not build (a `cmd`
 * step's image, a build's base image when the task names it).
 *
 * The model says *what* the registry refuses (network, credential, role …); the doctor says *why*
 * in the owner's terms by looking at the same facts once more: which switch is off, whether a
 * credential was meant for this registry under another login server, where the identity's roles
 * are instead. Pure: no I/O, no clock (the moment comes with the reading).
 */
import type { ArmJson } from '../azure/types.js';
import {
  REGISTRY_DATA_ROLES,
  customEntries,
  decideAccess,
  decidePrepare,
  describeCredential,
  inScope,
  isAbac,
  logins,
  registryFactsFromWire,
  roleAssignmentFactFromWire,
  type AccessKind,
  type AccessVerdict,
  type BypassModel,
  type RegistryFacts,
  type RoleAssignmentFact,
  type RunFacts,
} from '../model/access.js';
import { roleGuid } from '../model/roles.js';
import { collectValues, programForStep } from '../model/task-yaml.js';
import type { DoctorReading, LastRun } from './read.js';

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

/** What the doctor can name as the reason an access is refused (stable ids: `--json`, tests). */
export type DoctorCause =
  | 'task-disabled'
  | 'tasks-not-allowed'
  | 'agent-pool-missing'
  | 'agent-pool-not-ready'
  | 'quick-run'
  | 'no-identity'
  | 'user-assigned-only'
  | 'no-system-credential'
  | 'wrong-login-server'
  | 'unknown-host'
  | 'role-missing'
  | 'role-wrong-scope'
  | 'role-too-weak'
  | 'role-too-recent'
  | 'abac-legacy-role'
  | 'abac-no-source-identity'
  | 'trusted-services-off'
  | 'task-bypass-off'
  | 'network-closed'
  | 'not-premium'
  | 'public-registry-push';

export interface Access {
  kind: 'login' | AccessKind;
  loginServer: string;
  repository?: string;
  /** The image as the task names it (pulls and pushes). */
  image?: string;
  /** The task step that makes it. */
  step?: string;
  /** `push acrtrustdemo.azurecr.io/app`, `pull base.azurecr.io/node:20`, `login acrtrustdemo.azurecr.io`. */
  label: string;
}

export interface Finding {
  cause: DoctorCause;
  /** What is wrong, in the registry owner's words. */
  words: string;
  /** The settings, roles and log lines that show it. */
  evidence: string[];
  /** The workflow step that repairs it, when there is one. */
  step?: string;
  /** Extra answers that step needs (`role`). */
  stepAnswers?: { targetRegistry?: string; role?: string };
  /** az lines that repair it when no workflow step does (or beside it). */
  az?: string[];
  /** A fix that is not a command (wait, ask support). */
  advice?: string;
}

export type Verdict = 'allowed' | 'refused';

export interface AccessResult {
  access: Access;
  verdict: Verdict;
  /** The registry resource name (when the login server is one the subscription has). */
  registry?: string;
  /** How the access got through (allowed) — `trusted-bypass`, `private-endpoint`, `public` … */
  path?: string;
  credential: string;
  /** Empty when allowed (a note may remain: `not-premium`). */
  findings: Finding[];
  /** The model's verdict, for the run-log comparison: the line the runner prints where it fails. */
  logLine?: string;
  evidence: string[];
}

export interface RunComparison {
  runId: string;
  status: string;
  /** The log line that shows why it failed (redacted), when it failed. */
  line?: string;
  /** Whether the run's outcome is what the prediction says now. */
  agrees: boolean;
  /** Said when it disagrees. */
  note?: string;
}

export interface Diagnosis {
  task: { name: string; registry: string; loginServer: string; identity: string; status: string; agentPool?: string; stepType?: string };
  /** Refusals of the task as a whole (disabled, pool, subscription), before any access. */
  taskFindings: Finding[];
  accesses: AccessResult[];
  lastRun?: RunComparison;
  healthy: boolean;
}

export interface DiagnoseOptions {
  /** How long a new role assignment takes to reach a registry's data plane (ms). */
  roleDelayMs: number;
  bypassModel?: BypassModel;
  /** The registry the user asked about: a non-Premium SKU there is a problem, not a note. */
  targetRegistry?: string;
  /** A run log line classifier: the rule family a failure line belongs to (errors.ts). */
  classify: (log: string) => { family: string; line: string } | undefined;
}

// ---------------------------------------------------------------------------------------------
// ARM JSON → the model's facts
// ---------------------------------------------------------------------------------------------

export function runFactsOf(reading: DoctorReading, kind: RunFacts['kind'] = 'task-run'): RunFacts {
  const t = reading.task;
  const p = t.properties ?? {};
  const pool = typeof p.agentPoolName === 'string' && p.agentPoolName ? p.agentPoolName : undefined;
  return {
    kind,
    homeLoginServer: registryFactsFromWire(reading.home).loginServer,
    identity: t.identity ?? null,
    credentials: p.credentials ?? null,
    status: p.status,
    ...(pool
      ? {
          agentPool: {
            name: pool,
            exists: reading.agentPool !== undefined,
            subnetId: reading.agentPool?.properties?.virtualNetworkSubnetResourceId,
            provisioningState: reading.agentPool?.properties?.provisioningState,
          },
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The accesses a task makes
// ---------------------------------------------------------------------------------------------

/** The registry accesses the task's step makes, in order (pushes; pulls of images not built earlier). */
export function taskAccesses(reading: DoctorReading): { accesses: Access[]; error?: string } {
  const home = registryFactsFromWire(reading.home);
  if (reading.quickRun) {
    const repository = reading.quickRun.outputRepository ?? 'its images';
    return { accesses: [{ kind: 'push', loginServer: home.loginServer, repository, label: `push ${home.loginServer}/${repository}` }] };
  }
  const step = reading.task.properties?.step;
  const platform = reading.task.properties?.platform ?? {};
  const program = programForStep(
    step,
    {
      runId: 'doctor',
      registry: home.loginServer,
      registryName: reading.home.name,
      os: String(platform.os ?? 'linux').toLowerCase(),
      architecture: String(platform.architecture ?? 'amd64'),
      date: reading.at,
      values: collectValues(step),
    },
    reading.task.name,
  );
  if (!program.ok) return { accesses: [], error: program.error };
  const built = new Set<string>();
  const out: Access[] = [];
  const seen = new Set<string>();
  const add = (kind: AccessKind, ref: { registry: string; repository: string; text: string; tag?: string }, stepId: string) => {
    const id = `${kind} ${ref.registry}/${ref.repository}`.toLowerCase();
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ kind, loginServer: ref.registry, repository: ref.repository, image: ref.text, step: stepId, label: `${kind} ${ref.registry}/${ref.repository}${ref.tag && ref.tag !== 'latest' && !/doctor/.test(ref.tag) ? `:${ref.tag}` : ''}` });
  };
  for (const s of program.program.steps) {
    if (s.kind === 'build') {
      // A build's base images (its Dockerfile's FROM lines), when the task's source is known.
      for (const base of s.bases ?? []) if (!built.has(`${base.registry}/${base.repository}`.toLowerCase())) add('pull', base, s.id);
      for (const t of s.tags) built.add(`${t.registry}/${t.repository}`.toLowerCase());
    } else if (s.kind === 'push') {
      for (const i of s.images) if (i.valid) add('push', i, s.id);
    } else if (s.image.valid && !built.has(`${s.image.registry}/${s.image.repository}`.toLowerCase())) {
      add('pull', s.image, s.id);
    }
  }
  return { accesses: out };
}

// ---------------------------------------------------------------------------------------------
// The diagnosis
// ---------------------------------------------------------------------------------------------

export function diagnose(reading: DoctorReading, opts: DiagnoseOptions): Diagnosis {
  const registries = reading.registries.map((r) => ({ json: r, facts: registryFactsFromWire(r) }));
  const byServer = (server: string) => registries.find((r) => r.facts.loginServer.toLowerCase() === server.toLowerCase());
  const run = runFactsOf(reading, reading.quickRun ? 'quick-run' : 'task-run');
  const roles = reading.roleAssignments.map(roleAssignmentFactFromWire);
  const home = registryFactsFromWire(reading.home);
  const decision = { roleDelayMs: opts.roleDelayMs, bypassModel: opts.bypassModel ?? 'both' };
  const ctx: Ctx = { reading, run, roles, byServer, registries: registries.map((r) => r.facts), opts };

  // The task as a whole.
  const taskFindings: Finding[] = [];
  const taskRefusal = decidePrepare({ registry: home, run, ...decision });
  if (taskRefusal) taskFindings.push(...explain(ctx, taskRefusal, undefined));
  if (/^FreeTrial/i.test(reading.subscription?.quotaId ?? '')) taskFindings.push(tasksNotAllowed(reading.subscription?.quotaId));
  const program = taskAccesses(reading);
  if (program.error) {
    taskFindings.push({ cause: 'unknown-host', words: `The task's steps cannot be read: ${program.error}.`, evidence: [`step.type=${reading.task.properties?.step?.type}`], advice: 'Fix the task file (`az acr task update -f FILE`).' });
  }

  const results: AccessResult[] = [];
  // Every identity credential is exchanged before any step: one refused exchange fails the run.
  // (Servers the steps reach are judged at their accesses, which include the exchange.)
  const reached = new Set(program.accesses.map((a) => a.loginServer.toLowerCase()));
  for (const login of logins(run, isAbac(home))) {
    if (!/identity/.test(login.credential.kind) || reached.has(login.server.toLowerCase())) continue;
    const access: Access = { kind: 'login', loginServer: login.server, label: `login ${login.server}` };
    const target = byServer(login.server);
    const refusal = decidePrepare({ registry: target?.facts, run: { ...run, status: undefined, agentPool: run.agentPool && { ...run.agentPool, exists: true, provisioningState: undefined } }, login, ...decision });
    results.push(result(ctx, access, target?.json, refusal ?? { allowed: true, credential: login.credential, path: undefined as never, evidence: [`credential for ${login.server}: ${describeCredential(login.credential)}`] }));
  }
  for (const access of program.accesses) {
    const target = byServer(access.loginServer);
    const input = {
      registry: target?.facts,
      run: { ...run, status: undefined, agentPool: run.agentPool && { ...run.agentPool, exists: true, provisioningState: undefined } },
      roleAssignments: roles,
      request: { access: access.kind as AccessKind, loginServer: access.loginServer, repository: access.repository ?? '', at: reading.at },
      ...decision,
    };
    const verdict = decideAccess(input);
    const r = result(ctx, access, target?.json, verdict);
    // A network refusal hides what comes after it: ask the model again as if the network let the
    // task in, so a missing role or credential is found now, not after the next failed run.
    if (!verdict.allowed && NETWORK_CAUSES.has(verdict.cause) && input.registry) {
      const behind = decideAccess({ ...input, registry: { ...input.registry, publicNetworkAccess: 'Enabled', networkRuleSet: null } });
      const hypothetical = /^(publicNetworkAccess|networkRuleSet|networkRuleBypass|network path)/;
      if (!behind.allowed) {
        r.findings.push(...explain(ctx, behind, access).map((f) => ({ ...f, words: `Also, once the network lets it in: ${lowerFirst(f.words)}`, evidence: f.evidence.filter((e) => !hypothetical.test(e)) })));
      }
    }
    results.push(r);
  }
  // The registry asked about is reached by no access: say so.
  if (opts.targetRegistry) {
    const t = registries.find((r) => r.json.name.toLowerCase() === opts.targetRegistry!.toLowerCase());
    if (t && !results.some((r) => r.registry?.toLowerCase() === t.json.name.toLowerCase())) {
      taskFindings.push({
        cause: 'no-system-credential',
        words: `The task makes no access to ${t.facts.loginServer}: none of its steps pushes to or pulls from it, and it holds no credential for it.`,
        evidence: [`registries the task reaches: ${[...new Set(results.map((r) => r.access.loginServer))].join(', ') || 'none'}`],
        advice: 'Check the task file: it must push to (or pull from) this login server.',
      });
    }
    if (t && t.facts.sku && t.facts.sku !== 'Premium') taskFindings.push(notPremium(t.json, t.facts, true));
  }

  const healthy = taskFindings.length === 0 && results.every((r) => r.verdict === 'allowed');
  const lastRun = compareLastRun(reading.runs, results, taskFindings, opts);
  return {
    task: {
      name: reading.task.name,
      registry: reading.home.name,
      loginServer: home.loginServer,
      identity: reading.quickRun ? 'none (a quick run)' : String(reading.task.identity?.type ?? 'None'),
      status: String(reading.task.properties?.status ?? 'Enabled'),
      agentPool: run.agentPool?.name,
      stepType: reading.task.properties?.step?.type,
    },
    taskFindings,
    accesses: results,
    lastRun,
    healthy,
  };
}

interface Ctx {
  reading: DoctorReading;
  run: RunFacts;
  roles: RoleAssignmentFact[];
  byServer: (server: string) => { json: ArmJson; facts: RegistryFacts } | undefined;
  registries: RegistryFacts[];
  opts: DiagnoseOptions;
}

function result(ctx: Ctx, access: Access, registry: ArmJson | undefined, verdict: AccessVerdict): AccessResult {
  const base = { access, registry: registry?.name, credential: describeCredential(verdict.credential), evidence: verdict.evidence };
  if (verdict.allowed) {
    const findings: Finding[] = [];
    const facts = registry ? registryFactsFromWire(registry) : undefined;
    if (registry && facts?.sku && facts.sku !== 'Premium' && !ctx.opts.targetRegistry) findings.push(notPremium(registry, facts, false));
    return { ...base, verdict: 'allowed', path: verdict.path, findings };
  }
  return { ...base, verdict: 'refused', findings: explain(ctx, verdict, access), logLine: verdict.logLine };
}

type Refusal = Extract<AccessVerdict, { allowed: false }>;

/** Why the model's refusal happened, in the owner's words, with the fix. */
function explain(ctx: Ctx, v: Refusal, access: Access | undefined): Finding[] {
  const { reading, run } = ctx;
  const t = reading.task;
  const home = reading.home;
  const server = access?.loginServer ?? '';
  const target = server ? ctx.byServer(server) : undefined;
  const regName = target?.json.name ?? server.split('.')[0] ?? '';
  const evidence = [...v.evidence];
  const identityType = String(t.identity?.type ?? 'None');
  switch (v.cause) {
    case 'task-disabled':
      return [{ cause: 'task-disabled', words: `Task ${t.name} is disabled: no run of it starts.`, evidence, az: [`az acr task update -n ${t.name} -r ${home.name} --status Enabled`] }];
    case 'agent-pool-missing':
      return [{ cause: 'agent-pool-missing', words: `The task runs on agent pool ${run.agentPool?.name}, which does not exist in registry ${home.name}.`, evidence, az: [`az acr agentpool create -n ${run.agentPool?.name} -r ${home.name} --tier S1 --subnet-id <subnet id>`, `# or run on the shared agents: az acr task update -n ${t.name} -r ${home.name} --agent-pool ""`] }];
    case 'agent-pool-not-ready':
      return [{ cause: 'agent-pool-not-ready', words: `Agent pool ${run.agentPool?.name} is not ready (provisioningState ${run.agentPool?.provisioningState}).`, evidence, advice: 'Wait for the pool to finish provisioning, or recreate it.' }];
    case 'identity-missing': {
      const hasUser = Object.keys(t.identity?.userAssignedIdentities ?? {}).length > 0;
      if (v.credential.kind === 'user-identity' || (hasUser && !/SystemAssigned/i.test(identityType))) {
        return [userAssignedOnly(ctx, evidence)];
      }
      return [noIdentity(ctx, evidence)];
    }
    case 'unknown-host': {
      const meant = closestRegistry(ctx, server);
      if (meant) return [wrongLoginServer(ctx, server, meant.loginServer, evidence)];
      return [{ cause: 'unknown-host', words: `${server} is no registry's login server: the name does not resolve.`, evidence, advice: 'Check the login servers in the task file and its credentials (`az acr show -n <registry> --query loginServer`).' }];
    }
    case 'public-access-disabled':
    case 'ip-not-allowed': {
      const closed =
        v.cause === 'public-access-disabled'
          ? `${regName} has public network access disabled`
          : `${regName}'s firewall denies by default and no IP rule admits the ACR Tasks agents`;
      evidence.push(...networkDetail(target?.facts));
      const c = v.credential;
      if (run.kind === 'quick-run') {
        return [{ cause: 'quick-run', words: `${closed}, and a quick run (az acr build / az acr run) is never a trusted service: it has no identity to bypass with.`, evidence, advice: 'Run it as a task with a system-assigned identity (`acr-trust run`), or from an agent pool in the registry\'s network.' }];
      }
      if (c.kind === 'none' || c.kind === 'run-token' || c.kind === 'password') {
        const typo = typoFor(ctx, server);
        if (typo) return [wrongLoginServer(ctx, typo, server, evidence, closed)];
        const how = c.kind === 'run-token' ? "the run's own registry token (loginMode Default), which never bypasses" : c.kind === 'password' ? 'a username/password, which never bypasses' : 'no credential at all';
        return [noCredential(ctx, server, regName, `${closed}; the task reaches it with ${how}. Only the task's system identity, as a [system] credential for ${server}, is let through.`, evidence)];
      }
      if (c.kind === 'user-identity') return [userAssignedOnly(ctx, evidence, closed)];
      if (c.kind === 'caller-identity') return [{ cause: 'quick-run', words: `${closed}; the caller's identity ([caller]) is not a trusted service.`, evidence, advice: 'Use the task\'s system identity: `--source-acr-auth-id [system]`.' }];
      const p = target?.facts ?? ({} as RegistryFacts);
      const out: Finding[] = [];
      // A task on an agent pool in a virtual network reaches the registry through a private endpoint in that network.
      const pool = run.agentPool;
      if (pool?.subnetId) {
        const vnet = pool.subnetId.replace(/\/subnets\/[^/]+\/?$/i, '');
        out.push({
          cause: 'network-closed',
          words: `${closed}. The task runs on agent pool ${pool.name} in virtual network ${vnet.split('/').pop()}, but ${regName} has no approved private endpoint in that network, so the pool has no way in either.`,
          evidence: [...evidence, `agentPool ${pool.name} subnet ${pool.subnetId}`, `private endpoints' subnets: ${(p.privateEndpointSubnets ?? []).join(', ') || 'none'}`],
          az: [`az network private-endpoint create -g <resource group> -n ${regName}-pe --vnet-name ${vnet.split('/').pop()} --subnet <subnet> --private-connection-resource-id ${target?.json.id ?? '<registry id>'} --group-id registry --connection-name ${regName}-pe`],
          advice: 'Or let the task bypass instead (both switches below).',
        });
      }
      if ((p.networkRuleBypassOptions ?? 'AzureServices') !== 'AzureServices') {
        out.push({ cause: 'trusted-services-off', words: `${closed}, and trusted services are not allowed on it (networkRuleBypassOptions = None): the task's identity is not let through.`, evidence, step: 'allow-trusted-services', stepAnswers: { targetRegistry: regName } });
      }
      if (p.networkRuleBypassAllowedForTasks !== true) {
        out.push({
          cause: 'task-bypass-off',
          words: `${closed}, and it does not let ACR Tasks bypass its network rules (networkRuleBypassAllowedForTasks = false). Since 1 June 2025 a task's system identity is refused (403) unless this switch is on — "allow trusted services" alone no longer lets tasks in.`,
          evidence,
          step: 'allow-task-bypass',
          stepAnswers: { targetRegistry: regName },
        });
      }
      if (out.length === 0) out.push({ cause: 'network-closed', words: `${closed}, and no bypass applies.`, evidence, advice: 'Add an agent pool in the registry\'s network, or allow the bypass.' });
      return out;
    }
    case 'no-credential': {
      const homeFacts = registryFactsFromWire(home);
      if (server.toLowerCase() === homeFacts.loginServer.toLowerCase() && isAbac(homeFacts) && !run.credentials?.sourceRegistry?.identity) {
        return [
          {
            cause: 'abac-no-source-identity',
            words: `${home.name} uses ABAC repository permissions, where a task gets no implicit access to its own registry; the task has no source registry identity (credentials.sourceRegistry.identity).`,
            evidence: [...evidence, 'credentials.sourceRegistry.identity not set'],
            // Quoted: an unquoted [system] is a shell glob. Debian's az 2.45 lacks the flag (the
            // wizard's add-credential step prints the az rest equivalent).
            az: [`az acr task update -n ${t.name} -r ${home.name} --source-acr-auth-id '[system]'`],
            // The wizard's add-credential step sets the source identity where the target is the
            // task's own ABAC registry (and assign-role gives the repository role).
            step: 'add-credential',
            stepAnswers: { targetRegistry: home.name, role: access?.kind === 'push' ? 'Container Registry Repository Writer' : 'Container Registry Repository Reader' },
          },
        ];
      }
      const typo = typoFor(ctx, server);
      if (typo) return [wrongLoginServer(ctx, typo, server, evidence)];
      return [noCredential(ctx, server, regName, `The task reaches ${server} without a credential for it, so the registry answers 401.`, evidence)];
    }
    case 'role-not-yet-effective': {
      return [
        {
          cause: 'role-too-recent',
          words: `The role that would let the task's identity ${access?.kind} on ${regName} was created too recently to be in effect: Azure takes a while (up to about ${minutes(ctx.opts.roleDelayMs)}) to apply a new role assignment to the registry.`,
          evidence,
          advice: `Wait, then check again: \`acr-trust doctor --run\`.`,
        },
      ];
    }
    case 'role-missing':
      return [roleFinding(ctx, v, access!, target?.json, evidence)];
    case 'public-registry-push':
      return [{ cause: 'public-registry-push', words: `The task pushes to ${server}, a registry outside Azure, without a credential for it.`, evidence, advice: `Add a username/password credential for ${server}, or push to your registry instead.` }];
  }
}

// ---- findings with their fixes -------------------------------------------------------------------

function noIdentity(ctx: Ctx, evidence: string[]): Finding {
  const t = ctx.reading.task;
  return {
    cause: 'no-identity',
    words: `Task ${t.name} has no system-assigned identity, yet its credential is [system]: the runner cannot get a token for it.`,
    evidence: [...evidence, `identity.type=${t.identity?.type ?? 'None'}`],
    az: [`az acr task identity assign -n ${t.name} -r ${ctx.reading.home.name}`],
    step: 'create-task',
  };
}

function userAssignedOnly(ctx: Ctx, evidence: string[], closed?: string): Finding {
  const t = ctx.reading.task;
  return {
    cause: 'user-assigned-only',
    words: `${closed ? `${closed}; ` : ''}task ${t.name} uses a user-assigned identity, and only a task's system-assigned identity is a trusted service — user-assigned identities never bypass the network rules.`,
    evidence: [...evidence, `identity.type=${t.identity?.type ?? 'None'}`],
    az: [`az acr task identity assign -n ${t.name} -r ${ctx.reading.home.name} --identities [system]`],
    step: 'create-task',
  };
}

function noCredential(ctx: Ctx, server: string, regName: string, words: string, evidence: string[]): Finding {
  const entries = customEntries(ctx.run).map((e) => e.server);
  return {
    cause: 'no-system-credential',
    words,
    evidence: [...evidence, `credentials.customRegistries: ${entries.length ? entries.join(', ') : 'none'}`],
    step: 'add-credential',
    stepAnswers: { targetRegistry: regName },
    az: [`az acr task credential add -n ${ctx.reading.task.name} -r ${ctx.reading.home.name} --login-server ${server} --use-identity '[system]'`],
  };
}

function wrongLoginServer(ctx: Ctx, wrong: string, right: string, evidence: string[], closed?: string): Finding {
  const t = ctx.reading.task;
  const target = ctx.byServer(right);
  return {
    cause: 'wrong-login-server',
    words: `${closed ? `${closed}. ` : ''}The task's credential is for ${wrong}, which is not the registry's login server: it is ${right}. The runner finds no credential for ${right}${ctx.byServer(wrong) ? '' : `, and ${wrong} does not resolve, so the run fails before any step`}.`,
    evidence: [...evidence, `credentials.customRegistries has ${wrong}`],
    az: [
      `az acr task credential remove -n ${t.name} -r ${ctx.reading.home.name} --login-server ${wrong}`,
      `az acr task credential add -n ${t.name} -r ${ctx.reading.home.name} --login-server ${right} --use-identity '[system]'`,
    ],
    step: 'add-credential',
    stepAnswers: { targetRegistry: target?.json.name ?? right.split('.')[0] },
  };
}

function roleFinding(ctx: Ctx, v: Refusal, access: Access, registry: ArmJson | undefined, evidence: string[]): Finding {
  const principal = 'principalId' in v.credential ? v.credential.principalId ?? '' : '';
  const facts = registry ? registryFactsFromWire(registry) : undefined;
  const regName = registry?.name ?? access.loginServer;
  const abac = facts ? isAbac(facts) : false;
  const wanted = abac ? (access.kind === 'push' ? 'Container Registry Repository Writer' : 'Container Registry Repository Reader') : access.kind === 'push' ? 'AcrPush' : 'AcrPull';
  const mine = ctx.roles.filter((r) => r.principalId.toLowerCase() === principal.toLowerCase());
  const named = mine.map((r) => ({ ...r, role: REGISTRY_DATA_ROLES[roleGuid(r.roleDefinitionId)] })).filter((r) => r.role);
  const here = named.filter((r) => facts && inScope(facts.id, r.scope));
  const elsewhere = named.filter((r) => !facts || !inScope(facts.id, r.scope));
  const fix = { step: 'assign-role', stepAnswers: { targetRegistry: regName, role: wanted } } as const;
  const list = (rs: typeof named) => rs.map((r) => `role ${r.role!.roleName} on ${r.scope}`);
  if (abac && here.some((r) => !r.role!.abac)) {
    return {
      cause: 'abac-legacy-role',
      words: `${regName} uses ABAC repository permissions (roleAssignmentMode = AbacRepositoryPermissions), which ignore AcrPush, AcrPull and AcrDelete: the task's identity needs "${wanted}".`,
      evidence: [...evidence, ...list(here)],
      ...fix,
    };
  }
  if (here.some((r) => r.role!.abac === abac && r.role!.pull && !r.role![access.kind as AccessKind])) {
    return {
      cause: 'role-too-weak',
      words: `The task's identity holds ${here.map((r) => r.role!.roleName).join(', ')} on ${regName}, which lets it pull but not push.`,
      evidence: [...evidence, ...list(here)],
      ...fix,
    };
  }
  if (elsewhere.length > 0) {
    return {
      cause: 'role-wrong-scope',
      words: `The task's identity holds a registry role, but on another scope: ${elsewhere.map((r) => `${r.role!.roleName} on ${r.scope}`).join('; ')} — not on ${regName} or a resource group or subscription it is in.`,
      evidence: [...evidence, ...list(elsewhere)],
      ...fix,
    };
  }
  return {
    cause: 'role-missing',
    words: `The task's identity (principal ${principal}) has no role on ${regName}: it logs in, and the registry refuses the ${access.kind} (401).`,
    evidence,
    ...fix,
  };
}

function notPremium(r: ArmJson, facts: RegistryFacts, problem: boolean): Finding {
  return {
    cause: 'not-premium',
    words: `${r.name} is a ${facts.sku} registry: network rules, disabling public access and the task bypass need the Premium SKU, so it cannot be network-restricted at all${problem ? '' : ' (the task reaches it over its public endpoint)'}.`,
    evidence: [`sku=${facts.sku}`, `publicNetworkAccess=${facts.publicNetworkAccess ?? 'Enabled'}`],
    az: [`az acr update -n ${r.name} --sku Premium`],
    ...(problem ? {} : { advice: 'Nothing refuses the task here; upgrade only to restrict the registry.' }),
  };
}

export function tasksNotAllowed(detail?: string): Finding {
  return {
    cause: 'tasks-not-allowed',
    words: 'ACR Tasks are not allowed on this subscription (free trial and some sponsored offers): Azure refuses to schedule any run (TasksOperationsNotAllowed).',
    evidence: detail ? [detail] : [],
    advice: 'Use a pay-as-you-go subscription, or ask Azure support to enable ACR Tasks (https://aka.ms/azsupport).',
  };
}

// ---- helpers -----------------------------------------------------------------------------------------

function networkDetail(f: RegistryFacts | undefined): string[] {
  if (!f) return [];
  const rules = f.networkRuleSet?.ipRules ?? [];
  return rules.length ? [`ipRules=${rules.map((r) => r.value ?? r.iPAddressOrRange).join(',')}`] : [];
}

/** A credential entry that looks meant for `server` (another domain, a typo). */
function typoFor(ctx: Ctx, server: string): string | undefined {
  return customEntries(ctx.run)
    .map((e) => e.server)
    .find((s) => s.toLowerCase() !== server.toLowerCase() && !ctx.byServer(s) && similar(s, server));
}

/** The known registry a login server that resolves to none was probably meant to be. */
function closestRegistry(ctx: Ctx, server: string): RegistryFacts | undefined {
  return ctx.registries.find((r) => similar(r.loginServer, server));
}

function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x.split('.')[0] === y.split('.')[0]) return true;
  return editDistance(x, y) <= 2;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

const NETWORK_CAUSES = new Set(['public-access-disabled', 'ip-not-allowed']);

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} seconds`;
}

// ---- the last run against the prediction ------------------------------------------------------------

function compareLastRun(runs: LastRun[], results: AccessResult[], taskFindings: Finding[], opts: DiagnoseOptions): RunComparison | undefined {
  const last = runs.find((r) => ['Succeeded', 'Failed', 'Canceled', 'Error', 'Timeout'].includes(r.status));
  if (!last) return undefined;
  const firstRefusal = results.find((r) => r.verdict === 'refused');
  const predictedFail = firstRefusal !== undefined || taskFindings.some((f) => f.cause !== 'not-premium');
  if (last.status === 'Succeeded') {
    return predictedFail
      ? { runId: last.runId, status: last.status, agrees: false, note: `The last run (${last.runId}) succeeded, but the settings now would refuse it: something changed since ${last.finishTime ?? last.createTime ?? 'then'}.` }
      : { runId: last.runId, status: last.status, agrees: true };
  }
  if (last.status !== 'Failed') return { runId: last.runId, status: last.status, agrees: !predictedFail, note: `The last run (${last.runId}) ended ${last.status}.` };
  const actual = last.log ? opts.classify(last.log) : undefined;
  const line = actual?.line;
  if (!predictedFail) {
    return {
      runId: last.runId,
      status: last.status,
      line,
      agrees: false,
      note: `The last run (${last.runId}) failed${line ? ` with "${line}"` : ''}, but every access is allowed now: a setting changed since, or the run failed for a cause the doctor does not know.`,
    };
  }
  if (!firstRefusal?.logLine || !last.log) return { runId: last.runId, status: last.status, line, agrees: true };
  const predicted = opts.classify(firstRefusal.logLine);
  const agrees = last.log.includes(firstRefusal.logLine) || (predicted !== undefined && actual !== undefined && predicted.family === actual.family);
  return agrees
    ? { runId: last.runId, status: last.status, line, agrees }
    : {
        runId: last.runId,
        status: last.status,
        line,
        agrees,
        note: `The last run (${last.runId}) failed ${line ? `with "${line}"` : 'for another reason'}, not as predicted for ${firstRefusal.access.label} ("${firstRefusal.logLine}"): a setting changed since, or another cause the doctor does not know.`,
      };
}
