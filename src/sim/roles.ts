/**
 * Built-in Azure role definitions the sim knows. Their GUIDs and names are the shared table in
 * src/model/roles.ts (the same in every tenant; sources named there).
 *
 * The action lists are abbreviated to what the sim's permission checks and `permissions` answers
 * need; they are not the full published definitions.
 */
import { ROLE_GUIDS, ROLE_NAMES, roleDefinitionId, roleGuid } from '../model/roles.js';

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
    guid: ROLE_GUIDS.Owner,
    roleName: ROLE_NAMES.Owner,
    description: 'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: ROLE_GUIDS.Contributor,
    roleName: ROLE_NAMES.Contributor,
    description: 'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: AUTHZ_WRITE_NOT_ACTIONS,
    dataActions: [],
  },
  {
    guid: ROLE_GUIDS.Reader,
    roleName: ROLE_NAMES.Reader,
    description: 'View all resources, but does not allow you to make any changes.',
    actions: ['*/read'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: ROLE_GUIDS.UserAccessAdministrator,
    roleName: ROLE_NAMES.UserAccessAdministrator,
    description: 'Lets you manage user access to Azure resources.',
    actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: ROLE_GUIDS.AcrPull,
    roleName: ROLE_NAMES.AcrPull,
    description: 'acr pull',
    actions: ['Microsoft.ContainerRegistry/registries/pull/read'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: ROLE_GUIDS.AcrPush,
    roleName: ROLE_NAMES.AcrPush,
    description: 'acr push',
    actions: ['Microsoft.ContainerRegistry/registries/pull/read', 'Microsoft.ContainerRegistry/registries/push/write'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: ROLE_GUIDS.AcrDelete,
    roleName: ROLE_NAMES.AcrDelete,
    description: 'acr delete',
    actions: ['Microsoft.ContainerRegistry/registries/artifacts/delete'],
    notActions: [],
    dataActions: [],
  },
  {
    guid: ROLE_GUIDS.RepositoryReader,
    roleName: ROLE_NAMES.RepositoryReader,
    description: 'Allows for read access to Azure Container Registry repositories, but excluding catalog listing.',
    actions: [],
    notActions: [],
    dataActions: [`${REPO}/metadata/read`, `${REPO}/content/read`],
  },
  {
    guid: ROLE_GUIDS.RepositoryWriter,
    roleName: ROLE_NAMES.RepositoryWriter,
    description: 'Allows for read and write access to Azure Container Registry repositories, but excluding catalog listing.',
    actions: [],
    notActions: [],
    dataActions: [`${REPO}/metadata/read`, `${REPO}/metadata/write`, `${REPO}/content/read`, `${REPO}/content/write`],
  },
  {
    guid: ROLE_GUIDS.RepositoryContributor,
    roleName: ROLE_NAMES.RepositoryContributor,
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

export { ROLE_GUIDS, roleDefinitionId } from '../model/roles.js';

/** Finds a role by GUID, or by a role definition id ending in one (any scope prefix). */
export function roleByGuid(idOrGuid: string): BuiltInRole | undefined {
  const guid = roleGuid(idOrGuid);
  return BUILT_IN_ROLES.find((r) => r.guid === guid);
}

export function roleByName(name: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((r) => r.roleName.toLowerCase() === name.toLowerCase());
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
