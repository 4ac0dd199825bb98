/**
 * Microsoft.Authorization: role assignments at any scope, built-in role definitions, and the
 * caller's permissions. Role assignment writes are synchronous (not LROs), as in ARM.
 *
 * Scopes arrive as `{*scope}` (any resource id); the SDK sends `//subscriptions/...` when the
 * scope it was given starts with `/`, which the router folds.
 *
 * PUT checks, in ARM's order as far as it is known: assignment name is a GUID (400) → caller may
 * write role assignments (403 AuthorizationFailed) → role definition exists (400) → principal is
 * known to the directory unless principalType was sent (400 PrincipalNotFound) → no other
 * assignment with the same scope + role + principal (409 RoleAssignmentExists).
 */
import { ArmError, type SimRequest } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import type { ArmResource } from '../store.js';
import { key } from '../store.js';
import { BUILT_IN_ROLES, roleByGuid, roleDefinitionId, roleDefinitionResource } from '../roles.js';
import { callerRole, currentCaller, isRestricted, requirePermission, rolesAt } from '../caller.js';
import { page, parseScope, requireResourceGroup, requireSubscription } from './common.js';

/** 2022-04-01: @azure/arm-authorization 9.0.0 (role assignments, definitions, permissions) and az CLI. */
export const ROLE_ASSIGNMENT_API_VERSIONS = ['2022-04-01', '2022-01-01-preview', '2020-10-01-preview', '2020-08-01-preview', '2020-04-01-preview', '2018-09-01-preview', '2018-01-01-preview', '2017-10-01-preview', '2015-07-01'] as const;
export const ROLE_DEFINITION_API_VERSIONS = ['2022-05-01-preview', '2022-04-01', '2018-01-01-preview', '2015-07-01'] as const;
export const PERMISSIONS_API_VERSIONS = ['2022-04-01', '2018-07-01', '2018-01-01-preview', '2015-07-01'] as const;

const ASSIGNMENT_TYPE = 'Microsoft.Authorization/roleAssignments';
const PRINCIPAL_TYPES = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device'];
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The scope with ARM's canonical casing for the parts we know (`resourceGroups`, `providers`). */
function canonicalScope(scope: string): string {
  return scope
    .replace(/\/{2,}/g, '/')
    .replace(/\/$/, '')
    .replace(/\/subscriptions\//i, '/subscriptions/')
    .replace(/\/resourcegroups\//i, '/resourceGroups/')
    .replace(/\/providers\//gi, '/providers/');
}

/** 404s for a scope whose subscription or resource group does not exist. */
function checkScopeExists(sim: SimContext, scope: string): void {
  const p = parseScope(scope);
  if (p.resourceGroup) requireResourceGroup(sim, p.subscriptionId!, p.resourceGroup);
  else if (p.subscriptionId) requireSubscription(sim, p.subscriptionId);
}

/** True when `inner` is `outer` or lies below it (`/a/b` is within `/a`). */
function within(inner: string, outer: string): boolean {
  const i = key(inner);
  const o = key(outer);
  return i === o || i.startsWith(`${o}/`);
}

/**
 * `$filter` for role assignment lists: `principalId eq '…'`, `atScope()`, `assignedTo('…')`,
 * joined with `and`. Without `atScope()` ARM lists the scope, its parents and its children.
 */
function assignmentFilter(filter: string | null, scope: string): (a: ArmResource) => boolean {
  const tests: ((a: ArmResource) => boolean)[] = [];
  let atScope = false;
  for (const clause of (filter ?? '').split(/\s+and\s+/i).map((c) => c.trim()).filter(Boolean)) {
    let m: RegExpExecArray | null;
    if ((m = /^principalId\s+eq\s+'([^']*)'$/i.exec(clause))) {
      const id = m[1]!.toLowerCase();
      tests.push((a) => String(a.properties.principalId).toLowerCase() === id);
    } else if ((m = /^assignedTo\('([^']*)'\)$/i.exec(clause))) {
      // Group membership is not modelled: assigned-to is the principal itself.
      const id = m[1]!.toLowerCase();
      tests.push((a) => String(a.properties.principalId).toLowerCase() === id);
    } else if (/^atScope\(\)$/i.test(clause)) {
      atScope = true;
    } else {
      throw new ArmError(400, 'UnsupportedQuery', `The filter '${filter}' is not supported. Supported filters are principalId eq '{value}', atScope() and assignedTo('{value}').`);
    }
  }
  tests.push((a) => within(scope, a.properties.scope) || (!atScope && within(a.properties.scope, scope)));
  return (a) => tests.every((t) => t(a));
}

function roleDefinitionsFilter(filter: string | null): (r: (typeof BUILT_IN_ROLES)[number]) => boolean {
  if (!filter) return () => true;
  let m: RegExpExecArray | null;
  if ((m = /^\s*roleName\s+eq\s+'([^']*)'\s*$/i.exec(filter))) {
    const name = m[1]!.toLowerCase();
    return (r) => r.roleName.toLowerCase() === name;
  }
  if (/^\s*type\s+eq\s+'BuiltInRole'\s*$/i.test(filter)) return () => true;
  if (/^\s*type\s+eq\s+'CustomRole'\s*$/i.test(filter)) return () => false;
  throw new ArmError(400, 'UnsupportedQuery', `The filter '${filter}' is not supported. Supported filters are roleName eq '{value}' and type eq 'BuiltInRole|CustomRole'.`);
}

export const authorizationRoutes: RouteModule = (router, sim) => {
  const assignments = { apiVersions: ROLE_ASSIGNMENT_API_VERSIONS };
  const one = '/{*scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}';

  const locate = (req: SimRequest) => {
    const scope = canonicalScope(req.params.scope!);
    const name = req.params.roleAssignmentName!;
    const id = `${scope}/providers/${ASSIGNMENT_TYPE}/${name}`;
    return { scope, name, id, existing: sim.state.roleAssignments[key(id)] };
  };

  router.on('GET', one, { name: 'roleAssignments.get', ...assignments }, (req) => {
    const { scope, name, existing } = locate(req);
    checkScopeExists(sim, scope);
    if (!existing) throw new ArmError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`);
    return { status: 200, body: existing };
  });

  router.on('PUT', one, { name: 'roleAssignments.create', write: true, ...assignments }, (req) => {
    const { scope, name, id, existing } = locate(req);
    if (!GUID.test(name)) throw new ArmError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`);
    checkScopeExists(sim, scope);
    requirePermission(sim, 'Microsoft.Authorization/roleAssignments/write', id);

    const props = req.body?.properties;
    if (typeof props !== 'object' || props === null) throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'Required property 'properties' not found in JSON.'.");
    const { roleDefinitionId: requestedRole, principalId, principalType, description, condition, conditionVersion } = props;
    if (typeof principalId !== 'string' || !GUID.test(principalId)) throw new ArmError(400, 'InvalidPrincipalId', `A valid principal ID must be provided for role assignment. The principal ID '${principalId ?? ''}' is not valid.`);
    const role = typeof requestedRole === 'string' ? roleByGuid(requestedRole) : undefined;
    if (!role) throw new ArmError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${String(requestedRole ?? '').split('/').pop()}' does not exist.`);
    if (principalType !== undefined && !PRINCIPAL_TYPES.includes(principalType)) {
      throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: 'Error converting value "${principalType}" to type 'PrincipalType'.'.`);
    }
    if (condition !== undefined && condition !== null && conditionVersion !== undefined && conditionVersion !== '2.0') {
      throw new ArmError(400, 'InvalidConditionVersion', `The condition version '${conditionVersion}' is not supported. Supported version is 2.0.`);
    }

    // With principalType ARM skips the directory lookup; without it a principal Graph does not
    // know yet (a just-created task identity) is refused.
    const principal = sim.state.principals[principalId];
    const known = principal !== undefined && principal.visibleAt <= sim.now();
    if (!principalType && !known) {
      // ARM prints the principal id without dashes in this message.
      throw new ArmError(
        400,
        'PrincipalNotFound',
        `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${sim.state.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
      );
    }

    const subscriptionId = parseScope(scope).subscriptionId ?? sim.state.subscriptions[0]!.subscriptionId;
    const roleId = roleDefinitionId(subscriptionId, role.guid);
    if (existing) {
      const same = existing.properties.principalId.toLowerCase() === principalId.toLowerCase() && roleByGuid(existing.properties.roleDefinitionId)?.guid === role.guid;
      if (!same) throw new ArmError(409, 'RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.');
      return { status: 200, body: existing };
    }
    const duplicate = Object.values(sim.state.roleAssignments).find(
      (a) => key(a.properties.scope) === key(scope) && a.properties.principalId.toLowerCase() === principalId.toLowerCase() && roleByGuid(a.properties.roleDefinitionId)?.guid === role.guid,
    );
    if (duplicate) throw new ArmError(409, 'RoleAssignmentExists', 'The role assignment already exists.');

    const now = new Date(sim.now()).toISOString();
    const assignment: ArmResource = {
      id,
      name,
      type: ASSIGNMENT_TYPE,
      properties: {
        roleDefinitionId: roleId,
        principalId,
        principalType: principalType ?? principal!.kind,
        scope,
        condition: condition ?? null,
        conditionVersion: condition ? (conditionVersion ?? '2.0') : null,
        createdOn: now,
        updatedOn: now,
        createdBy: currentCaller(sim.state).principalId,
        updatedBy: currentCaller(sim.state).principalId,
        delegatedManagedIdentityResourceId: null,
        description: description ?? null,
      },
    };
    sim.state.roleAssignments[key(id)] = assignment;
    sim.changed();
    return { status: 201, body: assignment };
  });

  router.on('DELETE', one, { name: 'roleAssignments.delete', write: true, ...assignments }, (req) => {
    const { scope, id, existing } = locate(req);
    checkScopeExists(sim, scope);
    requirePermission(sim, 'Microsoft.Authorization/roleAssignments/delete', id);
    if (!existing) return { status: 204 };
    delete sim.state.roleAssignments[key(id)];
    sim.changed();
    return { status: 200, body: existing };
  });

  router.on('GET', '/{*scope}/providers/Microsoft.Authorization/roleAssignments', { name: 'roleAssignments.list', ...assignments }, (req) => {
    const scope = canonicalScope(req.params.scope!);
    checkScopeExists(sim, scope);
    const keep = assignmentFilter(req.query.get('$filter'), scope);
    return { status: 200, body: page(Object.values(sim.state.roleAssignments).filter(keep)) };
  });

  // Role definitions: `{scope}/providers/…/roleDefinitions/{guid}`, and getById's bare
  // `/providers/…/roleDefinitions/{guid}`.
  const definitions = { apiVersions: ROLE_DEFINITION_API_VERSIONS };
  const getDefinition = (req: SimRequest) => {
    const guid = req.params.roleDefinitionId!;
    const role = roleByGuid(guid);
    if (!role) throw new ArmError(404, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${guid}' does not exist.`);
    const scope = req.params.scope ? canonicalScope(req.params.scope) : '';
    const sub = parseScope(scope).subscriptionId;
    const body = roleDefinitionResource(sub ?? sim.state.subscriptions[0]!.subscriptionId, role);
    return { status: 200, body: sub ? body : { ...body, id: `/providers/Microsoft.Authorization/roleDefinitions/${role.guid}` } };
  };
  router.on('GET', '/{*scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}', { name: 'roleDefinitions.get', ...definitions }, getDefinition);
  router.on('GET', '/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}', { name: 'roleDefinitions.get', ...definitions }, getDefinition);
  router.on('GET', '/{*scope}/providers/Microsoft.Authorization/roleDefinitions', { name: 'roleDefinitions.list', ...definitions }, (req) => {
    const scope = canonicalScope(req.params.scope!);
    checkScopeExists(sim, scope);
    const sub = parseScope(scope).subscriptionId ?? sim.state.subscriptions[0]!.subscriptionId;
    const keep = roleDefinitionsFilter(req.query.get('$filter'));
    return { status: 200, body: page(BUILT_IN_ROLES.filter(keep).map((r) => roleDefinitionResource(sub, r))) };
  });

  // The caller's effective permissions at a resource group or resource: its role's (caller.ts) —
  // Owner's, Contributor's (everything but Microsoft.Authorization writes) or Reader's (`*/read`).
  router.on('GET', '/{*scope}/providers/Microsoft.Authorization/permissions', { name: 'permissions.list', apiVersions: PERMISSIONS_API_VERSIONS }, (req) => {
    const scope = canonicalScope(req.params.scope!);
    checkScopeExists(sim, scope);
    // The sim's caller: its one role everywhere. Anyone else: the roles its assignments give it here.
    const caller = currentCaller(sim.state);
    const roles = isRestricted(sim.state, caller) ? rolesAt(sim.state, caller.principalId, scope) : [callerRole(sim.state)];
    return { status: 200, body: page(roles.map((role) => ({ actions: role.actions, notActions: role.notActions, dataActions: role.dataActions, notDataActions: [] }))) };
  });
};
