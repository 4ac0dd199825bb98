/**
 * Running the task and following a run to its end: shared by `run-task` (expects success) and
 * `confirm-denied` (expects a network refusal). Polls with backoff, shows new log lines as detail,
 * and diagnoses a failed run from its log through the error-rule table.
 */
import { AcrTrustError } from '../../src/errors.js';
import { diagnoseRunLog, FINAL_RUN_STATUSES, type Registry, type Run, type RunLogDiagnosis, type Task } from '../../src/azure/index.js';
import { decideAccess, explainRefusal, waitMayCure, type AccessVerdict, type RegistryFacts, type RunFacts } from '../../src/model/access.js';
import { outputsOf, readTargetRegistry, readTask, type Ctx } from './context.js';
import { loginServerFor } from '../world.js';
import { AGENT_POOL_DOCS } from './agent-pool.js';
import { findAssignment } from '../assign-role.js';

export interface FinishedRun {
  run: Run;
  log: string;
  /** Why it failed, when a rule explains the log (undefined for a success or an unexplained failure). */
  diagnosis?: RunLogDiagnosis;
}

/**
 * Schedules a run of the task and follows it to the end. The run id is recorded (as the step's
 * `runId` output) the moment Azure returns it, before any waiting, so a crash cannot lose it.
 */
export async function runAndFollow(ctx: Ctx): Promise<FinishedRun> {
  const { answers, cloud } = ctx.world;
  const task = await readTask(ctx);
  if (!task) throw new AcrTrustError(`Task ${answers.task} does not exist in registry ${answers.registry}.`, { hint: 'Run the create-task step first.' });
  const runId = await cloud.scheduleRun(answers.resourceGroup, answers.registry, task.id);
  ctx.record({ runId });
  ctx.progress(`run ${runId}: Queued`);
  return followRun(ctx, runId);
}

/** Reads a run once; for a finished run, also its log and diagnosis. Undefined if it is gone. */
export async function readRun(ctx: Ctx, runId: string): Promise<(FinishedRun & { finished: boolean }) | undefined> {
  const { answers, cloud } = ctx.world;
  const run = await cloud.getRun(answers.resourceGroup, answers.registry, runId);
  if (!run) return undefined;
  if (!isFinished(run)) return { run, log: '', finished: false };
  const log = await cloud.readRunLog(answers.resourceGroup, answers.registry, runId, ctx.signal);
  return { run, log, finished: true, diagnosis: run.status === 'Succeeded' ? undefined : diagnoseRunLog(log) };
}

/**
 * Why a finished run no longer proves anything about today's setup: the target registry, the task
 * or the task identity's role assignment there was changed after the run was created (ARM's
 * `systemData.lastModifiedAt` and the assignment's `createdOn` against the run's `createTime`, all
 * Azure's own clock), or the assignment is gone (a deletion leaves no date). Returns the change in
 * words ("registry acrtrustdemo was changed at …"), or undefined when the run is newer than all of
 * them or Azure shows no times. Reads the registry, the task and its role assignments (the read
 * cache serves what this command already read).
 */
export async function changedSinceRun(ctx: Ctx, run: Run): Promise<string | undefined> {
  if (!run.createTime) return undefined;
  const created = Date.parse(run.createTime);
  const { answers: a } = ctx.world;
  const [registry, task, role] = await Promise.all([readTargetRegistry(ctx), readTask(ctx), findAssignment(ctx)]);
  for (const [what, at] of [
    [`registry ${a.targetRegistry}`, registry?.lastModifiedAt],
    [`task ${a.task}`, task?.lastModifiedAt],
    ['blocked' in role ? undefined : `the ${role.role} assignment on ${a.targetRegistry}`, 'blocked' in role ? undefined : role.assignment?.createdOn],
  ] as const) {
    if (what && at && Date.parse(at) > created) return `${what} was changed at ${at}, after run ${run.runId} was created`;
  }
  // A deleted assignment leaves no date behind: its absence is the change.
  if (!('blocked' in role) && !role.assignment) return `the task's identity has no ${role.role} assignment on ${a.targetRegistry} now, so run ${run.runId} no longer shows what a run would do`;
  return undefined;
}

/** Follows a run until it finishes, showing its status as progress and its new log lines as detail. */
export async function followRun(ctx: Ctx, runId: string): Promise<FinishedRun> {
  const { answers, cloud, timing } = ctx.world;
  const deadline = Date.now() + timing.runTimeoutMs;
  let delay = timing.pollMs;
  let lastStatus = '';
  let linesShown = 0;
  for (;;) {
    const run = await cloud.getRun(answers.resourceGroup, answers.registry, runId);
    if (!run) throw new AcrTrustError(`Run ${runId} no longer exists in registry ${answers.registry}.`);
    if (run.status !== lastStatus) ctx.progress(`run ${runId}: ${(lastStatus = run.status)}`);
    const finished = isFinished(run);
    const log = await cloud.readRunLog(answers.resourceGroup, answers.registry, runId, ctx.signal);
    // Show complete lines only while the run goes on; the last partial line once it has ended.
    const lines = log.split(/\r?\n/);
    if (!finished) lines.pop();
    for (const line of lines.slice(linesShown)) if (line.trim()) ctx.detail(line);
    linesShown = Math.max(linesShown, lines.length);
    if (finished) return { run, log, diagnosis: run.status === 'Succeeded' ? undefined : diagnoseRunLog(log) };
    if (Date.now() >= deadline) {
      throw new AcrTrustError(`Run ${runId} is still ${run.status} after ${Math.round(timing.runTimeoutMs / 1000)} s.`, {
        hint: `Run the step again to keep following it, or watch it: \`az acr task logs -r ${answers.registry} --run-id ${runId}\`.`,
      });
    }
    await ctx.sleep(delay);
    delay = Math.min(Math.round(delay * 1.5), timing.maxPollMs);
  }
}

export function isFinished(run: Run): boolean {
  return FINAL_RUN_STATUSES.includes(run.status);
}

/** The error for a run that failed when it should not have: the rule's explanation, or the run's own message. */
export function runFailedError(ctx: Ctx, finished: FinishedRun, expected: string): AcrTrustError {
  const { run, diagnosis } = finished;
  const logs = `\`az acr task logs -r ${ctx.world.answers.registry} --run-id ${run.runId}\``;
  if (diagnosis) {
    return new AcrTrustError(`Run ${run.runId} ${run.status}: ${diagnosis.rule.message}. The log says: ${diagnosis.line}`, {
      code: diagnosis.rule.id,
      hint: diagnosis.rule.hint,
      link: diagnosis.rule.link,
    });
  }
  return new AcrTrustError(`Run ${run.runId} ${run.status}${run.runErrorMessage ? `: ${run.runErrorMessage}` : ''}; ${expected}.`, {
    hint: `Read the whole log: ${logs}.`,
  });
}

// ---------------------------------------------------------------------------------------------
// Propagation or configuration? The access model on the live settings decides.
// ---------------------------------------------------------------------------------------------

/** The model's verdict on the task's push to the target registry, from the settings Azure reports now. */
export interface LiveJudgement {
  verdict: AccessVerdict;
  /** Configuration refusals only: what is wrong and the fix. */
  explanation?: { what: string; fix: string };
  /** The refusal is of a task on a dedicated agent pool: the log rule's bypass advice does not apply. */
  onAgentPool?: boolean;
}

/**
 * Asks the access model (src/model/access.ts — the sim's own rules, shared with `doctor`) whether
 * the task's push to the target registry is allowed by the settings ARM reports now, taking every
 * role as already in effect. Refused → the refusal is *configuration*: waiting will not cure it.
 * Allowed while the run was refused → *propagation*: a new role or setting has not reached the
 * registry yet. Undefined when the facts cannot be read (then the caller keeps its own bound).
 */
export async function judgeLive(ctx: Ctx): Promise<LiveJudgement | undefined> {
  const { answers: a, cloud } = ctx.world;
  const [target, task] = await Promise.all([readTargetRegistry(ctx), cloud.getTaskDetails(a.resourceGroup, a.registry, a.task).catch(() => undefined)]);
  if (!target || !task) return undefined;
  const home = a.registry.toLowerCase() === a.targetRegistry.toLowerCase() ? target : await cloud.getRegistry(a.resourceGroup, a.registry);
  const roles = task.principalId ? await cloud.listRoleAssignments(target.id, task.principalId) : [];
  // On a dedicated agent pool the run comes from the pool's subnet: the registry's private endpoints decide too.
  const pool = task.agentPoolName ? await cloud.getAgentPool(a.resourceGroup, a.registry, task.agentPoolName) : undefined;
  const endpoints = task.agentPoolName ? await cloud.privateEndpointSubnets(a.resourceGroup, a.targetRegistry).catch(() => []) : [];
  const verdict = decideAccess({
    registry: { ...registryFacts(target), ...(task.agentPoolName ? { privateEndpointSubnets: endpoints } : {}) },
    run: {
      ...taskRunFacts(task, outputsOf(ctx, 'preflight').loginServer ?? home?.loginServer ?? loginServerFor(ctx.world, a.registry)),
      ...(task.agentPoolName ? { agentPool: { name: task.agentPoolName, exists: pool !== undefined, subnetId: pool?.subnetId, provisioningState: pool?.provisioningState } } : {}),
    },
    roleAssignments: roles.map((r) => ({ principalId: r.principalId, scope: r.scope, roleDefinitionId: r.roleDefinitionId })),
    request: { access: 'push', loginServer: target.loginServer, repository: 'acr-trust/hello', at: Date.now() },
  });
  if (verdict.allowed || waitMayCure(verdict.cause)) return { verdict };
  // On a dedicated pool the network refusal means the pool's network has no endpoint of the registry (no bypass is meant here).
  if (pool?.subnetId && (verdict.cause === 'public-access-disabled' || verdict.cause === 'ip-not-allowed')) {
    const vnet = pool.subnetId.replace(/\/subnets\/[^/]+\/?$/i, '');
    return {
      verdict,
      explanation: {
        what: `the task runs on agent pool ${pool.name} in virtual network ${vnet.split('/').pop()}, and ${target.name} has no approved private endpoint in that network (${endpoints.length ? `its endpoints are in ${endpoints.map((e) => e.replace(/\/subnets\/[^/]+\/?$/i, '').split('/').pop()).join(', ')}` : 'it has none'}), so the pool has no way in`,
        fix: `az network private-endpoint create -g ${a.resourceGroup} -n ${target.name}-pe --vnet-name ${vnet.split('/').pop()} --subnet <subnet> --private-connection-resource-id ${target.id} --group-id registry --connection-name ${target.name}-pe (with the privatelink.azurecr.io DNS zone linked), or run the task on a pool in a subnet of a network that has one (another --agent-pool name with its --agent-pool-subnet; a pool's subnet cannot be changed, and \`acr-trust reset\` deletes a pool acr-trust created)`,
      },
      onAgentPool: true,
    };
  }
  return {
    verdict,
    explanation: explainRefusal(verdict, {
      registry: target.name,
      loginServer: target.loginServer,
      task: a.task,
      taskRegistry: a.registry,
      ownAbacRegistry: a.registry.toLowerCase() === a.targetRegistry.toLowerCase() && target.roleAssignmentMode === 'AbacRepositoryPermissions',
    }),
  };
}

/** The wizard's view of a registry as the model's facts. */
export function registryFacts(r: Registry): RegistryFacts {
  return {
    id: r.id,
    loginServer: r.loginServer,
    sku: r.sku,
    publicNetworkAccess: r.publicNetworkAccess,
    networkRuleSet: r.networkRuleSet ?? null,
    networkRuleBypassOptions: r.networkRuleBypassOptions,
    networkRuleBypassAllowedForTasks: r.networkRuleBypassAllowedForTasks,
    roleAssignmentMode: r.roleAssignmentMode,
  };
}

/** The wizard's view of a task (with its credentials' details) as the model's facts. */
export function taskRunFacts(t: Task, homeLoginServer: string): RunFacts {
  const customRegistries: NonNullable<NonNullable<RunFacts['credentials']>['customRegistries']> = {};
  for (const [server, c] of Object.entries(t.customRegistries)) customRegistries[server] = c ? { identity: c.identity, ...(c.hasUserName ? { userName: 'set' } : {}) } : null;
  return {
    kind: 'task-run',
    homeLoginServer,
    identity: { type: t.identityType, principalId: t.principalId, userAssignedIdentities: Object.fromEntries(t.userAssignedIdentities.map((id) => [id, null])) },
    credentials: { sourceRegistry: { loginMode: t.sourceRegistryLoginMode, ...(t.sourceRegistryIdentity ? { identity: t.sourceRegistryIdentity } : {}) }, customRegistries },
    status: t.status,
  };
}

/**
 * The error for a run refused by the registry's configuration: the log's explanation (ARM's line
 * kept), then the cause the settings show and its fix — at once, since waiting will not cure it.
 */
export function configurationError(finished: FinishedRun, judged: LiveJudgement): AcrTrustError {
  const { run, diagnosis } = finished;
  const { what, fix } = judged.explanation!;
  const said = diagnosis ? `${diagnosis.rule.message}. The log says: ${diagnosis.line}` : run.runErrorMessage ?? 'the registry refused it';
  const ruleAdvice = diagnosis && !judged.onAgentPool;
  return new AcrTrustError(`Run ${run.runId} ${run.status}: ${said} — the settings show why: ${what}; waiting will not change that, so the run is not retried.`, {
    code: diagnosis?.rule.id ?? (judged.verdict.allowed ? undefined : judged.verdict.cause),
    hint: `Fix: ${fix}.${ruleAdvice ? ` ${diagnosis.rule.hint}` : ''}`,
    link: judged.onAgentPool ? AGENT_POOL_DOCS : diagnosis?.rule.link,
  });
}
