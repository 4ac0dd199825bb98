/**
 * Every api-version the simulated Azure accepts for the Container Registry resource types, the
 * shape each registry version answers with, and the long-running pattern each route answered with
 * in recorded real traffic — one place, with sources.
 *
 * Sources:
 * - [spec] Azure/azure-rest-api-specs, `specification/containerregistry/resource-manager/
 *   Microsoft.ContainerRegistry/{Registry,RegistryTasks}/{stable,preview}/<version>/…json` and the
 *   older flat layout (`…/Microsoft.ContainerRegistry/{stable,preview}/<version>/`). Registry
 *   versions checked present: 2016-06-27-preview … 2025-11-01 (Registry/readme.md tags,
 *   commit b00c43a3), 2025-06-01-preview (commit cfc781db), 2026-01-01-preview (commit 24519aee),
 *   2026-09-01-preview (commit 122da5ad). Task versions: RegistryTasks/readme.md (commit 3599169f)
 *   plus 2018-02-01-preview (flat layout, resource-manager/readme.md commit d3a136d5).
 * - [rec] Azure/azure-cli recordings (`src/azure-cli/azure/cli/command_modules/acr/tests/latest/
 *   recordings/`): test_acr_task (commit 4cd47028, az 2.31), test_acr_taskrun (commit 021cd50b,
 *   az 2.84), test_acr_with_public_network_access (7b6e3a41, az 2.31), …_and_bypass (a111db6b,
 *   az 2.16), …_disabled (14af4d45, az 2.38). Distilled in test/sim/replay/*.json.
 */

/** Microsoft.ContainerRegistry/registries (and checkNameAvailability, operation results). [spec] */
export const REGISTRY_API_VERSIONS = [
  '2016-06-27-preview', '2017-03-01', '2017-06-01-preview', '2017-10-01', '2019-05-01', '2019-12-01-preview',
  '2020-11-01-preview', '2021-06-01-preview', '2021-08-01-preview', '2021-09-01', '2021-12-01-preview',
  '2022-02-01-preview', '2022-12-01', '2023-01-01-preview', '2023-06-01-preview', '2023-07-01', '2023-08-01-preview',
  '2023-11-01-preview', '2024-11-01-preview', '2025-03-01-preview', '2025-04-01', '2025-05-01-preview',
  '2025-06-01-preview', '2025-11-01', '2026-01-01-preview', '2026-09-01-preview',
] as const;

/** registries/tasks, registries/runs and registries/scheduleRun. [spec] (2018-02-01-preview is
 *  the older build API — buildTasks and builds — and defines no tasks.) */
export const TASK_API_VERSIONS = ['2018-09-01', '2019-04-01', '2019-06-01-preview', '2025-03-01-preview'] as const;

/**
 * Task and run properties not every task api-version defines, by the first that does ([py] the
 * per-version models of azure-mgmt-containerregistry: v2018_09_01, v2019_04_01,
 * v2019_06_01_preview). An answer at an older version leaves them out.
 */
export const TASK_PROPERTIES_SINCE: Record<string, string> = {
  identity: '2019-04-01',
  systemData: '2019-06-01-preview',
  'properties.agentPoolName': '2019-06-01-preview',
  'properties.isSystemTask': '2019-06-01-preview',
  'properties.logTemplate': '2019-06-01-preview',
  /** [spec] RegistryTasks/preview/2025-03-01-preview/containerregistry_build.json (commit 286fa5ad),
   *  SourceRegistryCredentials; absent from the 2019-06-01-preview models [sdk]. */
  'properties.credentials.sourceRegistry.identity': '2025-03-01-preview',
};
export const RUN_PROPERTIES_SINCE: Record<string, string> = {
  systemData: '2019-06-01-preview',
  'properties.timerTrigger': '2019-04-01',
  'properties.agentPoolName': '2019-06-01-preview',
  'properties.logArtifact': '2019-06-01-preview',
  'properties.updateTriggerToken': '2019-06-01-preview',
};

/** Drops from `resource` (a copy) what `apiVersion` does not define, per a *_SINCE table (paths
 *  dotted to any depth, e.g. `properties.credentials.sourceRegistry.identity`). */
export function forVersion<T extends Record<string, any>>(resource: T, apiVersion: string | null | undefined, since: Record<string, string>): T {
  if (!apiVersion) return resource;
  for (const [path, first] of Object.entries(since)) {
    if (apiVersion >= first) continue;
    const parts = path.split('.');
    const leaf = parts.pop()!;
    const parent = parts.reduce<any>((node, key) => node?.[key], resource);
    if (parent && typeof parent === 'object') delete parent[leaf];
  }
  return resource;
}

/** registries/taskRuns and registries/agentPools arrived with 2019-06-01-preview. [spec] */
export const TASK_RUN_API_VERSIONS = ['2019-06-01-preview', '2025-03-01-preview'] as const;
export const AGENT_POOL_API_VERSIONS = TASK_RUN_API_VERSIONS;

/** Which clients send which versions (for docs, tests and the schema check). */
export const CLIENT_API_VERSIONS = {
  /** @azure/arm-containerregistry 11.0.0: models/parameters.js apiVersion / apiVersion1. [sdk] */
  sdk11: { registries: '2025-11-01', tasks: '2019-06-01-preview' },
  /** Debian's azure-cli 2.45 (azure-mgmt-containerregistry 10.x). */
  az245: { registries: '2022-02-01-preview', tasks: '2019-06-01-preview' },
  /** az 2.84 [rec test_acr_taskrun]; az 2.9x sends registries at 2026-09-01-preview (issue 12). */
  az284: { registries: '2026-01-01-preview', tasks: '2025-03-01-preview' },
  az290: { registries: '2026-09-01-preview', tasks: '2025-03-01-preview' },
} as const;

/** api-version strings compare by date; `-preview` sorts after its own date, which is what we want. */
export function atLeast(apiVersion: string | null | undefined, since: string): boolean {
  return !apiVersion || apiVersion >= since;
}

/** When each line of versions first defines a property: the preview line, the stable line
 *  (`null`: no stable version defines it). */
interface Introduced {
  preview: string;
  stable: string | null;
}

/**
 * The registry properties (under `properties`, or `policies.<name>` under `properties.policies`)
 * that not every version defines. A version answers only with the properties its
 * `RegistryProperties` defines; a PUT or PATCH at a version that lacks one leaves it unchanged.
 * A missing api-version (internal callers) sees everything.
 *
 * Sources: [py] the per-version models of azure-mgmt-containerregistry in Debian's azure-cli 2.45
 * (generated from the specs: v2019_12_01_preview … v2022_02_01_preview `_attribute_map`);
 * [sdk] @azure/arm-containerregistry 11.0.0 mappers (2025-11-01); [rec] the 2026-01-01-preview
 * answer in recording test_acr_taskrun. UNCERTAIN where marked: the first version between two
 * checked ones.
 */
export const REGISTRY_PROPERTIES_INTRODUCED: Record<string, Introduced> = {
  anonymousPullEnabled: { preview: '2020-11-01-preview', stable: '2022-12-01' }, // [py]; stable UNCERTAIN ([sdk] has it)
  zoneRedundancy: { preview: '2020-11-01-preview', stable: '2021-09-01' }, // [py]
  'policies.exportPolicy': { preview: '2021-06-01-preview', stable: '2021-09-01' }, // [py]
  'policies.azureADAuthenticationAsArmPolicy': { preview: '2022-02-01-preview', stable: '2022-12-01' }, // [py]; stable UNCERTAIN ([sdk] has it)
  'policies.softDeletePolicy': { preview: '2022-02-01-preview', stable: null }, // [py]; [sdk] 2025-11-01 lacks it
  metadataSearch: { preview: '2023-08-01-preview', stable: null }, // UNCERTAIN preview; [sdk] lacks it
  autoGeneratedDomainNameLabelScope: { preview: '2024-11-01-preview', stable: '2025-04-01' }, // UNCERTAIN; [sdk] has it
  roleAssignmentMode: { preview: '2025-03-01-preview', stable: '2025-11-01' }, // [sdk]; preview UNCERTAIN
  networkRuleBypassAllowedForTasks: { preview: '2025-05-01-preview', stable: '2025-11-01' }, // [sdk]; preview per the network-bypass doc
  regionalEndpoints: { preview: '2026-01-01-preview', stable: null }, // [rec]
  regionalEndpointHostNames: { preview: '2026-01-01-preview', stable: null }, // [rec]
  endpointProtocol: { preview: '2026-01-01-preview', stable: null }, // [rec]
  writableCacheRepos: { preview: '2026-09-01-preview', stable: null }, // [spec] 2026-09-01-preview RegistryProperties (commit 122da5ad)
};

export function isPreview(apiVersion: string): boolean {
  return apiVersion.endsWith('-preview');
}

/** Whether `apiVersion` defines the registry property `name` (a key of REGISTRY_PROPERTIES_INTRODUCED
 *  or any other, which every version defines). */
export function registryDefines(apiVersion: string | null | undefined, name: string): boolean {
  const introduced = REGISTRY_PROPERTIES_INTRODUCED[name];
  if (!introduced || !apiVersion) return true;
  const since = isPreview(apiVersion) ? introduced.preview : introduced.stable;
  return since !== null && apiVersion >= since;
}

/**
 * `networkRuleSet.virtualNetworkRules`: defined by the previews up to 2021-12-01-preview and the
 * stables before 2021-09-01 [py]; gone from 2022-02-01-preview and 2021-09-01 on ([py], [sdk]).
 */
export function hasVirtualNetworkRules(apiVersion: string | null | undefined): boolean {
  if (!apiVersion) return false;
  return isPreview(apiVersion) ? apiVersion < '2022-02-01-preview' : apiVersion < '2021-09-01';
}

/**
 * The long-running pattern each route answered with, as recorded:
 * - `sync`: the final answer at once (200, or the route's own status) and no polling header;
 * - `async`: 201 + `Azure-AsyncOperation`, the body showing `provisioningState: Creating`.
 *
 * Registry create: 200 sync at 2020-11-01-preview (…_and_bypass) and 2026-01-01-preview
 * (test_acr_taskrun); 201 + async at 2021-08-01-preview (test_acr_task, …public_network_access)
 * and 2022-02-01-preview (…_disabled). Versions not recorded keep the spec's 201 + async.
 * Registry update (PATCH): 200 sync at every recorded version (2020-11-01-preview,
 * 2021-08-01-preview, 2022-02-01-preview). Registry delete: 200 sync, empty body (test_acr_task,
 * 2021-08-01-preview). Tasks PUT/PATCH/DELETE, runs PATCH, scheduleRun and taskRuns DELETE: 200
 * sync at every recorded version.
 */
export function registryCreatePattern(apiVersion: string | null | undefined): 'sync' | 'async' {
  return apiVersion === '2020-11-01-preview' || apiVersion === '2026-01-01-preview' ? 'sync' : 'async';
}
