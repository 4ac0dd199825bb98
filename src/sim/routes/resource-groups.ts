/** Resource groups, the generic resources list and the resource providers (Microsoft.Resources).
 *  The az CLI finds a registry's resource group through
 *  `GET /subscriptions/{s}/resources?$filter=resourceType eq '…'`, and `az resource show|update`
 *  without `--api-version` picks the newest non-preview version the provider lists. */
import { ArmError } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import { requirePermission, scopeOf } from '../caller.js';
import type { ArmResource, ResourceGroup } from '../store.js';
import { findResourceGroup, page, requireResourceGroup, requireSubscription, resourceGroupId, resourceGroupKey } from './common.js';
import { PERMISSIONS_API_VERSIONS, ROLE_ASSIGNMENT_API_VERSIONS, ROLE_DEFINITION_API_VERSIONS } from './authorization.js';
import { REGISTRY_API_VERSIONS, TASK_API_VERSIONS, TASK_RUN_API_VERSIONS } from '../api-versions.js';

/** 2025-03-01: @azure/arm-resources 6.x. 2021-04-01: az CLI 2.45. Others: published versions. */
export const RESOURCES_API_VERSIONS = [
  '2025-04-01', '2025-03-01', '2024-11-01', '2024-07-01', '2024-03-01', '2023-07-01', '2022-09-01',
  '2021-04-01', '2021-01-01', '2020-10-01', '2020-06-01', '2019-10-01', '2019-08-01', '2019-07-01', '2019-05-10', '2018-05-01',
] as const;

function resourceGroupResource(rg: ResourceGroup) {
  return {
    id: resourceGroupId(rg),
    name: rg.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: rg.location,
    ...(rg.tags ? { tags: rg.tags } : {}),
    properties: { provisioningState: 'Succeeded' },
  };
}

/** What the generic resources list shows of a resource: identity fields, not properties. */
function genericView(r: ArmResource) {
  const out: Record<string, unknown> = { id: r.id, name: r.name, type: r.type, location: r.location };
  if (r.sku) out.sku = r.sku;
  if (r.identity) out.identity = r.identity;
  if (r.tags) out.tags = r.tags;
  // The generic list carries each resource's systemData (recording test_acr_task).
  if (r.systemData) out.systemData = r.systemData;
  return out;
}

/** Supports the `$filter` forms clients use: `resourceType eq '…'`, `name eq '…'`,
 *  `resourceGroup eq '…'`, joined with `and`. */
function resourceFilter(filter: string | null): (r: ArmResource) => boolean {
  if (!filter) return () => true;
  const tests: ((r: ArmResource) => boolean)[] = [];
  for (const clause of filter.split(/\s+and\s+/i)) {
    const m = /^\s*(resourceType|name|resourceGroup)\s+eq\s+'([^']*)'\s*$/i.exec(clause);
    if (!m) throw new ArmError(400, 'InvalidFilterInQueryString', `Invalid $filter '${filter}' specified in the query string.`);
    const field = m[1]!.toLowerCase();
    const value = m[2]!.toLowerCase();
    if (field === 'resourcetype') tests.push((r) => r.type.toLowerCase() === value);
    else if (field === 'name') tests.push((r) => r.name.toLowerCase() === value);
    else tests.push((r) => (/\/resourceGroups\/([^/]+)/i.exec(r.id)?.[1] ?? '').toLowerCase() === value);
  }
  return (r) => tests.every((t) => t(r));
}

/** api-versions newest first, as ARM lists them (clients take the first non-preview one). */
function newestFirst(versions: readonly string[]): string[] {
  return [...versions].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** The providers the sim serves, with the resource types and api-versions it accepts. */
function providers(location: string) {
  const type = (resourceType: string, apiVersions: readonly string[], locations: string[] = [location]) => ({
    resourceType,
    locations,
    apiVersions: newestFirst(apiVersions),
    capabilities: 'None',
  });
  return [
    {
      namespace: 'Microsoft.ContainerRegistry',
      resourceTypes: [
        type('registries', REGISTRY_API_VERSIONS),
        type('registries/tasks', TASK_API_VERSIONS),
        type('registries/runs', TASK_API_VERSIONS),
        type('registries/scheduleRun', TASK_API_VERSIONS),
        type('registries/taskRuns', TASK_RUN_API_VERSIONS),
        type('checkNameAvailability', REGISTRY_API_VERSIONS, []),
        type('locations/operationResults', REGISTRY_API_VERSIONS),
      ],
    },
    {
      namespace: 'Microsoft.Authorization',
      resourceTypes: [type('roleAssignments', ROLE_ASSIGNMENT_API_VERSIONS, []), type('roleDefinitions', ROLE_DEFINITION_API_VERSIONS, []), type('permissions', PERMISSIONS_API_VERSIONS, [])],
    },
  ];
}

function providerResource(subscriptionId: string, p: ReturnType<typeof providers>[number]) {
  return { id: `/subscriptions/${subscriptionId}/providers/${p.namespace}`, namespace: p.namespace, registrationState: 'Registered', registrationPolicy: 'RegistrationRequired', resourceTypes: p.resourceTypes };
}

function allResources(sim: SimContext): ArmResource[] {
  return [...Object.values(sim.state.registries), ...Object.values(sim.state.tasks)];
}

export const resourceGroupsRoutes: RouteModule = (router, sim) => {
  const apiVersions = RESOURCES_API_VERSIONS;
  const base = '/subscriptions/{subscriptionId}/resourceGroups';

  router.on('GET', base, { name: 'resourceGroups.list', apiVersions }, (req) => {
    const sub = requireSubscription(sim, req.params.subscriptionId!);
    const groups = Object.values(sim.state.resourceGroups).filter((rg) => rg.subscriptionId === sub.subscriptionId);
    return { status: 200, body: page(groups.map(resourceGroupResource)) };
  });

  router.on('GET', `${base}/{resourceGroupName}`, { name: 'resourceGroups.get', apiVersions }, (req) => ({
    status: 200,
    body: resourceGroupResource(requireResourceGroup(sim, req.params.subscriptionId!, req.params.resourceGroupName!)),
  }));

  router.on('HEAD', `${base}/{resourceGroupName}`, { name: 'resourceGroups.checkExistence', apiVersions }, (req) => {
    requireSubscription(sim, req.params.subscriptionId!);
    return { status: findResourceGroup(sim, req.params.subscriptionId!, req.params.resourceGroupName!) ? 204 : 404 };
  });

  router.on('PUT', `${base}/{resourceGroupName}`, { name: 'resourceGroups.createOrUpdate', apiVersions, write: true }, (req) => {
    requirePermission(sim, 'Microsoft.Resources/subscriptions/resourceGroups/write', scopeOf(req));
    const sub = requireSubscription(sim, req.params.subscriptionId!);
    const name = req.params.resourceGroupName!;
    if (!/^[-\w._()]{1,90}$/.test(name) || name.endsWith('.')) {
      throw new ArmError(400, 'InvalidResourceGroupName', `The provided resource group name '${name}' has these invalid characters or is too long.`);
    }
    const location = req.body?.location;
    if (typeof location !== 'string' || !location) {
      throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
    }
    const k = resourceGroupKey(sub.subscriptionId, name);
    const existing = sim.state.resourceGroups[k];
    if (existing && existing.location.toLowerCase() !== location.toLowerCase()) {
      throw new ArmError(409, 'InvalidResourceGroupLocation', `Invalid resource group location '${location}'. The Resource group already exists in location '${existing.location}'.`);
    }
    const rg: ResourceGroup = { subscriptionId: sub.subscriptionId, name: existing?.name ?? name, location: existing?.location ?? location };
    const tags = req.body?.tags ?? existing?.tags;
    if (tags) rg.tags = tags;
    sim.state.resourceGroups[k] = rg;
    sim.changed();
    return { status: existing ? 200 : 201, body: resourceGroupResource(rg) };
  });

  router.on('GET', '/subscriptions/{subscriptionId}/resources', { name: 'resources.list', apiVersions }, (req) => {
    const sub = requireSubscription(sim, req.params.subscriptionId!);
    const keep = resourceFilter(req.query.get('$filter'));
    const prefix = `/subscriptions/${sub.subscriptionId}/`.toLowerCase();
    const found = allResources(sim).filter((r) => r.id.toLowerCase().startsWith(prefix) && keep(r));
    return { status: 200, body: page(found.map(genericView)) };
  });

  router.on('GET', `${base}/{resourceGroupName}/resources`, { name: 'resources.listByResourceGroup', apiVersions }, (req) => {
    const rg = requireResourceGroup(sim, req.params.subscriptionId!, req.params.resourceGroupName!);
    const keep = resourceFilter(req.query.get('$filter'));
    const prefix = `${resourceGroupId(rg)}/`.toLowerCase();
    const found = allResources(sim).filter((r) => r.id.toLowerCase().startsWith(prefix) && keep(r));
    return { status: 200, body: page(found.map(genericView)) };
  });

  router.on('GET', '/subscriptions/{subscriptionId}/providers', { name: 'providers.list', apiVersions }, (req) => {
    const sub = requireSubscription(sim, req.params.subscriptionId!);
    return { status: 200, body: page(providers(defaultLocation(sim)).map((p) => providerResource(sub.subscriptionId, p))) };
  });

  router.on('GET', '/subscriptions/{subscriptionId}/providers/{namespace}', { name: 'providers.get', apiVersions }, (req) => {
    const sub = requireSubscription(sim, req.params.subscriptionId!);
    const wanted = req.params.namespace!.toLowerCase();
    const p = providers(defaultLocation(sim)).find((x) => x.namespace.toLowerCase() === wanted);
    if (!p) throw new ArmError(404, 'InvalidResourceNamespace', `The resource namespace '${req.params.namespace}' is invalid.`);
    return { status: 200, body: providerResource(sub.subscriptionId, p) };
  });
};

/** The region the sim's resources live in (its first resource group's). */
function defaultLocation(sim: SimContext): string {
  return Object.values(sim.state.resourceGroups)[0]?.location ?? 'eastus';
}
