/**
 * Names and ids: ARM resource ids, built-in role ids, deterministic role-assignment names, and the
 * caller-permission arithmetic (actions / notActions with wildcards). Pure functions, no I/O.
 */
import { createHash } from 'node:crypto';

/** Built-in role definition GUIDs: the same in every tenant (Microsoft's built-in roles table). */
export const BUILT_IN_ROLE_GUIDS: Readonly<Record<string, string>> = {
  AcrPush: '8311e382-0749-4cb8-b61a-304f252e45ec',
  AcrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
  AcrDelete: 'c2f4ef07-c644-48eb-af81-4b1b4947fb11',
  'Container Registry Repository Reader': 'b93aa761-3e63-49ed-ac28-beffa264f7ac',
  'Container Registry Repository Writer': '2a1e307c-b015-4ebd-883e-5b7698a07328',
  'Container Registry Repository Contributor': '2efddaa5-3f1f-4df3-97df-af3f13818f4c',
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  'User Access Administrator': '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
};

/** Roles that ABAC registries (roleAssignmentMode AbacRepositoryPermissions) ignore. */
export const LEGACY_REGISTRY_ROLES: readonly string[] = ['AcrPush', 'AcrPull', 'AcrDelete'];

export function roleDefinitionIdFor(subscriptionId: string, guid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

/** The GUID at the end of a role definition id (any scope prefix), lower-cased. */
export function roleGuid(roleDefinitionId: string): string {
  return roleDefinitionId.split('/').filter(Boolean).pop()!.toLowerCase();
}

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
