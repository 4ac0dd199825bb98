import { describe, expect, it } from 'vitest';
import { rawRequest, rejection, sdkClients, withSim } from '../helpers/sim.js';

const RG = 'acr-trust-demo';
const REG = 'acrtrustdemo';

describe('registries', () => {
  it('gets a registry with a new registry defaults', () =>
    withSim({}, async (sim) => {
      const { registries } = sdkClients(sim);
      const r = await registries.registries.get(RG, REG);
      expect(r).toMatchObject({
        name: REG,
        type: 'Microsoft.ContainerRegistry/registries',
        location: 'eastus',
        sku: { name: 'Premium', tier: 'Premium' },
        loginServer: 'acrtrustdemo.azurecr.io',
        provisioningState: 'Succeeded',
        publicNetworkAccess: 'Enabled',
        networkRuleBypassOptions: 'AzureServices',
        networkRuleBypassAllowedForTasks: false,
        networkRuleSet: { defaultAction: 'Allow', ipRules: [] },
        roleAssignmentMode: 'LegacyRegistryPermissions',
      });
      expect(r.id).toBe(`/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}`);
    }));

  it('lists by subscription and by resource group', () =>
    withSim({ scenario: 'two-registries' }, async (sim) => {
      const { registries } = sdkClients(sim);
      const all: string[] = [];
      for await (const r of registries.registries.list()) all.push(r.name!);
      const inGroup: string[] = [];
      for await (const r of registries.registries.listByResourceGroup(RG)) inGroup.push(r.name!);
      expect(all.sort()).toEqual(['acrtrustdemo', 'acrtrusttarget']);
      expect(inGroup.sort()).toEqual(['acrtrustdemo', 'acrtrusttarget']);
    }));

  it('answers 404 ResourceNotFound for a missing registry and ResourceGroupNotFound for a missing group', () =>
    withSim({}, async (sim) => {
      const { registries } = sdkClients(sim);
      const e = await rejection(registries.registries.get(RG, 'nosuchregistry'));
      expect(e.name).toBe('RestError'); // not instanceof: arm-authorization loads the CJS build of core-rest-pipeline
      expect(e.statusCode).toBe(404);
      expect(e.code).toBe('ResourceNotFound');
      expect(e.message).toBe(`The Resource 'Microsoft.ContainerRegistry/registries/nosuchregistry' under resource group '${RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
      const g = await rejection(registries.registries.get('nosuchgroup', REG));
      expect(g.code).toBe('ResourceGroupNotFound');
      expect(g.statusCode).toBe(404);
      expect(g.response.headers.get('x-ms-failure-cause')).toBe('gateway');
    }));

  it('updates with a synchronous PATCH (200, final body, no polling — as recorded), merging only what was sent', () =>
    withSim({}, async (sim) => {
      const { registries } = sdkClients(sim);
      const r = await registries.registries.beginUpdateAndWait(RG, REG, { networkRuleBypassAllowedForTasks: true });
      expect(r.networkRuleBypassAllowedForTasks).toBe(true);
      expect(r.publicNetworkAccess).toBe('Enabled');
      const r2 = await registries.registries.beginUpdateAndWait(RG, REG, { publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None' });
      expect(r2).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: true });
      const names = sim.requests.map((q) => `${q.method} ${q.name} ${q.status}`);
      // Real PATCHes answer 200 with the final registry (azure-cli recordings
      // test_acr_with_public_network_access*): the SDK's poller ends there.
      expect(names).toEqual(['PATCH registries.update 200', 'PATCH registries.update 200']);
      expect(sim.requests[0]!.apiVersion).toBe('2025-11-01');
    }));

  it('creates a registry (PUT 201 + Azure-AsyncOperation) and replaces one (200)', () =>
    withSim({}, async (sim) => {
      const { registries } = sdkClients(sim);
      const created = await registries.registries.beginCreateAndWait(RG, 'NewReg01', { location: 'eastus', sku: { name: 'Standard' }, adminUserEnabled: true });
      expect(created).toMatchObject({ name: 'NewReg01', loginServer: 'newreg01.azurecr.io', adminUserEnabled: true, sku: { name: 'Standard', tier: 'Standard' }, networkRuleBypassOptions: 'AzureServices' });
      expect(sim.requests[0]).toMatchObject({ method: 'PUT', status: 201, write: true });
      await registries.registries.beginCreateAndWait(RG, 'NewReg01', { location: 'eastus', sku: { name: 'Premium' } });
      expect(sim.requests.filter((q) => q.method === 'PUT').map((q) => q.status)).toEqual([201, 200]);
      expect((await registries.registries.get(RG, 'NewReg01')).sku.name).toBe('Premium');
    }));

  it('refuses bad registry names with InvalidResourceName', () =>
    withSim({}, async (sim) => {
      const { registries } = sdkClients(sim);
      for (const name of ['abcd', 'has-dash1', 'x'.repeat(51)]) {
        const e = await rejection(registries.registries.beginCreateAndWait(RG, name, { location: 'eastus', sku: { name: 'Basic' } }));
        expect(e.code).toBe('InvalidResourceName');
        expect(e.statusCode).toBe(400);
      }
    }));

  it('refuses a name already used by another registry (login servers are global)', () =>
    withSim({}, async (sim) => {
      const { registries, resources } = sdkClients(sim);
      await resources.resourceGroups.createOrUpdate('other-rg', { location: 'westus' });
      const e = await rejection(registries.registries.beginCreateAndWait('other-rg', REG, { location: 'westus', sku: { name: 'Basic' } }));
      expect(e.statusCode).toBe(409);
      expect(e.code).toBe('AlreadyInUse');
    }));

  it('refuses at once when a Basic registry disables public access (400 DisablingPublicNetworkAccessNotSupported)', () =>
    withSim({ scenario: 'basic-sku' }, async (sim) => {
      const { registries } = sdkClients(sim);
      const e = await rejection(registries.registries.beginUpdateAndWait(RG, REG, { publicNetworkAccess: 'Disabled' }));
      expect(e.statusCode).toBe(400);
      expect(e.code).toBe('DisablingPublicNetworkAccessNotSupported');
      expect(e.message).toBe('Disabling public network access is not supported for the SKU Basic. For more information, please visit https://aka.ms/acr/private-link.');
      expect((await registries.registries.get(RG, REG)).publicNetworkAccess).toBe('Enabled');
    }));

  it('refuses at once when a Basic registry gets firewall rules (NetworkRuleNotSupported)', () =>
    withSim({ scenario: 'basic-sku' }, async (sim) => {
      const { registries } = sdkClients(sim);
      const e = await rejection(registries.registries.beginUpdateAndWait(RG, REG, { networkRuleSet: { defaultAction: 'Deny', ipRules: [] } }));
      expect(e.code).toBe('NetworkRuleNotSupported');
      const ok = await registries.registries.beginUpdateAndWait(RG, REG, { sku: { name: 'Premium' }, networkRuleSet: { defaultAction: 'Deny', ipRules: [{ iPAddressOrRange: '1.2.3.4/32' }] } });
      expect(ok.networkRuleSet).toEqual({ defaultAction: 'Deny', ipRules: [{ action: 'Allow', iPAddressOrRange: '1.2.3.4/32' }] });
    }));

  it('accepts the full PUT of `az resource update` at a preview api-version', () =>
    withSim({}, async (sim) => {
      const path = `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}?api-version=2025-06-01-preview`;
      const got = await rawRequest(sim, 'GET', path);
      expect(got.status).toBe(200);
      got.body.properties.networkRuleBypassAllowedForTasks = true;
      const put = await rawRequest(sim, 'PUT', path, { body: got.body });
      expect(put.status).toBe(200);
      expect(put.headers['azure-asyncoperation']).toMatch(/operationStatuses/);
      const { registries } = sdkClients(sim);
      expect((await registries.registries.get(RG, REG)).networkRuleBypassAllowedForTasks).toBe(true);
    }));

  it('hides properties an older api-version does not know (az CLI 2.45 reads 2022-02-01-preview)', () =>
    withSim({}, async (sim) => {
      const path = `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}`;
      const old = await rawRequest(sim, 'GET', `${path}?api-version=2022-02-01-preview`);
      expect(old.status).toBe(200);
      expect(old.body.properties).not.toHaveProperty('networkRuleBypassAllowedForTasks');
      expect(old.body.properties).not.toHaveProperty('roleAssignmentMode');
      expect(old.body.properties.networkRuleBypassOptions).toBe('AzureServices');
      // 2022-02-01-preview's spec has no virtualNetworkRules; 2021-08-01-preview's has (recorded empty).
      expect(old.body.properties.networkRuleSet).toEqual({ defaultAction: 'Allow', ipRules: [] });
      const older = await rawRequest(sim, 'GET', `${path}?api-version=2021-08-01-preview`);
      expect(older.body.properties.networkRuleSet).toEqual({ defaultAction: 'Allow', virtualNetworkRules: [], ipRules: [] });
      expect(older.body.properties.policies).not.toHaveProperty('softDeletePolicy');
      expect(old.body.systemData).toMatchObject({ createdByType: 'User', createdAt: expect.any(String), lastModifiedAt: expect.any(String) });
      // A PATCH at the old version cannot reset what it does not know.
      const patch = await rawRequest(sim, 'PATCH', `${path}?api-version=2022-02-01-preview`, { body: { properties: { networkRuleBypassAllowedForTasks: true, publicNetworkAccess: 'Disabled' } } });
      expect(patch.status).toBe(200);
      expect(patch.headers['azure-asyncoperation']).toBeUndefined();
      const now = await rawRequest(sim, 'GET', `${path}?api-version=2025-11-01`);
      expect(now.body.properties).toMatchObject({ networkRuleBypassAllowedForTasks: false, publicNetworkAccess: 'Disabled' });
    }));

  it('validates enum values in a PATCH', () =>
    withSim({}, async (sim) => {
      const path = `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}?api-version=2025-11-01`;
      const r = await rawRequest(sim, 'PATCH', path, { body: { properties: { publicNetworkAccess: 'Off' } } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('InvalidRequestContent');
    }));

  it('deletes a registry with a synchronous 200 (as recorded), with its tasks and runs', () =>
    withSim({}, async (sim) => {
      const { registries } = sdkClients(sim);
      const reg = await registries.registries.get(RG, REG);
      const k = reg.id!.toLowerCase();
      sim.state.tasks[`${k}/tasks/t1`] = { id: `${reg.id}/tasks/t1`, name: 't1', type: 'Microsoft.ContainerRegistry/registries/tasks', properties: {} };
      sim.state.runs[`${k}/runs/ca1`] = { resource: { id: `${reg.id}/runs/ca1`, name: 'ca1', type: 'Microsoft.ContainerRegistry/registries/runs', properties: {} }, taskKey: `${k}/tasks/t1`, scheduledAt: 0, log: [], outcome: { status: 'Succeeded', at: 0 }, logKey: 'x' };
      await registries.registries.beginDeleteAndWait(RG, REG);
      expect(sim.requests.map((q) => `${q.method} ${q.name} ${q.status}`)).toEqual(['GET registries.get 200', 'DELETE registries.delete 200']);
      expect(sim.state.tasks).toEqual({});
      expect(sim.state.runs).toEqual({});
      const e = await rejection(registries.registries.get(RG, REG));
      expect(e.code).toBe('ResourceNotFound');
      // Deleting what is gone is not an error.
      await registries.registries.beginDeleteAndWait(RG, REG);
      expect(sim.requests.at(-1)).toMatchObject({ method: 'DELETE', status: 204 });
    }));

  it('reports InProgress until the operation finishes at realistic speed', () =>
    withSim({ speed: 'realistic' }, async (sim) => {
      // A create at a version recorded asynchronous (2022-02-01-preview: 201 + Azure-AsyncOperation).
      const path = `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/NewReg02?api-version=2022-02-01-preview`;
      const put = await rawRequest(sim, 'PUT', path, { body: { location: 'eastus', sku: { name: 'Standard' } } });
      expect(put.status).toBe(201);
      expect(put.body.properties.provisioningState).toBe('Creating');
      expect(put.body.properties).not.toHaveProperty('networkRuleSet');
      expect(put.headers['retry-after']).toBe('1');
      const statusUrl = new URL(String(put.headers['azure-asyncoperation']));
      const poll = await rawRequest(sim, 'GET', statusUrl.pathname + statusUrl.search);
      expect(poll.body).toMatchObject({ status: 'InProgress', name: expect.any(String), startTime: expect.any(String) });
      expect(poll.body.endTime).toBeUndefined();
      // Recorded sync versions answer the final registry at once.
      const sync = await rawRequest(sim, 'PUT', path.replace('NewReg02', 'NewReg03').replace('2022-02-01-preview', '2026-01-01-preview'), { body: { location: 'eastus', sku: { name: 'Standard' } } });
      expect(sync.status).toBe(200);
      expect(sync.headers['azure-asyncoperation']).toBeUndefined();
      expect(sync.body.properties).toMatchObject({ provisioningState: 'Succeeded', regionalEndpoints: 'Disabled', endpointProtocol: 'IPv4' });
    }));

  it('serves operation status at the location form too, and 404s unknown operations', () =>
    withSim({}, async (sim) => {
      const op = { id: 'op-1', doneAt: Date.now(), status: 'Failed' as const, error: { code: 'Boom', message: 'It broke.' }, startTime: new Date().toISOString() };
      sim.state.operations[op.id] = op;
      const base = `/subscriptions/${sim.subscriptionId}/providers/Microsoft.ContainerRegistry/locations/eastus`;
      const status = await rawRequest(sim, 'GET', `${base}/operationStatuses/op-1?api-version=2019-06-01-preview`);
      expect(status.body).toMatchObject({ name: 'op-1', status: 'Failed', error: { code: 'Boom', message: 'It broke.' }, endTime: expect.any(String) });
      const result = await rawRequest(sim, 'GET', `${base}/operationResults/op-1?api-version=2019-06-01-preview`);
      expect(result.status).toBe(400);
      expect(result.body.error.code).toBe('Boom');
      expect((await rawRequest(sim, 'GET', `${base}/operationStatuses/nope?api-version=2025-11-01`)).body.error.code).toBe('OperationNotFound');
      expect((await rawRequest(sim, 'GET', `${base}/operationStatuses/op-1`)).body.error.code).toBe('MissingApiVersionParameter');
    }));

  it('checks name availability', () =>
    withSim({}, async (sim) => {
      const { registries } = sdkClients(sim);
      expect(await registries.registries.checkNameAvailability({ name: REG, type: 'Microsoft.ContainerRegistry/registries' })).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });
      expect(await registries.registries.checkNameAvailability({ name: 'freshname1', type: 'Microsoft.ContainerRegistry/registries' })).toMatchObject({ nameAvailable: true });
    }));
});
