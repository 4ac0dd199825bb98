/**
 * Step 2 — create-task: an ACR task with a system-assigned identity and no implicit credential for
 * its own registry.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import { hasSystemIdentity, type Task, type TaskIdentityType } from '../src/azure/index.js';
import { loginServerFor, type World } from './world.js';
import { outputsOf, readTask, sh, taskIsOurs, type Ctx } from './lib/context.js';
import { BUILT_IN_TASK_FILE, builtInTaskLines, taskYaml } from './lib/task-yaml.js';
import { userAssignedOnly } from './preflight.js';

export const createTask: Step<World> = {
  id: 'create-task',
  title: 'Create the ACR task with a system-assigned identity and its default auth mode off',

  why:
    'A trusted service reaches a network-restricted registry with its own managed identity. For ACR Tasks only a ' +
    'system-assigned identity is trusted (user-assigned identities are not). The task\'s default auth mode is turned off ' +
    '(--auth-mode None, loginMode None) so the run gets no implicit credential: it must authenticate with the identity, ' +
    'which is what the bypass checks. The built-in task builds a sample image and pushes it to the target registry.',

  portal: 'Container registry → Services → Tasks (tasks are created with the CLI; the portal shows them and their identity)',

  // With --context /dev/null the CLI sends `version: v1.1.0` followed by the file: a file with a
  // version line of its own would hold the key twice, which ACR's runner refuses.
  az: (w) => {
    const a = w.answers;
    const create = (file: string) => `az acr task create -n ${a.task} -r ${a.registry} -f ${file} --context /dev/null --assign-identity --auth-mode None`;
    if (a.taskFile) {
      return [
        `# az acr task create -f FILE --context /dev/null puts "version: v1.1.0" in front of the file: the file goes in without a version line of its own`,
        `sed '/^version:/d' ${sh(a.taskFile)} | ${create('-')}`,
      ];
    }
    const lines = builtInTaskLines(loginServerFor(w, a.targetRegistry), { version: false });
    return [
      `# No version line: az acr task create -f FILE --context /dev/null puts "version: v1.1.0" in front of the file itself`,
      `printf '%s\\n' ${lines.map(sh).join(' ')} > ${BUILT_IN_TASK_FILE}`,
      create(BUILT_IN_TASK_FILE),
    ];
  },

  async check(ctx): Promise<CheckResult> {
    const { answers: a } = ctx.world;
    const task = await readTask(ctx);
    if (!task) return { status: 'pending', change: `create task ${a.task} in ${a.registry} with a system-assigned identity and loginMode None` };
    if (!hasSystemIdentity(task) && task.userAssignedIdentities.length > 0) return userAssignedOnly(ctx);
    const changes = wantedChanges(ctx, task);
    if (changes.length > 0) {
      const change = `${taskIsOurs(ctx) ? '' : 'change your existing '}task ${a.task}: ${changes.join('; ')}`;
      return { status: 'pending', change, ...(taskIsOurs(ctx) ? {} : { confirm: whyChangeExisting(ctx) }) };
    }
    const login = keepsHomeLogin(ctx) ? `its login to ${a.registry} left as it is (loginMode ${task.sourceRegistryLoginMode ?? 'Default'})` : 'loginMode None';
    return {
      status: 'done',
      evidence: `task ${task.name} has system identity ${task.principalId}, ${login}`,
      outputs: taskOutputs(ctx, task),
    };
  },

  async apply(ctx) {
    const { answers: a, cloud } = ctx.world;
    const existing = await readTask(ctx);
    if (existing) {
      // The task keeps its steps; only its identity (and, when the target is its own registry, its login mode) change.
      return taskOutputs(ctx, await cloud.updateTaskIdentity(a.resourceGroup, a.registry, a.task, { loginModeNone: !keepsHomeLogin(ctx) }));
    }
    const registry = await cloud.getRegistry(a.resourceGroup, a.registry);
    const target = a.targetRegistry === a.registry ? registry : await cloud.getRegistry(a.resourceGroup, a.targetRegistry);
    if (!registry || !target) {
      throw new AcrTrustError(`Registry ${!registry ? a.registry : a.targetRegistry} was not found in resource group ${a.resourceGroup}.`, { code: 'ResourceNotFound', hint: 'Run the preflight step again.' });
    }
    const yaml = taskYaml(target.loginServer, a.taskFile);
    // Recorded before the create so a crash right after it still lets `reset` delete the task.
    ctx.record({ created: true });
    const task = await cloud.createTask(a.resourceGroup, a.registry, a.task, { location: registry.location, taskYaml: yaml });
    return { ...taskOutputs(ctx, task), created: true };
  },

  // A task acr-trust created is deleted; a task the user had gets back the identity and login mode
  // preflight recorded before anything changed (its credentials: see add-credential's undo).
  async undo(ctx) {
    const { answers: a, cloud } = ctx.world;
    const task = await readTask(ctx);
    if (!task) return { changed: false, evidence: `task ${a.task} not found in ${a.registry}: nothing to undo` };
    if (taskIsOurs(ctx)) {
      await cloud.deleteTask(a.resourceGroup, a.registry, a.task);
      return { changed: true, evidence: `deleted task ${a.task} (created by acr-trust)` };
    }
    const before = outputsOf(ctx, 'preflight').taskBefore;
    if (!before?.exists) return { changed: false, evidence: `task ${a.task} was not created by acr-trust and its earlier settings were not recorded: left as it is` };
    const restore: { identityType?: TaskIdentityType; loginMode?: string } = {};
    const back: string[] = [];
    if (task.identityType !== before.identityType) {
      restore.identityType = before.identityType;
      back.push(`identity back to ${before.identityType}`);
    }
    const loginBefore = before.sourceRegistryLoginMode ?? 'Default';
    if ((task.sourceRegistryLoginMode ?? 'Default') !== loginBefore) {
      restore.loginMode = loginBefore;
      back.push(`loginMode back to ${loginBefore}`);
    }
    if (back.length === 0) return { changed: false, evidence: `task ${a.task} has its identity (${before.identityType}) and loginMode (${loginBefore}) as before (checked now)` };
    await cloud.restoreTask(a.resourceGroup, a.registry, a.task, restore);
    return { changed: true, evidence: `task ${a.task} (yours, kept): ${back.join(', ')}` };
  },
};

/**
 * What the workflow must change on the task: a system-assigned identity, and loginMode None — the
 * latter only when the target is the task's own registry. When the target is another registry
 * (a task in a Basic `acrbuild` pulling from the closed Premium `acrtrustdemo`, Azure/acr#859) the
 * task's login to its own registry is none of the workflow's business: turning it off would make
 * the task's pushes to its own registry fail with `unauthorized`. The target is reached with the
 * `[system]` credential add-credential adds, which replaces the run's token for that login server.
 */
function wantedChanges(ctx: Ctx, task: Task): string[] {
  const changes: string[] = [];
  if (!hasSystemIdentity(task)) changes.push(`give it a system-assigned identity (now ${task.identityType})`);
  if (!keepsHomeLogin(ctx) && task.sourceRegistryLoginMode !== 'None') changes.push(`set loginMode None (now ${task.sourceRegistryLoginMode ?? 'Default'})`);
  return changes;
}

/** The target is another registry: the task's login to its own registry stays as it is. */
function keepsHomeLogin(ctx: Ctx): boolean {
  const { registry, targetRegistry } = ctx.world.answers;
  return registry.toLowerCase() !== targetRegistry.toLowerCase();
}

/** Said before the wizard changes a task the user already had: why, and that reset puts it back. */
function whyChangeExisting(ctx: Ctx): string {
  const { task, registry, targetRegistry } = ctx.world.answers;
  const login = keepsHomeLogin(ctx)
    ? `Its login to its own registry ${registry} is left as it is (the target is ${targetRegistry}).`
    : `With loginMode None the task gets no implicit credential for ${registry}: its runs must sign in with the identity, which is what the bypass checks — any other step of this task that relied on the implicit login now needs a credential too.`;
  return (
    `Task ${task} is yours (acr-trust did not create it). Only a task's system-assigned identity may pass a registry's network rules, so it gets one. ${login} ` +
    '`acr-trust reset` puts back the identity, login mode and credentials it has now.'
  );
}

function taskOutputs(ctx: Ctx, task: Task): { taskId: string; principalId: string; created?: boolean } {
  const created = outputsOf(ctx, 'create-task').created;
  return { taskId: task.id, principalId: task.principalId ?? '', ...(created ? { created } : {}) };
}
