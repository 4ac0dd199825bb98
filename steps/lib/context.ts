/**
 * What every step file shares: the context type, the outputs each step records (typed), and the
 * live look-ups of the two registries and the task.
 */
import type { CheckResult, StepContext } from '../../src/engine/step.js';
import { ruleById, type NetworkSettings, type Registry, type Task, type TaskIdentityType } from '../../src/azure/index.js';
import type { Answers, RoleName, World } from '../world.js';

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
    /** The task as it was before acr-trust changed anything (read once, the first time). */
    taskBefore: TaskBefore;
    /** The target registry's `roleAssignmentMode` as preflight read it (`AbacRepositoryPermissions`,
     *  `LegacyRegistryPermissions`; absent when the registry did not say: legacy). */
    roleAssignmentMode?: string;
  };
  'create-task': { taskId: string; principalId: string; /** acr-trust created the task (so `undo` may delete it). */ created?: boolean };
  'assign-role': {
    roleAssignmentId: string;
    /** acr-trust created the assignment (so `undo` may delete it). */
    created?: boolean;
    /** The role assigned: the answer's, or its repository equivalent on an ABAC registry (see `roleFor`). */
    role?: string;
  };
  'add-credential': {
    loginServer: string;
    /** acr-trust added the entry (so `undo` may remove it). */
    added?: boolean;
    /** acr-trust set the task's `credentials.sourceRegistry.identity` to [system] (an ABAC target that is
     *  the task's own registry), so `undo` puts back `sourceIdentityBefore`. */
    sourceIdentitySet?: boolean;
    /** The source identity the task had just before acr-trust set it; null: none. */
    sourceIdentityBefore?: string | null;
  };
  'agent-pool': {
    /** The pool the task was put on. */
    pool: string;
    /** acr-trust created the pool (so `undo` may delete it). */
    created?: boolean;
    /** The task's `agentPoolName` before acr-trust changed it ('' = Azure's shared agents), for `undo`. */
    taskPoolBefore?: string;
  };
  'run-task': { runId: string; status?: string };
  'confirm-denied': {
    runId: string;
    evidence?: string;
    /** 'true' when the run still succeeded with trusted services off while the task switch was on:
     *  this registry admits tasks with the switch alone (the task-switch-only model). */
    admittedBySwitch?: string;
    /** 'true' when confirm-denied turned networkRuleBypassAllowedForTasks off (so `undo` turns it back on). */
    taskSwitchOff?: string;
  };
}

/**
 * A task as preflight first found it, so `reset` can put back exactly what the workflow changed on
 * a task the user already had: its identity, its login to its own registry, and every custom
 * registry credential (read with listDetails: a GET may hide entries as null). A credential's
 * password is never recorded: only that it has a user name.
 */
export type TaskBefore =
  | { exists: false }
  | {
      exists: true;
      identityType: TaskIdentityType;
      /** `credentials.sourceRegistry.loginMode`; undefined when the task had none (Azure's default applies). */
      sourceRegistryLoginMode?: string;
      customRegistries: Record<string, { identity?: string; hasUserName: boolean }>;
      /** `credentials.sourceRegistry.identity` (api-version 2025-03-01-preview): read only where the
       *  workflow may set it — an ABAC target that is the task's own registry; null: the task had none;
       *  absent: not read. */
      sourceRegistryIdentity?: string | null;
    };

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

/** The target is the task's own registry (registry names are case-insensitive). */
export function targetIsHome(a: Pick<Answers, 'registry' | 'targetRegistry'>): boolean {
  return a.registry.toLowerCase() === a.targetRegistry.toLowerCase();
}

/** A registry with ABAC repository permissions (`roleAssignmentMode = AbacRepositoryPermissions`). */
export function isAbacRegistry(r: Pick<Registry, 'roleAssignmentMode'> | undefined): boolean {
  return r?.roleAssignmentMode === 'AbacRepositoryPermissions';
}

/**
 * The role assign-role gives: the answer, except that on an ABAC registry the legacy registry roles
 * become their repository equivalents — AcrPush → Container Registry Repository Writer, AcrPull →
 * Container Registry Repository Reader — because ABAC registries do not honour AcrPull, AcrPush or
 * AcrDelete (Microsoft Learn, "Azure ABAC repository permissions": "Legacy ACR roles such as
 * AcrPull, AcrPush, and AcrDelete are not honored in ABAC-enabled registries"; role GUIDs from the
 * built-in roles table: Reader b93aa761-…, Writer 2a1e307c-…).
 */
export function roleFor(role: RoleName, abac: boolean): RoleName {
  if (!abac) return role;
  if (role === 'AcrPush') return 'Container Registry Repository Writer';
  if (role === 'AcrPull') return 'Container Registry Repository Reader';
  return role;
}

/** The system identity in a credential (`[system]`; `system` is accepted as the CLI accepts it). */
export function isSystemIdentity(identity: string | undefined | null): boolean {
  return typeof identity === 'string' && /^\[?system\]?$/i.test(identity);
}

/** Whether acr-trust created the task (then `reset` deletes it); otherwise it is the user's own. */
export function taskIsOurs(ctx: Ctx): boolean {
  return outputsOf(ctx, 'create-task').created === true;
}

/** A task's credential entry for a login server (case-insensitive): undefined when it has none,
 *  null when the GET hid it (then listDetails has it). */
export function credentialFor(task: Pick<Task, 'customRegistries'>, loginServer: string): Task['customRegistries'][string] | undefined {
  const key = Object.keys(task.customRegistries).find((k) => k.toLowerCase() === loginServer.toLowerCase());
  return key === undefined ? undefined : task.customRegistries[key];
}

/** The check result when a step needs a registry that is gone. */
export function registryMissing(ctx: Ctx, name: string, known?: readonly { name: string; resourceGroup: string }[]): Blocked {
  const group = ctx.world.answers.resourceGroup;
  const flag = name === ctx.world.answers.registry ? '--registry' : '--target-registry';
  const here = known?.filter((r) => r.resourceGroup.toLowerCase() === group.toLowerCase()).map((r) => r.name) ?? [];
  const elsewhere = known?.filter((r) => r.resourceGroup.toLowerCase() !== group.toLowerCase()).map((r) => `${r.name} (resource group ${r.resourceGroup})`) ?? [];
  const listed = known
    ? `Registries in resource group ${group}: ${here.join(', ') || 'none'}${elsewhere.length ? `; elsewhere in the subscription: ${elsewhere.join(', ')}` : ''}. Fix ${flag} (or --resource-group).`
    : `Check the name: \`az acr list -g ${group} -o table\`.`;
  return {
    status: 'blocked',
    code: 'ResourceNotFound',
    reason: `Registry ${name} was not found in resource group ${group}.`,
    hint: listed,
    link: ruleById('ResourceNotFound')?.link,
    // The group's only registry is the one meant: the command to run again names it.
    ...(here.length === 1 ? { addArgs: [flag, here[0]!] } : {}),
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
