/**
 * The domain objects the adapter hands to the steps: small, plain, JSON-safe, named in the
 * workflow's terms. No SDK type leaks past `src/azure`.
 */

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  state: string;
  tenantId?: string;
  /** The offer (`subscriptionPolicies.quotaId`): `FreeTrial_2014-09-01` subscriptions may not run ACR Tasks. */
  quotaId?: string;
}

export interface ResourceGroup {
  id: string;
  name: string;
  location: string;
}

export type PublicNetworkAccess = 'Enabled' | 'Disabled';
export type NetworkRuleBypassOptions = 'AzureServices' | 'None';

export interface IpRule {
  action: 'Allow';
  /** An IPv4 address or CIDR range (the SDK's `iPAddressOrRange`, `value` on the wire). */
  value: string;
}

export interface NetworkRuleSet {
  defaultAction: 'Allow' | 'Deny';
  ipRules: IpRule[];
}

/** The registry settings the workflow changes and `reset` restores. */
export interface NetworkSettings {
  publicNetworkAccess: PublicNetworkAccess;
  networkRuleBypassOptions: NetworkRuleBypassOptions;
  /** Since 1 June 2025 a task's system identity bypasses the network rules only when true. */
  networkRuleBypassAllowedForTasks: boolean;
  /** Absent on registries that never had one (non-Premium SKUs). */
  networkRuleSet?: NetworkRuleSet;
}

/** A PATCH of the network settings: only the fields given are sent. */
export type NetworkPatch = Partial<NetworkSettings>;

export interface Registry extends NetworkSettings {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  loginServer: string;
  /** Basic | Standard | Premium | Classic */
  sku: string;
  /**
   * `AbacRepositoryPermissions` registries ignore AcrPull/AcrPush and give tasks no implicit access
   * to themselves; `LegacyRegistryPermissions` (the default). Absent means legacy RBAC. Defined from
   * registries api-version 2025-03-01-preview (Azure/azure-rest-api-specs Registry/preview/
   * 2025-03-01-preview/examples/RegistryCreateAbac.json, commit d0af1d31) and in the stable
   * 2025-11-01 (examples/RegistryCreateAbac.json there) that @azure/arm-containerregistry 11.0.0
   * sends, so the SDK's own registry read carries it.
   */
  roleAssignmentMode?: string;
  /** When ARM last saw the registry changed (`systemData.lastModifiedAt`, ISO 8601); absent when not shown. */
  lastModifiedAt?: string;
}

export type TaskIdentityType = 'SystemAssigned' | 'UserAssigned' | 'SystemAssigned, UserAssigned' | 'None';

export interface Task {
  id: string;
  name: string;
  location: string;
  identityType: TaskIdentityType;
  /** The system-assigned identity's object id, when it has one. */
  principalId?: string;
  /** ARM ids of user-assigned identities. */
  userAssignedIdentities: string[];
  /** `None` = the task gets no implicit credential for its own registry (`--auth-mode None`). */
  sourceRegistryLoginMode?: string;
  /** `credentials.sourceRegistry.identity` (api-version 2025-03-01-preview+): the identity the run
   *  uses for its own registry (`[system]` or a client id), the ABAC registries' replacement for
   *  the implicit run token. */
  sourceRegistryIdentity?: string;
  /**
   * Credentials by login server. `null` means the GET blanked the entry (secrets are only in
   * `getTaskDetails`); otherwise `identity` is `[system]` or a client id.
   */
  customRegistries: Record<string, { identity?: string; hasUserName: boolean } | null>;
  /** The dedicated agent pool the task runs on (`agentPoolName`); absent: the shared agents. */
  agentPoolName?: string;
  /** EncodedTask | FileTask | Docker */
  stepType?: string;
  status?: string;
  /** When ARM last saw the task changed (`systemData.lastModifiedAt`, ISO 8601); absent when not shown. */
  lastModifiedAt?: string;
}

export function hasSystemIdentity(task: Task): boolean {
  return task.identityType === 'SystemAssigned' || task.identityType === 'SystemAssigned, UserAssigned';
}

/**
 * A dedicated agent pool of a registry (`Microsoft.ContainerRegistry/registries/agentPools`): VMs
 * that run the registry's tasks, optionally joined to a subnet of the user's virtual network.
 */
export interface AgentPool {
  id: string;
  name: string;
  location: string;
  /** S1, S2, S3 (standard) or I6 (isolated). */
  tier?: string;
  /** How many instances are allocated (billing follows the allocation). */
  count?: number;
  os?: string;
  /** The subnet's ARM id, when the pool is joined to one. */
  subnetId?: string;
  /** Creating | Updating | Succeeded | Failed | Canceled | Deleting */
  provisioningState?: string;
}

/** What `createAgentPool` needs. */
export interface AgentPoolSpec {
  /** The registry's location (a pool lives where its registry does). */
  location: string;
  tier: string;
  /** The subnet's ARM id. */
  subnetId: string;
  /** Instances (default 1). */
  count?: number;
}

/** What `createTask` needs. */
export interface TaskSpec {
  /** The registry's location. */
  location: string;
  /** The task YAML (the adapter base64-encodes it into an EncodedTask step). */
  taskYaml: string;
}

export type RunStatus = 'Queued' | 'Started' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled' | 'Error' | 'Timeout';

export const FINAL_RUN_STATUSES: readonly string[] = ['Succeeded', 'Failed', 'Canceled', 'Error', 'Timeout'];

export interface Run {
  id: string;
  /** Short base-36 id: `ca1`. */
  runId: string;
  status: RunStatus;
  /** ARM id or name of the task it ran. */
  task?: string;
  runErrorMessage?: string;
  createTime?: string;
  finishTime?: string;
  outputImages: { registry?: string; repository?: string; tag?: string; digest?: string }[];
}

export interface RoleAssignment {
  id: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  /** When the assignment was made (ISO 8601; ARM's `properties.createdOn`). */
  createdOn?: string;
}

export interface CallerPermissions {
  /** The raw entries, one per role the caller holds on the scope. */
  permissions: { actions: string[]; notActions: string[] }[];
  /** May the caller create role assignments on the scope? */
  canWriteRoleAssignments: boolean;
}

/**
 * A resource exactly as ARM answered it (its JSON on the wire), with secret values removed. For
 * code that evaluates rules over ARM's own shape — the doctor hands it to the access decision the
 * simulated Azure uses (`src/model/access.ts`), so both read the same fields.
 */
export interface ArmJson {
  id: string;
  name: string;
  type?: string;
  location?: string;
  identity?: Record<string, any>;
  properties: Record<string, any>;
  [field: string]: unknown;
}
