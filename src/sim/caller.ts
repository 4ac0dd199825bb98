/**
 * Who is calling, and what ARM lets them do (the control plane's RBAC; what a *task identity* may
 * do on a registry's data plane is `rules.ts`).
 *
 * Two kinds of caller:
 *
 * - **The sim's caller** (`state.caller`, `SIM_CALLER_ID`): the one user of a single-user cloud,
 *   and the trainer of a classroom. It holds one built-in role chosen by the scenario — Owner
 *   (`canWriteRoleAssignments`, the default), Contributor (`canWriteResources` absent or true:
 *   no-role-write) or Reader (read-only) — which applies at every scope of the cloud (the seeded
 *   assignment's scope is descriptive). Only writes and write-like actions are checked, inside
 *   the routes (`requirePermission`); reads always pass.
 * - **Any other principal** (a learner of the classroom): ARM's rule for real, at one choke point
 *   (`server.ts` calls `authorizeRequest` before any route runs and `filterList` on every list it
 *   answers). The request's action and scope are derived from its method and path the way ARM
 *   derives them (`requestAction`): `{namespace}/{type[/subtype…]}/read|write|delete` on a
 *   resource, `…/{name}/action` for a POST, the parent's `…/read` for a list. The caller may act
 *   only when one of its role assignments whose scope contains the request's scope grants the
 *   action (wildcards, case-insensitive) and does not exclude it. Lists keep only the items the
 *   caller may read; the directory (Graph) shows only the caller and the identities of resources
 *   it may read; a long-running operation may be polled only by whoever started it. A path the
 *   derivation does not know is refused — nothing passes by default.
 *
 * A refusal is ARM's 403 `AuthorizationFailed`, before the resource provider sees the request (so
 * before any validation or not-found: a refusal says nothing of what exists), with ARM's message:
 * "The client '<appid or oid>' with object id '<oid>' does not have authorization to perform action
 * '<action>' over scope '<scope>' or the scope is invalid. If access was recently granted, please
 * refresh your credentials."
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ArmError, type SimRequest } from './http.js';
import type { SimContext } from './context.js';
import { roleByGuid, ROLE_GUIDS, type BuiltInRole } from './roles.js';
import type { CloudState } from './store.js';
import { key } from './store.js';

/** The principal a request's token names. */
export interface Caller {
  /** Object id (`oid`). */
  principalId: string;
  /** Application (client) id (`appid`), for ARM's refusal message. */
  clientId?: string;
}

/** The caller of the request being handled (set by server.ts around each route handler). */
export const callerContext = new AsyncLocalStorage<Caller>();

/** The request's caller; outside a request (seeding, tests calling routes directly) the sim's caller. */
export function currentCaller(state: CloudState): Caller {
  return callerContext.getStore() ?? { principalId: state.caller.principalId };
}

/** True for a principal that ARM's rule applies to in full (anyone but the sim's single caller). */
export function isRestricted(state: CloudState, caller: Caller = currentCaller(state)): boolean {
  return caller.principalId !== state.caller.principalId;
}

/** The sim's caller's built-in role. */
export function callerRole(state: CloudState): BuiltInRole {
  const c = state.caller;
  const guid = c.canWriteRoleAssignments ? ROLE_GUIDS.Owner : c.canWriteResources === false ? ROLE_GUIDS.Reader : ROLE_GUIDS.Contributor;
  return roleByGuid(guid)!;
}

/** The roles `principalId` holds at `scope`: its assignments at the scope or above it. */
export function rolesAt(state: CloudState, principalId: string, scope: string): BuiltInRole[] {
  const s = key(scope);
  const roles: BuiltInRole[] = [];
  for (const a of Object.values(state.roleAssignments)) {
    if (a.properties.principalId !== principalId) continue;
    const at = key(a.properties.scope);
    if (s !== at && !s.startsWith(`${at}/`)) continue;
    const role = roleByGuid(a.properties.roleDefinitionId);
    if (role) roles.push(role);
  }
  return roles;
}

function grants(role: BuiltInRole, action: string): boolean {
  return role.actions.some((a) => actionMatches(a, action)) && !role.notActions.some((n) => actionMatches(n, action));
}

/** ARM's rule for the current caller: may it perform `action` on `scope`? */
export function callerMay(state: CloudState, action: string, scope = ''): boolean {
  const caller = currentCaller(state);
  if (!isRestricted(state, caller)) return grants(callerRole(state), action);
  return rolesAt(state, caller.principalId, scope).some((r) => grants(r, action));
}

/** True when the current caller holds any role assignment inside subscription `subscriptionId`
 *  (ARM then lets it see the subscription itself, its providers and its name checks). */
export function callerInSubscription(state: CloudState, subscriptionId: string): boolean {
  const caller = currentCaller(state);
  if (!isRestricted(state, caller)) return true;
  const sub = key(`/subscriptions/${subscriptionId}`);
  return Object.values(state.roleAssignments).some((a) => a.properties.principalId === caller.principalId && (key(a.properties.scope) === sub || key(a.properties.scope).startsWith(`${sub}/`)));
}

/** Throws ARM's 403 AuthorizationFailed unless the caller may perform `action` on `scope`. */
export function requirePermission(sim: SimContext, action: string, scope: string): void {
  if (!callerMay(sim.state, action, scope)) throw authorizationFailed(sim.state, action, scope);
}

export function authorizationFailed(state: CloudState, action: string, scope: string): ArmError {
  const caller = currentCaller(state);
  return new ArmError(
    403,
    'AuthorizationFailed',
    `The client '${caller.clientId ?? caller.principalId}' with object id '${caller.principalId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

/** The scope ARM names in the refusal: the request's resource path, without a trailing action
 *  segment (`…/registries/r/scheduleRun` → `…/registries/r`). */
export function scopeOf(req: SimRequest, action?: string): string {
  const path = req.path.replace(/\/+$/, '');
  return action && path.toLowerCase().endsWith(`/${action.toLowerCase()}`) ? path.slice(0, -action.length - 1) : path;
}

// ---------------------------------------------------------------------------------------------
// The choke point's decision, derived from the request alone.

/**
 * What a request asks, as ARM's authorization sees it:
 *   `check`         the caller needs `action` on `scope`
 *   `subscription`  visible to anyone with an assignment in `subscriptionId` (the subscription,
 *                   its providers, name checks)
 *   `open`          any signed-in caller (tenants, built-in role definitions, one's own permissions)
 *   `operation`     an operation status: only whoever started operation `operationId`
 *   `directory`     Microsoft Graph: answered, then filtered to what the caller may see (graph.ts)
 *   `unknown`       a path the derivation does not know: refused to restricted callers
 */
export type RequestAction =
  | { kind: 'check'; action: string; scope: string }
  | { kind: 'subscription'; subscriptionId: string; action: string; scope: string }
  | { kind: 'open' }
  | { kind: 'operation'; operationId: string; action: string; scope: string }
  | { kind: 'directory' }
  | { kind: 'unknown'; action: string; scope: string };

const VERB: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' };

/** ARM's action and scope for `method` on `path` (a folded path without the query). */
export function requestAction(method: string, path: string): RequestAction {
  // Segments as the router reads them (percent-decoded). One that decodes to a slash, or a `.`
  // or `..` segment, could make the scope checked differ from the resource served: refused.
  const raw = path.split('/').filter(Boolean);
  const segs: string[] = [];
  for (const r of raw) {
    let d: string;
    try {
      d = decodeURIComponent(r);
    } catch {
      d = r;
    }
    if (d.includes('/') || d.includes('\\') || d === '.' || d === '..') return { kind: 'unknown', action: `${method} ${path}`, scope: path };
    segs.push(d);
  }
  const clean = `/${segs.join('/')}`;
  const lower = segs.map((s) => s.toLowerCase());
  const unknown = (): RequestAction => ({ kind: 'unknown', action: `${method} ${clean}`, scope: clean });
  if (lower[0] === 'v1.0') return { kind: 'directory' };
  if (lower[0] === 'tenants' && segs.length <= 2 && method === 'GET') return { kind: 'open' };
  if (lower[0] === 'providers') {
    return lower[1] === 'microsoft.authorization' && lower[2] === 'roledefinitions' && method === 'GET' ? { kind: 'open' } : unknown();
  }
  if (lower[0] !== 'subscriptions') return unknown();
  if (segs.length === 1) return method === 'GET' ? { kind: 'open' } : unknown(); // the list, filtered
  const sub = segs[1]!;
  const subScope = `/subscriptions/${sub}`;
  const inSub = (action: string, scope = subScope): RequestAction => ({ kind: 'subscription', subscriptionId: sub, action, scope });
  if (segs.length === 2) return method === 'GET' ? inSub('Microsoft.Resources/subscriptions/read') : unknown();

  const p = lower.indexOf('providers', 2);
  const head = p < 0 ? segs.slice(2) : segs.slice(2, p);
  const headLower = head.map((s) => s.toLowerCase());
  // Below the subscription, before any provider: resource groups and the generic resource lists.
  if (p < 0) {
    if (headLower[0] === 'resources' && head.length === 1 && method === 'GET') return { kind: 'open' }; // filtered
    if (headLower[0] !== 'resourcegroups') return unknown();
    if (head.length === 1) return method === 'GET' ? { kind: 'open' } : unknown(); // the list, filtered
    const rgScope = `${subScope}/resourceGroups/${head[1]}`;
    if (head.length === 2 && VERB[method]) return { kind: 'check', action: `Microsoft.Resources/subscriptions/resourceGroups/${VERB[method]}`, scope: rgScope };
    if (head.length === 3 && headLower[2] === 'resources' && method === 'GET') return { kind: 'check', action: 'Microsoft.Resources/subscriptions/resourceGroups/resources/read', scope: rgScope };
    return unknown();
  }
  // `{scope}/providers/{namespace}/{type}/{name}/…`: the scope must be the subscription or a group.
  if (!(head.length === 0 || (head.length === 2 && headLower[0] === 'resourcegroups'))) return unknown();
  const scopePrefix = `/${segs.slice(0, p).join('/')}`;
  const ns = segs[p + 1];
  const rest = segs.slice(p + 2);
  if (!ns) return method === 'GET' && head.length === 0 ? inSub('Microsoft.Resources/subscriptions/providers/read') : unknown();
  if (rest.length === 0) return method === 'GET' && head.length === 0 ? inSub('Microsoft.Resources/subscriptions/providers/read') : unknown();
  const nsLower = ns.toLowerCase();
  const types = rest.filter((_, i) => i % 2 === 0);
  const typesLower = types.map((t) => t.toLowerCase());
  // Extension resources of Microsoft.Authorization below any scope.
  if (nsLower === 'microsoft.authorization') {
    if (typesLower[0] === 'roledefinitions' && method === 'GET') return { kind: 'open' };
    if (typesLower[0] === 'permissions' && rest.length === 1 && method === 'GET') return { kind: 'open' }; // answered per caller
  }
  // Long-running operations' status URLs.
  if (typesLower.includes('operationstatuses') || typesLower.includes('operationresults')) {
    return method === 'GET' && rest.length % 2 === 0 ? { kind: 'operation', operationId: rest[rest.length - 1]!, action: `${ns}/${types.join('/')}/read`, scope: clean } : unknown();
  }
  if (rest.length % 2 === 0) {
    // One resource.
    return VERB[method] ? { kind: 'check', action: `${ns}/${types.join('/')}/${VERB[method]}`, scope: clean } : unknown();
  }
  // A collection (GET: its list, read on the parent) or an action (POST, on the parent).
  const parent = `${scopePrefix}/providers/${ns}${rest.length > 1 ? `/${rest.slice(0, -1).join('/')}` : ''}`;
  const parentScope = rest.length > 1 ? parent : scopePrefix;
  const parentTypes = types.slice(0, -1);
  if (method === 'GET') {
    // A list straight below the subscription is answered, then filtered (ARM lists what the caller can see).
    if (rest.length === 1 && head.length === 0) return { kind: 'open' };
    return { kind: 'check', action: `${ns}/${types.join('/')}/read`, scope: parentScope };
  }
  if (method === 'POST') {
    const name = rest[rest.length - 1]!;
    const action = `${ns}/${[...parentTypes, name].join('/')}/action`;
    // A provider-wide action on the subscription (checkNameAvailability): anyone working in it.
    if (rest.length === 1 && head.length === 0) return inSub(action);
    return { kind: 'check', action, scope: parentScope };
  }
  return unknown();
}

/**
 * The choke point: throws ARM's 403 unless the current caller may make this request. The sim's
 * own caller keeps its single-user rules (its writes are checked inside the routes).
 */
export function authorizeRequest(state: CloudState, method: string, path: string): void {
  const caller = currentCaller(state);
  if (!isRestricted(state, caller)) return;
  const need = requestAction(method, path);
  switch (need.kind) {
    case 'open':
    case 'directory':
      return;
    case 'subscription':
      if (!callerInSubscription(state, need.subscriptionId)) throw authorizationFailed(state, need.action, need.scope);
      return;
    case 'operation': {
      const op = state.operations[need.operationId];
      // An unknown operation is the route's 404; one started by someone else is not the caller's to read.
      if (op && op.principalId !== caller.principalId) throw authorizationFailed(state, need.action, need.scope);
      return;
    }
    case 'check':
      if (!callerMay(state, need.action, need.scope)) throw authorizationFailed(state, need.action, need.scope);
      return;
    case 'unknown':
      throw authorizationFailed(state, need.action, need.scope);
  }
}

/** True when the current caller may read the resource (or subscription) with ARM id `id`. */
export function callerMayRead(state: CloudState, id: string): boolean {
  if (!isRestricted(state)) return true;
  const need = requestAction('GET', id);
  if (need.kind === 'subscription') return callerInSubscription(state, need.subscriptionId);
  if (need.kind === 'check') return callerMay(state, need.action, need.scope);
  return need.kind === 'open'; // tenants, built-in role definitions
}

/**
 * The choke point's second half: a list answer (`{ value: [...] }`) keeps only the items the
 * current caller may read, each judged by its own `id`. Items without an id are dropped for a
 * restricted caller — except in the caller's own permissions list (`…/permissions`), which has
 * none and is computed for the caller.
 */
export function filterList(state: CloudState, path: string, body: unknown): unknown {
  if (!isRestricted(state) || typeof body !== 'object' || body === null || !Array.isArray((body as { value?: unknown }).value)) return body;
  if (/\/providers\/microsoft\.authorization\/permissions\/?$/i.test(path)) return body;
  if (requestAction('GET', path).kind === 'directory') return body; // Graph filters its own (graph.ts)
  const b = body as { value: unknown[] };
  return { ...b, value: b.value.filter((item) => typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string' && callerMayRead(state, (item as { id: string }).id)) };
}
