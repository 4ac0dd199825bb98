/**
 * Built-in Azure role definitions by GUID — the one table of these facts for the wizard
 * (src/azure), the simulated Azure (src/sim), `doctor`, the tests and the benches. Pure data, no
 * imports.
 *
 * A built-in role definition's GUID (the `name`, and the last segment of the role definition id)
 * is the same in every tenant. Source: Microsoft's built-in roles table
 * (articles/role-based-access-control/built-in-roles.md, "Containers" and "Privileged"/"General"),
 * cross-checked with the definitions ARM answers (`GET /providers/Microsoft.Authorization/
 * roleDefinitions/{guid}`: `properties.roleName`) and docs/arm-reference.md §4.
 */

/** Role definition GUIDs, by a short key. */
export const ROLE_GUIDS = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  UserAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  AcrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
  AcrPush: '8311e382-0749-4cb8-b61a-304f252e45ec',
  AcrDelete: 'c2f4ef07-c644-48eb-af81-4b1b4947fb11',
  RepositoryReader: 'b93aa761-3e63-49ed-ac28-beffa264f7ac',
  RepositoryWriter: '2a1e307c-b015-4ebd-883e-5b7698a07328',
  RepositoryContributor: '2efddaa5-3f1f-4df3-97df-af3f13818f4c',
} as const;

export type RoleKey = keyof typeof ROLE_GUIDS;

/** Each role's `roleName`, as ARM's role definition answers it (and as `az --role` takes it). */
export const ROLE_NAMES: Readonly<Record<RoleKey, string>> = {
  Owner: 'Owner',
  Contributor: 'Contributor',
  Reader: 'Reader',
  UserAccessAdministrator: 'User Access Administrator',
  AcrPull: 'AcrPull',
  AcrPush: 'AcrPush',
  AcrDelete: 'AcrDelete',
  RepositoryReader: 'Container Registry Repository Reader',
  RepositoryWriter: 'Container Registry Repository Writer',
  RepositoryContributor: 'Container Registry Repository Contributor',
};

/** The role definition id ARM returns for a built-in role at a subscription: `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`. */
export function roleDefinitionId(subscriptionId: string, guid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

/** The GUID at the end of a role definition id (any scope prefix, or a bare GUID), lower-cased. */
export function roleGuid(roleDefinitionIdOrGuid: string): string {
  return roleDefinitionIdOrGuid.split('/').filter(Boolean).pop()!.toLowerCase();
}
