import { describe, expect, it } from 'vitest';
import { SCENARIOS, seedScenario } from '../../src/sim/scenarios.js';
import { ROLE_GUIDS } from '../../src/model/roles.js';
import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { sdkClients, simClientOptions, withSim } from '../helpers/sim.js';
import { trainerCredential } from './room-helpers.js';

const registry = (s: ReturnType<typeof seedScenario>, name = 'acrtrustdemo') => Object.values(s.registries).find((r) => r.name === name)!;

describe('scenarios', () => {
  it('default: a Premium registry with a new registry defaults; the caller is Owner', () => {
    const s = seedScenario('default', 'instant');
    expect(Object.keys(s.registries)).toHaveLength(1);
    expect(registry(s)).toMatchObject({ location: 'eastus', sku: { name: 'Premium' }, properties: { publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false, roleAssignmentMode: 'LegacyRegistryPermissions' } });
    expect(s.caller.canWriteRoleAssignments).toBe(true);
    const owner = Object.values(s.roleAssignments)[0]!;
    expect(owner.properties).toMatchObject({ principalId: s.caller.principalId, scope: `/subscriptions/${s.subscriptions[0]!.subscriptionId}` });
    expect(owner.properties.roleDefinitionId).toMatch(new RegExp(`${ROLE_GUIDS.Owner}$`));
    expect(s.roleDelayMs).toBe(0);
    expect(s.subscriptions[0]!.displayName).toBe('Simulated subscription');
    expect(Object.values(s.resourceGroups)).toEqual([{ subscriptionId: s.subscriptions[0]!.subscriptionId, name: 'acr-trust-demo', location: 'eastus' }]);
  });

  it('basic-sku, abac, two-registries, no-role-write, read-only vary one thing each', () => {
    expect(registry(seedScenario('basic-sku', 'instant')).sku).toEqual({ name: 'Basic', tier: 'Basic' });
    expect(registry(seedScenario('abac', 'instant')).properties.roleAssignmentMode).toBe('AbacRepositoryPermissions');
    const two = seedScenario('two-registries', 'instant');
    expect(registry(two, 'acrtrusttarget').sku.name).toBe('Premium');
    const noWrite = seedScenario('no-role-write', 'instant');
    expect(noWrite.caller.canWriteRoleAssignments).toBe(false);
    expect(Object.values(noWrite.roleAssignments)[0]!.properties.roleDefinitionId).toMatch(new RegExp(`${ROLE_GUIDS.Contributor}$`));
    const readOnly = seedScenario('read-only', 'instant');
    expect(readOnly.caller).toMatchObject({ canWriteRoleAssignments: false, canWriteResources: false });
    expect(Object.values(readOnly.roleAssignments)[0]!.properties).toMatchObject({
      roleDefinitionId: expect.stringMatching(new RegExp(`${ROLE_GUIDS.Reader}$`)),
      scope: `/subscriptions/${readOnly.subscriptions[0]!.subscriptionId}/resourceGroups/acr-trust-demo`,
    });
    expect(registry(seedScenario('read-only', 'instant', 0))).toEqual(registry(seedScenario('default', 'instant', 0))); // only the caller differs
  });

  it('realistic speed delays role propagation', () => {
    expect(seedScenario('default', 'realistic').roleDelayMs).toBe(5000);
  });

  it('refuses an unknown name, listing the valid ones', () => {
    expect(() => seedScenario('prod', 'instant')).toThrow(/Unknown sim scenario 'prod'/);
    try {
      seedScenario('prod', 'instant');
    } catch (e: any) {
      expect(e.exitCode).toBe(2);
      expect(e.hint).toBe(`Valid scenarios: ${SCENARIOS.join(', ')}.`);
    }
  });

  it.each(SCENARIOS)('%s serves its registry through the SDK', (scenario) =>
    withSim({ scenario }, async (sim) => {
      // In a classroom everyone signs in as their own identity: here the trainer.
      const client = scenario === 'classroom' ? new ContainerRegistryManagementClient(trainerCredential(sim), sim.subscriptionId, simClientOptions(sim)) : sdkClients(sim).registries;
      const r = await client.registries.get('acr-trust-demo', 'acrtrustdemo');
      expect(r.loginServer).toBe('acrtrustdemo.azurecr.io');
    }));
});
