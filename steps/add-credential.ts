/**
 * Step 4 — add-credential: the task authenticates to the target registry with its system identity.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import type { Task } from '../src/azure/index.js';
import { loginServerFor, type World } from './world.js';
import { outputsOf, readTargetRegistry, readTask, registryMissing, sh, taskMissing, type Blocked, type Ctx } from './lib/context.js';

const SYSTEM_IDENTITY = '[system]';

export const addCredential: Step<World> = {
  id: 'add-credential',
  title: "Add the target registry's credential to the task, using the task's system identity",

  why:
    'With its default auth mode off, the task has no credential for any registry until one is added. The credential ' +
    '"[system]" for the target\'s login server makes the run authenticate there with the system-assigned identity — the ' +
    'identity the bypass trusts and the role was given to. Forgetting this step is the most common reason the bypass ' +
    '"does not work": the run then fails with "unauthorized: authentication required".',

  portal: 'Not in the portal: task credentials are managed with the CLI (az acr task credential)',

  az: ({ answers: a, loginServerSuffix }) => [
    `az acr task credential add -n ${a.task} -r ${a.registry} --login-server ${loginServerFor({ loginServerSuffix }, a.targetRegistry)} --use-identity ${sh(SYSTEM_IDENTITY)}`,
  ],

  async check(ctx): Promise<CheckResult> {
    const state = await readCredential(ctx);
    if ('status' in state) return state;
    const { task, loginServer, identity } = state;
    if (identity && isSystem(identity)) {
      return { status: 'done', evidence: `task ${task.name} logs in to ${loginServer} as ${identity}`, outputs: { ...outputsOf(ctx, 'add-credential'), loginServer } };
    }
    return {
      status: 'pending',
      change: identity ? `use the system identity for ${loginServer} on task ${task.name} (now ${identity})` : `add credential ${loginServer} → [system] to task ${task.name}`,
    };
  },

  async apply(ctx) {
    const state = await readCredential(ctx);
    if ('status' in state) throw new AcrTrustError(state.reason, { hint: state.hint, code: state.code });
    if (state.identity && isSystem(state.identity)) return { loginServer: state.loginServer };
    const { answers: a, cloud } = ctx.world;
    // Only an entry acr-trust adds is removed by undo; replacing the user's entry is not "added".
    const added = state.identity === undefined;
    if (added) ctx.record({ loginServer: state.loginServer, added });
    await cloud.addTaskCredential(a.resourceGroup, a.registry, a.task, state.loginServer, SYSTEM_IDENTITY);
    return { loginServer: state.loginServer, ...(added ? { added } : {}) };
  },

  async undo(ctx) {
    const { loginServer, added } = outputsOf(ctx, 'add-credential');
    const { answers: a, cloud } = ctx.world;
    if (!loginServer || !added) return { changed: false, evidence: `acr-trust added no credential to task ${a.task} (as recorded): nothing to undo` };
    const task = await readTask(ctx);
    if (!task) return { changed: false, evidence: `task ${a.task} not found in ${a.registry}: nothing to undo` };
    if (credentialFor(task, loginServer) === undefined) return { changed: false, evidence: `task ${a.task} has no credential for ${loginServer}: nothing to undo` };
    await cloud.removeTaskCredential(a.resourceGroup, a.registry, a.task, loginServer);
    return { changed: true, evidence: `removed the ${loginServer} credential from task ${a.task}` };
  },
};

function isSystem(identity: string): boolean {
  return /^\[?system\]?$/i.test(identity);
}

/** The task, the target's login server, and the identity of the task's credential for it (if any). */
async function readCredential(ctx: Ctx): Promise<Blocked | { task: Task; loginServer: string; identity?: string }> {
  const { answers: a, cloud } = ctx.world;
  const task = await readTask(ctx);
  if (!task) return taskMissing(ctx);
  const target = await readTargetRegistry(ctx);
  if (!target) return registryMissing(ctx, a.targetRegistry);
  const loginServer = target.loginServer;
  let entry = credentialFor(task, loginServer);
  // GET may blank secrets (`{"<server>": null}`); listDetails has them.
  if (entry === null) entry = credentialFor((await cloud.getTaskDetails(a.resourceGroup, a.registry, a.task)) ?? task, loginServer);
  return { task, loginServer, identity: entry?.identity };
}

function credentialFor(task: Task, loginServer: string): Task['customRegistries'][string] | undefined {
  const key = Object.keys(task.customRegistries).find((k) => k.toLowerCase() === loginServer.toLowerCase());
  return key === undefined ? undefined : task.customRegistries[key];
}
