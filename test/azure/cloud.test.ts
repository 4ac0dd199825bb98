/**
 * The adapter's verbs, driven through the real Azure SDK against the simulated Azure over verified
 * TLS. No fake clients: what passes here is what the SDK sends and ARM (as the sim models it) answers.
 */
import { describe, expect, it } from 'vitest';
import { connect, roleAssignmentName, simCredential, type Cloud } from '../../src/azure/index.js';
import { startSim, type RunningSim } from '../../src/sim/index.js';
import { withSim } from '../helpers/sim.js';
import { REGISTRY, RG, TARGET, rejection, simCloud } from './sim-cloud.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';


/** A fresh sim and the adapter pointed at it, for one test. */
function withCloud(scenario: string, fn: (cloud: Cloud, sim: RunningSim) => Promise<void>): () => Promise<void> {
  return () => withSim({ scenario, speed: 'instant' }, (sim) => fn(simCloud(sim), sim));
}

describe('connect', () => {
  it('verifies TLS against the given CA: without it the sim is refused, with it the call works', async () => {
    const sim = await startSim({});
    try {
      const untrusting = connect({ subscriptionId: sim.subscriptionId, credential: simCredential(), endpoint: sim.endpoint });
      const e = await rejection(untrusting.getRegistry(RG, REGISTRY));
      expect(e.name).toBe('AcrTrustError');
      expect(e.code).toMatch(/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
      expect(e.message).toContain('TLS certificate is not trusted');
      expect(await simCloud(sim).getRegistry(RG, REGISTRY)).toMatchObject({ name: REGISTRY });
    } finally {
      await sim.stop();
    }
  });

  it('sends its requests to the given endpoint at the SDK\'s api-versions', withCloud('default', async (cloud, sim) => {
    await cloud.getRegistry(RG, REGISTRY);
    expect(sim.requests.at(-1)).toMatchObject({ method: 'GET', name: 'registries.get', apiVersion: '2025-11-01', status: 200 });
  }));
});

describe('subscriptions and resource groups', () => {
  it('reads and lists them; a missing one reads as undefined', withCloud('default', async (cloud, sim) => {
    expect(await cloud.getSubscription()).toMatchObject({ subscriptionId: sim.subscriptionId, state: 'Enabled' });
    expect((await cloud.listSubscriptions()).map((s) => s.subscriptionId)).toEqual([sim.subscriptionId]);
    expect(await cloud.getSubscription('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(await cloud.getResourceGroup(RG)).toMatchObject({ name: RG, location: 'eastus' });
    expect(await cloud.getResourceGroup('nosuchgroup')).toBeUndefined();
    expect((await cloud.listResourceGroups()).map((g) => g.name)).toContain(RG);
  }));
});

describe('registries', () => {
  it('reads a registry as a small domain object', withCloud('default', async (cloud, sim) => {
    expect(await cloud.getRegistry(RG, REGISTRY)).toEqual({
      id: `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REGISTRY}`,
      name: REGISTRY,
      resourceGroup: RG,
      location: 'eastus',
      loginServer: 'acrtrustdemo.azurecr.io',
      sku: 'Premium',
      publicNetworkAccess: 'Enabled',
      networkRuleBypassOptions: 'AzureServices',
      networkRuleBypassAllowedForTasks: false,
      networkRuleSet: { defaultAction: 'Allow', ipRules: [] },
      roleAssignmentMode: 'LegacyRegistryPermissions',
      lastModifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), // ARM's systemData
    });
  }));

  it('reads a missing registry (or group) as undefined, and lists registries', withCloud('two-registries', async (cloud) => {
    expect(await cloud.getRegistry(RG, 'nosuchregistry')).toBeUndefined();
    expect(await cloud.getRegistry('nosuchgroup', REGISTRY)).toBeUndefined();
    expect((await cloud.listRegistries()).map((r) => r.name).sort()).toEqual([REGISTRY, TARGET]);
    expect((await cloud.listRegistries(RG)).map((r) => r.name).sort()).toEqual([REGISTRY, TARGET]);
  }));

  it('PATCHes only the network fields given, through the long-running operation', withCloud('default', async (cloud, sim) => {
    const after = await cloud.updateRegistryNetwork(RG, REGISTRY, { networkRuleBypassAllowedForTasks: true, publicNetworkAccess: 'Disabled' });
    expect(after).toMatchObject({ networkRuleBypassAllowedForTasks: true, publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices' });
    expect(sim.requests.filter((r) => r.name === 'registries.update')).toHaveLength(1);
    const rules = await cloud.updateRegistryNetwork(RG, REGISTRY, {
      publicNetworkAccess: 'Enabled',
      networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '20.42.0.0/16' }] },
    });
    expect(rules.networkRuleSet).toEqual({ defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '20.42.0.0/16' }] });
    expect(sim.state.registries[Object.keys(sim.state.registries)[0]!]!.properties.networkRuleSet.ipRules[0].value).toBe('20.42.0.0/16');
  }));

  it('turns a failed long-running operation into an AcrTrustError keeping ARM\'s code', withCloud('basic-sku', async (cloud) => {
    const e = await rejection(cloud.updateRegistryNetwork(RG, REGISTRY, { publicNetworkAccess: 'Disabled' }));
    expect(e.name).toBe('AcrTrustError');
    expect(e.code).toBe('DisablingPublicNetworkAccessNotSupported');
    expect(e.message).toContain(`registry ${REGISTRY}`);
    expect(e.message).toContain('Premium');
    expect(e.hint).toContain('--sku Premium');
  }));
});

describe('role assignments and permissions', () => {
  const principal = '11111111-2222-4333-8444-555555555555';

  it('looks up built-in role ids without a call', withCloud('default', async (cloud, sim) => {
    expect(await cloud.roleDefinitionId('AcrPush')).toBe(roleDefinitionId(sim.subscriptionId, ROLE_GUIDS.AcrPush));
    expect(await cloud.roleDefinitionId('Container Registry Repository Writer')).toMatch(new RegExp(`${ROLE_GUIDS.RepositoryWriter}$`));
  }));

  it('looks up other roles by name through the API', withCloud('default', async (cloud) => {
    expect(await cloud.roleDefinitionId('Reader')).toMatch(new RegExp(`${ROLE_GUIDS.Reader}$`));
    const e = await rejection(cloud.roleDefinitionId('No Such Role'));
    expect(e.name).toBe('AcrTrustError');
  }));

  it('creates, lists and deletes an assignment with a deterministic name; a duplicate is RoleAssignmentExists', withCloud('default', async (cloud) => {
    const registry = (await cloud.getRegistry(RG, REGISTRY))!;
    const role = await cloud.roleDefinitionId('AcrPush');
    const name = roleAssignmentName(registry.id, role, principal);
    const created = await cloud.createRoleAssignment(registry.id, role, principal, name);
    expect(created).toMatchObject({ name, principalId: principal, principalType: 'ServicePrincipal' });
    expect(created.roleDefinitionId).toMatch(new RegExp(`${ROLE_GUIDS.AcrPush}$`));

    // The same name again is idempotent; another name for the same grant is refused.
    await cloud.createRoleAssignment(registry.id, role, principal, name);
    const dup = await rejection(cloud.createRoleAssignment(registry.id, role, principal, roleAssignmentName('other', role, principal)));
    expect(dup).toMatchObject({ name: 'AcrTrustError', code: 'RoleAssignmentExists' });
    expect(dup.options.statusCode).toBe(409);

    const listed = await cloud.listRoleAssignments(registry.id, principal);
    expect(listed.map((a) => a.name)).toEqual([name]);
    await cloud.deleteRoleAssignment(created.id);
    expect(await cloud.listRoleAssignments(registry.id, principal)).toEqual([]);
    await cloud.deleteRoleAssignment(created.id); // idempotent
  }));

  it('reports whether the caller may write role assignments', async () => {
    for (const [scenario, can] of [['default', true], ['no-role-write', false], ['read-only', false]] as const) {
      await withCloud(scenario, async (cloud, sim) => {
        const registry = (await cloud.getRegistry(RG, REGISTRY))!;
        const p = await cloud.callerPermissions(registry.id);
        expect(p.canWriteRoleAssignments).toBe(can);
        expect(p.permissions.length).toBeGreaterThan(0);
        expect((await cloud.callerPermissions(`/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}`)).canWriteRoleAssignments).toBe(can);
      })();
    }
  });

  it('explains a refused role assignment write (AuthorizationFailed → Owner / User Access Administrator)', withCloud('no-role-write', async (cloud) => {
    const registry = (await cloud.getRegistry(RG, REGISTRY))!;
    const role = await cloud.roleDefinitionId('AcrPush');
    const e = await rejection(cloud.createRoleAssignment(registry.id, role, principal, roleAssignmentName(registry.id, role, principal)));
    expect(e).toMatchObject({ name: 'AcrTrustError', code: 'AuthorizationFailed' });
    expect(e.options.statusCode).toBe(403);
    expect(e.hint).toMatch(/Owner/);
    expect(e.hint).toMatch(/User Access Administrator/);
  }));
});

describe('tasks', () => {
  const yaml = 'version: v1.1.0\nsteps:\n  - build: -t acrtrustdemo.azurecr.io/hello:{{.Run.ID}} -f Dockerfile https://github.com/Azure-Samples/acr-build-helloworld-node.git#main\n  - push: ["acrtrustdemo.azurecr.io/hello:{{.Run.ID}}"]\n';

  it('creates a task with a system identity and loginMode None, manages its credential, deletes it', withCloud('default', async (cloud) => {
    expect(await cloud.getTask(RG, REGISTRY, 'acr-trust-task')).toBeUndefined();
    const task = await cloud.createTask(RG, REGISTRY, 'acr-trust-task', { location: 'eastus', taskYaml: yaml });
    expect(task).toMatchObject({ name: 'acr-trust-task', identityType: 'SystemAssigned', sourceRegistryLoginMode: 'None', stepType: 'EncodedTask', customRegistries: {} });
    expect(task.principalId).toMatch(/^[0-9a-f-]{36}$/);

    const withCredential = await cloud.addTaskCredential(RG, REGISTRY, 'acr-trust-task', 'acrtrustdemo.azurecr.io');
    // The PATCH answer shows the entry as null, as Azure does (recording test_acr_task); listDetails has it.
    expect(withCredential.customRegistries).toHaveProperty(['acrtrustdemo.azurecr.io'], null);
    expect((await cloud.getTaskDetails(RG, REGISTRY, 'acr-trust-task'))!.customRegistries['acrtrustdemo.azurecr.io']).toMatchObject({ identity: '[system]' });

    const without = await cloud.removeTaskCredential(RG, REGISTRY, 'acr-trust-task', 'acrtrustdemo.azurecr.io');
    expect(without.customRegistries['acrtrustdemo.azurecr.io'] ?? undefined).toBeUndefined();

    await cloud.deleteTask(RG, REGISTRY, 'acr-trust-task');
    expect(await cloud.getTask(RG, REGISTRY, 'acr-trust-task')).toBeUndefined();
    await cloud.deleteTask(RG, REGISTRY, 'acr-trust-task'); // idempotent
  }));

  it('explains a task call on a missing registry, keeping ARM\'s code', withCloud('default', async (cloud) => {
    const e = await rejection(cloud.createTask(RG, 'nosuchregistry', 'acr-trust-task', { location: 'eastus', taskYaml: yaml }));
    expect(e).toMatchObject({ name: 'AcrTrustError', code: 'ResourceNotFound' });
    expect(e.options.statusCode).toBe(404);
    expect(e.message).toContain('create task acr-trust-task in registry nosuchregistry');
  }));
});

describe('runs', () => {
  const yaml = 'version: v1.1.0\nsteps:\n  - build: -t acrtrustdemo.azurecr.io/hello:{{.Run.ID}} -f Dockerfile https://github.com/Azure-Samples/acr-build-helloworld-node.git#main\n  - push: ["acrtrustdemo.azurecr.io/hello:{{.Run.ID}}"]\n';

  it('schedules a run, reads it, lists it and reads its log (without ever exposing the log link)', withCloud('default', async (cloud) => {
    const task = await cloud.createTask(RG, REGISTRY, 'acr-trust-task', { location: 'eastus', taskYaml: yaml });
    const runId = await cloud.scheduleRun(RG, REGISTRY, task.id);
    expect(runId).toMatch(/^c[a-z0-9]+$/);
    const run = (await cloud.getRun(RG, REGISTRY, runId))!;
    expect(run).toMatchObject({ runId, status: 'Failed' }); // no credential for its registry: push refused
    const log = await cloud.readRunLog(RG, REGISTRY, runId);
    expect(log).toContain('unauthorized: authentication required');
    expect(log).not.toMatch(/sig=|https:\/\/127\.0\.0\.1/);
    expect((await cloud.listRuns(RG, REGISTRY, { taskName: 'acr-trust-task' })).map((r) => r.runId)).toEqual([runId]);
    expect(await cloud.getRun(RG, REGISTRY, 'zz99')).toBeUndefined();
    await cloud.cancelRun(RG, REGISTRY, runId); // a finished run: nothing changes
  }));
});
