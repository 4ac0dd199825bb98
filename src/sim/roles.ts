/**
 * Built-in Azure role definitions the sim knows. Role definition GUIDs are the same in every
 * tenant, so the wizard, the sim and tests can all refer to them by id.
 *
 * GUIDs: Microsoft's built-in roles table (articles/role-based-access-control/built-in-roles.md,
 * "Containers" and "General"/"Privileged" sections), cross-checked with arm-reference.md §4 and
 * independent templates. The ABAC "Container Registry Repository …" GUIDs come from the same
 * table (Reader b93aa761…, Writer 2a1e307c…, Contributor 2efddaa5…).
 *
 * The action lists are abbreviated to what the sim's permission checks and `permissions` answers
 * need; they are not the full published definitions.
 */

export interface BuiltInRole {
  /** Role definition GUID (the last segment of the role definition id). */
  guid: string;
  roleName: string;
  description: string;
  actions: string[];
  notActions: string[];
  dataActions: string[];
  // What a role lets an identity do on a registry's data plane is the access model's
  // (src/model/access.ts REGISTRY_DATA_ROLES), shared with `doctor`.
}

const AUTHZ_WRITE_NOT_ACTIONS = [
  'Microsoft.Authorization/*/Delete',
  'Microsoft.Authorization/*/Write',
  'Microsoft.Authorization/elevateAccess/Action',
  'Microsoft.Blueprint/blueprintAssignments/write',
  'Microsoft.Blueprint/blueprintAssignments/delete',
  'Microsoft.Compute/galleries/share/action',
  'Microsoft.Purview/consents/write',
  'Microsoft.Purview/consents/delete',
  'Microsoft.Resources/deploymentStacks/manageDenySetting/action',
  'Microsoft.Subscription/cancel/action',
  'Microsoft.Subscription/enable/action',
];

const REPO = 'Microsoft.ContainerRegistry/registries/repositories';

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  {
    guid: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    roleName: 'Owner',
    description: 'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    roleName: 'Contributor',
    description: 'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: AUTHZ_WRITE_NOT_ACTIONS,
    dataActions: [],
  },
  {
    guid: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    roleName: 'Reader',
    description: 'View all resources, but does not allow you to make any changes.',
    actions: ['*/read'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
    roleName: 'User Access Administrator',
    description: 'Lets you manage user access to Azure resources.',
    actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
    roleName: 'AcrPull',
    description: 'acr pull',
    actions: ['Microsoft.ContainerRegistry/registries/pull/read'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: '8311e382-0749-4cb8-b61a-304f252e45ec',
    roleName: 'AcrPush',
    description: 'acr push',
    actions: ['Microsoft.ContainerRegistry/registries/pull/read', 'Microsoft.ContainerRegistry/registries/push/write'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: 'c2f4ef07-c644-48eb-af81-4b1b4947fb11',
    roleName: 'AcrDelete',
    description: 'acr delete',
    actions: ['Microsoft.ContainerRegistry/registries/artifacts/delete'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: 'b93aa761-3e63-49ed-ac28-beffa264f7ac',
    roleName: 'Container Registry Repository Reader',
    description: 'Allows for read access to Azure Container Registry repositories, but excluding catalog listing.',
    actions: [],
    notActions: [],
    dataActions: [`${REPO}/metadata/read`, `${REPO}/content/read`],
  },
  {
    guid: '2a1e307c-b015-4ebd-883e-5b7698a07328',
    roleName: 'Container Registry Repository Writer',
    description: 'Allows for read and write access to Azure Container Registry repositories, but excluding catalog listing.',
    actions: [],
    notActions: [],
    dataActions: [`${REPO}/metadata/read`, `${REPO}/metadata/write`, `${REPO}/content/read`, `${REPO}/content/write`],
  },
  {
    guid: '2efddaa5-3f1f-4df3-97df-af3f13818f4c',
    roleName: 'Container Registry Repository Contributor',
    description: 'Allows for read, write, and delete access to Azure Container Registry repositories, but excluding catalog listing.',
    actions: [],
    notActions: [],
    dataActions: [
      `${REPO}/metadata/read`,
      `${REPO}/metadata/write`,
      `${REPO}/metadata/delete`,
      `${REPO}/content/read`,
      `${REPO}/content/write`,
      `${REPO}/content/delete`,
    ],
  },
];

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

/** Finds a role by GUID, or by a role definition id ending in one (any scope prefix). */
export function roleByGuid(idOrGuid: string): BuiltInRole | undefined {
  const guid = idOrGuid.split('/').pop()!.toLowerCase();
  return BUILT_IN_ROLES.find((r) => r.guid === guid);
}

export function roleByName(name: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((r) => r.roleName.toLowerCase() === name.toLowerCase());
}

/** The role definition id ARM returns for a subscription-scoped built-in role. */
export function roleDefinitionId(subscriptionId: string, guid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

/** The wire shape of a role definition (GET roleDefinitions/{id}). */
export function roleDefinitionResource(subscriptionId: string, role: BuiltInRole) {
  return {
    id: roleDefinitionId(subscriptionId, role.guid),
    name: role.guid,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: role.roleName,
      type: 'BuiltInRole',
      description: role.description,
      assignableScopes: ['/'],
      permissions: [{ actions: role.actions, notActions: role.notActions, dataActions: role.dataActions, notDataActions: [] }],
      createdOn: '2015-02-02T21:55:09.8806423Z',
      updatedOn: '2024-01-01T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
    },
  };
}
