/**
 * Step 4 — add-credential: the task authenticates to the target registry with its system identity.
 *
 * Where the target is the task's own registry and that registry uses ABAC repository permissions,
 * the credential is the task's source registry identity (`credentials.sourceRegistry.identity =
 * [system]`, api-version 2025-03-01-preview) rather than a `customRegistries` entry: ABAC
 * registries give a task no implicit access to its own registry, and the source identity is the
 * documented replacement (`az acr task create/update --source-acr-auth-id`). The runner keeps one
 * credential per login server (Azure/acr-builder graph/task.go: `RegistryLoginCredentials` is a
 * map keyed by registry, filled from the run's credentials in order), so a `[system]` entry for
 * the same server beside it would be a second source of the same login: it is not added, and an
 * entry the user had for it with another identity is switched to `[system]` (it would stand in for
 * the source identity). A cross-registry target keeps its `customRegistries` entry.
 */
import type { CheckResult, Step, UndoOutcome } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import { TASK_SOURCE_IDENTITY_API_VERSION, type Registry, type Task } from '../src/azure/index.js';
import { abacForAz, loginServerFor, type Answers, type World } from './world.js';
import {
  credentialFor,
  isAbacRegistry,
  isSystemIdentity,
  outputsOf,
  readTargetRegistry,
  readTask,
  registryMissing,
  sh,
  targetIsHome,
  taskIsOurs,
  taskMissing,
  type Blocked,
  type Ctx,
} from './lib/context.js';

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
    'on, with "unauthorized: authentication required". On a registry with ABAC repository permissions that is the task\'s ' +
    'own registry, the credential is the task\'s source registry identity instead (credentials.sourceRegistry.identity = ' +
    '[system], `az acr task update --source-acr-auth-id [system]`, api-version 2025-03-01-preview): such a registry gives ' +
    'a task no implicit access to its own registry, and a pushing run without any credential stops right after reading ' +
    'its source with "when specifying push, at least one credential is required".',

  portal: 'Not in the portal: task credentials are managed with the CLI (az acr task credential; az acr task update --source-acr-auth-id)',

  az: (world) => {
    const a = world.answers;
    const loginServer = loginServerFor(world, a.targetRegistry);
    if (!targetIsHome(a)) return [credentialLine(a, loginServer)];
    const abac = abacForAz(world);
    if (abac === true) return sourceIdentityLines(a);
    if (abac === false) return [credentialLine(a, loginServer)];
    return [
      credentialLine(a, loginServer),
      `# If ${a.registry} uses ABAC repository permissions (roleAssignmentMode AbacRepositoryPermissions), acr-trust gives the task a source registry identity instead of the line above: az acr task update -n ${a.task} -r ${a.registry} --source-acr-auth-id '[system]' (a newer az than 2.45; or az rest at api-version ${TASK_SOURCE_IDENTITY_API_VERSION})`,
    ];
  },

  async check(ctx): Promise<CheckResult> {
    const state = await readCredential(ctx);
    if ('status' in state) return state;
    if (usesSourceIdentity(ctx, state.target)) return checkSourceIdentity(ctx, state);
    const { task, loginServer, entry } = state;
    const identity = entry?.identity;
    if (identity && isSystemIdentity(identity)) {
      return { status: 'done', evidence: `task ${task.name} logs in to ${loginServer} as ${identity}`, outputs: { ...outputsOf(ctx, 'add-credential'), loginServer } };
    }
    if (entry && !identity && entry.hasUserName) return passwordBlocked(ctx, task, loginServer);
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
    if (usesSourceIdentity(ctx, state.target)) return applySourceIdentity(ctx, state);
    const identity = state.entry?.identity;
    if (identity && isSystemIdentity(identity)) return { loginServer: state.loginServer };
    if (state.entry && !identity && state.entry.hasUserName) {
      const b = passwordBlocked(ctx, state.task, state.loginServer);
      throw new AcrTrustError(b.reason, { hint: b.hint, code: b.code });
    }
    const { answers: a, cloud } = ctx.world;
    // Only an entry acr-trust adds is removed by undo; replacing the user's entry is not "added".
    const added = identity === undefined;
    if (added) ctx.record({ loginServer: state.loginServer, added });
    await cloud.addTaskCredential(a.resourceGroup, a.registry, a.task, state.loginServer, SYSTEM_IDENTITY);
    return { loginServer: state.loginServer, ...(added ? { added } : {}) };
  },

  // Puts the task's credential for the target back to what preflight recorded on a task the user
  // had (removed if it had none, its earlier identity otherwise); on a task acr-trust created,
  // removes the entry it added. A source registry identity acr-trust set goes back to the one the
  // task had before (none: removed).
  async undo(ctx) {
    const { loginServer, sourceIdentitySet } = outputsOf(ctx, 'add-credential');
    const { answers: a } = ctx.world;
    if (!loginServer) return { changed: false, evidence: `no credential was recorded for task ${a.task}: nothing to undo` };
    const entry = await undoEntry(ctx, loginServer);
    if (!sourceIdentitySet) return entry;
    const source = await undoSourceIdentity(ctx);
    // The entry's part only when it had something to say beyond "acr-trust added none".
    const parts = outputsOf(ctx, 'add-credential').added || entry.changed ? [source, entry] : [source];
    return { changed: parts.some((p) => p.changed), evidence: parts.map((p) => p.evidence).join('; ') };
  },
};

// ---- the customRegistries entry ------------------------------------------------------------------

function credentialLine(a: Answers, loginServer: string): string {
  return `az acr task credential add -n ${a.task} -r ${a.registry} --login-server ${loginServer} --use-identity ${sh(SYSTEM_IDENTITY)}`;
}

function passwordBlocked(ctx: Ctx, task: Task, loginServer: string): Blocked {
  // Replacing it would lose a password acr-trust never stores: reset could not put it back.
  return {
    status: 'blocked',
    code: 'CredentialHasPassword',
    reason: `Task ${task.name} logs in to ${loginServer} with a user name and password; acr-trust would replace that with the task's identity and could not put the password back on reset.`,
    hint: `Remove it yourself if the identity is to replace it (\`az acr task credential remove -n ${task.name} -r ${ctx.world.answers.registry} --login-server ${loginServer}\`), then run again; or use another task (--task).`,
  };
}

/** The entry's part of undo (see the step's undo). */
async function undoEntry(ctx: Ctx, loginServer: string): Promise<UndoOutcome> {
  const { added } = outputsOf(ctx, 'add-credential');
  const { answers: a, cloud } = ctx.world;
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
}

// ---- the source registry identity (an ABAC registry that is the task's own) ----------------------

/** Whether the credential is the task's source registry identity: an ABAC target that is the task's own registry. */
function usesSourceIdentity(ctx: Ctx, target: Registry): boolean {
  return targetIsHome(ctx.world.answers) && isAbacRegistry(target);
}

/**
 * The az lines for the source identity: the command of a current az (`--source-acr-auth-id` came
 * after Debian's 2.45), and, commented out, the same PATCH as `az rest` at api-version
 * 2025-03-01-preview for that CLI (as assign-role does for `az role assignment create`).
 */
function sourceIdentityLines(a: Answers): string[] {
  const body = `{'properties': {'credentials': {'sourceRegistry': {'identity': '${SYSTEM_IDENTITY}'}}}}`;
  return [
    `# Registry ${a.registry} uses ABAC repository permissions: a task gets no implicit access to its own registry, so its runs log in to it with the task's source registry identity`,
    `az acr task update -n ${a.task} -r ${a.registry} --source-acr-auth-id ${sh(SYSTEM_IDENTITY)}`,
    `# Debian's azure-cli 2.45 has no --source-acr-auth-id (newer CLIs have it). With that CLI, send the same ARM call (api-version ${TASK_SOURCE_IDENTITY_API_VERSION}) with the commented-out az rest line that acr-trust export writes next:`,
    `# az rest --method patch --url "$(az acr task show -n ${a.task} -r ${a.registry} --query id -o tsv)?api-version=${TASK_SOURCE_IDENTITY_API_VERSION}" --body "${body}"`,
  ];
}

type CredentialState = { task: Task; target: Registry; loginServer: string; entry?: { identity?: string; hasUserName: boolean } };

async function checkSourceIdentity(ctx: Ctx, state: CredentialState): Promise<CheckResult> {
  const { answers: a, cloud } = ctx.world;
  const { task, loginServer, entry } = state;
  if (entry && !entry.identity && entry.hasUserName) return passwordBlocked(ctx, task, loginServer);
  const source = (await cloud.getTaskSourceIdentity(a.resourceGroup, a.registry, a.task))?.identity;
  const entryOk = !entry || isSystemIdentity(entry.identity);
  const why = `${a.registry} uses ABAC repository permissions, which give a task no implicit access to its own registry`;
  if (isSystemIdentity(source) && entryOk) {
    return {
      status: 'done',
      evidence: `task ${task.name} logs in to its own registry ${loginServer} with its source registry identity ${source} (${why}; read at api-version ${TASK_SOURCE_IDENTITY_API_VERSION})`,
      outputs: { ...outputsOf(ctx, 'add-credential'), loginServer },
    };
  }
  const changes = [
    ...(isSystemIdentity(source) ? [] : [`set its source registry identity to [system] (now ${source ?? 'none'})`]),
    ...(entryOk ? [] : [`use the system identity in its credential for ${loginServer} (now ${entry!.identity}), which would stand in for the source identity`]),
  ].join(', and ');
  const change = `task ${task.name}: ${changes} — ${why}`;
  const az = entryOk ? sourceIdentityLines(a) : [...sourceIdentityLines(a), credentialLine(a, loginServer).replace(' credential add ', ' credential update ')];
  if (taskIsOurs(ctx)) return { status: 'pending', change, az };
  return {
    status: 'pending',
    change: `change your existing ${change}`,
    az,
    confirm:
      `Task ${task.name} is yours (acr-trust did not create it). Registry ${a.registry} uses ABAC repository permissions: its runs get no implicit access to it and must log in with an identity, ` +
      `so its source registry identity (credentials.sourceRegistry.identity) is set to [system], the identity the bypass trusts and the role is given to; its other credentials are left alone. \`acr-trust reset\` puts back what it has now.`,
  };
}

async function applySourceIdentity(ctx: Ctx, state: CredentialState): Promise<Record<string, unknown>> {
  const { answers: a, cloud } = ctx.world;
  const { loginServer, entry, task } = state;
  if (entry && !entry.identity && entry.hasUserName) {
    const b = passwordBlocked(ctx, task, loginServer);
    throw new AcrTrustError(b.reason, { hint: b.hint, code: b.code });
  }
  const prev = outputsOf(ctx, 'add-credential');
  const source = (await cloud.getTaskSourceIdentity(a.resourceGroup, a.registry, a.task))?.identity;
  const out: Record<string, unknown> = { loginServer };
  if (!isSystemIdentity(source)) {
    // What to put back on reset: preflight's reading of the user's task, else what is there now —
    // recorded before the request, so a crash while it is in flight still lets reset undo it.
    const recorded = outputsOf(ctx, 'preflight').taskBefore;
    const before = prev.sourceIdentitySet
      ? (prev.sourceIdentityBefore ?? null)
      : !taskIsOurs(ctx) && recorded?.exists && recorded.sourceRegistryIdentity !== undefined
        ? recorded.sourceRegistryIdentity
        : (source ?? null);
    ctx.record({ loginServer, sourceIdentitySet: true, sourceIdentityBefore: before });
    await cloud.setTaskSourceIdentity(a.resourceGroup, a.registry, a.task, SYSTEM_IDENTITY);
    Object.assign(out, { sourceIdentitySet: true, sourceIdentityBefore: before });
  }
  if (entry?.identity && !isSystemIdentity(entry.identity)) await cloud.addTaskCredential(a.resourceGroup, a.registry, a.task, loginServer, SYSTEM_IDENTITY);
  return out;
}

/** The source identity's part of undo: back to the identity recorded before acr-trust set it. */
async function undoSourceIdentity(ctx: Ctx): Promise<UndoOutcome> {
  const { answers: a, cloud } = ctx.world;
  const prev = outputsOf(ctx, 'add-credential');
  const recorded = outputsOf(ctx, 'preflight').taskBefore;
  const before = !taskIsOurs(ctx) && recorded?.exists && recorded.sourceRegistryIdentity !== undefined ? recorded.sourceRegistryIdentity : (prev.sourceIdentityBefore ?? null);
  const live = await cloud.getTaskSourceIdentity(a.resourceGroup, a.registry, a.task);
  if (!live) return { changed: false, evidence: `task ${a.task} not found: its source registry identity has nothing to undo` };
  const now = live.identity ?? null;
  const said = (v: string | null) => (v === null ? 'none' : v);
  if (now === before) return { changed: false, evidence: `task ${a.task}'s source registry identity is ${said(before)}, as before (checked now)` };
  await cloud.setTaskSourceIdentity(a.resourceGroup, a.registry, a.task, before);
  return { changed: true, evidence: `task ${a.task}'s source registry identity back to ${said(before)} (was ${said(now)})` };
}

/** The task, the target registry and its login server, and the task's credential entry for it (if any; read with listDetails when a GET hid it). */
async function readCredential(ctx: Ctx): Promise<Blocked | CredentialState> {
  const { answers: a, cloud } = ctx.world;
  const task = await readTask(ctx);
  if (!task) return taskMissing(ctx);
  const target = await readTargetRegistry(ctx);
  if (!target) return registryMissing(ctx, a.targetRegistry);
  const loginServer = target.loginServer;
  let entry = credentialFor(task, loginServer);
  // GET may blank secrets (`{"<server>": null}`); listDetails has them.
  if (entry === null) entry = credentialFor((await cloud.getTaskDetails(a.resourceGroup, a.registry, a.task)) ?? task, loginServer);
  return { task, target, loginServer, entry: entry ?? undefined };
}
