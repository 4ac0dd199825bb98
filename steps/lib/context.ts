/**
 * What every step file shares: the context type, the outputs each step records (typed), and the
 * live look-ups of the two registries and the task.
 */
import type { CheckResult, StepContext } from '../../src/engine/step.js';
import { ruleById, type NetworkSettings, type Registry, type Task } from '../../src/azure/index.js';
import type { World } from '../world.js';

export type Ctx = StepContext<World>;
export type Blocked = Extract<CheckResult, { status: 'blocked' }>;

/** Outputs by step id, as the steps record them. */
export interface StepOutputs {
  preflight: {
    registryId: string;
    targetRegistryId: string;
    loginServer: string;
    targetLoginServer: string;
    location: string;
    /** The target registry's network settings before acr-trust changed anything. */
    original: NetworkSettings;
  };
  'create-task': { taskId: string; principalId: string; /** acr-trust created the task (so `undo` may delete it). */ created?: boolean };
  'assign-role': { roleAssignmentId: string; /** acr-trust created the assignment (so `undo` may delete it). */ created?: boolean };
  'add-credential': { loginServer: string; /** acr-trust added the entry (so `undo` may remove it). */ added?: boolean };
  'run-task': { runId: string; status?: string };
  'confirm-denied': { runId: string; evidence?: string };
}

/** What a step recorded earlier (any field may be missing: a step may never have run). */
export function outputsOf<K extends keyof StepOutputs>(ctx: Ctx, id: K): Partial<StepOutputs[K]> {
  return (ctx.outputs[id] ?? {}) as Partial<StepOutputs[K]>;
}

export async function readTargetRegistry(ctx: Ctx): Promise<Registry | undefined> {
  const { answers, cloud } = ctx.world;
  return cloud.getRegistry(answers.resourceGroup, answers.targetRegistry);
}

export async function readTask(ctx: Ctx): Promise<Task | undefined> {
  const { answers, cloud } = ctx.world;
  return cloud.getTask(answers.resourceGroup, answers.registry, answers.task);
}

/** The check result when a step needs a registry that is gone. */
export function registryMissing(ctx: Ctx, name: string): Blocked {
  return {
    status: 'blocked',
    code: 'ResourceNotFound',
    reason: `Registry ${name} was not found in resource group ${ctx.world.answers.resourceGroup}.`,
    hint: `Check the name: \`az acr list -g ${ctx.world.answers.resourceGroup} -o table\`.`,
    link: ruleById('ResourceNotFound')?.link,
  };
}

/** The check result when a step needs the task (with its system identity) and it is not there. */
export function taskMissing(ctx: Ctx, task?: Task): Blocked {
  const { task: name, registry } = ctx.world.answers;
  return {
    status: 'blocked',
    code: task ? 'NoSystemIdentity' : 'ResourceNotFound',
    reason: task ? `Task ${name} has no system-assigned identity.` : `Task ${name} does not exist in registry ${registry}.`,
    hint: 'Run the create-task step first.',
  };
}

/** Single-quotes a word for a POSIX shell when it needs it (role names have spaces). */
export function sh(word: string): string {
  return /^[A-Za-z0-9._\-/:=@]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
