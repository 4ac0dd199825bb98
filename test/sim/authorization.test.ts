import { describe, expect, it } from 'vitest';
import { ROLE_GUIDS, roleDefinitionId as roleId } from '../../src/model/roles.js';
import { rawRequest, rejection, sdkClients, withSim } from '../helpers/sim.js';

const RG = 'acr-trust-demo';
const PRINCIPAL = '7b2f1c9e-5d4a-4e3b-9c8d-1a2b3c4d5e6f';
const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function registryScope(sub: string, name = 'acrtrustdemo') {
  return `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${name}`;
}

describe('role assignments', () => {
  it('creates at a registry scope given with a leading slash (the SDK sends //subscriptions/…)', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      const scope = registryScope(sim.subscriptionId);
      const a = await authorization.roleAssignments.create(scope, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' });
      expect(a).toMatchObject({
        id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${guid(1)}`,
        name: guid(1),
        type: 'Microsoft.Authorization/roleAssignments',
        scope,
        principalId: PRINCIPAL,
        principalType: 'ServicePrincipal',
        roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush),
      });
      expect(new Date(a.createdOn!).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(sim.requests[0]).toMatchObject({ method: 'PUT', status: 201, name: 'roleAssignments.create', apiVersion: '2022-04-01' });
      // Same name, same body: 200 with the existing assignment.
      await authorization.roleAssignments.create(scope, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' });
      expect(sim.requests[1]!.status).toBe(200);
      expect(await authorization.roleAssignments.get(scope, guid(1))).toMatchObject({ name: guid(1) });
      // A raw double-slash PUT path also works.
      const raw = await rawRequest(sim, 'PUT', `/${scope}/providers/Microsoft.Authorization/roleAssignments/${guid(2)}?api-version=2022-04-01`, {
        body: { properties: { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPull), principalId: PRINCIPAL, principalType: 'ServicePrincipal' } },
      });
      expect(raw.status).toBe(201);
      expect(raw.body.properties.scope).toBe(scope);
    }));

  it('answers 409 RoleAssignmentExists for the same scope, role and principal under another name', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      const scope = registryScope(sim.subscriptionId);
      const body = { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' as const };
      await authorization.roleAssignments.create(scope, guid(1), body);
      const e = await rejection(authorization.roleAssignments.create(scope, guid(2), body));
      expect(e.name).toBe('RestError'); // not instanceof: arm-authorization loads the CJS build of core-rest-pipeline
      expect(e).toMatchObject({ statusCode: 409, code: 'RoleAssignmentExists', message: 'The role assignment already exists.' });
    }));

  it('refuses a name that is not a GUID', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      const e = await rejection(authorization.roleAssignments.create(registryScope(sim.subscriptionId), 'not-a-guid', { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' }));
      expect(e).toMatchObject({ statusCode: 400, code: 'InvalidRoleAssignmentId' });
    }));

  it('answers PrincipalNotFound for a principal the directory does not know yet, unless principalType is sent', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      sim.state.principals[PRINCIPAL] = { principalId: PRINCIPAL, kind: 'ServicePrincipal', displayName: 'task', visibleAt: Date.now() + 60_000 };
      const scope = registryScope(sim.subscriptionId);
      const e = await rejection(authorization.roleAssignments.create(scope, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL }));
      expect(e).toMatchObject({ statusCode: 400, code: 'PrincipalNotFound' });
      expect(e.message).toBe(
        `Principal ${PRINCIPAL.replace(/-/g, '')} does not exist in the directory ${sim.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
      );
      // Missing entirely: same answer.
      const missing = await rejection(authorization.roleAssignments.create(scope, guid(2), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: guid(99) }));
      expect(missing.code).toBe('PrincipalNotFound');
      // With principalType the lookup is skipped.
      const ok = await authorization.roleAssignments.create(scope, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' });
      expect(ok.principalType).toBe('ServicePrincipal');
      // Once visible, no principalType is needed and the directory supplies it.
      sim.state.principals[PRINCIPAL]!.visibleAt = 0;
      const later = await authorization.roleAssignments.create(scope, guid(3), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPull), principalId: PRINCIPAL });
      expect(later.principalType).toBe('ServicePrincipal');
    }));

  it('answers 403 AuthorizationFailed when the caller may not write role assignments', () =>
    withSim({ scenario: 'no-role-write' }, async (sim) => {
      const { authorization } = sdkClients(sim);
      const scope = registryScope(sim.subscriptionId);
      const e = await rejection(authorization.roleAssignments.create(scope, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' }));
      const oid = sim.state.caller.principalId;
      expect(e).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect(e.message).toBe(
        `The client '${oid}' with object id '${oid}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '${scope}/providers/Microsoft.Authorization/roleAssignments/${guid(1)}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
      const d = await rejection(authorization.roleAssignments.delete(scope, guid(1)));
      expect(d).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    }));

  it('answers RoleDefinitionDoesNotExist for an unknown role', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      const e = await rejection(authorization.roleAssignments.create(registryScope(sim.subscriptionId), guid(1), { roleDefinitionId: roleId(sim.subscriptionId, guid(4242)), principalId: PRINCIPAL, principalType: 'ServicePrincipal' }));
      expect(e).toMatchObject({ statusCode: 400, code: 'RoleDefinitionDoesNotExist' });
    }));

  it('404s for an assignment or scope that does not exist', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      expect(await rejection(authorization.roleAssignments.get(registryScope(sim.subscriptionId), guid(5)))).toMatchObject({ statusCode: 404, code: 'RoleAssignmentNotFound' });
      const e = await rejection(authorization.roleAssignments.create(`/subscriptions/${sim.subscriptionId}/resourceGroups/nope`, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' }));
      expect(e).toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound' });
    }));

  it('deletes: 200 with the assignment, then 204', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      const scope = registryScope(sim.subscriptionId);
      await authorization.roleAssignments.create(scope, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' });
      const deleted = await authorization.roleAssignments.delete(scope, guid(1));
      expect(deleted.name).toBe(guid(1));
      await authorization.roleAssignments.delete(scope, guid(1));
      expect(sim.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([200, 204]);
    }));

  it('lists for a scope: that scope, its parents and its children, filtered by principal', () =>
    withSim({ scenario: 'two-registries' }, async (sim) => {
      const { authorization } = sdkClients(sim);
      const sub = `/subscriptions/${sim.subscriptionId}`;
      const rg = `${sub}/resourceGroups/${RG}`;
      const demo = registryScope(sim.subscriptionId);
      const target = registryScope(sim.subscriptionId, 'acrtrusttarget');
      const make = (scope: string, n: number, role: string) => authorization.roleAssignments.create(scope, guid(n), { roleDefinitionId: roleId(sim.subscriptionId, role), principalId: PRINCIPAL, principalType: 'ServicePrincipal' });
      await make(rg, 1, ROLE_GUIDS.Reader);
      await make(demo, 2, ROLE_GUIDS.AcrPush);
      await make(target, 3, ROLE_GUIDS.AcrPull);

      const names = async (it: AsyncIterable<{ name?: string }>) => {
        const out: string[] = [];
        for await (const a of it) out.push(a.name!);
        return out.sort();
      };
      const filter = `principalId eq '${PRINCIPAL}'`;
      expect(await names(authorization.roleAssignments.listForScope(demo, { filter }))).toEqual([guid(1), guid(2)]);
      expect(await names(authorization.roleAssignments.listForScope(rg, { filter }))).toEqual([guid(1), guid(2), guid(3)]);
      expect(await names(authorization.roleAssignments.listForScope(rg, { filter: `atScope() and principalId eq '${PRINCIPAL}'` }))).toEqual([guid(1)]);
      expect(await names(authorization.roleAssignments.listForSubscription({ filter }))).toEqual([guid(1), guid(2), guid(3)]);
      // The caller's Owner assignment at the subscription shows at every scope below.
      const all = await names(authorization.roleAssignments.listForScope(demo));
      expect(all).toHaveLength(3);
      expect(sim.requests.find((r) => r.name === 'roleAssignments.list')!.path.startsWith('/subscriptions/')).toBe(true);
    }));

  it('refuses unsupported list filters', () =>
    withSim({}, async (sim) => {
      const r = await rawRequest(sim, 'GET', `/subscriptions/${sim.subscriptionId}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=${encodeURIComponent("roleName eq 'x'")}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('UnsupportedQuery');
    }));
});

describe('role definitions', () => {
  it('gets built-in roles by id and lists them by name', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      const scope = registryScope(sim.subscriptionId);
      const push = await authorization.roleDefinitions.get(scope, ROLE_GUIDS.AcrPush);
      expect(push).toMatchObject({ name: ROLE_GUIDS.AcrPush, roleName: 'AcrPush', roleType: 'BuiltInRole', id: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush) });
      const byId = await authorization.roleDefinitions.getById(roleId(sim.subscriptionId, ROLE_GUIDS.RepositoryWriter));
      expect(byId.roleName).toBe('Container Registry Repository Writer');
      for (const name of ['AcrPush', 'AcrPull', 'AcrDelete', 'Owner', 'Contributor', 'Reader', 'User Access Administrator', 'Container Registry Repository Reader', 'Container Registry Repository Writer', 'Container Registry Repository Contributor']) {
        const found = [];
        for await (const d of authorization.roleDefinitions.list(`/subscriptions/${sim.subscriptionId}`, { filter: `roleName eq '${name}'` })) found.push(d.roleName);
        expect(found).toEqual([name]);
      }
      expect(await rejection(authorization.roleDefinitions.get(scope, guid(7)))).toMatchObject({ statusCode: 404, code: 'RoleDefinitionDoesNotExist' });
    }));
});

describe('permissions', () => {
  it('gives an Owner caller everything', () =>
    withSim({}, async (sim) => {
      const { authorization } = sdkClients(sim);
      const perms = [];
      for await (const p of authorization.permissions.listForResourceGroup(RG)) perms.push(p);
      expect(perms).toEqual([{ actions: ['*'], notActions: [], dataActions: [], notDataActions: [] }]);
      const onRegistry = [];
      for await (const p of authorization.permissions.listForResource(RG, 'Microsoft.ContainerRegistry', '', 'registries', 'acrtrustdemo')) onRegistry.push(p);
      expect(onRegistry[0]!.actions).toEqual(['*']);
    }));

  it('gives a Contributor caller everything but Microsoft.Authorization writes', () =>
    withSim({ scenario: 'no-role-write' }, async (sim) => {
      const { authorization } = sdkClients(sim);
      const perms = [];
      for await (const p of authorization.permissions.listForResourceGroup(RG)) perms.push(p);
      expect(perms[0]!.actions).toEqual(['*']);
      expect(perms[0]!.notActions).toEqual(expect.arrayContaining(['Microsoft.Authorization/*/Write', 'Microsoft.Authorization/*/Delete']));
    }));
});

describe('a read-only caller (scenario read-only: Reader on the resource group)', () => {
  const refusal = (oid: string, action: string, scope: string) =>
    `The client '${oid}' with object id '${oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`;

  it('reads everything, holds Reader on the resource group, and its permissions say so', () =>
    withSim({ scenario: 'read-only' }, async (sim) => {
      const { authorization, registries } = sdkClients(sim);
      expect(await registries.registries.get(RG, 'acrtrustdemo')).toMatchObject({ name: 'acrtrustdemo', publicNetworkAccess: 'Enabled' });
      const mine = [];
      for await (const a of authorization.roleAssignments.listForScope(registryScope(sim.subscriptionId), { filter: `principalId eq '${sim.state.caller.principalId}'` })) mine.push(a);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ scope: `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}`, roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.Reader) });
      const perms = [];
      for await (const p of authorization.permissions.listForResource(RG, 'Microsoft.ContainerRegistry', '', 'registries', 'acrtrustdemo')) perms.push(p);
      expect(perms).toEqual([{ actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] }]);
    }));

  it('is refused every write with 403 AuthorizationFailed naming the action and the scope, and nothing changes', () =>
    withSim({ scenario: 'read-only' }, async (sim) => {
      const { authorization, registries } = sdkClients(sim);
      const oid = sim.state.caller.principalId;
      const scope = registryScope(sim.subscriptionId);
      const before = structuredClone(sim.state.registries);

      const patch = await rejection(registries.registries.beginUpdateAndWait(RG, 'acrtrustdemo', { publicNetworkAccess: 'Disabled', networkRuleSet: { defaultAction: 'Deny' } }));
      expect(patch).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect(patch.message).toBe(refusal(oid, 'Microsoft.ContainerRegistry/registries/write', scope));

      const task = await rejection(
        registries.tasks.beginCreateAndWait(RG, 'acrtrustdemo', 'some-task', {
          location: 'eastus',
          platform: { os: 'Linux' },
          step: { type: 'EncodedTask', encodedTaskContent: Buffer.from('version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n').toString('base64') },
        } as any),
      );
      expect(task).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
      expect(task.message).toBe(refusal(oid, 'Microsoft.ContainerRegistry/registries/tasks/write', `${scope}/tasks/some-task`));

      // An action names the resource it acts on, not the action's own path segment.
      const run = await rawRequest(sim, 'POST', `${scope}/scheduleRun?api-version=2019-06-01-preview`, { body: { type: 'TaskRunRequest', taskId: `${scope}/tasks/some-task` } });
      expect(run.status).toBe(403);
      expect(run.body.error).toEqual({ code: 'AuthorizationFailed', message: refusal(oid, 'Microsoft.ContainerRegistry/registries/scheduleRun/action', scope) });

      // Checked before the resource provider: a write to a registry that does not exist is refused too.
      const create = await rejection(registries.registries.beginCreateAndWait(RG, 'newregistry1', { location: 'eastus', sku: { name: 'Premium' } }));
      expect(create).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });

      const role = await rejection(authorization.roleAssignments.create(scope, guid(1), { roleDefinitionId: roleId(sim.subscriptionId, ROLE_GUIDS.AcrPush), principalId: PRINCIPAL, principalType: 'ServicePrincipal' }));
      expect(role.message).toBe(refusal(oid, 'Microsoft.Authorization/roleAssignments/write', `${scope}/providers/Microsoft.Authorization/roleAssignments/${guid(1)}`));

      const group = await rawRequest(sim, 'PUT', `/subscriptions/${sim.subscriptionId}/resourcegroups/another-group?api-version=2021-04-01`, { body: { location: 'eastus' } });
      expect(group.body.error).toEqual({ code: 'AuthorizationFailed', message: refusal(oid, 'Microsoft.Resources/subscriptions/resourceGroups/write', `/subscriptions/${sim.subscriptionId}/resourcegroups/another-group`) });

      expect(sim.state.registries).toEqual(before);
      expect(sim.state.tasks).toEqual({});
      expect(sim.state.runs).toEqual({});
      expect(Object.keys(sim.state.roleAssignments)).toHaveLength(1);
      expect(Object.keys(sim.state.resourceGroups)).toHaveLength(1);
    }));
});
