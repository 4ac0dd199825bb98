/**
 * ACR Tasks (Microsoft.ContainerRegistry/registries/tasks): list, get, create (PUT), update
 * (PATCH), delete, and POST listDetails.
 *
 * - PUT and PATCH answer 200 synchronously with `provisioningState: Succeeded`. The spec declares
 *   them long-running, but the service answers at once: current az CLI keeps only a 200 answer of
 *   `_create_initial` (arm-reference.md §2), and the SDK ends its poller on a synchronous 200.
 * - DELETE answers 200 when the task existed and 204 when it did not. Its runs stay, as on Azure
 *   (runs are registry resources).
 * - `properties.step.type` is always present: the SDK deserialises steps polymorphically.
 * - A system-assigned identity gives the task a NEW service principal. The directory learns it
 *   with a delay at realistic speed (`visibleAt`), which is why a role assignment sent without
 *   `principalType` right after task creation fails with PrincipalNotFound. Re-PUTting a task that
 *   keeps its system identity keeps the principal.
 * - Credentials: GET returns `credentials` with the identities and user names but without secret
 *   values (passwords, `contextAccessToken`, secret `values`); POST listDetails returns them all.
 *   What the live GET returns is UNCERTAIN (the spec examples show `null` entries); returning the
 *   entries lets a client check `customRegistries[server].identity` with a plain GET, and the CLI
 *   reads credentials through listDetails anyway.
 * - A missing task is 404 `ResourceNotFound` in ARM's words. Emulator behaviour: the service's
 *   own code for a missing task is not documented.
 */
import { ArmError, type SimRequest } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import { requirePermission, scopeOf } from '../caller.js';
import type { ArmResource } from '../store.js';
import { key } from '../store.js';
import { page, requireResourceGroup } from './common.js';
import { registryId } from './registries.js';

export { TASK_API_VERSIONS } from '../api-versions.js';
import { forVersion, TASK_API_VERSIONS, TASK_PROPERTIES_SINCE } from '../api-versions.js';
import { stampSystemData } from '../system-data.js';

export const TASK_TYPE = 'Microsoft.ContainerRegistry/registries/tasks';
export const REGISTRY_PATH = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/{registryName}';

const NAME = /^[a-zA-Z0-9-_]{5,50}$/;
const STEP_TYPES = ['Docker', 'FileTask', 'EncodedTask'];
const IDENTITY_TYPES = ['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None'];
/** How long the directory (Graph) takes to learn a new task identity at realistic speed. */
const DIRECTORY_REPLICATION_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Lookups shared with the run routes
// ---------------------------------------------------------------------------------------------

/** The registry a request's path names, with ARM's 404s (subscription, resource group, registry). */
export function requireRegistry(sim: SimContext, req: SimRequest): ArmResource {
  const rg = requireResourceGroup(sim, req.params.subscriptionId!, req.params.resourceGroupName!);
  const name = req.params.registryName!;
  const registry = sim.state.registries[key(registryId(rg.subscriptionId, rg.name, name))];
  if (!registry) throw notFound(`Microsoft.ContainerRegistry/registries/${name}`, rg.name);
  return registry;
}

export function findTask(sim: SimContext, registry: ArmResource, taskName: string): ArmResource | undefined {
  return sim.state.tasks[key(`${registry.id}/tasks/${taskName}`)];
}

export function requireTask(sim: SimContext, req: SimRequest, registry: ArmResource, taskName: string): ArmResource {
  const task = findTask(sim, registry, taskName);
  if (!task) throw notFound(`Microsoft.ContainerRegistry/registries/${registry.name}/tasks/${taskName}`, req.params.resourceGroupName!);
  return task;
}

export function notFound(resource: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${resource}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

function invalid(message: string): ArmError {
  return new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${message}'.`);
}

// ---------------------------------------------------------------------------------------------
// What clients see
// ---------------------------------------------------------------------------------------------

/**
 * The task as an answer shows it. Every answer but listDetails shows each `customRegistries` entry
 * as `null` (recording test_acr_task: the PATCH answer after `az acr task credential add|update`
 * is `{"<server>": null}`; only POST listDetails reveals the entry). A task without credentials has
 * no `credentials` key at all (same recording: created with `credentials: {}`, answered without).
 * `details`: as listDetails returns it, secrets included.
 */
export function taskView(task: ArmResource, details = false, apiVersion?: string | null): ArmResource {
  const view = forVersion(structuredClone(task), apiVersion, TASK_PROPERTIES_SINCE);
  const credentials = view.properties.credentials;
  const empty = !credentials || Object.values(credentials).every((v) => v === null || v === undefined || (typeof v === 'object' && Object.keys(v).length === 0));
  if (empty) delete view.properties.credentials;
  if (details) return view;
  const custom = view.properties.credentials?.customRegistries;
  if (custom) for (const server of Object.keys(custom)) custom[server] = null;
  return withoutSecrets(view);
}

/** For `sim show`: the task with its credential entries but no secret values (the sim's own
 *  inspector, not an ARM answer). */
export function taskInspectView(task: ArmResource): ArmResource {
  const view = withoutSecrets(structuredClone(task));
  for (const entry of Object.values(view.properties.credentials?.customRegistries ?? {}) as any[]) {
    if (entry?.password) entry.password = { type: entry.password.type ?? 'Opaque' };
    if (entry?.userName?.type === 'Vaultsecret') entry.userName = { type: 'Vaultsecret' };
  }
  return view;
}

function withoutSecrets(view: ArmResource): ArmResource {
  const step = view.properties.step;
  if (step) {
    delete step.contextAccessToken;
    if (Array.isArray(step.values)) step.values = step.values.map((v: any) => (v?.isSecret ? { name: v.name, isSecret: true } : v));
  }
  return view;
}

// ---------------------------------------------------------------------------------------------
// Building and changing tasks
// ---------------------------------------------------------------------------------------------

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new ArmError(
      400,
      'InvalidResourceName',
      `Resource name '${name}' is invalid. The name must be between 5 and 50 characters long and may contain only letters, numbers, hyphens and underscores.`,
    );
  }
}

/** Normalises and checks the properties a PUT gives or a PATCH leaves. */
function checkProperties(p: Record<string, any>): void {
  const platform = p.platform;
  if (!platform || typeof platform !== 'object') throw invalid("Required property 'platform' not found in JSON. Path 'properties'");
  if (!platform.os) throw invalid("Required property 'os' not found in JSON. Path 'properties.platform'");
  const os = String(platform.os).toLowerCase();
  if (os !== 'linux' && os !== 'windows') throw invalid(`Error converting value "${platform.os}" to type 'OS'. Path 'properties.platform.os'`);
  // The service answers with the case it was sent (recording test_acr_task: sent and answered
  // "linux"); only the value is checked, case-insensitively.
  if (platform.architecture) platform.architecture = String(platform.architecture).toLowerCase();
  if (platform.variant) platform.variant = String(platform.variant).toLowerCase();

  const step = p.step;
  if (!step || typeof step !== 'object') throw invalid("Required property 'step' not found in JSON. Path 'properties'");
  if (!STEP_TYPES.includes(step.type)) throw invalid(`Unknown step type '${step.type ?? ''}'. Path 'properties.step.type'`);
  if (step.type === 'EncodedTask' && typeof step.encodedTaskContent !== 'string') throw invalid("Required property 'encodedTaskContent' not found in JSON. Path 'properties.step'");
  if (step.type === 'FileTask' && typeof step.taskFilePath !== 'string') throw invalid("Required property 'taskFilePath' not found in JSON. Path 'properties.step'");
  if (step.type === 'Docker' && typeof step.dockerFilePath !== 'string') throw invalid("Required property 'dockerFilePath' not found in JSON. Path 'properties.step'");

  if (p.status !== undefined && p.status !== 'Enabled' && p.status !== 'Disabled') throw invalid(`Error converting value "${p.status}" to type 'TaskStatus'. Path 'properties.status'`);
  if (p.timeout !== undefined && (!Number.isInteger(p.timeout) || p.timeout < 300 || p.timeout > 28800)) {
    throw new ArmError(400, 'InvalidParameter', `The value '${p.timeout}' of 'properties.timeout' is invalid: a task timeout is from 300 to 28800 seconds.`);
  }
  const login = p.credentials?.sourceRegistry?.loginMode;
  if (login !== undefined && login !== null && login !== 'None' && login !== 'Default') {
    throw invalid(`Error converting value "${login}" to type 'SourceRegistryLoginMode'. Path 'properties.credentials.sourceRegistry.loginMode'`);
  }
}

/** Applies an `identity` from a PUT (replace) or PATCH (merge) to the task. */
function applyIdentity(sim: SimContext, task: ArmResource, previous: any, identity: any, merge: boolean): void {
  if (identity === undefined) return;
  const type = normaliseIdentityType(identity?.type);
  if (type === 'None') {
    delete task.identity;
    return;
  }
  const next: any = { type };
  if (type.includes('SystemAssigned')) {
    // Keep the principal while the identity stays system-assigned; a new one is a new principal.
    const keep = /SystemAssigned/.test(String(previous?.type ?? '')) ? previous?.principalId : undefined;
    next.principalId = keep ?? newPrincipal(sim, task.name, DIRECTORY_REPLICATION_MS);
    next.tenantId = sim.state.tenantId;
  }
  if (type.includes('UserAssigned')) {
    const before: Record<string, any> = merge ? { ...(previous?.userAssignedIdentities ?? {}) } : {};
    for (const [resourceId, value] of Object.entries(identity?.userAssignedIdentities ?? {})) {
      const existing = Object.keys(before).find((k) => k.toLowerCase() === resourceId.toLowerCase());
      if (existing) delete before[existing];
      if (value === null) continue; // PATCH: null detaches the identity
      before[resourceId] = userIdentity(sim, resourceId, previous);
    }
    if (Object.keys(before).length === 0) throw invalid("'userAssignedIdentities' is required when the identity type includes UserAssigned");
    next.userAssignedIdentities = before;
  }
  task.identity = next;
}

function normaliseIdentityType(raw: unknown): string {
  const compact = String(raw ?? 'None').replace(/\s+/g, '').toLowerCase();
  const type = IDENTITY_TYPES.find((t) => t.replace(/\s+/g, '').toLowerCase() === compact);
  if (!type) throw invalid(`Error converting value "${String(raw)}" to type 'ResourceIdentityType'. Path 'identity.type'`);
  return type;
}

/** A user-assigned identity exists outside the task, so its ids are the same wherever it is
 *  attached: reuse them from any task that already carries it. */
function userIdentity(sim: SimContext, resourceId: string, previous: any): { principalId: string; clientId: string } {
  const carriers = [previous, ...Object.values(sim.state.tasks).map((t) => t.identity)];
  for (const identity of carriers) {
    for (const [id, v] of Object.entries(identity?.userAssignedIdentities ?? {}) as [string, any][]) {
      if (id.toLowerCase() === resourceId.toLowerCase() && v?.principalId && v?.clientId) return { principalId: v.principalId, clientId: v.clientId };
    }
  }
  const name = resourceId.split('/').pop() ?? resourceId;
  // The identity existed before it was attached: the directory already knows it.
  return { principalId: newPrincipal(sim, name, 0), clientId: sim.uuid() };
}

function newPrincipal(sim: SimContext, displayName: string, replicationMs: number): string {
  const principalId = sim.uuid();
  const lag = sim.speed === 'realistic' ? replicationMs : 0;
  sim.state.principals[principalId] = { principalId, kind: 'ServicePrincipal', displayName, visibleAt: sim.now() + lag };
  return principalId;
}

/** The writable properties of a PUT body, with the service's defaults. */
function createProperties(body: any): Record<string, any> {
  const p = structuredClone(body?.properties ?? {});
  const out: Record<string, any> = {
    status: p.status ?? 'Enabled',
    platform: p.platform,
    agentConfiguration: p.agentConfiguration ?? { cpu: 2 },
    timeout: p.timeout ?? 3600,
    step: p.step,
    isSystemTask: p.isSystemTask ?? false,
  };
  for (const k of ['agentPoolName', 'trigger', 'credentials', 'logTemplate']) if (p[k] !== undefined && p[k] !== null) out[k] = p[k];
  return out;
}

/** PATCH: merge `update` into the task's properties (credentials.customRegistries by key, a null
 *  value removing the entry — how `az acr task credential remove` works). */
function mergeProperties(current: Record<string, any>, update: any): Record<string, any> {
  const p = structuredClone(current);
  const u = update ?? {};
  for (const k of ['status', 'agentPoolName', 'timeout', 'logTemplate']) if (u[k] !== undefined) p[k] = u[k];
  if (u.platform) p.platform = { ...p.platform, ...u.platform };
  if (u.agentConfiguration) p.agentConfiguration = { ...p.agentConfiguration, ...u.agentConfiguration };
  if (u.step) p.step = u.step.type === p.step?.type ? { ...p.step, ...stripUndefined(u.step) } : u.step;
  if (u.trigger) p.trigger = mergeTrigger(p.trigger, u.trigger);
  if (u.credentials) {
    const credentials: Record<string, any> = { ...(p.credentials ?? {}) };
    // sourceRegistry merges field by field, as the rest of a PATCH does: a PATCH of `identity` alone
    // (api-version 2025-03-01-preview) keeps the login mode, one of `loginMode` alone (an older
    // version, which has no identity) keeps the identity; a null field removes it.
    if (u.credentials.sourceRegistry === null) delete credentials.sourceRegistry;
    else if (u.credentials.sourceRegistry !== undefined) {
      const merged: Record<string, any> = { ...(credentials.sourceRegistry ?? {}) };
      for (const [field, value] of Object.entries(u.credentials.sourceRegistry as Record<string, unknown>)) {
        if (value === null) delete merged[field];
        else if (value !== undefined) merged[field] = value;
      }
      credentials.sourceRegistry = merged;
    }
    if (u.credentials.customRegistries !== undefined) {
      const map: Record<string, any> = { ...(credentials.customRegistries ?? {}) };
      for (const [server, entry] of Object.entries(u.credentials.customRegistries ?? {})) {
        // Login servers are host names: one entry per server, whatever its case.
        for (const k of Object.keys(map)) if (k.toLowerCase() === server.toLowerCase()) delete map[k];
        const before = Object.entries(current.credentials?.customRegistries ?? {}).find(([k]) => k.toLowerCase() === server.toLowerCase())?.[1];
        // A PATCH changes the fields it names and keeps the others (an update of the user name
        // keeps the identity); null removes the entry.
        if (entry !== null) map[server] = { ...(before ?? {}), ...stripUndefined(entry as Record<string, unknown>) };
      }
      credentials.customRegistries = map;
    }
    p.credentials = credentials;
  }
  return p;
}

/** PATCH of `trigger`: each trigger kind merges into what the task has, so a PATCH that only
 *  changes the base-image trigger's status keeps its type and name (as the service keeps them);
 *  timer and source trigger lists merge by name. */
function mergeTrigger(current: any, update: any): any {
  const t = { ...(current ?? {}) };
  if (update.baseImageTrigger !== undefined) {
    t.baseImageTrigger = update.baseImageTrigger === null ? undefined : { ...(t.baseImageTrigger ?? {}), ...stripUndefined(update.baseImageTrigger) };
    if (t.baseImageTrigger === undefined) delete t.baseImageTrigger;
  }
  for (const list of ['timerTriggers', 'sourceTriggers']) {
    if (!Array.isArray(update[list])) continue;
    const merged = [...(t[list] ?? [])];
    for (const item of update[list]) {
      const at = merged.findIndex((x: any) => x?.name === item?.name);
      if (at >= 0) merged[at] = { ...merged[at], ...stripUndefined(item) };
      else merged.push(item);
    }
    t[list] = merged;
  }
  return t;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// ---------------------------------------------------------------------------------------------

export const tasksRoutes: RouteModule = (router, sim) => {
  const apiVersions = TASK_API_VERSIONS;
  const tasks = `${REGISTRY_PATH}/tasks`;
  const one = `${tasks}/{taskName}`;

  router.on('GET', tasks, { apiVersions, name: 'tasks.list' }, (req) => {
    const registry = requireRegistry(sim, req);
    const prefix = `${key(registry.id)}/tasks/`;
    const value = Object.entries(sim.state.tasks)
      .filter(([k]) => k.startsWith(prefix))
      .map(([, t]) => taskView(t, false, req.query.get('api-version')));
    return { status: 200, body: page(value) };
  });

  router.on('GET', one, { apiVersions, name: 'tasks.get' }, (req) => {
    const registry = requireRegistry(sim, req);
    return { status: 200, body: taskView(requireTask(sim, req, registry, req.params.taskName!), false, req.query.get('api-version')) };
  });

  router.on('POST', `${one}/listDetails`, { apiVersions, name: 'tasks.listDetails' }, (req) => {
    // An action, not a read: Reader (`*/read`) may GET the task but not list its credentials.
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/tasks/listDetails/action', scopeOf(req, 'listDetails'));
    const registry = requireRegistry(sim, req);
    return { status: 200, body: taskView(requireTask(sim, req, registry, req.params.taskName!), true, req.query.get('api-version')) };
  });

  router.on('PUT', one, { apiVersions, name: 'tasks.create', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/tasks/write', scopeOf(req));
    const registry = requireRegistry(sim, req);
    const name = req.params.taskName!;
    checkName(name);
    const body = req.body ?? {};
    if (!body.location) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    const properties = createProperties(body);
    checkProperties(properties);

    const existing = findTask(sim, registry, name);
    const now = new Date(sim.now()).toISOString();
    const task: ArmResource = {
      id: existing?.id ?? `${registry.id}/tasks/${name}`,
      name: existing?.name ?? name,
      type: TASK_TYPE,
      location: String(body.location),
      ...(body.tags ? { tags: body.tags } : {}),
      properties: { provisioningState: 'Succeeded', creationDate: existing?.properties.creationDate ?? now, ...properties },
      systemData: stampSystemData(sim, existing?.systemData),
    };
    applyIdentity(sim, task, existing?.identity, body.identity ?? { type: 'None' }, false);
    sim.state.tasks[key(task.id)] = task;
    sim.changed();
    return { status: 200, body: taskView(task, false, req.query.get('api-version')) };
  });

  router.on('PATCH', one, { apiVersions, name: 'tasks.update', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/tasks/write', scopeOf(req));
    const registry = requireRegistry(sim, req);
    const current = requireTask(sim, req, registry, req.params.taskName!);
    const body = req.body ?? {};
    const properties = mergeProperties(current.properties, body.properties);
    checkProperties(properties);
    const task: ArmResource = { ...structuredClone(current), properties, systemData: stampSystemData(sim, current.systemData) };
    if (body.tags !== undefined) task.tags = body.tags;
    applyIdentity(sim, task, current.identity, body.identity, true);
    sim.state.tasks[key(task.id)] = task;
    sim.changed();
    return { status: 200, body: taskView(task, false, req.query.get('api-version')) };
  });

  router.on('DELETE', one, { apiVersions, name: 'tasks.delete', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/tasks/delete', scopeOf(req));
    const registry = requireRegistry(sim, req);
    const task = findTask(sim, registry, req.params.taskName!);
    if (!task) return { status: 204 };
    delete sim.state.tasks[key(task.id)];
    sim.changed();
    return { status: 200 };
  });
};
