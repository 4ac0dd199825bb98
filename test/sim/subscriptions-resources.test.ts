import { describe, expect, it } from 'vitest';
import { rawRequest, sdkClients, useSim } from '../helpers/sim.js';

describe('subscriptions, resource groups and the generic resources list', () => {
  const s = useSim({});

  it('lists and gets the subscription, with its tenant', async () => {
    const { subscriptions } = s.clients;
    const all = [];
    for await (const sub of subscriptions.subscriptions.list()) all.push(sub);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ subscriptionId: s.sim.subscriptionId, tenantId: s.sim.tenantId, displayName: 'Simulated subscription', state: 'Enabled' });
    const one = await subscriptions.subscriptions.get(s.sim.subscriptionId);
    expect(one.id).toBe(`/subscriptions/${s.sim.subscriptionId}`);
    const tenants = [];
    for await (const t of subscriptions.tenants.list()) tenants.push(t.tenantId);
    expect(tenants).toEqual([s.sim.tenantId]);
  });

  it('answers SubscriptionNotFound for an unknown subscription', async () => {
    const e: any = await s.clients.subscriptions.subscriptions.get('00000000-0000-0000-0000-000000000000').catch((x) => x);
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe('SubscriptionNotFound');
  });

  it('serves the az CLI sign-in api-version (2019-11-01)', async () => {
    const r = await rawRequest(s.sim, 'GET', '/subscriptions?api-version=2019-11-01');
    expect(r.status).toBe(200);
    expect(r.body.value[0]).toMatchObject({ subscriptionId: s.sim.subscriptionId, tenantId: s.sim.tenantId });
  });

  it('gets, lists, creates and updates resource groups', async () => {
    const { resources } = s.clients;
    expect(await resources.resourceGroups.get('acr-trust-demo')).toMatchObject({ name: 'acr-trust-demo', location: 'eastus', properties: { provisioningState: 'Succeeded' } });
    const created = await rawRequest(s.sim, 'PUT', `/subscriptions/${s.sim.subscriptionId}/resourceGroups/rg-two?api-version=2021-04-01`, { body: { location: 'westeurope' } });
    expect(created.status).toBe(201);
    const again = await resources.resourceGroups.createOrUpdate('rg-two', { location: 'westeurope', tags: { a: 'b' } });
    expect(again.tags).toEqual({ a: 'b' });
    expect(s.sim.requests.at(-1)!.status).toBe(200);
    const names = [];
    for await (const g of resources.resourceGroups.list()) names.push(g.name);
    expect(names.sort()).toEqual(['acr-trust-demo', 'rg-two']);
    expect(await resources.resourceGroups.checkExistence('rg-two')).toMatchObject({ body: true });
    expect(await resources.resourceGroups.checkExistence('rg-none')).toMatchObject({ body: false });
  });

  it('answers ResourceGroupNotFound with ARM message and failure-cause header', async () => {
    const e: any = await s.clients.resources.resourceGroups.get('missing-rg').catch((x) => x);
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe('ResourceGroupNotFound');
    expect(e.message).toBe("Resource group 'missing-rg' could not be found.");
    expect(e.response.headers.get('x-ms-failure-cause')).toBe('gateway');
  });

  it('lists resources by type filter, as `az acr update` does to find the resource group', async () => {
    s.sim.state.tasks['x'] = { id: `/subscriptions/${s.sim.subscriptionId}/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/registries/acrtrustdemo/tasks/t1`, name: 't1', type: 'Microsoft.ContainerRegistry/registries/tasks', location: 'eastus', properties: {} };
    const r = await rawRequest(s.sim, 'GET', `/subscriptions/${s.sim.subscriptionId}/resources?$filter=${encodeURIComponent("resourceType eq 'Microsoft.ContainerRegistry/registries'")}&api-version=2021-04-01`);
    expect(r.status).toBe(200);
    expect(r.body.value).toEqual([
      { id: `/subscriptions/${s.sim.subscriptionId}/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/registries/acrtrustdemo`, name: 'acrtrustdemo', type: 'Microsoft.ContainerRegistry/registries', location: 'eastus', sku: { name: 'Premium', tier: 'Premium' }, tags: {}, systemData: expect.objectContaining({ createdAt: expect.any(String) }) },
    ]);
    const all = [];
    for await (const x of s.clients.resources.resources.listByResourceGroup('acr-trust-demo')) all.push(x.type);
    expect(all.sort()).toEqual(['Microsoft.ContainerRegistry/registries', 'Microsoft.ContainerRegistry/registries/tasks']);
    const sdk = [];
    for await (const x of s.clients.resources.resources.list({ filter: "name eq 't1' and resourceType eq 'Microsoft.ContainerRegistry/registries/tasks'" })) sdk.push(x.name);
    expect(sdk).toEqual(['t1']);
    delete s.sim.state.tasks['x'];
  });

  it('refuses an unsupported $filter', async () => {
    const r = await rawRequest(s.sim, 'GET', `/subscriptions/${s.sim.subscriptionId}/resources?$filter=${encodeURIComponent("tagName eq 'x'")}&api-version=2021-04-01`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('InvalidFilterInQueryString');
  });

  it('helpers give working clients for a second sim view', () => {
    expect(Object.keys(sdkClients(s.sim)).sort()).toEqual(['authorization', 'registries', 'resources', 'subscriptions']);
  });
});
