/**
 * Issue 13 §5: every real ARM refusal a route returns can be produced — by `--faults` with its code
 * or by a scenario — and each code has an explanation rule with its fix. Through the real SDK (the
 * wizard's adapter turns the SDK's error into the explained one) against the sim over HTTPS.
 */
import { describe, expect, it } from 'vitest';
import { matchArmRule } from '../../src/azure/errors.js';
import { ARM_FAULTS, parseFaultSpec } from '../../src/sim/faults.js';
import { DEMO_REGISTRY, DEMO_RESOURCE_GROUP } from '../../src/sim/scenarios.js';
import { simCloud } from '../azure/sim-cloud.js';
import { rawRequest, rejection, withSim } from '../helpers/sim.js';

const FAULT_CONTEXT = { method: 'GET', path: '/', params: {}, callerId: 'c', tenantId: 't' };

const REQUIRED = [
  'TasksOperationsNotAllowed',
  'DisablingPublicNetworkAccessNotSupported',
  'PrincipalNotFound',
  'RoleAssignmentExists',
  'AuthorizationFailed',
  'LinkedAuthorizationFailed',
  'RequestDisallowedByPolicy',
  'ResourceNotFound',
  'InvalidApiVersionParameter',
];

describe('ARM refusals by code', () => {
  it('the fault table covers every code the issue names, and the spec accepts each', () => {
    for (const code of REQUIRED) {
      expect(Object.keys(ARM_FAULTS)).toContain(code);
      expect(parseFaultSpec(`${code}=1,routes=registries.get`).rates).toMatchObject({ [code]: 1 });
    }
    expect(() => parseFaultSpec('NoSuchCode=1')).toThrow(/unknown key 'NoSuchCode'.*TasksOperationsNotAllowed/);
  });

  it.each(REQUIRED)('%s: the sim answers it on the named route and the wizard explains it with a fix, keeping the code', async (code) => {
    await withSim({ faults: `${code}=1,routes=registries.get|registries.update` }, async (sim) => {
      // The raw answer: ARM's status, code and message, no "injected" marker.
      const raw = await rawRequest(sim, 'GET', `/subscriptions/${sim.subscriptionId}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/${DEMO_REGISTRY}?api-version=2023-07-01`);
      expect(raw.body.error.code).toBe(code);
      expect(raw.status).toBe(ARM_FAULTS[code as keyof typeof ARM_FAULTS](FAULT_CONTEXT).status);
      expect(raw.text).not.toMatch(/injected/i);
      // Through the wizard's adapter (the real SDK): explained in the user's terms with a fix, code kept.
      const e = await rejection(simCloud(sim).updateRegistryNetwork(DEMO_RESOURCE_GROUP, DEMO_REGISTRY, { publicNetworkAccess: 'Disabled' }));
      expect(e.code).toBe(code);
      const rule = matchArmRule({ code, message: e.message });
      expect(rule, `no explanation rule for ${code}`).toBeDefined();
      expect(e.message).toContain(rule!.message.slice(0, 30));
      expect(e.message).toContain(`(${code})`);
      expect(e.hint).toBe(rule!.hint);
    });
  });

  it('the tasks-not-allowed scenario refuses every scheduleRun with 400 TasksOperationsNotAllowed, in ARM’s words', async () => {
    await withSim({ scenario: 'tasks-not-allowed' }, async (sim) => {
      const cloud = simCloud(sim);
      const e = await rejection(cloud.scheduleRun(DEMO_RESOURCE_GROUP, DEMO_REGISTRY, 'whatever'));
      expect([e.code, e.options.statusCode]).toEqual(['TasksOperationsNotAllowed', 400]);
      expect(e.message).toMatch(/ACR Tasks are not allowed in this subscription/);
      expect(e.hint).toMatch(/Waiting will not change it/);
      // Other routes answer normally.
      expect(await cloud.getRegistry(DEMO_RESOURCE_GROUP, DEMO_REGISTRY)).toMatchObject({ name: DEMO_REGISTRY });
    });
  });
});
