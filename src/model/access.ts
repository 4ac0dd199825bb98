/**
 * The registry's decision for one access a task run makes — pure data in, a verdict out. No I/O,
 * no clock, no imports from src/azure or src/sim: the simulated Azure (src/sim/rules.ts) decides
 * its runs with these functions, and `acr-trust doctor` explains a real registry with the same
 * ones, so the two can never disagree.
 *
 * Input (every field in ARM's wire names, read from the resources as GET returns them):
 * - `registry` (`RegistryFacts`): SKU, `publicNetworkAccess`, `networkRuleSet` (defaultAction, IP
 *   rules), `networkRuleBypassOptions`, `networkRuleBypassAllowedForTasks`, `roleAssignmentMode`,
 *   `anonymousPullEnabled`, and the subnets of its approved private endpoints. `undefined` when the
 *   login server is not a registry the caller knows (a public registry, or a name that does not
 *   resolve).
 * - `run` (`RunFacts`): task run or quick run, the task's `identity`, its `credentials`
 *   (`sourceRegistry.loginMode` + `identity`, `customRegistries`), its agent pool (and that pool's
 *   subnet), the task's `status`.
 * - `roleAssignments` (`RoleAssignmentFact[]`): scope, role definition id, principal, createdOn.
 * - `request` (`AccessRequest`): pull or push, login server, repository, and the moment (ms).
 *
 * Output (`AccessVerdict`): allowed, or refused with a `cause` code, the `evidence` (the settings
 * that decided, as `name=value` facts), the `stage` at which the runner meets the refusal, and the
 * `logLine` it prints there (the words of Azure/acr-builder, docker and ACR; sources in
 * src/sim/run-log.ts and docs/arm-reference.md §6).
 *
 * The order is the one the registry and the runner apply (Azure/acr-builder graph/task.go,
 * builder/builder.go): credentials are resolved per login server — one per registry, a
 * `customRegistries` entry replacing the run's own token for that server — identity credentials
 * are exchanged for ACR tokens before any step, each credential logs in once, then every pull and
 * push meets network → bypass → credential → role.
 *
 * UNCERTAIN (not documented; each choice named where it is made): how the two bypass switches
 * combine (`BypassModel`), what the exchange checks (network only), per-repository ABAC conditions
 * (not evaluated: a repository role applies to the whole registry).
 */
import { ROLE_GUIDS, ROLE_NAMES, roleGuid } from './roles.js';

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

/** A registry's settings, as `GET …/registries/{name}` returns them (plus its endpoints' subnets). */
export interface RegistryFacts {
  /** ARM id (compared case-insensitively with role-assignment scopes). */
  id: string;
  loginServer: string;
  /** `sku.name`: Basic, Standard, Premium. */
  sku?: string;
  publicNetworkAccess?: 'Enabled' | 'Disabled' | string;
  networkRuleSet?: { defaultAction?: 'Allow' | 'Deny' | string; ipRules?: { value?: string; iPAddressOrRange?: string; action?: string }[] } | null;
  /** `AzureServices` (a new registry's value) or `None`. */
  networkRuleBypassOptions?: 'AzureServices' | 'None' | string;
  networkRuleBypassAllowedForTasks?: boolean;
  /** `AbacRepositoryPermissions` or `LegacyRegistryPermissions` (absent: legacy). */
  roleAssignmentMode?: string;
  anonymousPullEnabled?: boolean;
  /** Subnet ids (ARM) of the registry's approved private endpoints. */
  privateEndpointSubnets?: string[];
}

/**
 * A registry resource as ARM's GET returns it (wire JSON: `id`, `name`, `sku.name`,
 * `properties.*`) as `RegistryFacts`. The subnets of approved private endpoints are read from
 * `properties.privateEndpointConnections[].properties.privateEndpoint.subnetId` (or `.subnet.id`),
 * where a caller that looked the endpoints up puts them (ARM keeps the subnet on the endpoint).
 */
export function registryFactsFromWire(r: { id: string; name?: string; sku?: unknown; properties?: Record<string, any> | null }): RegistryFacts {
  const p = r.properties ?? {};
  return {
    id: r.id,
    loginServer: String(p.loginServer ?? `${String(r.name ?? '').toLowerCase()}.azurecr.io`),
    sku: (r.sku as { name?: string } | null | undefined)?.name,
    publicNetworkAccess: p.publicNetworkAccess,
    networkRuleSet: p.networkRuleSet,
    networkRuleBypassOptions: p.networkRuleBypassOptions,
    networkRuleBypassAllowedForTasks: p.networkRuleBypassAllowedForTasks,
    roleAssignmentMode: p.roleAssignmentMode,
    anonymousPullEnabled: p.anonymousPullEnabled,
    privateEndpointSubnets: (Array.isArray(p.privateEndpointConnections) ? p.privateEndpointConnections : [])
      .filter((c: any) => (c?.properties?.privateLinkServiceConnectionState?.status ?? 'Approved') === 'Approved')
      .map((c: any) => c?.properties?.privateEndpoint?.subnetId ?? c?.properties?.privateEndpoint?.subnet?.id)
      .filter((s: unknown): s is string => typeof s === 'string'),
  };
}

/** A task identity as ARM returns it (`identity` of a task). */
export interface IdentityFacts {
  type?: string;
  principalId?: string;
  userAssignedIdentities?: Record<string, { principalId?: string; clientId?: string } | null>;
}

/** One `customRegistries` entry (`Credentials.customRegistries[loginServer]`). */
export interface CustomCredential {
  identity?: string;
  userName?: { type?: string; value?: string } | string | null;
  password?: { type?: string; value?: string } | string | null;
}

/** What runs: a task's run (with the task's identity and settings) or a quick run. */
export interface RunFacts {
  /** `task-run`: a TaskRunRequest (the task's identity applies); `quick-run`: az acr build/run. */
  kind: 'task-run' | 'quick-run';
  /** The login server of the registry the run belongs to. */
  homeLoginServer: string;
  identity?: IdentityFacts | null;
  credentials?: {
    sourceRegistry?: { loginMode?: 'Default' | 'None' | string; identity?: string } | null;
    customRegistries?: Record<string, CustomCredential | null> | null;
  } | null;
  /** The task's (or run request's) `agentPoolName`, with what is known of that pool. */
  agentPool?: { name: string; exists: boolean; subnetId?: string; provisioningState?: string };
  /** The task's `status` (a Disabled task does not run). */
  status?: 'Enabled' | 'Disabled' | string;
  /** For quick runs with `sourceRegistry.identity = "[caller]"`: the caller's principal id. */
  callerPrincipalId?: string;
  /** The public IP the shared agents leave from (default `AGENT_IP`). */
  agentIp?: string;
}

/** One role assignment as ARM returns it (the fields that matter here). */
export interface RoleAssignmentFact {
  principalId: string;
  /** The assignment's scope (ARM id). */
  scope: string;
  /** Full role definition id or bare GUID. */
  roleDefinitionId: string;
  /** ISO time; absent = in effect since forever. */
  createdOn?: string;
}

export type AccessKind = 'pull' | 'push';

export interface AccessRequest {
  access: AccessKind;
  loginServer: string;
  repository: string;
  /** The moment of the access (ms since epoch): decides whether a new role is in effect yet. */
  at: number;
}

/**
 * How `networkRuleBypassOptions` and `networkRuleBypassAllowedForTasks` combine for a task's
 * identity — undocumented (arm-reference.md §0). `both` (default): both must allow.
 * `task-switch-only`: the task switch alone admits the task.
 */
export type BypassModel = 'both' | 'task-switch-only';

export interface DecisionOptions {
  /** How long after `createdOn` a role assignment reaches the data plane (ms). Default 0. */
  roleDelayMs?: number;
  bypassModel?: BypassModel;
}

export interface AccessInput extends DecisionOptions {
  /** The registry at `request.loginServer`, or undefined when no known registry has it. */
  registry: RegistryFacts | undefined;
  run: RunFacts;
  roleAssignments: readonly RoleAssignmentFact[];
  request: AccessRequest;
}

/** A role assignment as ARM returns it as the model's fact (its scope from the id when absent). */
export function roleAssignmentFactFromWire(a: { id: string; properties?: Record<string, any> }): RoleAssignmentFact {
  const p = a.properties ?? {};
  const i = a.id.toLowerCase().indexOf('/providers/microsoft.authorization/roleassignments/');
  return {
    principalId: String(p.principalId ?? ''),
    scope: String(p.scope ?? (i < 0 ? a.id : a.id.slice(0, i))),
    roleDefinitionId: String(p.roleDefinitionId ?? ''),
    createdOn: p.createdOn ?? undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

/** The credential the run holds for one login server. */
export type Credential =
  | { kind: 'none' }
  /** The run's own registry token (`sourceRegistry.loginMode: Default`, non-ABAC home). */
  | { kind: 'run-token' }
  /** `[system]`; `principalId` undefined when the task has no system identity. */
  | { kind: 'system-identity'; principalId?: string; from: CredentialSource }
  /** A client id; `principalId` undefined when none of the task's identities has it. */
  | { kind: 'user-identity'; clientId: string; principalId?: string; from: CredentialSource }
  /** The signed-in caller's identity (quick runs, `--source-acr-auth-id [caller]`). */
  | { kind: 'caller-identity'; principalId?: string; from: CredentialSource }
  | { kind: 'password' };

export type CredentialSource = 'customRegistries' | 'sourceRegistry.identity';

/** Why an access was refused. */
export type CauseCode =
  | 'task-disabled'
  | 'agent-pool-missing'
  | 'agent-pool-not-ready'
  | 'unknown-host'
  | 'public-access-disabled'
  | 'ip-not-allowed'
  | 'identity-missing'
  | 'no-credential'
  | 'role-missing'
  | 'role-not-yet-effective'
  | 'public-registry-push';

/** Where the runner meets the refusal (and so which line it prints). */
export type Stage =
  /** Before anything runs: the task cannot be prepared, or an identity's token exchange failed. */
  | 'prepare'
  /** `docker login` with the run token or a username/password. */
  | 'login'
  /** The pull or push itself. */
  | 'access';

/** How the access got through the registry's network. */
export type NetworkPath = 'public' | 'ip-rule' | 'trusted-bypass' | 'private-endpoint' | 'not-a-registry';

export type AccessVerdict =
  | { allowed: true; credential: Credential; path: NetworkPath; evidence: string[] }
  | {
      allowed: false;
      cause: CauseCode;
      stage: Stage;
      credential: Credential;
      evidence: string[];
      /** The line the runner prints where it fails (docker's or acb's words; secrets never). */
      logLine: string;
    };

// ---------------------------------------------------------------------------------------------
// Constants and the words the runner prints
// ---------------------------------------------------------------------------------------------

/** The public IP the sim's shared task agents come from (an Azure public range). */
export const AGENT_IP = '20.42.0.17';

/** ACR's 401 for a request without credentials or without the permission for the scope asked. */
export const UNAUTHORIZED = 'unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.';

/** Docker Hub's (and other public registries') answer to a push without rights. */
export const DENIED = 'denied: requested access to the resource is denied';

/** The registry firewall's answer to a client whose IP is not allowed. */
export function firewallDenied(ip: string): string {
  return `denied: client with IP '${ip}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`;
}

/** Go's resolver error for a login server that does not exist. */
export function noSuchHost(server: string): string {
  return `dial tcp: lookup ${server} on 168.63.129.16:53: no such host`;
}

/** The refused identity-token exchange (Azure/azure-cli#28151). */
export function exchangeRefused(): string {
  return 'failed to resolve secrets: failed to get ACR refresh token, exchange API response code: 403 Forbidden';
}

/** The credential names an identity the task does not have (emulator wording: no real sample). */
export function identityMissing(identity: string): string {
  return `failed to resolve secrets: failed to get ACR refresh token: failed to get a token for managed identity '${identity}': the task has no such identity`;
}

/** The exchange could not reach the login server at all. */
export function exchangeUnreachable(server: string): string {
  return `failed to resolve secrets: failed to get ACR refresh token: Post "https://${server}/oauth2/exchange": ${noSuchHost(server)}`;
}

// ---------------------------------------------------------------------------------------------
// Roles: what each built-in role lets an identity do on a registry's data plane
// ---------------------------------------------------------------------------------------------

/**
 * Built-in roles with registry data-plane rights, by role definition GUID (the same in every
 * tenant). Legacy registries honour the registry-action roles; ABAC registries
 * (`AbacRepositoryPermissions`) only the "Container Registry Repository …" roles. Source:
 * Microsoft's built-in roles table ("Containers"); ACR's "roles and permissions" page.
 */
export const REGISTRY_DATA_ROLES: Readonly<Record<string, { roleName: string; pull: boolean; push: boolean; abac: boolean }>> = Object.fromEntries(
  (
    [
      ['Owner', true, true, false],
      ['Contributor', true, true, false],
      ['AcrPull', true, false, false],
      ['AcrPush', true, true, false],
      ['RepositoryReader', true, false, true],
      ['RepositoryWriter', true, true, true],
      ['RepositoryContributor', true, true, true],
    ] as const
  ).map(([key, pull, push, abac]) => [ROLE_GUIDS[key], { roleName: ROLE_NAMES[key], pull, push, abac }]),
);

export function isAbac(registry: Pick<RegistryFacts, 'roleAssignmentMode'>): boolean {
  return registry.roleAssignmentMode === 'AbacRepositoryPermissions';
}

/** `id` equals `scope` or lies under it (ARM ids, case-insensitive). */
export function inScope(id: string, scope: string): boolean {
  const a = normalizeId(id);
  const s = normalizeId(scope);
  return a === s || a.startsWith(`${s}/`);
}

function normalizeId(id: string): string {
  return id.replace(/\/{2,}/g, '/').replace(/\/$/, '').toLowerCase();
}

export interface RoleFinding {
  roleName: string;
  scope: string;
  createdOn?: string;
  inEffect: boolean;
}

/**
 * The role assignments of `principalId` that grant `access` on `registry`, each marked in effect
 * or not at `at` (`createdOn + roleDelayMs ≤ at`).
 */
export function grantingRoles(registry: RegistryFacts, assignments: readonly RoleAssignmentFact[], principalId: string, access: AccessKind, at: number, roleDelayMs = 0): RoleFinding[] {
  const abac = isAbac(registry);
  const out: RoleFinding[] = [];
  for (const a of assignments) {
    if (a.principalId.toLowerCase() !== principalId.toLowerCase()) continue;
    if (!inScope(registry.id, a.scope)) continue;
    const role = REGISTRY_DATA_ROLES[roleGuid(a.roleDefinitionId)];
    if (!role || role.abac !== abac || !role[access]) continue;
    const created = a.createdOn === undefined ? Number.NaN : Date.parse(a.createdOn);
    out.push({ roleName: role.roleName, scope: a.scope, createdOn: a.createdOn, inEffect: Number.isNaN(created) || created + roleDelayMs <= at });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Network
// ---------------------------------------------------------------------------------------------

export type Reachability = { reachable: true; path: 'public' | 'ip-rule' | 'private-endpoint' } | { reachable: false; why: 'public-access-disabled' | 'ip-not-allowed' };

/**
 * Whether the registry's network lets the run's agent in before any bypass: through a private
 * endpoint in the agent pool's virtual network, or through the public endpoint (off when
 * `publicNetworkAccess` is Disabled; with `defaultAction: Deny` only for an IP rule that matches).
 */
export function reachability(registry: RegistryFacts, run: Pick<RunFacts, 'agentPool' | 'agentIp'> = {}): Reachability {
  const poolVnet = run.agentPool?.subnetId ? vnetOf(run.agentPool.subnetId) : undefined;
  if (poolVnet && (registry.privateEndpointSubnets ?? []).some((s) => vnetOf(s) === poolVnet)) return { reachable: true, path: 'private-endpoint' };
  if (registry.publicNetworkAccess === 'Disabled') return { reachable: false, why: 'public-access-disabled' };
  const rules = registry.networkRuleSet;
  if (rules?.defaultAction === 'Deny') {
    const ip = run.agentIp ?? AGENT_IP;
    // A pool in a VNet leaves through that network's own public IP, which the sim does not know.
    const allowed = !poolVnet && (rules.ipRules ?? []).some((r) => (r.action ?? 'Allow') === 'Allow' && ipv4InRange(ip, String(r.value ?? r.iPAddressOrRange ?? '')));
    return allowed ? { reachable: true, path: 'ip-rule' } : { reachable: false, why: 'ip-not-allowed' };
  }
  return { reachable: true, path: 'public' };
}

/** ACR login-server domains (public and sovereign clouds): a name there that no known registry
 *  has does not resolve; any other host is a registry outside Azure (docker.io, mcr …). */
export function isAcrHost(server: string): boolean {
  return /\.azurecr\.(io|cn|us)$/i.test(server);
}

/** The virtual network id of a subnet id (`…/virtualNetworks/V/subnets/S` → `…/virtualNetworks/V`). */
export function vnetOf(subnetId: string): string {
  const i = subnetId.toLowerCase().indexOf('/subnets/');
  return normalizeId(i < 0 ? subnetId : subnetId.slice(0, i));
}

/** `ip` lies in `range` (`1.2.3.4` or `1.2.3.0/24`). IPv4 only, as ACR's IP rules are. */
export function ipv4InRange(ip: string, range: string): boolean {
  const [base, bitsText] = range.trim().split('/');
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base ?? '');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.trim().split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

/**
 * Whether the registry lets a task's trusted identity through its network rules. `both` (the
 * default, the safe reading): `networkRuleBypassOptions = AzureServices` (a new registry's value)
 * and `networkRuleBypassAllowedForTasks = true`. `task-switch-only`: the task switch alone.
 */
export function tasksMayBypass(registry: RegistryFacts, model: BypassModel = 'both'): boolean {
  if (registry.networkRuleBypassAllowedForTasks !== true) return false;
  return model === 'task-switch-only' || (registry.networkRuleBypassOptions ?? 'AzureServices') === 'AzureServices';
}

/** Only a task's system-assigned identity is a trusted service (Microsoft's bypass-policy page). */
export function bypasses(registry: RegistryFacts, credential: Credential, model: BypassModel = 'both'): boolean {
  return credential.kind === 'system-identity' && credential.principalId !== undefined && tasksMayBypass(registry, model);
}

// ---------------------------------------------------------------------------------------------
// 2. Credentials (acb's per-login-server model)
// ---------------------------------------------------------------------------------------------

export function sourceLoginMode(run: RunFacts): 'Default' | 'None' {
  return run.credentials?.sourceRegistry?.loginMode === 'None' ? 'None' : 'Default';
}

/** The non-null `customRegistries` entries, in the order the runner logs in. */
export function customEntries(run: RunFacts): { server: string; entry: CustomCredential }[] {
  const map = run.credentials?.customRegistries ?? {};
  return Object.entries(map)
    .filter((e): e is [string, CustomCredential] => e[1] !== null && e[1] !== undefined)
    .map(([server, entry]) => ({ server, entry }));
}

/** The credential an identity reference (`[system]`, a client id, `[caller]`) stands for. */
export function identityCredential(run: RunFacts, ref: string, from: CredentialSource): Credential {
  const identity = ref.trim();
  const lower = identity.toLowerCase();
  if (!identity) return { kind: 'none' };
  if (lower === '[caller]') return { kind: 'caller-identity', principalId: run.callerPrincipalId, from };
  // Quick runs have no identity of their own: `[system]` there names nothing.
  const taskIdentity = run.kind === 'task-run' ? run.identity : undefined;
  if (lower === '[system]' || lower === 'system') {
    return { kind: 'system-identity', principalId: /SystemAssigned/i.test(String(taskIdentity?.type ?? '')) ? taskIdentity?.principalId : undefined, from };
  }
  const users = Object.values(taskIdentity?.userAssignedIdentities ?? {});
  const match = users.find((u) => String(u?.clientId ?? '').toLowerCase() === lower);
  return { kind: 'user-identity', clientId: identity, principalId: match?.principalId, from };
}

function customCredential(run: RunFacts, entry: CustomCredential): Credential {
  // With a username/password, the identity (if any) only reads them from Key Vault.
  if (entry.userName || entry.password) return { kind: 'password' };
  return typeof entry.identity === 'string' ? identityCredential(run, entry.identity, 'customRegistries') : { kind: 'none' };
}

/** One login the runner makes: the server and the credential it uses there. */
export interface Login {
  server: string;
  credential: Credential;
}

/**
 * The runner's logins, one per login server, in its order: the home registry first, then the
 * custom registries. For each server the credential is (acb resolves a map keyed by registry):
 * the `customRegistries` entry when there is one — it *replaces* the run's own token there — else,
 * for the home registry, `sourceRegistry.identity` when set (ABAC registries, api-version
 * 2025-03-01-preview+), else the run token when `loginMode` is Default on a non-ABAC registry
 * (ABAC registries give tasks no implicit token). Servers with no credential are left out.
 */
export function logins(run: RunFacts, homeIsAbac: boolean): Login[] {
  const home = run.homeLoginServer.toLowerCase();
  const custom = customEntries(run);
  const out: Login[] = [];
  const homeCredential = credentialFor(run, run.homeLoginServer, homeIsAbac);
  if (homeCredential.kind !== 'none') out.push({ server: custom.find((c) => c.server.toLowerCase() === home)?.server ?? run.homeLoginServer, credential: homeCredential });
  const seen = new Set([home]);
  for (const { server, entry } of custom) {
    const s = server.toLowerCase();
    if (seen.has(s)) continue;
    seen.add(s);
    const credential = customCredential(run, entry);
    if (credential.kind !== 'none') out.push({ server, credential });
  }
  return out;
}

/** The credential the run uses for `server` (see `logins`). */
export function credentialFor(run: RunFacts, server: string, homeIsAbac: boolean): Credential {
  const s = server.toLowerCase();
  const custom = customEntries(run).find((c) => c.server.toLowerCase() === s);
  if (custom) return customCredential(run, custom.entry);
  if (s !== run.homeLoginServer.toLowerCase()) return { kind: 'none' };
  const sourceIdentity = run.credentials?.sourceRegistry?.identity;
  if (typeof sourceIdentity === 'string' && sourceIdentity.trim()) return identityCredential(run, sourceIdentity, 'sourceRegistry.identity');
  return sourceLoginMode(run) === 'Default' && !homeIsAbac ? { kind: 'run-token' } : { kind: 'none' };
}

function isIdentity(c: Credential): c is Extract<Credential, { kind: 'system-identity' | 'user-identity' | 'caller-identity' }> {
  return c.kind === 'system-identity' || c.kind === 'user-identity' || c.kind === 'caller-identity';
}

/** How a credential is named in evidence and log lines. */
export function describeCredential(c: Credential): string {
  switch (c.kind) {
    case 'none':
      return 'no credential';
    case 'run-token':
      return "the run's own registry token (sourceRegistry.loginMode Default)";
    case 'password':
      return 'a username/password';
    case 'system-identity':
      return `the task's system-assigned identity (${c.from}: [system]${c.principalId ? `, principal ${c.principalId}` : ', which the task does not have'})`;
    case 'user-identity':
      return `the user-assigned identity ${c.clientId} (${c.from}${c.principalId ? `, principal ${c.principalId}` : ', not attached to the task'})`;
    case 'caller-identity':
      return `the caller's identity (${c.from}: [caller])`;
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Decisions
// ---------------------------------------------------------------------------------------------

type Refusal = Extract<AccessVerdict, { allowed: false }>;

function networkEvidence(registry: RegistryFacts, run: RunFacts, model: BypassModel): string[] {
  const e = [
    `publicNetworkAccess=${registry.publicNetworkAccess ?? 'Enabled'}`,
    `networkRuleSet.defaultAction=${registry.networkRuleSet?.defaultAction ?? 'Allow'}`,
    `networkRuleBypassOptions=${registry.networkRuleBypassOptions ?? 'AzureServices'}`,
    `networkRuleBypassAllowedForTasks=${registry.networkRuleBypassAllowedForTasks === true}`,
  ];
  if (model !== 'both') e.push(`bypass model: ${model}`);
  if (run.agentPool) e.push(`agentPool=${run.agentPool.name}${run.agentPool.subnetId ? ` (subnet ${run.agentPool.subnetId})` : ' (no subnet)'}`);
  return e;
}

/**
 * Before any step: the task itself (disabled, a missing or unready agent pool) and, for an
 * identity credential, the token exchange at `login.server`. The exchange checks the network only
 * (UNCERTAIN: ACR checks permissions when it issues the repository-scoped token). Returns
 * undefined when the run gets past it.
 */
export function decidePrepare(input: { registry: RegistryFacts | undefined; run: RunFacts; login?: Login } & DecisionOptions): Refusal | undefined {
  const { run, registry, login } = input;
  const model = input.bypassModel ?? 'both';
  if (run.status === 'Disabled') return refuse('task-disabled', 'prepare', { kind: 'none' }, ['status=Disabled'], `The task is disabled.`);
  if (run.agentPool && !run.agentPool.exists) {
    return refuse('agent-pool-missing', 'prepare', { kind: 'none' }, [`agentPoolName=${run.agentPool.name}`, 'no such agent pool'], `agent pool '${run.agentPool.name}' not found`);
  }
  if (run.agentPool && run.agentPool.provisioningState && run.agentPool.provisioningState !== 'Succeeded') {
    return refuse('agent-pool-not-ready', 'prepare', { kind: 'none' }, [`agentPool.provisioningState=${run.agentPool.provisioningState}`], `agent pool '${run.agentPool.name}' is not ready`);
  }
  if (!login || !isIdentity(login.credential)) return undefined;
  const c = login.credential;
  const who = [`credential for ${login.server}: ${describeCredential(c)}`];
  if (!c.principalId) {
    const ref = c.kind === 'user-identity' ? c.clientId : c.kind === 'caller-identity' ? '[caller]' : '[system]';
    return refuse('identity-missing', 'prepare', c, who, `failed to unmarshal task before running: ${identityMissing(ref)}`);
  }
  if (!registry) return refuse('unknown-host', 'prepare', c, who, `failed to unmarshal task before running: ${exchangeUnreachable(login.server)}`);
  const net = reachability(registry, run);
  if (!net.reachable && !bypasses(registry, c, model)) {
    return refuse(net.why, 'prepare', c, [...who, ...networkEvidence(registry, run, model)], `failed to unmarshal task before running: ${exchangeRefused()}`);
  }
  return undefined;
}

/**
 * `docker login` to `login.server` with a run token or a username/password (identity credentials
 * were exchanged in `decidePrepare`; their login goes through the same way). Returns undefined
 * when it succeeds; the refusal's log line is acb's wrapped `docker login` error.
 */
export function decideLogin(input: { registry: RegistryFacts | undefined; run: RunFacts; login: Login } & DecisionOptions): Refusal | undefined {
  const { registry, run, login } = input;
  const model = input.bypassModel ?? 'both';
  if (!registry) {
    // A registry outside Azure with a username/password: nothing here can judge it.
    return !isAcrHost(login.server) ? undefined : refuse('unknown-host', 'login', login.credential, [`${login.server} does not resolve`], loginFailedLine(login.server, noSuchHost(login.server)));
  }
  const net = reachability(registry, run);
  if (!net.reachable && !bypasses(registry, login.credential, model)) {
    return refuse(net.why, 'login', login.credential, [`credential for ${login.server}: ${describeCredential(login.credential)}`, ...networkEvidence(registry, run, model)], loginFailedLine(login.server, firewallDenied(run.agentIp ?? AGENT_IP)));
  }
  return undefined;
}

/** acb's wrapped `docker login` failure (first line; `: exit status 1` follows on its own line). */
export function loginFailedLine(server: string, reason: string): string {
  return `failed to login, ran out of retries: failed to set docker credentials: Error response from daemon: Get "https://${server}/v2/": ${reason}`;
}

/**
 * One pull or push, as the registry decides it once the run is running: network (or bypass) →
 * credential → role in effect at `request.at`. Refusal log lines are what docker prints at a push
 * (`Get "https://S/v2/": …` or ACR's 401); callers printing a pull wrap them in docker's pull words.
 */
export function decideRegistryAccess(input: AccessInput): AccessVerdict {
  const { registry, run, request } = input;
  const model = input.bypassModel ?? 'both';
  const credential = credentialFor(run, request.loginServer, registry ? isAbac(registry) : false);
  const who = `credential for ${request.loginServer}: ${describeCredential(credential)}`;
  if (!registry) {
    if (isAcrHost(request.loginServer)) return refuse('unknown-host', 'access', credential, [`${request.loginServer} does not resolve`], `Get "https://${request.loginServer}/v2/": ${noSuchHost(request.loginServer)}`);
    // Public registries (mcr.microsoft.com, docker.io …): pulls need no decision.
    if (request.access === 'pull' || credential.kind === 'password') return { allowed: true, credential, path: 'not-a-registry', evidence: [`${request.loginServer} is a public registry`] };
    return refuse('public-registry-push', 'access', credential, [who, `${request.loginServer} is a public registry`], DENIED);
  }
  const net = reachability(registry, run);
  const evidence = [who, ...networkEvidence(registry, run, model)];
  let path: NetworkPath;
  if (net.reachable) path = net.path;
  else if (bypasses(registry, credential, model)) path = 'trusted-bypass';
  else return refuse(net.why, 'access', credential, evidence, `Get "https://${request.loginServer}/v2/": ${firewallDenied(run.agentIp ?? AGENT_IP)}`);
  evidence.push(`network path: ${path}`);

  switch (credential.kind) {
    case 'none':
      if (request.access === 'pull' && registry.anonymousPullEnabled === true) return { allowed: true, credential, path, evidence: [...evidence, 'anonymousPullEnabled=true'] };
      return refuse('no-credential', 'access', credential, evidence, UNAUTHORIZED);
    case 'run-token':
    case 'password':
      return { allowed: true, credential, path, evidence };
    default: {
      if (!credential.principalId) return refuse('identity-missing', 'access', credential, evidence, UNAUTHORIZED);
      const roles = grantingRoles(registry, input.roleAssignments, credential.principalId, request.access, request.at, input.roleDelayMs ?? 0);
      const mode = `roleAssignmentMode=${registry.roleAssignmentMode ?? 'LegacyRegistryPermissions'}`;
      const effective = roles.filter((r) => r.inEffect);
      if (effective.length > 0) return { allowed: true, credential, path, evidence: [...evidence, mode, ...effective.map((r) => `role ${r.roleName} on ${r.scope}`)] };
      if (roles.length > 0) {
        return refuse('role-not-yet-effective', 'access', credential, [...evidence, mode, ...roles.map((r) => `role ${r.roleName} on ${r.scope} created ${r.createdOn ?? '?'}, not yet in effect`)], UNAUTHORIZED);
      }
      return refuse('role-missing', 'access', credential, [...evidence, mode, `no role granting ${request.access} to principal ${credential.principalId} on ${registry.id}`], UNAUTHORIZED);
    }
  }
}

/**
 * The whole decision for one access, in the runner's order: prepare (task, pool, the token
 * exchange of the credential for this server) → login → the access itself. What `doctor` asks.
 */
export function decideAccess(input: AccessInput): AccessVerdict {
  const { registry, run, request } = input;
  const credential = credentialFor(run, request.loginServer, registry ? isAbac(registry) : false);
  const login: Login = { server: request.loginServer, credential };
  const prepared = decidePrepare({ ...input, login });
  if (prepared) return prepared;
  if (credential.kind === 'run-token' || credential.kind === 'password') {
    const loggedIn = decideLogin({ ...input, login });
    if (loggedIn) return loggedIn;
  }
  return decideRegistryAccess(input);
}

function refuse(cause: CauseCode, stage: Stage, credential: Credential, evidence: string[], logLine: string): Refusal {
  return { allowed: false, cause, stage, credential, evidence, logLine };
}

// ---------------------------------------------------------------------------------------------
// 4. What a refusal means and what fixes it
// ---------------------------------------------------------------------------------------------

/**
 * Whether waiting can cure a refusal. Only a role that exists but has not reached the data plane
 * yet is *propagation*; every other cause is *configuration*: the same settings will be refused
 * again, so a client must stop and name the fix instead of retrying.
 */
export function waitMayCure(cause: CauseCode): boolean {
  return cause === 'role-not-yet-effective';
}

/** Names a refusal's explanation may use. */
export interface ExplainNames {
  /** The registry refused (its name, for az commands). */
  registry: string;
  loginServer: string;
  task?: string;
  /** The task's registry (for az acr task commands). */
  taskRegistry?: string;
  /** The refused registry is the task's own and uses ABAC repository permissions: the task's
   *  credential for it is its source registry identity (`--source-acr-auth-id`), not a custom entry. */
  ownAbacRegistry?: boolean;
}

/** A refusal in the user's terms: what is wrong, and the command that fixes it. */
export function explainRefusal(verdict: Extract<AccessVerdict, { allowed: false }>, n: ExplainNames): { what: string; fix: string } {
  const task = n.task ?? '<task>';
  const taskRegistry = n.taskRegistry ?? n.registry;
  const c = verdict.credential;
  switch (verdict.cause) {
    case 'task-disabled':
      return { what: `task ${task} is disabled`, fix: `az acr task update -n ${task} -r ${taskRegistry} --status Enabled` };
    case 'agent-pool-missing':
      return { what: 'the task names an agent pool that does not exist', fix: `az acr agentpool list -r ${taskRegistry} -o table, then az acr task update -n ${task} -r ${taskRegistry} --agent-pool <pool>` };
    case 'agent-pool-not-ready':
      return { what: "the task's agent pool is not provisioned yet", fix: `az acr agentpool show -n <pool> -r ${taskRegistry} --query provisioningState` };
    case 'unknown-host':
      return { what: `${n.loginServer} does not resolve: no registry has that login server`, fix: 'Check the login servers in the task file and its credentials.' };
    case 'identity-missing':
      return {
        what: `the credential for ${n.loginServer} names an identity the task does not have`,
        fix: `az acr task identity assign -n ${task} -r ${taskRegistry} (then use the credential [system])`,
      };
    case 'public-access-disabled':
    case 'ip-not-allowed': {
      const closed = verdict.cause === 'public-access-disabled' ? 'public access is disabled' : 'no IP rule admits the task agent';
      if (c.kind === 'system-identity') {
        return {
          what: `registry ${n.registry} refuses the task at its network rules (${closed}) and its bypass for tasks is off`,
          fix: `az acr update -n ${n.registry} --allow-trusted-services true; az resource update --namespace Microsoft.ContainerRegistry --resource-type registries -n ${n.registry} -g <group> --api-version 2025-06-01-preview --set properties.networkRuleBypassAllowedForTasks=true`,
        };
      }
      if (c.kind === 'user-identity') {
        return {
          what: `registry ${n.registry} refuses the task at its network rules (${closed}); only a task's system-assigned identity may bypass them, and the credential for ${n.loginServer} is a user-assigned identity`,
          fix: `az acr task identity assign -n ${task} -r ${taskRegistry}; az acr task credential update -n ${task} -r ${taskRegistry} --login-server ${n.loginServer} --use-identity '[system]'`,
        };
      }
      return {
        what: `registry ${n.registry} refuses the task at its network rules (${closed}); the task reaches it with ${describeCredential(c)}, which never bypasses them`,
        fix: `az acr task credential add -n ${task} -r ${taskRegistry} --login-server ${n.loginServer} --use-identity '[system]'${c.kind === 'run-token' ? ` (and az acr task update -n ${task} -r ${taskRegistry} --auth-mode None when ${n.loginServer} is the task's own registry)` : ''}`,
      };
    }
    case 'no-credential':
      if (n.ownAbacRegistry) {
        return {
          what: `the task reaches its own registry ${n.loginServer} without any credential: ${n.registry} uses ABAC repository permissions, which give a task no implicit access to its own registry, and the task has no source registry identity (credentials.sourceRegistry.identity)`,
          fix: `az acr task update -n ${task} -r ${taskRegistry} --source-acr-auth-id '[system]' (az rest --method patch on the task at api-version 2025-03-01-preview with {"properties":{"credentials":{"sourceRegistry":{"identity":"[system]"}}}} where az has no --source-acr-auth-id), and a Container Registry Repository role for the task's identity`,
        };
      }
      return {
        what: `the task reaches ${n.loginServer} without any credential for it`,
        fix: `az acr task credential add -n ${task} -r ${taskRegistry} --login-server ${n.loginServer} --use-identity '[system]'`,
      };
    case 'role-missing': {
      const abac = verdict.evidence.includes('roleAssignmentMode=AbacRepositoryPermissions');
      const push = verdict.evidence.some((e) => e.startsWith('no role granting push'));
      const role = abac ? (push ? 'Container Registry Repository Writer' : 'Container Registry Repository Reader') : push ? 'AcrPush' : 'AcrPull';
      return {
        what: `the task's identity has no role on registry ${n.registry} that allows it to ${push ? 'push' : 'pull'} (${abac ? 'an ABAC registry honours only the Container Registry Repository roles' : 'legacy registry permissions'})`,
        fix: `assign ${role} to the task's principal on registry ${n.registry} (az rest --method put …/roleAssignments/<uuid>?api-version=2022-04-01 with principalType ServicePrincipal)`,
      };
    }
    case 'role-not-yet-effective':
      return { what: "the task's role on the registry exists but has not taken effect yet", fix: 'Wait a few minutes and run the task again.' };
    case 'public-registry-push':
      return { what: `the task pushes to ${n.loginServer}, a public registry, without a credential for it`, fix: 'Push to your own registry, or add a username/password credential for it.' };
  }
}
