/**
 * Step 1 — preflight: everything the workflow needs is there, and the target registry's network
 * settings are recorded so `reset` can put them back exactly.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import { hasSystemIdentity, permits, ruleById, type Registry, type Task } from '../src/azure/index.js';
import { onAgentPool, type World } from './world.js';
import { agentPoolRefusal } from './agent-pool.js';
import { isAbacRegistry, outputsOf, readTask, registryMissing, roleFor, targetIsHome, type Ctx, type StepOutputs, type TaskBefore } from './lib/context.js';
import { networkDiff, networkSettingsOf, patchTarget } from './lib/registry-network.js';
import { TASK_FILE_HINT, taskFileProblem } from './lib/task-yaml.js';

export const preflight: Step<World> = {
  id: 'preflight',
  title: 'Check the subscription, the registries, your permissions and the task before changing anything',

  why:
    'The workflow changes a registry\'s network rules and grants a role, so it first makes sure it can finish: ' +
    'network rules and disabling public access need the Premium SKU; creating the task, changing the registry\'s network ' +
    'settings and running the task need write permissions on the registries (Contributor); assigning a role needs ' +
    'Microsoft.Authorization/roleAssignments/write (Owner or User Access Administrator); only a task\'s ' +
    'system-assigned identity may bypass the network rules (user-assigned identities are not trusted); and a registry in ' +
    'ABAC mode (roleAssignmentMode AbacRepositoryPermissions) ignores AcrPush/AcrPull and gives a task no implicit access ' +
    'to its own registry — there the workflow assigns the matching Container Registry Repository role and, where the task\'s ' +
    'own registry is the target, gives the task a source registry identity. Trusted services do not apply to ' +
    'a registry restricted by service endpoints (VNet rules) — those rules cannot be read or written at the API version ' +
    'this tool uses, so check them yourself in the portal. The target registry\'s network settings are recorded here, once, ' +
    'so that reset can restore them exactly.',

  portal: 'Container registry → Settings → Networking; Properties (SKU, role assignment permissions mode); Access control (IAM) → My access',

  az: ({ answers: a }) => [
    `az account show --subscription ${a.subscription}`,
    `az acr show -n ${a.registry} -g ${a.resourceGroup} --query "{sku: sku.name, loginServer: loginServer}"`,
    ...(a.targetRegistry !== a.registry ? [`az acr show -n ${a.targetRegistry} -g ${a.resourceGroup} --query "{sku: sku.name, loginServer: loginServer}"`] : []),
    `az acr show -n ${a.targetRegistry} -g ${a.resourceGroup} --query "{publicNetworkAccess: publicNetworkAccess, networkRuleBypassOptions: networkRuleBypassOptions, networkRuleBypassAllowedForTasks: networkRuleBypassAllowedForTasks, networkRuleSet: networkRuleSet, roleAssignmentMode: roleAssignmentMode}"`,
    // Only reads that succeed on a fresh registry, for a user or a service principal, in any CLI:
    // the caller's permissions (not `az ad signed-in-user show`, which a service principal cannot
    // run, nor `az role assignment list`, which Debian's azure-cli 2.45 cannot), and the task as a
    // list (`az acr task show` exits 3 while the task does not exist, which stops a `set -e` script).
    `# Your permissions on the target registry: changing it needs Microsoft.ContainerRegistry/registries/write, assigning the role "*" or Microsoft.Authorization/roleAssignments/write`,
    `az rest --method get --url "$(az acr show -n ${a.targetRegistry} -g ${a.resourceGroup} --query id -o tsv)/providers/Microsoft.Authorization/permissions?api-version=2022-04-01" --query "value[].actions"`,
    `# The task, if it exists already ([] until create-task creates it)`,
    `az acr task list -r ${a.registry} -g ${a.resourceGroup} --query "[?name=='${a.task}'].{name: name, identity: identity, loginMode: credentials.sourceRegistry.loginMode}"`,
  ],

  async check(ctx): Promise<CheckResult> {
    const { answers: a, cloud } = ctx.world;

    if (!(await cloud.getSubscription(a.subscription))) {
      return blocked('SubscriptionNotFound', `Subscription ${a.subscription} was not found, or you have no access to it.`, 'List yours: `az account list -o table`.');
    }
    if (!(await cloud.getResourceGroup(a.resourceGroup))) {
      return blocked('ResourceGroupNotFound', `Resource group ${a.resourceGroup} was not found in subscription ${a.subscription}.`, 'List them: `az group list -o table`.');
    }

    // A registry not found: the ones there are, so a typo is seen at once (read only on this path).
    const known = () => cloud.listRegistries().catch(() => undefined);
    const registry = await cloud.getRegistry(a.resourceGroup, a.registry);
    if (!registry) return registryMissing(ctx, a.registry, await known());
    const target = a.targetRegistry === a.registry ? registry : await cloud.getRegistry(a.resourceGroup, a.targetRegistry);
    if (!target) return registryMissing(ctx, a.targetRegistry, await known());

    // Only the target registry gets network rules; the task's own registry may be any SKU.
    if (target.sku !== 'Premium') {
      return blocked(
        'SkuNotPremium',
        `Registry ${target.name} is ${target.sku}: network rules and disabling public access need the Premium SKU.`,
        `Upgrade it: \`az acr update -n ${target.name} --sku Premium\`.`,
      );
    }

    // The agent-pool path: every refusal the agent-pool step would make on what the cloud holds now
    // (the task's registry not Premium, a new pool without a subnet, a pool in another subnet, no
    // approved private endpoint…) is made here, before create-task and the role change.
    if (onAgentPool(ctx.world)) {
      const pool = await agentPoolRefusal(ctx, { warn: false });
      if ('status' in pool) return pool;
    }

    // Every write the workflow makes, checked here so that a caller without one of them is refused
    // before anything changes (not halfway, by Azure): the task and its runs live in the task's
    // registry, the network settings and the role assignment are on the target.
    const permissions = await cloud.callerPermissions(target.id);
    const home = target === registry ? permissions : await cloud.callerPermissions(registry.id);
    const missing = [
      ...[...HOME_ACTIONS, ...(onAgentPool(ctx.world) ? [AGENT_POOL_WRITE] : [])].filter((action) => !permits(home.permissions, action)),
      ...TARGET_ACTIONS.filter((action) => !permits(permissions.permissions, action)),
    ].filter((action, i, all) => all.indexOf(action) === i);
    if (missing.length > 0) {
      const names = target === registry ? `registry ${target.name}` : `registries ${registry.name} and ${target.name}`;
      const roles = permissions.canWriteRoleAssignments ? [] : [ROLE_ASSIGNMENT_WRITE];
      return blocked(
        'AuthorizationFailed',
        `You may not change ${names}: your roles do not grant ${[...missing, ...roles].join(', ')}.`,
        `Ask for Contributor on the ${target === registry ? 'registry' : 'registries'} or the resource group${roles.length ? ', and Owner, User Access Administrator or Role Based Access Control Administrator for the role assignment (Owner covers both)' : ''}, then sign in again.`,
      );
    }
    if (!permissions.canWriteRoleAssignments) {
      return blocked(
        'AuthorizationFailed',
        `You may not create role assignments on registry ${target.name} (Microsoft.Authorization/roleAssignments/write).`,
        'Ask for Owner, User Access Administrator or Role Based Access Control Administrator on the registry or its resource group, then sign in again.',
        'RoleAssignmentWriteDenied',
      );
    }

    const task = await readTask(ctx);
    if (task && !hasSystemIdentity(task) && task.userAssignedIdentities.length > 0) {
      return userAssignedOnly(ctx);
    }
    // The user's task file will create the task: a broken one is refused before anything changes.
    const taskFile = !task && a.taskFile ? taskFileProblem(a.taskFile) : undefined;
    if (taskFile) return blocked('TaskFileInvalid', taskFile, TASK_FILE_HINT);

    const abac = isAbacRegistry(target);
    const outputs = {
      ...preflightOutputs(ctx, registry, target),
      taskBefore: await taskBefore(ctx, task, abac && targetIsHome(a)),
      ...(target.roleAssignmentMode ? { roleAssignmentMode: target.roleAssignmentMode } : {}),
    };
    const mode = abac ? 'ABAC repository permissions' : 'RBAC registry permissions';
    const names = target === registry ? `registry ${target.name}` : `registries ${registry.name} and ${target.name}`;
    const role = roleFor(a.role, abac);
    const abacNote = abac
      ? ` (it ignores AcrPush and AcrPull: the task gets ${role}${role !== a.role ? ` instead of ${a.role}` : ''}${targetIsHome(a) ? ', and its own registry through its source registry identity [system]' : ''})`
      : '';
    return {
      status: 'done',
      evidence: `${names} found; ${target.name} is Premium with ${mode}${abacNote}; you may assign roles on it`,
      outputs,
    };
  },

  // Nothing to change: preflight only reads. Apply re-checks so a runner that always applies
  // gets the same outputs (or the same refusal, as an error).
  async apply(ctx) {
    const result = await preflight.check(ctx);
    if (result.status === 'blocked') throw new AcrTrustError(result.reason, { hint: result.hint, code: result.code });
    return result.outputs;
  },

  // Restores the target registry's original network settings exactly, PATCHing only what differs.
  async undo(ctx) {
    const original = outputsOf(ctx, 'preflight').original;
    const { answers: a, cloud } = ctx.world;
    if (!original) return { changed: false, evidence: `no original network settings recorded: nothing to undo` };
    const target = await cloud.getRegistry(a.resourceGroup, a.targetRegistry);
    if (!target) return { changed: false, evidence: `registry ${a.targetRegistry} not found: nothing to undo` };
    const patch = networkDiff(networkSettingsOf(target), original);
    const fields = Object.keys(patch);
    if (fields.length === 0) return { changed: false, evidence: `registry ${a.targetRegistry} has its original network settings (checked now)` };
    await patchTarget(ctx, patch);
    return { changed: true, evidence: `restored ${fields.join(', ')} on ${a.targetRegistry}` };
  },
};

/**
 * The task as it was before the workflow changed anything, taken only the first time (like the
 * network settings): its identity, login mode and every custom registry credential, read with
 * listDetails (a GET may hide the entries as null) — one request, once per workflow. With
 * `sourceIdentity` (an ABAC target that is the task's own registry, where add-credential sets it)
 * also its `credentials.sourceRegistry.identity`, read at api-version 2025-03-01-preview; a record
 * taken earlier without it gets it as long as add-credential has not changed the task yet.
 */
async function taskBefore(ctx: Ctx, task: Task | undefined, sourceIdentity: boolean): Promise<TaskBefore> {
  const recorded = outputsOf(ctx, 'preflight').taskBefore;
  if (recorded) {
    const missing = recorded.exists && sourceIdentity && recorded.sourceRegistryIdentity === undefined && !outputsOf(ctx, 'add-credential').sourceIdentitySet;
    return missing ? { ...recorded, sourceRegistryIdentity: await readSourceIdentity(ctx) } : recorded;
  }
  if (!task) return { exists: false };
  const { answers: a, cloud } = ctx.world;
  const details = Object.values(task.customRegistries).some((e) => e === null) ? ((await cloud.getTaskDetails(a.resourceGroup, a.registry, a.task)) ?? task) : task;
  const customRegistries: Extract<TaskBefore, { exists: true }>['customRegistries'] = {};
  for (const [server, entry] of Object.entries(details.customRegistries)) customRegistries[server] = entry ? { ...(entry.identity ? { identity: entry.identity } : {}), hasUserName: entry.hasUserName } : { hasUserName: false };
  return {
    exists: true,
    identityType: task.identityType,
    ...(task.sourceRegistryLoginMode ? { sourceRegistryLoginMode: task.sourceRegistryLoginMode } : {}),
    customRegistries,
    ...(sourceIdentity ? { sourceRegistryIdentity: await readSourceIdentity(ctx) } : {}),
  };
}

/** The task's source registry identity now (null: none). */
async function readSourceIdentity(ctx: Ctx): Promise<string | null> {
  const { answers: a, cloud } = ctx.world;
  return (await cloud.getTaskSourceIdentity(a.resourceGroup, a.registry, a.task))?.identity ?? null;
}

/**
 * The outputs, with the original network settings taken only the first time: a resumed run must
 * not overwrite them with settings the workflow has already half changed.
 */
function preflightOutputs(ctx: Ctx, registry: Registry, target: Registry): Omit<StepOutputs['preflight'], 'taskBefore'> {
  return {
    registryId: registry.id,
    targetRegistryId: target.id,
    loginServer: registry.loginServer,
    targetLoginServer: target.loginServer,
    location: registry.location,
    original: outputsOf(ctx, 'preflight').original ?? networkSettingsOf(target),
  };
}

export function userAssignedOnly(ctx: Ctx): CheckResult {
  const { task, registry } = ctx.world.answers;
  return blocked(
    'UserAssignedIdentityOnly',
    `Task ${task} has only a user-assigned identity; only a task's system-assigned identity may bypass a registry's network rules.`,
    `Give it a system-assigned identity (\`az acr task identity assign -n ${task} -r ${registry}\`) or choose another task name with --task.`,
  );
}

/** The writes the workflow makes on the task's registry (create-task, run-task) and on the target
 *  registry (its network settings); the role assignment is checked on its own. */
const HOME_ACTIONS = ['Microsoft.ContainerRegistry/registries/tasks/write', 'Microsoft.ContainerRegistry/registries/scheduleRun/action'];
const TARGET_ACTIONS = ['Microsoft.ContainerRegistry/registries/write'];
/** The agent-pool path creates the pool in the task's registry. */
const AGENT_POOL_WRITE = 'Microsoft.ContainerRegistry/registries/agentPools/write';
const ROLE_ASSIGNMENT_WRITE = 'Microsoft.Authorization/roleAssignments/write';

/** A refusal, with the documentation link of its rule in the error table (`rule` when it is not named like the code). */
function blocked(code: string, reason: string, hint: string, rule = code): CheckResult {
  const link = ruleById(rule)?.link;
  return { status: 'blocked', code, reason, hint, ...(link ? { link } : {}) };
}
