/**
 * Issue 13 §4: dedicated agent pools in the sim — create/get/list/delete as long-running
 * operations through the real SDK's poller (raw requests for the status codes), a task on a pool
 * in the registry's network reaching a closed registry without any bypass, a task naming a
 * missing pool refused with ARM's 404 for the pool.
 */
import { describe, expect, it } from 'vitest';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';
import { DEMO_REGISTRY, DEMO_RESOURCE_GROUP } from '../../src/sim/scenarios.js';
import { key } from '../../src/sim/store.js';
import { rawRequest, withSim } from '../helpers/sim.js';

const API = '2019-06-01-preview';
const SUBNET = (sub: string, s: string) => `/subscriptions/${sub}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.Network/virtualNetworks/acr-vnet/subnets/${s}`;
const YAML = 'version: v1.1.0\nsteps:\n  - build: -t $Registry/app:{{.Run.ID}} .\n  - push: ["$Registry/app:{{.Run.ID}}"]\n';

describe('agent pools', () => {
  it('create, get, list, update and delete as ARM long-running operations', async () => {
    await withSim({}, async (sim) => {
      const registry = `/subscriptions/${sim.subscriptionId}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/${DEMO_REGISTRY}`;
      const pool = `${registry}/agentPools/pool1?api-version=${API}`;
      const created = await rawRequest(sim, 'PUT', pool, { body: { location: 'eastus', properties: { tier: 'S1', count: 1, os: 'Linux', virtualNetworkSubnetResourceId: SUBNET(sim.subscriptionId, 'tasks') } } });
      expect(created.status).toBe(201);
      expect(created.body.properties).toMatchObject({ tier: 'S1', count: 1, provisioningState: 'Creating', virtualNetworkSubnetResourceId: SUBNET(sim.subscriptionId, 'tasks') });
      expect(created.headers['azure-asyncoperation']).toBeDefined();
      const op = new URL(String(created.headers['azure-asyncoperation']));
      expect((await rawRequest(sim, 'GET', op.pathname + op.search)).body.status).toBe('Succeeded');
      expect((await rawRequest(sim, 'GET', pool)).body.properties.provisioningState).toBe('Succeeded');
      expect((await rawRequest(sim, 'GET', `${registry}/agentPools?api-version=${API}`)).body.value.map((p: any) => p.name)).toEqual(['pool1']);
      expect((await rawRequest(sim, 'PATCH', pool, { body: { properties: { count: 2 } } })).body.properties.count).toBe(2);
      expect((await rawRequest(sim, 'PUT', pool, { body: { properties: { tier: 'S9' } } })).status).toBe(400);
      const deleted = await rawRequest(sim, 'DELETE', pool);
      expect(deleted.status).toBe(202);
      expect(deleted.headers.location).toBeDefined();
      expect((await rawRequest(sim, 'GET', pool)).body.error.code).toBe('ResourceNotFound');
    });
  });

  it('a task on a pool in the private endpoint’s network reaches the closed registry without the bypass; a missing pool is refused', async () => {
    await withSim({}, async (sim) => {
      const sub = sim.subscriptionId;
      const registry = `/subscriptions/${sub}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/${DEMO_REGISTRY}`;
      await rawRequest(sim, 'PUT', `${registry}/agentPools/pool1?api-version=${API}`, { body: { location: 'eastus', properties: { tier: 'S1', count: 1, virtualNetworkSubnetResourceId: SUBNET(sub, 'tasks') } } });
      const taskBody = (pool: string) => ({
        location: 'eastus',
        identity: { type: 'SystemAssigned' },
        properties: { agentPoolName: pool, platform: { os: 'linux' }, step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(YAML).toString('base64') }, credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { [`${DEMO_REGISTRY}.azurecr.io`]: { identity: '[system]' } } } },
      });
      const task = (await rawRequest(sim, 'PUT', `${registry}/tasks/on-pool?api-version=${API}`, { body: taskBody('pool1') })).body;
      await rawRequest(sim, 'PUT', `${registry}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, { body: { properties: { roleDefinitionId: roleDefinitionId(sub, ROLE_GUIDS.AcrPush), principalId: task.identity.principalId, principalType: 'ServicePrincipal' } } });
      // Closed, trusted services off, no task switch: no bypass at all. A private endpoint in the pool's network.
      const r = sim.state.registries[key(registry)]!;
      Object.assign(r.properties, { publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: false });
      r.properties.privateEndpointConnections = [{ properties: { privateEndpoint: { id: '/pe', subnetId: SUBNET(sub, 'endpoints') }, privateLinkServiceConnectionState: { status: 'Approved' } } }];

      expect(task.properties.agentPoolName).toBe('pool1');
      const schedule = (taskId: string) => rawRequest(sim, 'POST', `${registry}/scheduleRun?api-version=${API}`, { body: { type: 'TaskRunRequest', taskId } });
      const statusOf = async (scheduled: { body: any }) => (await rawRequest(sim, 'GET', `${registry}/runs/${scheduled.body.properties.runId}?api-version=${API}`)).body.properties.status;
      expect(await statusOf(await schedule(task.id))).toBe('Succeeded');

      // Without the endpoint the pool's network has no way in: refused at the exchange.
      r.properties.privateEndpointConnections = [];
      expect(await statusOf(await schedule(task.id))).toBe('Failed');

      // A task naming a pool that does not exist: the run is refused with ARM's 404 for the pool.
      const ghost = (await rawRequest(sim, 'PUT', `${registry}/tasks/on-ghost?api-version=${API}`, { body: taskBody('ghost') })).body;
      const refused = await schedule(ghost.id);
      expect(refused.status).toBe(404);
      expect(refused.body.error).toMatchObject({ code: 'ResourceNotFound', message: expect.stringContaining(`registries/${DEMO_REGISTRY}/agentPools/ghost`) });
      // The pool belongs on the task, never on the run request (the service's own words).
      const onRequest = await rawRequest(sim, 'POST', `${registry}/scheduleRun?api-version=${API}`, { body: { type: 'TaskRunRequest', taskId: task.id, agentPoolName: 'pool1' } });
      expect(onRequest.body.error.message).toBe('You cannot set the agent pool name in the task run request. Please set the name on the task.');
    });
  });
});
