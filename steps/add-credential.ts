/**
 * Step 4 — add-credential: the task authenticates to the target registry with its system identity.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import type { Task } from '../src/azure/index.js';
import { loginServerFor, type World } from './world.js';
import { credentialFor, outputsOf, readTargetRegistry, readTask, registryMissing, sh, taskIsOurs, taskMissing, type Blocked, type Ctx } from './lib/context.js';

const SYSTEM_IDENTITY = '[system]';

export const addCredential: Step<World> = {
  id: 'add-credential',
  title: "Add the target registry's credential to the task, using the task's system identity",

  why:
    'With its default auth mode off, the task has no credential for any registry until one is added. The credential ' +
    '"[system]" for the target\'s login server makes the run authenticate there with the system-assigned identity — the ' +
    'identity the bypass trusts and the role was given to. Forgetting this step is the most common reason the bypass ' +
    '"does not work": with public access already off the run then fails with the firewall\'s denial ("client with IP … ' +
    'is not allowed access": without a credential nothing presents the identity the bypass trusts); with public access ' +
    'on, with "unauthorized: authentication required".',

  portal: 'Not in the portal: task credentials are managed with the CLI (az acr task credential)',

  az: ({ answers: a, loginServerSuffix }) => [
    `az acr task credential add -n ${a.task} -r ${a.registry} --login-server ${loginServerFor({ loginServerSuffix }, a.targetRegistry)} --use-identity ${sh(SYSTEM_IDENTITY)}`,
  ],

  async check(ctx): Promise<CheckResult> {
    const state = await readCredential(ctx);
    if ('status' in state) return state;
    const { task, loginServer, entry } = state;
    const identity = entry?.identity;
    if (identity && isSystem(identity)) {
      return { status: 'done', evidence: `task ${task.name} logs in to ${loginServer} as ${identity}`, outputs: { ...outputsOf(ctx, 'add-credential'), loginServer } };
    }
    if (entry && !identity && entry.hasUserName) {
      // Replacing it would lose a password acr-trust never stores: reset could not put it back.
      return {
        status: 'blocked',
        code: 'CredentialHasPassword',
        reason: `Task ${task.name} logs in to ${loginServer} with a user name and password; acr-trust would replace that with the task's identity and could not put the password back on reset.`,
        hint: `Remove it yourself if the identity is to replace it (\`az acr task credential remove -n ${task.name} -r ${ctx.world.answers.registry} --login-server ${loginServer}\`), then run again; or use another task (--task).`,
      };
    }
    const change = identity ? `use the system identity for ${loginServer} on task ${task.name} (now ${identity})` : `add credential ${loginServer} → [system] to task ${task.name}`;
    if (taskIsOurs(ctx)) return { status: 'pending', change };
    return {
      status: 'pending',
      change: `change your existing task ${task.name}: ${change}`,
      confirm:
        `Task ${task.name} is yours (acr-trust did not create it). Its runs must sign in to ${loginServer} with the system identity — the identity the bypass trusts and the role is given to — ` +
        `so ${identity ? `its credential for ${loginServer} (identity ${identity}) is replaced` : `a credential for ${loginServer} is added`}; its other credentials are left alone. \`acr-trust reset\` puts back what it has now.`,
    };
  },

  async apply(ctx) {
    const state = await readCredential(ctx);
    if ('status' in state) throw new AcrTrustError(state.reason, { hint: state.hint, code: state.code });
    const identity = state.entry?.identity;
    if (identity && isSystem(identity)) return { loginServer: state.loginServer };
    const { answers: a, cloud } = ctx.world;
    // Only an entry acr-trust adds is removed by undo; replacing the user's entry is not "added".
    const added = identity === undefined;
    if (added) ctx.record({ loginServer: state.loginServer, added });
    await cloud.addTaskCredential(a.resourceGroup, a.registry, a.task, state.loginServer, SYSTEM_IDENTITY);
    return { loginServer: state.loginServer, ...(added ? { added } : {}) };
  },

  // Puts the task's credential for the target back to what preflight recorded on a task the user
  // had (removed if it had none, its earlier identity otherwise); on a task acr-trust created,
  // removes the entry it added.
  async undo(ctx) {
    const { loginServer, added } = outputsOf(ctx, 'add-credential');
    const { answers: a, cloud } = ctx.world;
    if (!loginServer) return { changed: false, evidence: `no credential was recorded for task ${a.task}: nothing to undo` };
    const before = outputsOf(ctx, 'preflight').taskBefore;
    const state = await readCredential(ctx);
    if ('status' in state) return { changed: false, evidence: `${state.reason.replace(/\.$/, '')}: nothing to undo` };
    const now = state.entry;
    const earlier = !taskIsOurs(ctx) && before?.exists ? credentialFor(before, loginServer) : undefined;
    if (!taskIsOurs(ctx) && before?.exists) {
      if (earlier?.identity !== undefined) {
        if (now?.identity === earlier.identity) return { changed: false, evidence: `task ${a.task} logs in to ${loginServer} as ${earlier.identity}, as before (checked now)` };
        await cloud.addTaskCredential(a.resourceGroup, a.registry, a.task, loginServer, earlier.identity);
        return { changed: true, evidence: `task ${a.task}'s credential for ${loginServer} back to identity ${earlier.identity}` };
      }
      if (earlier) return { changed: false, evidence: `task ${a.task}'s own credential for ${loginServer} was never changed: left as it is` };
    } else if (!added) {
      return { changed: false, evidence: `acr-trust added no credential to task ${a.task} (as recorded): nothing to undo` };
    }
    if (now === undefined) return { changed: false, evidence: `task ${a.task} has no credential for ${loginServer}, as before (checked now)` };
    await cloud.removeTaskCredential(a.resourceGroup, a.registry, a.task, loginServer);
    return { changed: true, evidence: `removed the ${loginServer} credential from task ${a.task}` };
  },
};

function isSystem(identity: string): boolean {
  return /^\[?system\]?$/i.test(identity);
}

/** The task, the target's login server, and the task's credential entry for it (if any; read with listDetails when a GET hid it). */
async function readCredential(ctx: Ctx): Promise<Blocked | { task: Task; loginServer: string; entry?: { identity?: string; hasUserName: boolean } }> {
  const { answers: a, cloud } = ctx.world;
  const task = await readTask(ctx);
  if (!task) return taskMissing(ctx);
  const target = await readTargetRegistry(ctx);
  if (!target) return registryMissing(ctx, a.targetRegistry);
  const loginServer = target.loginServer;
  let entry = credentialFor(task, loginServer);
  // GET may blank secrets (`{"<server>": null}`); listDetails has them.
  if (entry === null) entry = credentialFor((await cloud.getTaskDetails(a.resourceGroup, a.registry, a.task)) ?? task, loginServer);
  return { task, loginServer, entry: entry ?? undefined };
}
