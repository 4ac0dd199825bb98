/**
 * The cloud adapter: domain verbs over the real Azure SDK clients. The same code talks to Azure
 * Resource Manager and to the simulated Azure — only the endpoint, the credential and the trusted
 * CA differ. Every SDK error leaves here as an AcrTrustError (see `errors.ts`).
 */
import type { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import type {
  AgentPool as SdkAgentPool,
  CustomRegistryCredentials,
  Registry as SdkRegistry,
  RegistryUpdateParameters,
  Run as SdkRun,
  Task as SdkTask,
  TaskUpdateParameters,
} from '@azure/arm-containerregistry';
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { RoleAssignment as SdkRoleAssignment } from '@azure/arm-authorization';
import type { ResourceManagementClient } from '@azure/arm-resources';
import type { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import type { TokenCredential } from '@azure/identity';
import type { HttpClient, PipelinePolicy } from '@azure/core-rest-pipeline';
import { inProcessHttpClient, type InProcessTransport } from './in-process.js';
import { AcrTrustError, isAcrTrustError } from '../errors.js';
import { isNotFound, toAcrTrustError } from './errors.js';
import {
  BUILT_IN_ROLE_GUIDS,
  parseResourceId,
  permits,
  roleDefinitionIdFor,
  type PermissionEntry,
} from './ids.js';
import { proxyCaPolicy } from './proxy-ca.js';
import { ReadCache } from './read-cache.js';
import { loadAuthorization, loadContainerRegistry, loadResources, loadSubscriptions, preloadSdk } from './sdk.js';
import { FINAL_RUN_STATUSES } from './types.js';
import type {
  AgentPool,
  AgentPoolSpec,
  ArmJson,
  CallerPermissions,
  NetworkPatch,
  Registry,
  ResourceGroup,
  RoleAssignment,
  Run,
  RunStatus,
  Subscription,
  Task,
  TaskIdentityType,
  TaskSpec,
} from './types.js';

export const AZURE_ENDPOINT = 'https://management.azure.com';

/**
 * The registries/tasks api-version that defines `credentials.sourceRegistry.identity`: Azure/
 * azure-rest-api-specs `RegistryTasks/preview/2025-03-01-preview` (examples/ManagedIdentity/
 * TasksUpdate_WithLoginIdentity.json, commit c8b49682: a PATCH of `{"sourceRegistry": {"identity":
 * "[system]"}}`, answered with it). @azure/arm-containerregistry 11.0.0 sends tasks at
 * 2019-06-01-preview, whose SourceRegistryCredentials has only `loginMode` (its serializer drops
 * the rest), so these requests go through the client's own pipeline with this version instead.
 */
export const TASK_SOURCE_IDENTITY_API_VERSION = '2025-03-01-preview';

export interface ConnectOptions {
  subscriptionId: string;
  credential: TokenCredential;
  /** Azure Resource Manager's endpoint (default https://management.azure.com), or the sim's. */
  endpoint?: string;
  /** PEM of a CA to trust instead of the public ones (the simulated Azure's). */
  ca?: string;
  /**
   * The resource tokens are asked for (the cloud's `activeDirectoryResourceId`, e.g.
   * https://management.core.windows.net/; scope `<resource>/.default`, as az asks it). Default:
   * the endpoint itself (`<endpoint>/.default`).
   */
  audience?: string;
  /** The cloud's registry login-server suffix, for a registry ARM returned without one (default .azurecr.io). */
  loginServerSuffix?: string;
  /** How often long-running operations are polled (ms). The sim at instant speed wants ~10. */
  pollIntervalMs?: number;
  /** The pipeline's retries of throttled (429) and transient (5xx, dropped) requests; SDK defaults otherwise. */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /**
   * How long a resource once read is reused within this connection (ms; default 60 s; 0: never).
   * Our own writes invalidate it, and a read is reused only once it shows them (see read-cache.ts).
   */
  readCacheMs?: number;
  /**
   * Hand every ARM request to this function instead of the network (an in-process sim: the room
   * board beside `sim serve`, see in-process.ts). Run logs are still fetched over HTTPS.
   */
  transport?: InProcessTransport;
}

/** Domain verbs over one subscription. Reads return undefined for what does not exist (404). */
export interface Cloud {
  readonly subscriptionId: string;

  getSubscription(subscriptionId?: string): Promise<Subscription | undefined>;
  listSubscriptions(): Promise<Subscription[]>;
  getResourceGroup(name: string): Promise<ResourceGroup | undefined>;
  listResourceGroups(): Promise<ResourceGroup[]>;

  getRegistry(resourceGroup: string, name: string): Promise<Registry | undefined>;
  listRegistries(resourceGroup?: string): Promise<Registry[]>;
  /** PATCHes only the fields given and waits for the operation; returns the registry after it. */
  updateRegistryNetwork(resourceGroup: string, name: string, patch: NetworkPatch): Promise<Registry>;

  /**
   * The task (undefined: it does not exist), read once per command through POST listDetails —
   * credentials filled in — or, for a caller without that action, through GET (which may show
   * credential entries as null). getTaskDetails and getTaskJson share the same read.
   */
  getTask(resourceGroup: string, registry: string, task: string): Promise<Task | undefined>;
  /** The task with its credentials filled in (POST listDetails; throws AuthorizationFailed without that action). */
  getTaskDetails(resourceGroup: string, registry: string, task: string): Promise<Task | undefined>;
  /** Creates (or replaces) a task with a system-assigned identity and loginMode None. */
  createTask(resourceGroup: string, registry: string, task: string, spec: TaskSpec): Promise<Task>;
  /**
   * Adds a system identity (keeping any user-assigned ones) and sets loginMode None — or, with
   * `{ loginModeNone: false }`, leaves the task's login to its own registry as it is.
   */
  updateTaskIdentity(resourceGroup: string, registry: string, task: string, options?: { loginModeNone?: boolean }): Promise<Task>;
  /**
   * Puts a task's identity type and source-registry login mode back to what they were (for
   * `reset` on a task the user already had): `identityType` None removes the system identity,
   * `loginMode` undefined leaves it. Waits for the operation; returns the task after it.
   */
  restoreTask(resourceGroup: string, registry: string, task: string, before: { identityType?: TaskIdentityType; loginMode?: string }): Promise<Task>;
  addTaskCredential(resourceGroup: string, registry: string, task: string, loginServer: string, identity?: string): Promise<Task>;
  /**
   * The task's `credentials.sourceRegistry.identity` — the identity its runs use for the task's own
   * registry (`[system]` or a client id) — read at api-version TASK_SOURCE_IDENTITY_API_VERSION
   * (the SDK's task model does not carry it). `{}` when the task has none; undefined when the task
   * does not exist. Never cached: one GET per call.
   */
  getTaskSourceIdentity(resourceGroup: string, registry: string, task: string): Promise<{ identity?: string } | undefined>;
  /**
   * Sets (or, with null, removes) the task's `credentials.sourceRegistry.identity` with a PATCH at
   * TASK_SOURCE_IDENTITY_API_VERSION; the rest of the task (its login mode, custom registries) is
   * left as it is. Returns the identity the task shows afterwards (read back at that version).
   */
  setTaskSourceIdentity(resourceGroup: string, registry: string, task: string, identity: string | null): Promise<string | undefined>;
  removeTaskCredential(resourceGroup: string, registry: string, task: string, loginServer: string): Promise<Task>;
  /** Deletes the task; no error when it does not exist. */
  deleteTask(resourceGroup: string, registry: string, task: string): Promise<void>;
  /**
   * Sets the task's `agentPoolName` (`az acr task update --agent-pool NAME`): its runs go to that
   * dedicated pool; `undefined` sends null, back to the shared agents. Waits; returns the task.
   */
  setTaskAgentPool(resourceGroup: string, registry: string, task: string, pool: string | undefined): Promise<Task>;

  getAgentPool(resourceGroup: string, registry: string, pool: string): Promise<AgentPool | undefined>;
  /**
   * Creates a dedicated agent pool (`az acr agentpool create`), a long-running operation (minutes on
   * Azure), and waits for it. Refused by ARM for a registry that is not Premium.
   */
  createAgentPool(resourceGroup: string, registry: string, pool: string, spec: AgentPoolSpec): Promise<AgentPool>;
  /** Deletes the pool and waits; no error when it does not exist. */
  deleteAgentPool(resourceGroup: string, registry: string, pool: string): Promise<void>;
  /**
   * The subnets (ARM ids) of the registry's approved private endpoints: what a pool's network must
   * reach. ARM's registry answer names each endpoint (`privateEndpointConnections[].properties.
   * privateEndpoint.id`); the endpoint resource (`Microsoft.Network/privateEndpoints`, read by id)
   * names its subnet (`properties.subnet.id`). An endpoint that cannot be read is left out.
   */
  privateEndpointSubnets(resourceGroup: string, registry: string): Promise<string[]>;

  /** The full role definition id of a role by name (built-in table first, then the API). */
  roleDefinitionId(roleName: string): Promise<string>;
  /** Assignments for a principal that apply at `scope` (including inherited ones). */
  listRoleAssignments(scope: string, principalId: string): Promise<RoleAssignment[]>;
  createRoleAssignment(scope: string, roleDefinitionId: string, principalId: string, name: string): Promise<RoleAssignment>;
  /** Deletes by full id; no error when it does not exist. */
  deleteRoleAssignment(roleAssignmentId: string): Promise<void>;
  /** What the signed-in caller may do on a registry (or resource group) scope. */
  callerPermissions(scope: string): Promise<CallerPermissions>;

  /** Queues a run of the task (by full ARM id); returns the run id (`ca1`). */
  scheduleRun(resourceGroup: string, registry: string, taskId: string): Promise<string>;
  getRun(resourceGroup: string, registry: string, runId: string): Promise<Run | undefined>;
  listRuns(resourceGroup: string, registry: string, options?: { taskName?: string; top?: number }): Promise<Run[]>;
  /** The run's log text so far ('' before it exists). The log's SAS URL never leaves this call. */
  readRunLog(resourceGroup: string, registry: string, runId: string, signal?: AbortSignal): Promise<string>;
  cancelRun(resourceGroup: string, registry: string, runId: string): Promise<void>;

  // ARM's own JSON (secrets removed), each read once per connection through the read cache: what
  // the doctor judges with the same rules as the simulated Azure.
  /** Every registry in the subscription (one paged list: SKU, network rules, private endpoints …). */
  listRegistriesJson(): Promise<ArmJson[]>;
  /** The task with its credentials (POST listDetails), secret values removed. */
  getTaskJson(resourceGroup: string, registry: string, task: string): Promise<ArmJson | undefined>;
  /** Every role assignment of `principalId` in the subscription: at, above and below any scope. */
  listRoleAssignmentsJson(principalId: string): Promise<ArmJson[]>;
  getAgentPoolJson(resourceGroup: string, registry: string, pool: string): Promise<ArmJson | undefined>;
  listTasksJson(resourceGroup: string, registry: string): Promise<ArmJson[]>;
  /** The newest runs (of one task, or the one run, when named), newest first. */
  listRunsJson(resourceGroup: string, registry: string, options?: { taskName?: string; runId?: string; top?: number }): Promise<ArmJson[]>;
}

/**
 * Connects to Azure Resource Manager (or the simulated Azure) and starts loading the SDK packages
 * in the background (see `sdk.ts`). Clients are created on first use,
 * so a command that only reads registries never builds the authorization client.
 */
export function connect(opts: ConnectOptions): Cloud {
  preloadSdk();
  return new ArmCloud(opts);
}

class ArmCloud implements Cloud {
  readonly subscriptionId: string;
  private readonly endpoint: string;
  private readonly clientOptions: {
    endpoint: string;
    $host: string;
    credentialScopes: string[];
    tlsOptions?: { ca: string };
    additionalPolicies?: { policy: PipelinePolicy; position: 'perCall' }[];
    retryOptions?: ConnectOptions['retry'];
    httpClient?: HttpClient;
    userAgentOptions: { userAgentPrefix: string };
  };
  private readonly lro: { updateIntervalInMs?: number };
  private readonly ca?: string;
  private acrClient?: ContainerRegistryManagementClient;
  private authzClient?: AuthorizationManagementClient;
  private resourcesClient?: ResourceManagementClient;
  private subscriptionsClient?: SubscriptionClient;
  private readonly cache: ReadCache;
  /** Set when listDetails was refused (403): the caller reads tasks with GET for the rest of the command. */
  private taskDetailsRefused = false;

  constructor(private readonly opts: ConnectOptions) {
    this.subscriptionId = opts.subscriptionId;
    this.cache = new ReadCache({ maxAgeMs: opts.readCacheMs ?? 60_000 });
    this.endpoint = (opts.endpoint ?? AZURE_ENDPOINT).replace(/\/+$/, '');
    this.ca = opts.ca;
    this.clientOptions = {
      // `endpoint` sets the pipeline's base and token audience; `$host` fills `{$host}` in every
      // operation's URL template. The SDK defaults both to management.azure.com; set both.
      endpoint: this.endpoint,
      $host: this.endpoint,
      // The token's audience: the cloud's Resource Manager resource when given (what az asks for:
      // https://management.core.windows.net//.default on Azure, its equivalent in a sovereign cloud,
      // whatever --endpoint says), else the endpoint itself.
      credentialScopes: [opts.audience ? `${opts.audience}/.default` : `${this.endpoint}/.default`],
      // The pipeline's https.Agent gets `ca`, which REPLACES the public roots for these clients:
      // the sim's certificate is verified against its own CA; verification is never disabled.
      // One options object per CA: the SDK keys its keep-alive agents by it, so every connection to
      // the same endpoint (the pickers' lists, then the run) reuses one TLS connection.
      // Through HTTPS_PROXY the SDK drops tlsOptions; proxyCaPolicy puts the CA back (proxy-ca.ts).
      ...(opts.ca ? { tlsOptions: tlsOptionsFor(opts.ca), additionalPolicies: [{ policy: proxyCaPolicy(), position: 'perCall' as const }] } : {}),
      ...(opts.retry ? { retryOptions: opts.retry } : {}),
      ...(opts.transport ? { httpClient: inProcessHttpClient(opts.transport) } : {}),
      userAgentOptions: { userAgentPrefix: 'acr-trust/0.1.0' },
    };
    this.lro = opts.pollIntervalMs !== undefined ? { updateIntervalInMs: opts.pollIntervalMs } : {};
  }

  // ---- clients (lazy) -----------------------------------------------------------------------------
  // The SDK packages are imported on first use, so commands that never reach Azure (`steps`,
  // `--help`, usage errors) do not pay for loading them.

  private async acr(): Promise<ContainerRegistryManagementClient> {
    if (!this.acrClient) {
      const { ContainerRegistryManagementClient } = await loadContainerRegistry();
      this.acrClient ??= lean(new ContainerRegistryManagementClient(this.opts.credential, this.subscriptionId, this.clientOptions));
    }
    return this.acrClient;
  }
  private async authz(): Promise<AuthorizationManagementClient> {
    if (!this.authzClient) {
      const { AuthorizationManagementClient } = await loadAuthorization();
      this.authzClient ??= lean(new AuthorizationManagementClient(this.opts.credential, this.subscriptionId, this.clientOptions));
    }
    return this.authzClient;
  }
  private async resources(): Promise<ResourceManagementClient> {
    if (!this.resourcesClient) {
      const { ResourceManagementClient } = await loadResources();
      this.resourcesClient ??= lean(new ResourceManagementClient(this.opts.credential, this.subscriptionId, this.clientOptions));
    }
    return this.resourcesClient;
  }
  private async subscriptions(): Promise<SubscriptionClient> {
    if (!this.subscriptionsClient) {
      const { SubscriptionClient } = await loadSubscriptions();
      this.subscriptionsClient ??= lean(new SubscriptionClient(this.opts.credential, this.clientOptions));
    }
    return this.subscriptionsClient;
  }

  /** Runs an SDK call; any failure becomes an AcrTrustError saying what we were doing. */
  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toAcrTrustError(e, doing);
    }
  }

  /** Like `call`, but a 404 reads as "does not exist". */
  private async read<T>(doing: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw toAcrTrustError(e, doing);
    }
  }

  /** Like `read`, through the read cache (a 404 is kept too: "does not exist" until we create it). */
  private cached<T>(key: string, doing: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.cache.read(key, () => this.read(doing, fn));
  }

  /** A role-assignment write: every cached list of assignments is forgotten, before and after. */
  private async roleAssignmentWrite<T>(key: string | undefined, expect: Record<string, (value: any) => boolean>, fn: () => Promise<T>): Promise<T> {
    this.cache.forgetPrefix('roleAssignments:');
    try {
      return await this.cache.write(key ? [key] : [], fn, expect);
    } finally {
      this.cache.forgetPrefix('roleAssignments:');
    }
  }

  // ---- subscriptions and resource groups ----------------------------------------------------------

  async getSubscription(subscriptionId = this.subscriptionId): Promise<Subscription | undefined> {
    return this.cached(`subscription:${subscriptionId}`, `read subscription ${subscriptionId}`, async () => toSubscription(await (await this.subscriptions()).subscriptions.get(subscriptionId)));
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return this.call('list subscriptions', async () => {
      const out: Subscription[] = [];
      for await (const s of (await this.subscriptions()).subscriptions.list()) out.push(toSubscription(s));
      return out;
    });
  }

  async getResourceGroup(name: string): Promise<ResourceGroup | undefined> {
    return this.cached(keys.resourceGroup(name), `read resource group ${name}`, async () => toResourceGroup(await (await this.resources()).resourceGroups.get(name)));
  }

  async listResourceGroups(): Promise<ResourceGroup[]> {
    return this.call(`list resource groups in subscription ${this.subscriptionId}`, async () => {
      const out: ResourceGroup[] = [];
      for await (const g of (await this.resources()).resourceGroups.list()) out.push(toResourceGroup(g));
      return out;
    });
  }

  // ---- registries ---------------------------------------------------------------------------------

  async getRegistry(resourceGroup: string, name: string): Promise<Registry | undefined> {
    return this.cached(keys.registry(resourceGroup, name), `read registry ${name} in resource group ${resourceGroup}`, async () => toRegistry(await (await this.acr()).registries.get(resourceGroup, name), this.opts.loginServerSuffix));
  }

  async listRegistries(resourceGroup?: string): Promise<Registry[]> {
    return this.call(resourceGroup ? `list registries in resource group ${resourceGroup}` : 'list registries', async () => {
      const out: Registry[] = [];
      const pages = resourceGroup ? (await this.acr()).registries.listByResourceGroup(resourceGroup) : (await this.acr()).registries.list();
      for await (const r of pages) out.push(toRegistry(r, this.opts.loginServerSuffix));
      return out;
    });
  }

  async updateRegistryNetwork(resourceGroup: string, name: string, patch: NetworkPatch): Promise<Registry> {
    const body: RegistryUpdateParameters = {};
    if (patch.publicNetworkAccess !== undefined) body.publicNetworkAccess = patch.publicNetworkAccess;
    if (patch.networkRuleBypassOptions !== undefined) body.networkRuleBypassOptions = patch.networkRuleBypassOptions;
    if (patch.networkRuleBypassAllowedForTasks !== undefined) body.networkRuleBypassAllowedForTasks = patch.networkRuleBypassAllowedForTasks;
    if (patch.networkRuleSet !== undefined) {
      body.networkRuleSet = {
        defaultAction: patch.networkRuleSet.defaultAction,
        ipRules: patch.networkRuleSet.ipRules.map((r) => ({ action: r.action, iPAddressOrRange: r.value })),
      };
    }
    const fields = Object.keys(body).join(', ');
    const key = keys.registry(resourceGroup, name);
    return this.cache.write(
      [key],
      () => this.call(`update ${fields} on registry ${name}`, async () => toRegistry(await (await this.acr()).registries.beginUpdateAndWait(resourceGroup, name, body, this.lro), this.opts.loginServerSuffix)),
      { [key]: (r?: Registry) => r !== undefined && showsNetworkPatch(r, patch) },
    );
  }

  // ---- tasks --------------------------------------------------------------------------------------

  async getTask(resourceGroup: string, registry: string, task: string): Promise<Task | undefined> {
    return (await this.taskOnce(resourceGroup, registry, task)).task;
  }

  async getTaskDetails(resourceGroup: string, registry: string, task: string): Promise<Task | undefined> {
    return (await this.taskDetailsOnce(resourceGroup, registry, task)).task;
  }

  /**
   * The task, read once per command (the read cache, key `task:`) through POST listDetails, which
   * answers everything GET does — both operations answer the spec's `Task` definition
   * (Azure/azure-rest-api-specs containerregistry_build.json, Tasks_Get and Tasks_GetDetails), and
   * Azure's listDetails answers carry `systemData.lastModifiedAt` (Azure/azure-cli recording
   * test_acr_task, `az acr task run`) — plus the credential entries a GET shows as null. So
   * getTask, getTaskDetails and getTaskJson share one request; a write to the task forgets it
   * (createTask, updateTask, deleteTask write through `task:`). A caller without the listDetails
   * action (Reader) gets the GET instead: a 403 once, then GET for the rest of the command.
   */
  private taskOnce(resourceGroup: string, registry: string, task: string): Promise<TaskRead> {
    return this.cache.read(keys.task(resourceGroup, registry, task), async () => {
      if (!this.taskDetailsRefused) {
        try {
          return await this.readTaskDetails(resourceGroup, registry, task);
        } catch (e) {
          if (!isAcrTrustError(e) || e.options.statusCode !== 403) throw e;
          this.taskDetailsRefused = true;
        }
      }
      const got = await this.read(`read task ${task} in registry ${registry}`, async () => toTask(await (await this.acr()).tasks.get(resourceGroup, registry, task)));
      return { task: got, details: false };
    });
  }

  /**
   * As taskOnce, but always through listDetails: after a GET (no listDetails rights) listDetails is
   * asked, and its refusal thrown — even for a task the GET did not find (ARM refuses before it
   * looks, so a refusal says nothing of what exists).
   */
  private async taskDetailsOnce(resourceGroup: string, registry: string, task: string): Promise<TaskRead> {
    const once = await this.taskOnce(resourceGroup, registry, task);
    return once.details ? once : this.readTaskDetails(resourceGroup, registry, task);
  }

  /**
   * One POST listDetails at TASK_SOURCE_IDENTITY_API_VERSION (the SDK's 2019-06-01-preview does not
   * show `credentials.sourceRegistry.identity`, which decides a task's access to an ABAC registry of
   * its own): the domain view and ARM's JSON (secret values removed); neither for a 404.
   */
  private async readTaskDetails(resourceGroup: string, registry: string, task: string): Promise<TaskRead> {
    const r = await this.taskRequest(`read the details of task ${task} in registry ${registry}`, 'POST', resourceGroup, registry, task, undefined, '/listDetails');
    if (r.status === 404 || !r.body) return { details: true };
    return { task: taskFromWire(r.body), json: withoutSecrets(r.body) as ArmJson, details: true };
  }

  async createTask(resourceGroup: string, registry: string, task: string, spec: TaskSpec): Promise<Task> {
    const body: SdkTask = {
      location: spec.location,
      identity: { type: 'SystemAssigned' },
      status: 'Enabled',
      platform: { os: 'Linux', architecture: 'amd64' },
      agentConfiguration: { cpu: 2 },
      timeout: 3600,
      step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(spec.taskYaml, 'utf8').toString('base64'), values: [] },
      credentials: { sourceRegistry: { loginMode: 'None' } },
    };
    const key = keys.task(resourceGroup, registry, task);
    return this.cache.write(
      [key],
      () => this.call(`create task ${task} in registry ${registry}`, async () => toTask(await (await this.acr()).tasks.beginCreateAndWait(resourceGroup, registry, task, body, this.lro))),
      { [key]: (r?: TaskRead) => identityAndLoginModeSet(r?.task) },
    );
  }

  async updateTaskIdentity(resourceGroup: string, registry: string, task: string, options: { loginModeNone?: boolean } = {}): Promise<Task> {
    const current = await this.getTask(resourceGroup, registry, task);
    const type: TaskIdentityType = current && current.userAssignedIdentities.length > 0 ? 'SystemAssigned, UserAssigned' : 'SystemAssigned';
    const loginModeNone = options.loginModeNone ?? true;
    return this.updateTask(
      `give task ${task} a system-assigned identity`,
      resourceGroup,
      registry,
      task,
      { identity: { type }, ...(loginModeNone ? { credentials: { sourceRegistry: { loginMode: 'None' } } } : {}) },
      loginModeNone ? identityAndLoginModeSet : (t) => t !== undefined && (t.identityType === 'SystemAssigned' || t.identityType === 'SystemAssigned, UserAssigned'),
    );
  }

  async restoreTask(resourceGroup: string, registry: string, task: string, before: { identityType?: TaskIdentityType; loginMode?: string }): Promise<Task> {
    const body: TaskUpdateParameters = {};
    if (before.identityType !== undefined) body.identity = { type: before.identityType };
    if (before.loginMode !== undefined) body.credentials = { sourceRegistry: { loginMode: before.loginMode } };
    return this.updateTask(
      `put task ${task}'s identity and login mode back`,
      resourceGroup,
      registry,
      task,
      body,
      (t) =>
        t !== undefined &&
        (before.identityType === undefined || t.identityType === before.identityType) &&
        (before.loginMode === undefined || (t.sourceRegistryLoginMode ?? 'Default') === before.loginMode),
    );
  }

  async addTaskCredential(resourceGroup: string, registry: string, task: string, loginServer: string, identity = '[system]'): Promise<Task> {
    return this.updateTask(
      `add the ${loginServer} credential to task ${task}`,
      resourceGroup,
      registry,
      task,
      { credentials: { customRegistries: { [loginServer]: { identity } } } },
      // GET may blank the entry (null): present is enough.
      (t) => t !== undefined && credentialEntry(t, loginServer) !== undefined,
    );
  }

  async removeTaskCredential(resourceGroup: string, registry: string, task: string, loginServer: string): Promise<Task> {
    // A null entry removes it (the PATCH merges the map); the SDK serialises null as is.
    const remove = null as unknown as CustomRegistryCredentials;
    return this.updateTask(
      `remove the ${loginServer} credential from task ${task}`,
      resourceGroup,
      registry,
      task,
      { credentials: { customRegistries: { [loginServer]: remove } } },
      (t) => t === undefined || credentialEntry(t, loginServer) === undefined,
    );
  }

  private async updateTask(
    doing: string,
    resourceGroup: string,
    registry: string,
    task: string,
    body: TaskUpdateParameters,
    shows: (t?: Task) => boolean,
  ): Promise<Task> {
    const key = keys.task(resourceGroup, registry, task);
    return this.cache.write(
      [key],
      () => this.call(doing, async () => toTask(await (await this.acr()).tasks.beginUpdateAndWait(resourceGroup, registry, task, body, this.lro))),
      { [key]: (r?: TaskRead) => shows(r?.task) },
    );
  }

  async getTaskSourceIdentity(resourceGroup: string, registry: string, task: string): Promise<{ identity?: string } | undefined> {
    // The task's one read per command (listDetails, at this very api-version) carries it; a caller
    // without the listDetails action got the SDK's GET instead, which does not: then a GET here.
    const once = await this.taskOnce(resourceGroup, registry, task);
    if (once.details) return once.task ? (once.task.sourceRegistryIdentity ? { identity: once.task.sourceRegistryIdentity } : {}) : undefined;
    const r = await this.taskRequest(`read the source registry identity of task ${task} in registry ${registry}`, 'GET', resourceGroup, registry, task);
    if (r.status === 404) return undefined;
    return sourceIdentityOf(r.body);
  }

  async setTaskSourceIdentity(resourceGroup: string, registry: string, task: string, identity: string | null): Promise<string | undefined> {
    const doing = identity === null ? `remove the source registry identity of task ${task}` : `set the source registry identity of task ${task} to ${identity}`;
    const body = { properties: { credentials: { sourceRegistry: { identity } } } };
    // The task's read is cached under its key: a write forgets it, and a read is kept again only
    // once it shows the change (so the poll below, and the step's check after it, read fresh).
    const key = keys.task(resourceGroup, registry, task);
    const wanted = identity ?? undefined;
    const r = await this.cache.write([key], () => this.taskRequest(doing, 'PATCH', resourceGroup, registry, task, body), {
      [key]: (read?: TaskRead) => read?.details !== true || read.task?.sourceRegistryIdentity === wanted,
    });
    if (r.status === 404) throw new AcrTrustError(`Could not ${doing}: the task does not exist.`, { code: 'ResourceNotFound', statusCode: 404 });
    // 200/201 carry the task; 202 (accepted, still updating): read it until it shows the change.
    if (r.status !== 202) return sourceIdentityOf(r.body).identity;
    for (let i = 0; i < 30; i++) {
      await new Promise((done) => setTimeout(done, this.opts.pollIntervalMs ?? 2_000));
      const now = (await this.getTaskSourceIdentity(resourceGroup, registry, task))?.identity;
      if (now === wanted) return now;
    }
    return (await this.getTaskSourceIdentity(resourceGroup, registry, task))?.identity;
  }

  /**
   * One request on a task at TASK_SOURCE_IDENTITY_API_VERSION through the registry client's own
   * pipeline (its credential, retries, proxy and trusted CA). 404 is returned; any other failure
   * becomes an AcrTrustError with ARM's code, as for the SDK's own calls.
   */
  private async taskRequest(doing: string, method: 'GET' | 'PATCH' | 'POST', resourceGroup: string, registry: string, task: string, body?: unknown, action = ''): Promise<{ status: number; body: any }> {
    const client = await this.acr();
    const { createPipelineRequest } = await import('@azure/core-rest-pipeline');
    const seg = encodeURIComponent;
    const url = `${this.endpoint}/subscriptions/${seg(this.subscriptionId)}/resourceGroups/${seg(resourceGroup)}/providers/Microsoft.ContainerRegistry/registries/${seg(registry)}/tasks/${seg(task)}${action}?api-version=${TASK_SOURCE_IDENTITY_API_VERSION}`;
    const request = createPipelineRequest({ url, method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    request.headers.set('Accept', 'application/json');
    if (body !== undefined) request.headers.set('Content-Type', 'application/json');
    let response;
    try {
      response = await client.sendRequest(request);
    } catch (e) {
      throw toAcrTrustError(e, doing);
    }
    let parsed: any;
    try {
      parsed = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.status === 404 || (response.status >= 200 && response.status < 300)) return { status: response.status, body: parsed };
    const error = parsed?.error ?? {};
    const failure = Object.assign(new Error(String(error.message ?? `HTTP ${response.status}`)), { code: error.code, statusCode: response.status });
    throw toAcrTrustError(failure, doing);
  }

  async deleteTask(resourceGroup: string, registry: string, task: string): Promise<void> {
    const key = keys.task(resourceGroup, registry, task);
    await this.cache.write(
      [key],
      () => this.read(`delete task ${task} in registry ${registry}`, async () => (await this.acr()).tasks.beginDeleteAndWait(resourceGroup, registry, task, this.lro)),
      { [key]: (r?: TaskRead) => r?.task === undefined },
    );
  }

  async setTaskAgentPool(resourceGroup: string, registry: string, task: string, pool: string | undefined): Promise<Task> {
    // null removes the property (ARM's merge); the SDK serialises null as is.
    const agentPoolName = (pool ?? null) as unknown as string;
    return this.updateTask(
      pool ? `run task ${task} on agent pool ${pool}` : `put task ${task} back on the shared agents`,
      resourceGroup,
      registry,
      task,
      { agentPoolName },
      (t) => t !== undefined && (t.agentPoolName ?? '').toLowerCase() === (pool ?? '').toLowerCase(),
    );
  }

  // ---- agent pools --------------------------------------------------------------------------------

  async getAgentPool(resourceGroup: string, registry: string, pool: string): Promise<AgentPool | undefined> {
    return this.cached(keys.agentPool(resourceGroup, registry, pool), `read agent pool ${pool} in registry ${registry}`, async () => toAgentPool(await (await this.acr()).agentPools.get(resourceGroup, registry, pool)));
  }

  async createAgentPool(resourceGroup: string, registry: string, pool: string, spec: AgentPoolSpec): Promise<AgentPool> {
    const body: SdkAgentPool = { location: spec.location, tier: spec.tier, count: spec.count ?? 1, os: 'Linux', virtualNetworkSubnetResourceId: spec.subnetId };
    const key = keys.agentPool(resourceGroup, registry, pool);
    return this.cache.write(
      [key],
      () => this.call(`create agent pool ${pool} in registry ${registry}`, async () => toAgentPool(await (await this.acr()).agentPools.beginCreateAndWait(resourceGroup, registry, pool, body, this.lro))),
      { [key]: (p?: AgentPool) => p !== undefined && p.provisioningState === 'Succeeded' },
    );
  }

  async deleteAgentPool(resourceGroup: string, registry: string, pool: string): Promise<void> {
    const key = keys.agentPool(resourceGroup, registry, pool);
    await this.cache.write(
      [key],
      () => this.read(`delete agent pool ${pool} in registry ${registry}`, async () => (await this.acr()).agentPools.beginDeleteAndWait(resourceGroup, registry, pool, this.lro)),
      { [key]: (p?: AgentPool) => p === undefined },
    );
  }

  async privateEndpointSubnets(resourceGroup: string, registry: string): Promise<string[]> {
    const bodies = await this.wire(`read registry ${registry}'s private endpoint connections`, async (onResponse) => (await this.acr()).registries.get(resourceGroup, registry, { onResponse }));
    const connections: any[] = bodies?.[0]?.properties?.privateEndpointConnections ?? [];
    const subnets: string[] = [];
    for (const c of connections) {
      const p = c?.properties ?? {};
      if (p.privateLinkServiceConnectionState?.status !== 'Approved') continue;
      const endpoint = p.privateEndpoint ?? {};
      // Where a reader already put the subnet on the connection (the simulated Azure does), it is used.
      let subnet: unknown = endpoint.subnetId ?? endpoint.subnet?.id;
      if (!subnet && typeof endpoint.id === 'string') {
        const read = await this.read(`read private endpoint ${endpoint.id}`, async () => (await this.resources()).resources.getById(endpoint.id, PRIVATE_ENDPOINT_API_VERSION)).catch(() => undefined);
        subnet = (read?.properties as { subnet?: { id?: string } } | undefined)?.subnet?.id;
      }
      if (typeof subnet === 'string' && subnet && !subnets.some((s) => s.toLowerCase() === subnet.toLowerCase())) subnets.push(subnet);
    }
    return subnets;
  }

  // ---- role assignments ---------------------------------------------------------------------------

  async roleDefinitionId(roleName: string): Promise<string> {
    const guid = BUILT_IN_ROLE_GUIDS[roleName];
    if (guid) return roleDefinitionIdFor(this.subscriptionId, guid);
    const found = await this.call(`look up role ${roleName}`, async () => {
      const filter = `roleName eq '${roleName.replace(/'/g, "''")}'`;
      for await (const d of (await this.authz()).roleDefinitions.list(`subscriptions/${this.subscriptionId}`, { filter })) {
        if (d.id && d.roleName?.toLowerCase() === roleName.toLowerCase()) return d.id;
      }
      return undefined;
    });
    if (!found) {
      throw new AcrTrustError(`There is no role named "${roleName}" in subscription ${this.subscriptionId}.`, {
        exitCode: 2,
        hint: 'List the registry roles: `az role definition list --query "[?contains(roleName, \'Container Registry\') || starts_with(roleName, \'Acr\')].roleName"`.',
      });
    }
    return found;
  }

  async listRoleAssignments(scope: string, principalId: string): Promise<RoleAssignment[]> {
    return this.cache.read(keys.roleAssignments(scope, principalId), () =>
      this.call(`list role assignments of principal ${principalId} on ${scope}`, async () => {
        const out: RoleAssignment[] = [];
        const filter = `principalId eq '${principalId}'`;
        for await (const a of (await this.authz()).roleAssignments.listForScope(scopePath(scope), { filter })) out.push(toRoleAssignment(a));
        return out;
      }),
    );
  }

  async createRoleAssignment(scope: string, roleDefinitionId: string, principalId: string, name: string): Promise<RoleAssignment> {
    // Any list of assignments may change (inherited ones too); the list at this scope must show it.
    const key = keys.roleAssignments(scope, principalId);
    return this.roleAssignmentWrite(key, { [key]: (list: RoleAssignment[]) => list.some((a) => a.name.toLowerCase() === name.toLowerCase()) }, () =>
      this.call(`assign role ${roleDefinitionId.split('/').pop()} to principal ${principalId} on ${scope}`, async () =>
        toRoleAssignment(
          await (await this.authz()).roleAssignments.create(scopePath(scope), name, {
            roleDefinitionId,
            principalId,
            // Skips the directory lookup that fails for an identity created seconds ago.
            principalType: 'ServicePrincipal',
          }),
        ),
      ),
    );
  }

  async deleteRoleAssignment(roleAssignmentId: string): Promise<void> {
    await this.roleAssignmentWrite(undefined, {}, () =>
      this.read(`delete role assignment ${roleAssignmentId}`, async () => (await this.authz()).roleAssignments.deleteById(roleAssignmentId.replace(/^\/+/, ''))),
    );
  }

  async callerPermissions(scope: string): Promise<CallerPermissions> {
    const parsed = parseResourceId(scope);
    const rg = parsed?.resourceGroup ?? /resourceGroups\/([^/]+)\/?$/i.exec(scope)?.[1];
    if (!rg) throw new AcrTrustError(`Cannot read permissions on ${scope}: expected a registry or resource group id.`, { exitCode: 2 });
    return this.cache.read(`permissions:${scope.toLowerCase()}`, () => this.call(`read your permissions on ${scope}`, async () => {
      const pages = parsed
        ? (await this.authz()).permissions.listForResource(rg, parsed.provider, '', parsed.type, parsed.name)
        : (await this.authz()).permissions.listForResourceGroup(rg);
      const permissions: PermissionEntry[] = [];
      for await (const p of pages) permissions.push({ actions: p.actions ?? [], notActions: p.notActions ?? [] });
      return { permissions, canWriteRoleAssignments: permits(permissions, 'Microsoft.Authorization/roleAssignments/write') };
    }));
  }

  // ---- runs ---------------------------------------------------------------------------------------

  async scheduleRun(resourceGroup: string, registry: string, taskId: string): Promise<string> {
    const task = taskId.split('/').pop();
    return this.call(`schedule a run of task ${task} in registry ${registry}`, async () => {
      const run = await (await this.acr()).registries.beginScheduleRunAndWait(
        resourceGroup,
        registry,
        { type: 'TaskRunRequest', taskId, overrideTaskStepProperties: { arguments: [], values: [] } },
        this.lro,
      );
      const runId = run.runId ?? run.name;
      if (!runId) throw new AcrTrustError(`Azure scheduled a run of task ${task} but returned no run id.`);
      return runId;
    });
  }

  async getRun(resourceGroup: string, registry: string, runId: string): Promise<Run | undefined> {
    // A finished run no longer changes: it is kept; one still going is read again every time.
    return this.cache.read(
      keys.run(resourceGroup, registry, runId),
      () => this.read(`read run ${runId} in registry ${registry}`, async () => toRun(await (await this.acr()).runs.get(resourceGroup, registry, runId))),
      (run) => run !== undefined && FINAL_RUN_STATUSES.includes(run.status),
    );
  }

  async listRuns(resourceGroup: string, registry: string, options: { taskName?: string; top?: number } = {}): Promise<Run[]> {
    const top = options.top ?? 10;
    const filter = options.taskName ? `TaskName eq '${options.taskName}'` : undefined;
    return this.call(`list runs in registry ${registry}`, async () => {
      const out: Run[] = [];
      for await (const r of (await this.acr()).runs.list(resourceGroup, registry, { filter, top })) {
        out.push(toRun(r));
        if (out.length >= top) break;
      }
      return out;
    });
  }

  async readRunLog(resourceGroup: string, registry: string, runId: string, signal?: AbortSignal): Promise<string> {
    const doing = `read the log of run ${runId} in registry ${registry}`;
    const run = keys.run(resourceGroup, registry, runId);
    // The log of a run seen finished is complete: it is kept (the SAS link never is).
    return this.cache.read(
      `log:${run}`,
      async () => {
        const link = await this.call(doing, async () => (await (await this.acr()).runs.getLogSasUrl(resourceGroup, registry, runId)).logLink);
        if (!link) return '';
        // The link is a secret (a SAS URL): it goes to the fetch and nowhere else. (node:https is
        // loaded here, not at start-up: `acr-trust steps` imports this module and never fetches.)
        const { fetchRunLog } = await import('./run-log.js');
        return fetchRunLog(link, { ca: this.ca, signal, doing, retry: this.opts.retry });
      },
      (log) => log !== '' && this.cache.has(run),
    );
  }

  async cancelRun(resourceGroup: string, registry: string, runId: string): Promise<void> {
    await this.cache.write([keys.run(resourceGroup, registry, runId)], () =>
      this.call(`cancel run ${runId} in registry ${registry}`, async () => (await this.acr()).runs.beginCancelAndWait(resourceGroup, registry, runId, this.lro)),
    );
  }

  // ---- ARM's own JSON (the doctor) -------------------------------------------------------------------

  /** Runs a read and keeps the JSON bodies ARM answered (every page of a list), secrets removed. */
  private async wire(doing: string, fn: (onResponse: (raw: { bodyAsText?: string | null }) => void) => Promise<unknown>): Promise<any[] | undefined> {
    const bodies: any[] = [];
    // The text as it came (the SDK's `parsedBody` is its own flattened model by then).
    const keep = (raw: { bodyAsText?: string | null }) => {
      if (raw.bodyAsText) bodies.push(withoutSecrets(JSON.parse(raw.bodyAsText)));
    };
    const found = await this.read(doing, () => fn(keep));
    return found === undefined ? undefined : bodies;
  }

  async listRegistriesJson(): Promise<ArmJson[]> {
    return (await this.cache.read('json:registries', async () => {
      const pages = await this.wire('list the registries in the subscription', async (onResponse) => {
        for await (const _ of (await this.acr()).registries.list({ onResponse }));
        return true;
      });
      return (pages ?? []).flatMap((p) => p?.value ?? []);
    })) as ArmJson[];
  }

  async getTaskJson(resourceGroup: string, registry: string, task: string): Promise<ArmJson | undefined> {
    return (await this.taskDetailsOnce(resourceGroup, registry, task)).json;
  }

  async listRoleAssignmentsJson(principalId: string): Promise<ArmJson[]> {
    return (await this.cache.read(`json:roleAssignments:${principalId.toLowerCase()}`, async () => {
      const pages = await this.wire(`list the role assignments of principal ${principalId}`, async (onResponse) => {
        for await (const _ of (await this.authz()).roleAssignments.listForSubscription({ filter: `principalId eq '${principalId}'`, onResponse }));
        return true;
      });
      return (pages ?? []).flatMap((p) => p?.value ?? []);
    })) as ArmJson[];
  }

  async getAgentPoolJson(resourceGroup: string, registry: string, pool: string): Promise<ArmJson | undefined> {
    return this.cache.read(`json:agentPool:${resourceGroup}/${registry}/${pool}`.toLowerCase(), async () => {
      const bodies = await this.wire(`read agent pool ${pool} in registry ${registry}`, async (onResponse) => (await this.acr()).agentPools.get(resourceGroup, registry, pool, { onResponse }));
      return bodies?.[0] as ArmJson | undefined;
    });
  }

  async listTasksJson(resourceGroup: string, registry: string): Promise<ArmJson[]> {
    return (await this.cache.read(`json:tasks:${resourceGroup}/${registry}`.toLowerCase(), async () => {
      const pages = await this.wire(`list the tasks of registry ${registry}`, async (onResponse) => {
        for await (const _ of (await this.acr()).tasks.list(resourceGroup, registry, { onResponse }));
        return true;
      });
      return (pages ?? []).flatMap((p) => p?.value ?? []);
    })) as ArmJson[];
  }

  async listRunsJson(resourceGroup: string, registry: string, options: { taskName?: string; runId?: string; top?: number } = {}): Promise<ArmJson[]> {
    const top = options.top ?? 5;
    const quote = (v: string) => v.replace(/'/g, "''");
    const filter = options.runId ? `RunId eq '${quote(options.runId)}'` : options.taskName ? `TaskName eq '${quote(options.taskName)}'` : undefined;
    return (await this.cache.read(`json:runs:${resourceGroup}/${registry}|${filter ?? ''}|${top}`.toLowerCase(), async () => {
      const pages = await this.wire(`list runs in registry ${registry}`, async (onResponse) => {
        let n = 0;
        for await (const _ of (await this.acr()).runs.list(resourceGroup, registry, { filter, top, onResponse })) if (++n >= top) break;
        return true;
      });
      return (pages ?? []).flatMap((p) => p?.value ?? []).slice(0, top);
    })) as ArmJson[];
  }
}

/** Secret-bearing fields of ARM bodies: their values never leave the adapter (types are kept). */
const SECRET_FIELDS = /^(password|token|refreshToken|accessToken|contextAccessToken|secret|logLink)$/i;

/** A copy of an ARM body with secret values removed: passwords, tokens, secret task values. */
export function withoutSecrets(body: unknown): any {
  if (Array.isArray(body)) return body.map(withoutSecrets);
  if (!body || typeof body !== 'object') return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (SECRET_FIELDS.test(k)) {
      if (v && typeof v === 'object' && 'type' in (v as object)) out[k] = { type: (v as { type: unknown }).type };
      else if (v !== undefined && v !== null) out[k] = '<redacted>';
      continue;
    }
    out[k] = withoutSecrets(v);
  }
  // Task values marked secret keep their names only.
  if (out.isSecret === true && 'value' in out) delete out.value;
  return out;
}

/**
 * A client without the pipeline's multipart form-data policy: no request here sends a form, and
 * the policy's `typeof FormData` check makes Node load its whole fetch implementation (undici,
 * ~40 ms) on the first request. The clients share one HTTP client and, through the one
 * `clientOptions.tlsOptions` object, one keep-alive agent: a single TLS connection for all four.
 */
function lean<C extends { pipeline: { removePolicy(options: { name?: string }): unknown } }>(client: C): C {
  client.pipeline.removePolicy({ name: 'formDataPolicy' });
  return client;
}

const tlsOptionsByCa = new Map<string, { ca: string }>();
function tlsOptionsFor(ca: string): { ca: string } {
  let options = tlsOptionsByCa.get(ca);
  if (!options) tlsOptionsByCa.set(ca, (options = { ca }));
  return options;
}

/** Microsoft.Network's api-version for reading a private endpoint by id (its `properties.subnet.id`). */
const PRIVATE_ENDPOINT_API_VERSION = '2023-09-01';

/** A task read as the cache holds it: the domain view and, read through listDetails, ARM's JSON (both absent: no such task). */
interface TaskRead {
  task?: Task;
  json?: ArmJson;
  /** Read through listDetails (false: through GET, for a caller without that action). */
  details: boolean;
}

/** Cache keys: one per resource (ARM names are case-insensitive). */
const keys = {
  agentPool: (rg: string, registry: string, pool: string) => `agentPool:${rg}/${registry}/${pool}`.toLowerCase(),
  resourceGroup: (rg: string) => `resourceGroup:${rg.toLowerCase()}`,
  registry: (rg: string, name: string) => `registry:${rg}/${name}`.toLowerCase(),
  task: (rg: string, registry: string, task: string) => `task:${rg}/${registry}/${task}`.toLowerCase(),
  run: (rg: string, registry: string, runId: string) => `run:${rg}/${registry}/${runId}`.toLowerCase(),
  roleAssignments: (scope: string, principalId: string) => `roleAssignments:${`${scopePath(scope)}|${principalId}`.toLowerCase()}`,
};

/** Whether a registry read shows every field of a network PATCH. */
function showsNetworkPatch(r: Registry, patch: NetworkPatch): boolean {
  if (patch.publicNetworkAccess !== undefined && r.publicNetworkAccess !== patch.publicNetworkAccess) return false;
  if (patch.networkRuleBypassOptions !== undefined && r.networkRuleBypassOptions !== patch.networkRuleBypassOptions) return false;
  if (patch.networkRuleBypassAllowedForTasks !== undefined && r.networkRuleBypassAllowedForTasks !== patch.networkRuleBypassAllowedForTasks) return false;
  if (patch.networkRuleSet !== undefined) {
    const rules = (s?: NetworkPatch['networkRuleSet']) => JSON.stringify([s?.defaultAction, (s?.ipRules ?? []).map((i) => i.value).sort()]);
    if (rules(r.networkRuleSet) !== rules(patch.networkRuleSet)) return false;
  }
  return true;
}

/** A task read that shows a system identity and loginMode None (what createTask and updateTaskIdentity set). */
function identityAndLoginModeSet(t?: Task): boolean {
  return t !== undefined && (t.identityType === 'SystemAssigned' || t.identityType === 'SystemAssigned, UserAssigned') && t.sourceRegistryLoginMode === 'None';
}

/** `credentials.sourceRegistry.identity` of a task as ARM answered it (`{}` when it has none). */
function sourceIdentityOf(task: any): { identity?: string } {
  const identity = task?.properties?.credentials?.sourceRegistry?.identity;
  return typeof identity === 'string' && identity !== '' ? { identity } : {};
}

/** A task's credential entry for a login server (case-insensitive); null when GET blanked it. */
function credentialEntry(t: Task, loginServer: string): Task['customRegistries'][string] | undefined {
  const k = Object.keys(t.customRegistries).find((s) => s.toLowerCase() === loginServer.toLowerCase());
  return k === undefined ? undefined : t.customRegistries[k];
}

// ---- SDK → domain -----------------------------------------------------------------------------------

/** The authorization SDK does not encode scopes: a leading `/` would make the URL `//subscriptions`. */
function scopePath(scope: string): string {
  return scope.replace(/^\/+/, '');
}

function toSubscription(s: { subscriptionId?: string; displayName?: string; state?: string; tenantId?: string; subscriptionPolicies?: { quotaId?: string } }): Subscription {
  const quotaId = s.subscriptionPolicies?.quotaId;
  return { subscriptionId: s.subscriptionId ?? '', displayName: s.displayName ?? '', state: s.state ?? 'Unknown', tenantId: s.tenantId, ...(quotaId ? { quotaId } : {}) };
}

function toResourceGroup(g: { id?: string; name?: string; location: string }): ResourceGroup {
  return { id: g.id ?? '', name: g.name ?? '', location: g.location };
}

function toRegistry(r: SdkRegistry, loginServerSuffix = '.azurecr.io'): Registry {
  const id = r.id ?? '';
  const registry: Registry = {
    id,
    name: r.name ?? '',
    resourceGroup: parseResourceId(id)?.resourceGroup ?? '',
    location: r.location,
    loginServer: r.loginServer ?? `${(r.name ?? '').toLowerCase()}${loginServerSuffix}`,
    sku: r.sku?.name ?? 'Unknown',
    publicNetworkAccess: r.publicNetworkAccess === 'Disabled' ? 'Disabled' : 'Enabled',
    networkRuleBypassOptions: r.networkRuleBypassOptions === 'None' ? 'None' : 'AzureServices',
    networkRuleBypassAllowedForTasks: r.networkRuleBypassAllowedForTasks === true,
  };
  if (r.networkRuleSet) {
    registry.networkRuleSet = {
      defaultAction: r.networkRuleSet.defaultAction === 'Deny' ? 'Deny' : 'Allow',
      ipRules: (r.networkRuleSet.ipRules ?? []).map((ip) => ({ action: 'Allow', value: ip.iPAddressOrRange })),
    };
  }
  if (r.roleAssignmentMode) registry.roleAssignmentMode = r.roleAssignmentMode;
  if (r.systemData?.lastModifiedAt) registry.lastModifiedAt = r.systemData.lastModifiedAt.toISOString();
  return registry;
}

function toTask(t: SdkTask): Task {
  const customRegistries: Task['customRegistries'] = {};
  for (const [server, cred] of Object.entries(t.credentials?.customRegistries ?? {})) {
    customRegistries[server] = cred ? { identity: cred.identity, hasUserName: cred.userName !== undefined } : null;
  }
  return {
    id: t.id ?? '',
    name: t.name ?? '',
    location: t.location,
    identityType: (t.identity?.type as TaskIdentityType | undefined) ?? 'None',
    principalId: t.identity?.principalId,
    userAssignedIdentities: Object.keys(t.identity?.userAssignedIdentities ?? {}),
    sourceRegistryLoginMode: t.credentials?.sourceRegistry?.loginMode,
    ...((t.credentials?.sourceRegistry as { identity?: string } | undefined)?.identity ? { sourceRegistryIdentity: (t.credentials!.sourceRegistry as { identity: string }).identity } : {}),
    customRegistries,
    ...(t.agentPoolName ? { agentPoolName: t.agentPoolName } : {}),
    stepType: t.step?.type,
    status: t.status,
    ...(t.systemData?.lastModifiedAt ? { lastModifiedAt: t.systemData.lastModifiedAt.toISOString() } : {}),
  };
}

function toAgentPool(p: SdkAgentPool): AgentPool {
  return {
    id: p.id ?? '',
    name: p.name ?? '',
    location: p.location,
    tier: p.tier,
    count: p.count,
    os: p.os,
    ...(p.virtualNetworkSubnetResourceId ? { subnetId: p.virtualNetworkSubnetResourceId } : {}),
    provisioningState: p.provisioningState,
  };
}

/** A task as ARM's JSON has it (properties nested; any api-version) → the domain view, as toTask. */
function taskFromWire(t: any): Task {
  const p = t?.properties ?? {};
  const customRegistries: Task['customRegistries'] = {};
  for (const [server, cred] of Object.entries<any>(p.credentials?.customRegistries ?? {})) {
    customRegistries[server] = cred ? { identity: cred.identity ?? undefined, hasUserName: cred.userName !== undefined && cred.userName !== null } : null;
  }
  const source = p.credentials?.sourceRegistry;
  const modified = t?.systemData?.lastModifiedAt;
  return {
    id: t?.id ?? '',
    name: t?.name ?? '',
    location: t?.location,
    identityType: (t?.identity?.type as TaskIdentityType | undefined) ?? 'None',
    principalId: t?.identity?.principalId,
    userAssignedIdentities: Object.keys(t?.identity?.userAssignedIdentities ?? {}),
    sourceRegistryLoginMode: source?.loginMode ?? undefined,
    ...(typeof source?.identity === 'string' && source.identity !== '' ? { sourceRegistryIdentity: source.identity } : {}),
    customRegistries,
    ...(typeof p.agentPoolName === 'string' && p.agentPoolName !== '' ? { agentPoolName: p.agentPoolName } : {}),
    stepType: p.step?.type,
    status: p.status,
    ...(modified && !Number.isNaN(Date.parse(modified)) ? { lastModifiedAt: new Date(modified).toISOString() } : {}),
  };
}

function toRun(r: SdkRun): Run {
  return {
    id: r.id ?? '',
    runId: r.runId ?? r.name ?? '',
    status: (r.status as RunStatus | undefined) ?? 'Queued',
    task: r.task,
    runErrorMessage: r.runErrorMessage,
    createTime: r.createTime?.toISOString(),
    finishTime: r.finishTime?.toISOString(),
    outputImages: (r.outputImages ?? []).map((i) => ({ registry: i.registry, repository: i.repository, tag: i.tag, digest: i.digest })),
  };
}

function toRoleAssignment(a: SdkRoleAssignment): RoleAssignment {
  return {
    id: a.id ?? '',
    name: a.name ?? '',
    scope: a.scope ?? '',
    roleDefinitionId: a.roleDefinitionId ?? '',
    principalId: a.principalId ?? '',
    principalType: a.principalType,
    ...(a.createdOn ? { createdOn: new Date(a.createdOn).toISOString() } : {}),
  };
}
