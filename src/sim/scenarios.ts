/**
 * Scenarios: the clouds a new sim starts with. Each is a small variation of one subscription with
 * the demo resource group and a registry, chosen to exercise one branch of the wizard:
 *
 *   default         Premium registry `acrtrustdemo`; the caller is Owner (may write role assignments)
 *   basic-sku       the registry is Basic: disabling public access fails (Premium needed)
 *   abac            the registry uses ABAC repository permissions: AcrPush does nothing there
 *   two-registries  a second Premium registry `acrtrusttarget` for the cross-registry variant
 *   no-role-write   the caller is only Contributor: creating role assignments is refused (403)
 *   read-only       the caller holds only Reader on the demo resource group: it may read
 *                   everything, but every write (the task, the registry's network settings, the
 *                   role assignment) is refused with ARM's 403 AuthorizationFailed
 *   task-switch-only  as default, but the registry follows the other reading of the two bypass
 *                   switches (undocumented, arm-reference.md §0): `networkRuleBypassAllowedForTasks`
 *                   alone admits a task's system identity, whatever `networkRuleBypassOptions` says
 *   tasks-not-allowed  ACR Tasks are blocked for the subscription (free trials): every scheduleRun
 *                   answers 400 TasksOperationsNotAllowed, as Azure does
 *   private-endpoint  the registry is reachable only through its private endpoint: public access
 *                   off, no bypass switch on, one approved private endpoint in subnet `endpoints` of
 *                   virtual network `acr-vnet` (which has a subnet `tasks` for an agent pool) — the
 *                   cloud for the agent-pool path (a pool in that network reaches the registry)
 *   classroom       a training room: besides the demo group, one resource group per learner —
 *                   `learner01` … `learnerNN`, each with its own Premium registry
 *                   `acrtrustlearner01` … — so N people run the whole workflow against one sim at
 *                   the same time (`--learners N`, default 30; see docs/classroom.md). Each
 *                   learner signs in as its own service principal (room.ts), Owner of its own
 *                   group only; the trainer is the sim's caller, Owner of the subscription
 *
 * Ids are fixed so docs, tests and transcripts can name them.
 */
import { AcrTrustError } from '../errors.js';
import { buildRegistry } from './routes/registries.js';
import { ROLE_GUIDS, roleDefinitionId } from './roles.js';
import { guidFrom, learnerIdentity, newSecret, type RoomState } from './room.js';
import type { ArmResource, CloudState, Speed } from './store.js';
import { key } from './store.js';

export const SCENARIOS = ['default', 'basic-sku', 'abac', 'two-registries', 'no-role-write', 'read-only', 'task-switch-only', 'tasks-not-allowed', 'private-endpoint', 'classroom'] as const;

/** Faults a scenario brings with it (faults.ts spec): real ARM refusals of a route. */
const SCENARIO_FAULTS: Partial<Record<ScenarioName, string>> = {
  'tasks-not-allowed': 'TasksOperationsNotAllowed=1,routes=registries.scheduleRun',
};
export type ScenarioName = (typeof SCENARIOS)[number];

export const SIM_SUBSCRIPTION_ID = '6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c';
export const SIM_TENANT_ID = '3d9c8e71-0f2a-4b6c-8d5e-7a1b2c3d4e5f';
export const SIM_CALLER_ID = 'a4e2c6f8-1b3d-4e5f-8a7b-9c0d1e2f3a4b';
/** The trainer's application (client) id in a classroom; its secret is the room's own. */
export const SIM_TRAINER_CLIENT_ID = '7c2e4a91-5d3b-4f8e-9a1c-2b4d6f8e0a13';
/** Name of the caller's seeded subscription-scope role assignment. */
const CALLER_ASSIGNMENT = '0e6f7a8b-9c1d-4e2f-8a3b-4c5d6e7f8a9b';

export const DEMO_RESOURCE_GROUP = 'acr-trust-demo';
export const DEMO_LOCATION = 'eastus';
export const DEMO_REGISTRY = 'acrtrustdemo';
export const TARGET_REGISTRY = 'acrtrusttarget';

/** Learners in a classroom cloud unless told otherwise, and the most one sim seeds. */
export const DEFAULT_LEARNERS = 30;
export const MAX_LEARNERS = 500;

/** Learner `n`'s resource group and registry (`learner07`, `acrtrustlearner07`; three digits past 99). */
export function learnerNames(n: number, learners = DEFAULT_LEARNERS): { resourceGroup: string; registry: string } {
  const id = String(n).padStart(Math.max(2, String(learners).length), '0');
  return { resourceGroup: `learner${id}`, registry: `acrtrustlearner${id}` };
}

/** A learner count from an option: an integer from 1 to MAX_LEARNERS (exit 2 otherwise). */
export function checkLearners(value: unknown): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_LEARNERS) {
    throw new AcrTrustError(`Invalid number of learners ${JSON.stringify(value)}: expected an integer from 1 to ${MAX_LEARNERS}.`, {
      exitCode: 2,
      hint: `Give --learners N with the classroom scenario (default ${DEFAULT_LEARNERS}).`,
    });
  }
  return n;
}

/** How long a new role assignment takes to reach the registry's data plane. */
export function defaultRoleDelayMs(speed: Speed): number {
  return speed === 'realistic' ? 5000 : 0;
}

export function checkScenario(name: string): ScenarioName {
  if (!(SCENARIOS as readonly string[]).includes(name)) {
    throw new AcrTrustError(`Unknown sim scenario '${name}'.`, { exitCode: 2, hint: `Valid scenarios: ${SCENARIOS.join(', ')}.` });
  }
  return name as ScenarioName;
}

export function seedScenario(name: string, speed: Speed, now = Date.now(), opts: { learners?: number } = {}): CloudState {
  const scenario = checkScenario(name);
  if (opts.learners !== undefined && scenario !== 'classroom') {
    throw new AcrTrustError(`--learners applies to the classroom scenario, not '${scenario}'.`, { exitCode: 2, hint: 'Add --scenario classroom, or drop --learners.' });
  }
  const learners = scenario === 'classroom' ? checkLearners(opts.learners ?? DEFAULT_LEARNERS) : 0;
  const createdAt = new Date(now).toISOString();
  const sub = SIM_SUBSCRIPTION_ID;
  const registry = (registryName: string, sku: string, properties?: Record<string, unknown>) =>
    buildRegistry({ subscriptionId: sub, resourceGroup: DEMO_RESOURCE_GROUP, name: registryName, location: DEMO_LOCATION, sku, createdAt, properties });

  const registries: ArmResource[] = [];
  if (scenario === 'basic-sku') registries.push(registry(DEMO_REGISTRY, 'Basic'));
  else if (scenario === 'abac') registries.push(registry(DEMO_REGISTRY, 'Premium', { roleAssignmentMode: 'AbacRepositoryPermissions' }));
  else if (scenario === 'private-endpoint') registries.push(registry(DEMO_REGISTRY, 'Premium', privateOnly(sub)));
  else registries.push(registry(DEMO_REGISTRY, 'Premium'));
  if (scenario === 'two-registries') registries.push(registry(TARGET_REGISTRY, 'Premium'));

  const resourceGroups: CloudState['resourceGroups'] = {
    [`${sub}/${DEMO_RESOURCE_GROUP}`.toLowerCase()]: { subscriptionId: sub, name: DEMO_RESOURCE_GROUP, location: DEMO_LOCATION },
  };
  for (let n = 1; n <= learners; n++) {
    const names = learnerNames(n, learners);
    resourceGroups[`${sub}/${names.resourceGroup}`.toLowerCase()] = { subscriptionId: sub, name: names.resourceGroup, location: DEMO_LOCATION };
    registries.push(
      buildRegistry({ subscriptionId: sub, resourceGroup: names.resourceGroup, name: names.registry, location: DEMO_LOCATION, sku: 'Premium', createdAt }),
    );
  }

  // The caller's role (caller.ts derives what it may do from the two switches below).
  const readOnly = scenario === 'read-only';
  const canWrite = scenario !== 'no-role-write' && !readOnly;
  const callerRole = canWrite ? ROLE_GUIDS.Owner : readOnly ? ROLE_GUIDS.Reader : ROLE_GUIDS.Contributor;
  const callerScope = readOnly ? `/subscriptions/${sub}/resourceGroups/${DEMO_RESOURCE_GROUP}` : `/subscriptions/${sub}`;
  const callerAssignment: ArmResource = {
    id: `${callerScope}/providers/Microsoft.Authorization/roleAssignments/${CALLER_ASSIGNMENT}`,
    name: CALLER_ASSIGNMENT,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: roleDefinitionId(sub, callerRole),
      principalId: SIM_CALLER_ID,
      principalType: 'User',
      scope: callerScope,
      condition: null,
      conditionVersion: null,
      createdOn: createdAt,
      updatedOn: createdAt,
      createdBy: null,
      updatedBy: null,
      delegatedManagedIdentityResourceId: null,
      description: null,
    },
  };

  // The room's identities: the trainer (the sim's caller, Owner of the subscription, above) and,
  // per learner, a service principal Owner of its own resource group only.
  const roleAssignments: CloudState['roleAssignments'] = { [key(callerAssignment.id)]: callerAssignment };
  const principals: CloudState['principals'] = { [SIM_CALLER_ID]: { principalId: SIM_CALLER_ID, kind: 'User', displayName: 'Sim User', visibleAt: 0 } };
  let room: RoomState | undefined;
  if (learners) {
    room = { identities: [{ clientId: SIM_TRAINER_CLIENT_ID, principalId: SIM_CALLER_ID, displayName: 'acr-trust trainer', secret: newSecret() }], boardToken: newSecret() };
    for (let n = 1; n <= learners; n++) {
      const names = learnerNames(n, learners);
      const identity = learnerIdentity(names.resourceGroup.slice('learner'.length));
      room.identities.push(identity);
      principals[identity.principalId] = { principalId: identity.principalId, kind: 'ServicePrincipal', displayName: identity.displayName, visibleAt: 0 };
      const scope = `/subscriptions/${sub}/resourceGroups/${names.resourceGroup}`;
      const name = guidFrom(`acr-trust room learner ${identity.learner} owner assignment`);
      const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
      roleAssignments[key(id)] = {
        id,
        name,
        type: 'Microsoft.Authorization/roleAssignments',
        properties: { ...callerAssignment.properties, roleDefinitionId: roleDefinitionId(sub, ROLE_GUIDS.Owner), principalId: identity.principalId, principalType: 'ServicePrincipal', scope },
      };
    }
  }

  return {
    version: 1,
    tenantId: SIM_TENANT_ID,
    caller: { principalId: SIM_CALLER_ID, canWriteRoleAssignments: canWrite, ...(readOnly ? { canWriteResources: false } : {}) },
    speed,
    roleDelayMs: defaultRoleDelayMs(speed),
    subscriptions: [{ subscriptionId: sub, displayName: 'Simulated subscription', state: 'Enabled' }],
    resourceGroups,
    registries: Object.fromEntries(registries.map((r) => [key(r.id), r])),
    tasks: {},
    runs: {},
    roleAssignments,
    principals,
    operations: {},
    runCounters: {},
    scenario,
    ...(SCENARIO_FAULTS[scenario] ? { faults: SCENARIO_FAULTS[scenario] } : {}),
    ...(learners ? { learners, room } : {}),
    uuidCounter: 0,
  };
}

/**
 * The trainer's reset of one learner: everything in the learner's resource group goes back to how
 * the classroom seeded it — its registry as new, its tasks, runs and their identities gone, role
 * assignments inside the group removed except the learner's own Owner assignment — and nothing
 * outside the group is touched. Returns what it removed. Throws (exit 2) for a cloud that is not
 * a classroom or a learner it does not have.
 */
export function resetLearner(state: CloudState, learner: string, now = Date.now()): { tasks: number; runs: number; roleAssignments: number } {
  if (!state.room || !state.learners) throw new AcrTrustError('This cloud is not a classroom: it has no learners to reset.', { exitCode: 2, hint: 'Start a room with `acr-trust sim serve --scenario classroom`.' });
  const n = /^\d{1,3}$/.test(learner.trim()) ? Number(learner) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > state.learners) {
    throw new AcrTrustError(`No learner '${learner}' in this room: it has learners 1 to ${state.learners}.`, { exitCode: 2, hint: 'Give the learner\'s number, as in learner07: --learner 07.' });
  }
  const names = learnerNames(n, state.learners);
  const sub = state.subscriptions[0]!.subscriptionId;
  const scope = key(`/subscriptions/${sub}/resourceGroups/${names.resourceGroup}`);
  const inside = (id: string) => key(id) === scope || key(id).startsWith(`${scope}/`);
  const identity = state.room.identities.find((i) => i.learner === names.resourceGroup.slice('learner'.length));
  const removed = { tasks: 0, runs: 0, roleAssignments: 0 };
  for (const [k, t] of Object.entries(state.tasks)) {
    if (!inside(t.id)) continue;
    if (t.identity?.principalId) delete state.principals[t.identity.principalId];
    delete state.tasks[k];
    removed.tasks++;
  }
  for (const [k, r] of Object.entries(state.runs)) {
    if (inside(r.resource.id)) {
      delete state.runs[k];
      removed.runs++;
    }
  }
  for (const [k, a] of Object.entries(state.roleAssignments)) {
    const own = identity !== undefined && a.properties.principalId === identity.principalId && key(a.properties.scope) === scope;
    if (inside(a.properties.scope) && !own) {
      delete state.roleAssignments[k];
      removed.roleAssignments++;
    }
  }
  for (const [k, r] of Object.entries(state.registries)) {
    if (!inside(r.id)) continue;
    delete state.registries[k];
    delete state.runCounters[k];
  }
  const fresh = buildRegistry({ subscriptionId: sub, resourceGroup: names.resourceGroup, name: names.registry, location: DEMO_LOCATION, sku: 'Premium', createdAt: new Date(now).toISOString(), ...(state.cloud ? { loginServerSuffix: state.cloud.acrLoginServerSuffix } : {}) });
  state.registries[key(fresh.id)] = fresh;
  state.resourceGroups[`${sub}/${names.resourceGroup}`.toLowerCase()] ??= { subscriptionId: sub, name: names.resourceGroup, location: DEMO_LOCATION };
  return removed;
}

/** The virtual network of the private-endpoint scenario, and its two subnets. */
export const DEMO_VNET = 'acr-vnet';
export function demoSubnetId(subnet: 'endpoints' | 'tasks', sub = SIM_SUBSCRIPTION_ID): string {
  return `/subscriptions/${sub}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.Network/virtualNetworks/${DEMO_VNET}/subnets/${subnet}`;
}

/**
 * A registry closed to everything but its private endpoint. The connection is shaped as ARM
 * returns it (`privateEndpointConnections[]`: id, name, type, properties.privateEndpoint.id,
 * privateLinkServiceConnectionState, provisioningState), plus the sim-only `privateEndpoint.subnetId`
 * (ARM keeps the subnet on the Microsoft.Network endpoint resource, which the sim does not serve).
 */
function privateOnly(sub: string): Record<string, unknown> {
  const registryId = `/subscriptions/${sub}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/${DEMO_REGISTRY}`;
  const name = `${DEMO_REGISTRY}-pe.0c4f2a9e-1b7d-4e3a-9f6c-2d8b5a7e1c30`;
  return {
    publicNetworkAccess: 'Disabled',
    networkRuleBypassOptions: 'None',
    networkRuleBypassAllowedForTasks: false,
    privateEndpointConnections: [
      {
        id: `${registryId}/privateEndpointConnections/${name}`,
        name,
        type: 'Microsoft.ContainerRegistry/registries/privateEndpointConnections',
        properties: {
          privateEndpoint: {
            id: `/subscriptions/${sub}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.Network/privateEndpoints/${DEMO_REGISTRY}-pe`,
            subnetId: demoSubnetId('endpoints', sub),
          },
          privateLinkServiceConnectionState: { status: 'Approved', description: 'Auto-Approved', actionsRequired: 'None' },
          provisioningState: 'Succeeded',
        },
      },
    ],
  };
}
