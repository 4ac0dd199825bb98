/**
 * Names and ids: ARM resource ids, built-in role ids, deterministic role-assignment names, and the
 * caller-permission arithmetic (actions / notActions with wildcards). Pure functions, no I/O.
 */
import { createHash } from 'node:crypto';
import { ROLE_GUIDS, ROLE_NAMES } from '../model/roles.js';

/**
 * Built-in role definition GUIDs by `roleName`, for the roles the wizard names without a look-up
 * (other roles, e.g. Reader, are looked up by name through the API). The GUIDs are the shared
 * table src/model/roles.ts.
 */
export const BUILT_IN_ROLE_GUIDS: Readonly<Record<string, string>> = Object.fromEntries(
  (['AcrPush', 'AcrPull', 'AcrDelete', 'RepositoryReader', 'RepositoryWriter', 'RepositoryContributor', 'Owner', 'UserAccessAdministrator'] as const).map(
    (key) => [ROLE_NAMES[key], ROLE_GUIDS[key]],
  ),
);

/** Roles that ABAC registries (roleAssignmentMode AbacRepositoryPermissions) ignore. */
export const LEGACY_REGISTRY_ROLES: readonly string[] = ['AcrPush', 'AcrPull', 'AcrDelete'];

/** `roleDefinitionIdFor(subscriptionId, guid)`: the subscription-scoped role definition id; `roleGuid(id)`: its GUID, lower-cased. */
export { roleDefinitionId as roleDefinitionIdFor, roleGuid } from '../model/roles.js';

/** ARM ids are case-insensitive and sometimes carry doubled or trailing slashes. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const norm = (s: string) => s.replace(/\/{2,}/g, '/').replace(/\/$/, '').toLowerCase();
  return norm(a) === norm(b);
}

export interface ResourceId {
  subscriptionId: string;
  resourceGroup: string;
  provider: string;
  type: string;
  name: string;
}

/** Parses `/subscriptions/S/resourceGroups/G/providers/NS/type/name` (one level deep). */
export function parseResourceId(id: string): ResourceId | undefined {
  const m = /^\/*subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)\/*$/i.exec(id);
  if (!m) return undefined;
  return { subscriptionId: m[1]!, resourceGroup: m[2]!, provider: m[3]!, type: m[4]!, name: m[5]! };
}

/** A fixed namespace for acr-trust's name-based (v5) UUIDs. */
const ROLE_ASSIGNMENT_NAMESPACE = 'c6a3f0de-6b1e-5d2a-9f3c-0a7c2e4b8d15';

/**
 * The role assignment's name: a v5 UUID (SHA-1, RFC 4122 §4.3) of `scope|roleDefinitionId|principalId`,
 * lower-cased, so the same grant always gets the same name and a repeated create is idempotent.
 */
export function roleAssignmentName(scope: string, roleDefinitionId: string, principalId: string): string {
  const ns = Buffer.from(ROLE_ASSIGNMENT_NAMESPACE.replace(/-/g, ''), 'hex');
  const name = Buffer.from(`${scope}|${roleDefinitionId}|${principalId}`.toLowerCase(), 'utf8');
  const bytes = createHash('sha1').update(ns).update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- Permissions ----------------------------------------------------------------------------------

/** One entry of `Microsoft.Authorization/permissions`: what one of the caller's roles grants. */
export interface PermissionEntry {
  actions: string[];
  notActions: string[];
}

/** `Microsoft.Authorization/*` matches `Microsoft.Authorization/roleAssignments/write`; case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
  return re.test(action);
}

/** ARM's rule: some role grants the action and that same role does not exclude it. */
export function permits(permissions: readonly PermissionEntry[], action: string): boolean {
  return permissions.some(
    (p) => p.actions.some((a) => actionMatches(a, action)) && !p.notActions.some((n) => actionMatches(n, action)),
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
