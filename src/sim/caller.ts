/**
 * What the signed-in caller may do on the control plane (ARM's RBAC check for the caller itself;
 * what a *task identity* may do on a registry's data plane is `rules.ts`).
 *
 * The caller holds one built-in role, chosen by the scenario (`state.caller`):
 *   Owner        `canWriteRoleAssignments` — everything, role assignments included (default)
 *   Contributor  `canWriteResources` (absent = true) but not role assignments (no-role-write)
 *   Reader       neither — reads only; every write is refused (read-only)
 *
 * A refused write is ARM's 403 `AuthorizationFailed`, checked before the resource provider sees
 * the request (so before any validation or not-found of the resource itself), with ARM's message:
 * "The client '<oid>' with object id '<oid>' does not have authorization to perform action
 * '<action>' over scope '<scope>' or the scope is invalid. If access was recently granted, please
 * refresh your credentials."
 *
 * Simplifications (deliberate): the role applies at every scope of the cloud (the seeded
 * assignment's scope is descriptive); only writes and write-like actions (scheduleRun, cancel)
 * are checked — reads and the read-like POSTs (`tasks/listDetails`, `runs/listLogSasUrl`, which a
 * real Reader may not call) are always let through, so a read-only caller can still see everything.
 */
import { ArmError, type SimRequest } from './http.js';
import type { SimContext } from './context.js';
import { roleByGuid, ROLE_GUIDS, type BuiltInRole } from './roles.js';
import type { CloudState } from './store.js';

/** The caller's built-in role. */
export function callerRole(state: CloudState): BuiltInRole {
  const c = state.caller;
  const guid = c.canWriteRoleAssignments ? ROLE_GUIDS.Owner : c.canWriteResources === false ? ROLE_GUIDS.Reader : ROLE_GUIDS.Contributor;
  return roleByGuid(guid)!;
}

/** ARM's rule: the role grants the action (wildcards, case-insensitive) and does not exclude it. */
export function callerMay(state: CloudState, action: string): boolean {
  const role = callerRole(state);
  return role.actions.some((a) => actionMatches(a, action)) && !role.notActions.some((n) => actionMatches(n, action));
}

/** Throws ARM's 403 AuthorizationFailed unless the caller may perform `action` on `scope`. */
export function requirePermission(sim: SimContext, action: string, scope: string): void {
  if (!callerMay(sim.state, action)) throw authorizationFailed(sim, action, scope);
}

export function authorizationFailed(sim: SimContext, action: string, scope: string): ArmError {
  const oid = sim.state.caller.principalId;
  return new ArmError(
    403,
    'AuthorizationFailed',
    `The client '${oid}' with object id '${oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
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
