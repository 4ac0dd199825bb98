/**
 * Dedicated agent pools (`Microsoft.ContainerRegistry/registries/agentPools`, api-version
 * 2019-06-01-preview and later): the documented alternative to the task bypass. A pool joined to
 * a subnet runs the registry's tasks inside that virtual network, so a registry with a private
 * endpoint in the same network is reached over it — no bypass needed (src/model/access.ts
 * `reachability`, path `private-endpoint`).
 *
 * - PUT creates or replaces: 201 (200 on replace) + `Azure-AsyncOperation`, `provisioningState`
 *   Creating in the answer, Succeeded once the operation is (as the registries route does).
 *   Properties: `tier` (S1, S2, S3, I6), `count` (≥ 0), `os` (Linux), `virtualNetworkSubnetResourceId`.
 * - PATCH changes `count` and tags (the update model has only those); GET, list; DELETE answers
 *   202 + `Location`, and the pool is gone when the operation is.
 * - A pool needs a Premium registry (Microsoft's "Run tasks on dedicated agent pools": Premium
 *   only). UNCERTAIN: the real refusal's code; the sim answers 400 `AgentPoolNotSupported`.
 * - A run on a pool that does not exist is refused at scheduleRun with ARM's 404 for the pool
 *   (runs.ts); `agentPoolName` in a task run request is refused with the service's own words.
 */
import { ArmError } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import { requirePermission, scopeOf } from '../caller.js';
import type { ArmResource } from '../store.js';
import { key } from '../store.js';
import { page } from './common.js';
import { notFound, REGISTRY_PATH, requireRegistry } from './tasks.js';

export const AGENT_POOL_TYPE = 'Microsoft.ContainerRegistry/registries/agentPools';
const API_VERSIONS = ['2019-06-01-preview', '2025-03-01-preview'] as const;
const TIERS = ['S1', 'S2', 'S3', 'I6'];
const NAME = /^[a-zA-Z0-9-]{3,20}$/;

/** The pool `name` of `registry`, if it exists. */
export function agentPoolOf(sim: Pick<SimContext, 'state'>, registry: ArmResource, name: string): ArmResource | undefined {
  return sim.state.agentPools?.[key(`${registry.id}/agentPools/${name}`)];
}

function invalid(message: string): ArmError {
  return new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${message}'.`);
}

export const agentPoolsRoutes: RouteModule = (router, sim) => {
  const all = `${REGISTRY_PATH}/agentPools`;
  const one = `${all}/{agentPoolName}`;
  const delay = (ms: number) => (sim.speed === 'instant' ? 0 : ms);
  const poolNotFound = (registry: ArmResource, name: string, rg: string) => notFound(`${AGENT_POOL_TYPE.replace('registries/agentPools', `registries/${registry.name}/agentPools`)}/${name}`, rg);

  router.on('PUT', one, { name: 'agentPools.create', apiVersions: API_VERSIONS, write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/agentPools/write', scopeOf(req));
    const registry = requireRegistry(sim, req);
    const name = req.params.agentPoolName!;
    if (!NAME.test(name)) throw new ArmError(400, 'InvalidResourceName', `The agent pool name '${name}' is invalid: 3 to 20 letters, digits or hyphens.`);
    if (registry.sku?.name !== 'Premium') throw new ArmError(400, 'AgentPoolNotSupported', `Agent pools are only supported for registries in the Premium SKU. The registry's SKU is ${registry.sku?.name}.`);
    const p = req.body?.properties ?? {};
    const tier = p.tier ?? 'S1';
    if (!TIERS.includes(tier)) throw invalid(`Error converting value "${tier}" to type 'Tier'. Path 'properties.tier'`);
    const count = p.count ?? 1;
    if (!Number.isInteger(count) || count < 0) throw invalid(`Error converting value "${count}" to type 'Int32'. Path 'properties.count'`);
    const subnet = p.virtualNetworkSubnetResourceId;
    if (subnet !== undefined && subnet !== null && !/\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i.test(String(subnet))) {
      throw new ArmError(400, 'InvalidParameter', `The subnet id '${subnet}' is not a valid subnet resource id.`);
    }
    const id = `${registry.id}/agentPools/${name}`;
    const existing = sim.state.agentPools?.[key(id)];
    const pool: ArmResource = {
      id,
      name,
      type: AGENT_POOL_TYPE,
      location: req.body?.location ?? registry.location,
      ...(req.body?.tags ? { tags: req.body.tags } : {}),
      properties: { tier, count, os: p.os ?? 'Linux', ...(subnet ? { virtualNetworkSubnetResourceId: subnet } : {}), provisioningState: 'Succeeded' },
    };
    (sim.state.agentPools ??= {})[key(id)] = pool;
    const op = sim.startOperation({ delayMs: delay(existing ? 5000 : 30_000) });
    sim.changed();
    return { status: existing ? 200 : 201, body: { ...pool, properties: { ...pool.properties, provisioningState: existing ? 'Updating' : 'Creating' } }, headers: sim.asyncOperationHeaders(req, op) };
  });

  router.on('PATCH', one, { name: 'agentPools.update', apiVersions: API_VERSIONS, write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/agentPools/write', scopeOf(req));
    const registry = requireRegistry(sim, req);
    const pool = agentPoolOf(sim, registry, req.params.agentPoolName!);
    if (!pool) throw poolNotFound(registry, req.params.agentPoolName!, req.params.resourceGroupName!);
    const count = req.body?.properties?.count;
    if (count !== undefined && (!Number.isInteger(count) || count < 0)) throw invalid(`Error converting value "${count}" to type 'Int32'. Path 'properties.count'`);
    if (count !== undefined) pool.properties.count = count;
    if (req.body?.tags !== undefined) pool.tags = req.body.tags;
    const op = sim.startOperation({ delayMs: delay(5000) });
    sim.changed();
    return { status: 200, body: pool, headers: sim.asyncOperationHeaders(req, op) };
  });

  router.on('GET', one, { name: 'agentPools.get', apiVersions: API_VERSIONS }, (req) => {
    const registry = requireRegistry(sim, req);
    const pool = agentPoolOf(sim, registry, req.params.agentPoolName!);
    if (!pool) throw poolNotFound(registry, req.params.agentPoolName!, req.params.resourceGroupName!);
    return { status: 200, body: pool };
  });

  router.on('GET', all, { name: 'agentPools.list', apiVersions: API_VERSIONS }, (req) => {
    const registry = requireRegistry(sim, req);
    const prefix = `${key(registry.id)}/agentpools/`;
    return { status: 200, body: page(Object.entries(sim.state.agentPools ?? {}).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v)) };
  });

  router.on('DELETE', one, { name: 'agentPools.delete', apiVersions: API_VERSIONS, write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/agentPools/delete', scopeOf(req));
    const registry = requireRegistry(sim, req);
    const pool = agentPoolOf(sim, registry, req.params.agentPoolName!);
    if (!pool) return { status: 204 };
    delete sim.state.agentPools![key(pool.id)];
    const op = sim.startOperation({ delayMs: delay(10_000) });
    sim.changed();
    return { status: 202, headers: sim.locationHeaders(req, op) };
  });
};
