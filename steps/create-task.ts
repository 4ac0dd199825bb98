/**
 * Step 2 — create-task: an ACR task with a system-assigned identity and no implicit credential for
 * its own registry.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import { hasSystemIdentity, type Task } from '../src/azure/index.js';
import { loginServerFor, type World } from './world.js';
import { outputsOf, readTask, sh, type Ctx } from './lib/context.js';
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
    if (!hasSystemIdentity(task)) {
      if (task.userAssignedIdentities.length > 0) return userAssignedOnly(ctx);
      return { status: 'pending', change: `give task ${a.task} a system-assigned identity and set loginMode None` };
    }
    if (task.sourceRegistryLoginMode !== 'None') {
      return { status: 'pending', change: `set loginMode None on task ${a.task} (now ${task.sourceRegistryLoginMode ?? 'Default'})` };
    }
    return {
      status: 'done',
      evidence: `task ${task.name} has system identity ${task.principalId}, loginMode None`,
      outputs: taskOutputs(ctx, task),
    };
  },

  async apply(ctx) {
    const { answers: a, cloud } = ctx.world;
    const existing = await readTask(ctx);
    if (existing) {
      // The user's own task keeps its steps; only its identity and login mode change.
      return taskOutputs(ctx, await cloud.updateTaskIdentity(a.resourceGroup, a.registry, a.task));
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

  // Deletes the task only if acr-trust created it: a task the user brought stays.
  async undo(ctx) {
    const { answers: a, cloud } = ctx.world;
    const task = await readTask(ctx);
    if (!task) return { changed: false, evidence: `task ${a.task} not found in ${a.registry}: nothing to undo` };
    if (!outputsOf(ctx, 'create-task').created) return { changed: false, evidence: `task ${a.task} was not created by acr-trust: left as it is` };
    await cloud.deleteTask(a.resourceGroup, a.registry, a.task);
    return { changed: true, evidence: `deleted task ${a.task} (created by acr-trust)` };
  },
};

function taskOutputs(ctx: Ctx, task: Task): { taskId: string; principalId: string; created?: boolean } {
  const created = outputsOf(ctx, 'create-task').created;
  return { taskId: task.id, principalId: task.principalId ?? '', ...(created ? { created } : {}) };
}
