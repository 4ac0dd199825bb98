/**
 * ACR task routes driven by the REAL ContainerRegistryManagementClient over verified TLS:
 * create / get / list / update / delete / getDetails (POST listDetails), credentials added and
 * removed by PATCH, system- and user-assigned identities, and ARM's errors.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '@azure/arm-containerregistry';
import { ROLE_GUIDS, roleDefinitionId as roleDefinitionIdFor } from '../../src/model/roles.js';
import { all, rawRequest, rejection, sdkClients, useSim, withSim } from '../helpers/sim.js';

const RG = 'acr-trust-demo';
const REG = 'acrtrustdemo';
const SERVER = 'acrtrustdemo.azurecr.io';
const UAMI = '/subscriptions/6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c/resourceGroups/acr-trust-demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What `az acr task create --cmd mcr.microsoft.com/hello-world --context /dev/null --assign-identity --auth-mode None` sends. */
function cliTask(over: Partial<Task> = {}): Task {
  const yaml = 'version: v1.1.0\nsteps: \n  - cmd: mcr.microsoft.com/hello-world\n    disableWorkingDirectoryOverride: true\n    timeout: 3600\n';
  return {
    location: 'eastus',
    identity: { type: 'SystemAssigned' },
    status: 'Enabled',
    platform: { os: 'linux', architecture: 'amd64' },
    agentConfiguration: { cpu: 2 },
    timeout: 3600,
    step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(yaml).toString('base64'), values: [] },
    trigger: { baseImageTrigger: { name: 'defaultBaseimageTriggerName', baseImageTriggerType: 'Runtime', status: 'Enabled', updateTriggerPayloadType: 'Default' } },
    credentials: { sourceRegistry: { loginMode: 'None' } },
    ...over,
  };
}

describe('tasks', () => {
  const ctx = useSim();

  it('creates a task with a new system-assigned principal, answered synchronously', async () => {
    const { registries } = ctx.clients;
    const task = await registries.tasks.beginCreateAndWait(RG, REG, 'create-task', cliTask());
    expect(task).toMatchObject({
      id: `/subscriptions/${ctx.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}/tasks/create-task`,
      name: 'create-task',
      type: 'Microsoft.ContainerRegistry/registries/tasks',
      provisioningState: 'Succeeded',
      status: 'Enabled',
      // The platform answered in the case it was sent (recording test_acr_task: "linux").
      platform: { os: 'linux', architecture: 'amd64' },
      step: { type: 'EncodedTask' },
      credentials: { sourceRegistry: { loginMode: 'None' } },
      identity: { type: 'SystemAssigned', tenantId: ctx.sim.tenantId },
    });
    expect(task.identity!.principalId).toMatch(GUID);
    expect(ctx.sim.state.principals[task.identity!.principalId!]).toMatchObject({ kind: 'ServicePrincipal', displayName: 'create-task' });
    const put = ctx.sim.requests.filter((r) => r.name === 'tasks.create').at(-1)!;
    expect(put).toMatchObject({ method: 'PUT', status: 200, apiVersion: '2019-06-01-preview' });
    // One request: the SDK's poller ended on the synchronous 200.
    expect(ctx.sim.requests.filter((r) => r.name === 'tasks.get')).toHaveLength(0);
  });

  it('keeps the principal when the task is PUT again with its system identity, and drops it with None', async () => {
    const { registries } = ctx.clients;
    const first = await registries.tasks.beginCreateAndWait(RG, REG, 'keep-principal', cliTask());
    const again = await registries.tasks.beginCreateAndWait(RG, REG, 'keep-principal', cliTask({ timeout: 600 }));
    expect(again.identity!.principalId).toBe(first.identity!.principalId);
    expect(again.timeout).toBe(600);
    expect(again.creationDate).toEqual(first.creationDate);
    const none = await registries.tasks.beginUpdateAndWait(RG, REG, 'keep-principal', { identity: { type: 'None' } });
    expect(none.identity).toBeUndefined();
    const back = await registries.tasks.beginUpdateAndWait(RG, REG, 'keep-principal', { identity: { type: 'SystemAssigned' } });
    expect(back.identity!.principalId).not.toBe(first.identity!.principalId); // a new identity is a new principal
  });

  it('gets, lists and deletes tasks (runs are not tasks: delete answers 200, then 204)', async () => {
    const { registries } = ctx.clients;
    await registries.tasks.beginCreateAndWait(RG, REG, 'listed-one', cliTask());
    await registries.tasks.beginCreateAndWait(RG, REG, 'listed-two', cliTask({ identity: undefined }));
    const got = await registries.tasks.get(RG, REG, 'listed-two');
    expect(got).toMatchObject({ name: 'listed-two', step: { type: 'EncodedTask' } });
    expect(got.identity).toBeUndefined();
    const names = (await all(registries.tasks.list(RG, REG))).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['listed-one', 'listed-two']));

    await registries.tasks.beginDeleteAndWait(RG, REG, 'listed-one');
    expect(ctx.sim.requests.filter((r) => r.name === 'tasks.delete').at(-1)!.status).toBe(200);
    const missing = await rejection(registries.tasks.get(RG, REG, 'listed-one'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    expect(missing.message).toContain("'Microsoft.ContainerRegistry/registries/acrtrustdemo/tasks/listed-one'");
    await registries.tasks.beginDeleteAndWait(RG, REG, 'listed-one');
    expect(ctx.sim.requests.filter((r) => r.name === 'tasks.delete').at(-1)!.status).toBe(204);
  });

  it('adds a credential by PATCH and removes it with null, as `az acr task credential add/remove` do', async () => {
    const { registries } = ctx.clients;
    await registries.tasks.beginCreateAndWait(RG, REG, 'cred-task', cliTask());
    const added = await registries.tasks.beginUpdateAndWait(RG, REG, 'cred-task', { credentials: { customRegistries: { [SERVER]: { identity: '[system]' } } } });
    // The answer shows the entry as null (recording test_acr_task); listDetails reveals it.
    expect(added.credentials).toEqual({ sourceRegistry: { loginMode: 'None' }, customRegistries: { [SERVER]: null } });
    expect((await registries.tasks.getDetails(RG, REG, 'cred-task')).credentials!.customRegistries![SERVER]).toEqual({ identity: '[system]' });
    // The PATCH merged: the rest of the task is untouched.
    expect(added).toMatchObject({ step: { type: 'EncodedTask' }, platform: { os: 'linux' }, timeout: 3600 });

    const other = await registries.tasks.beginUpdateAndWait(RG, REG, 'cred-task', {
      credentials: { customRegistries: { 'other.azurecr.io': { userName: { type: 'Opaque', value: 'bob' }, password: { type: 'Opaque', value: 's3cret' } } } },
    });
    expect(Object.keys(other.credentials!.customRegistries!)).toEqual([SERVER, 'other.azurecr.io']);
    // GET hides the entries; listDetails (getDetails) returns them, secrets included.
    expect(other.credentials!.customRegistries!['other.azurecr.io']).toBeNull();
    expect(JSON.stringify(await registries.tasks.get(RG, REG, 'cred-task'))).not.toContain('s3cret');
    const details = await registries.tasks.getDetails(RG, REG, 'cred-task');
    expect(details.credentials!.customRegistries!['other.azurecr.io']!.password).toEqual({ type: 'Opaque', value: 's3cret' });

    const removed = await registries.tasks.beginUpdateAndWait(RG, REG, 'cred-task', { credentials: { customRegistries: { [SERVER.toUpperCase()]: null as any } } });
    const patch = ctx.sim.requests.filter((r) => r.name === 'tasks.update').at(-1)!;
    expect(patch.status).toBe(200);
    expect(Object.keys(removed.credentials!.customRegistries!)).toEqual(['other.azurecr.io']);
    expect(removed.credentials!.sourceRegistry).toEqual({ loginMode: 'None' });
  });

  it('gives user-assigned identities their principal and client ids, the same wherever attached', async () => {
    const { registries } = ctx.clients;
    const a = await registries.tasks.beginCreateAndWait(RG, REG, 'uami-task-a', cliTask({ identity: { type: 'UserAssigned', userAssignedIdentities: { [UAMI]: {} } } }));
    const ua = a.identity!.userAssignedIdentities![UAMI]!;
    expect(a.identity!.type).toBe('UserAssigned');
    expect(a.identity!.principalId).toBeUndefined();
    expect(ua.principalId).toMatch(GUID);
    expect(ua.clientId).toMatch(GUID);
    const b = await registries.tasks.beginCreateAndWait(RG, REG, 'uami-task-b', cliTask({ identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [UAMI]: {} } } }));
    expect(b.identity!.userAssignedIdentities![UAMI]).toEqual(ua);
    expect(b.identity!.principalId).toMatch(GUID);
    expect(b.identity!.principalId).not.toBe(ua.principalId);
  });

  it("answers ARM's errors: bad names, missing registries and resource groups, bad bodies", async () => {
    const { registries } = ctx.clients;
    expect(await rejection(registries.tasks.beginCreateAndWait(RG, REG, 'abc', cliTask()))).toMatchObject({ statusCode: 400, code: 'InvalidResourceName' });
    expect(await rejection(registries.tasks.beginCreateAndWait(RG, REG, 'has space', cliTask()))).toMatchObject({ statusCode: 400, code: 'InvalidResourceName' });
    expect(await rejection(registries.tasks.beginCreateAndWait(RG, 'nosuchregistry', 'a-task', cliTask()))).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    expect(await rejection(registries.tasks.beginCreateAndWait('nosuch-rg', REG, 'a-task', cliTask()))).toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound' });
    expect(await rejection(registries.tasks.beginCreateAndWait(RG, REG, 'a-task', cliTask({ timeout: 10 })))).toMatchObject({ statusCode: 400 });
    expect(await rejection(registries.tasks.beginUpdateAndWait(RG, REG, 'never-created', { status: 'Disabled' }))).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    expect(await rejection(registries.tasks.getDetails(RG, REG, 'never-created'))).toMatchObject({ statusCode: 404 });

    const path = `/subscriptions/${ctx.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}/tasks/raw-task`;
    const noStep = await rawRequest(ctx.sim, 'PUT', `${path}?api-version=2019-06-01-preview`, { body: { location: 'eastus', properties: { platform: { os: 'Linux' } } } });
    expect(noStep.status).toBe(400);
    expect(noStep.body.error.code).toBe('InvalidRequestContent');
    const noLocation = await rawRequest(ctx.sim, 'PUT', `${path}?api-version=2019-06-01-preview`, { body: { properties: {} } });
    expect(noLocation.body.error.code).toBe('LocationRequired');
  });

  it('accepts the newer CLI api-version and refuses unknown ones', async () => {
    const path = `/subscriptions/${ctx.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}/tasks`;
    const body = { location: 'eastus', identity: { type: 'SystemAssigned' }, properties: { platform: { os: 'linux' }, step: { type: 'Docker', dockerFilePath: 'Dockerfile', imageNames: ['app:{{.Run.ID}}'] } } };
    const created = await rawRequest(ctx.sim, 'PUT', `${path}/newer-cli?api-version=2025-03-01-preview`, { body });
    expect(created.status).toBe(200);
    expect(created.body.properties.step.type).toBe('Docker');
    const listed = await rawRequest(ctx.sim, 'GET', `${path}?api-version=2025-03-01-preview`);
    expect(listed.body.value.map((t: any) => t.name)).toContain('newer-cli');
    expect(listed.body.nextLink).toBeUndefined();
    const bad = await rawRequest(ctx.sim, 'GET', `${path}?api-version=2099-01-01`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidApiVersionParameter');
    // 2018-02-01-preview is the older build API (buildTasks): it has no tasks.
    expect((await rawRequest(ctx.sim, 'GET', `${path}?api-version=2018-02-01-preview`)).body.error.code).toBe('InvalidApiVersionParameter');
  });

  it('merges credentials.sourceRegistry field by field: a PATCH of the identity keeps the login mode, one of the login mode keeps the identity, null removes a field', async () => {
    const path = `/subscriptions/${ctx.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}/tasks/source-task`;
    const body = { location: 'eastus', identity: { type: 'SystemAssigned' }, properties: { platform: { os: 'linux' }, step: { type: 'EncodedTask', encodedTaskContent: Buffer.from('steps: []').toString('base64') }, credentials: { sourceRegistry: { loginMode: 'None' } } } };
    expect((await rawRequest(ctx.sim, 'PUT', `${path}?api-version=2019-06-01-preview`, { body })).status).toBe(200);
    const patch = async (v: string, sourceRegistry: unknown) => (await rawRequest(ctx.sim, 'PATCH', `${path}?api-version=${v}`, { body: { properties: { credentials: { sourceRegistry } } } })).body.properties.credentials?.sourceRegistry;
    // What `az acr task update --source-acr-auth-id '[system]'` (and acr-trust's add-credential) sends.
    expect(await patch('2025-03-01-preview', { identity: '[system]' })).toEqual({ loginMode: 'None', identity: '[system]' });
    // An older client that knows only the login mode (reset's restoreTask, az 2.45) leaves the identity alone.
    await patch('2019-06-01-preview', { loginMode: 'Default' });
    expect((await rawRequest(ctx.sim, 'GET', `${path}?api-version=2025-03-01-preview`)).body.properties.credentials.sourceRegistry).toEqual({ loginMode: 'Default', identity: '[system]' });
    expect(await patch('2025-03-01-preview', { identity: null })).toEqual({ loginMode: 'Default' });
  });

  it('answers each task api-version with what it defines', async () => {
    const path = `/subscriptions/${ctx.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}/tasks/versioned`;
    const body = { location: 'eastus', identity: { type: 'SystemAssigned' }, properties: { platform: { os: 'linux' }, step: { type: 'EncodedTask', encodedTaskContent: Buffer.from('steps: []').toString('base64') } } };
    expect((await rawRequest(ctx.sim, 'PUT', `${path}?api-version=2019-06-01-preview`, { body })).status).toBe(200);
    const at = async (v: string) => (await rawRequest(ctx.sim, 'GET', `${path}?api-version=${v}`)).body;
    const newest = await at('2019-06-01-preview');
    expect(newest).toHaveProperty('systemData');
    expect(newest.properties).toHaveProperty('isSystemTask');
    const april = await at('2019-04-01');
    expect(april.identity).toMatchObject({ type: 'SystemAssigned' });
    expect(april).not.toHaveProperty('systemData');
    expect(april.properties).not.toHaveProperty('isSystemTask');
    expect(await at('2018-09-01')).not.toHaveProperty('identity');
  });
});

describe('task identities and the directory', () => {
  it('are unknown to the directory for a while at realistic speed: PrincipalNotFound without principalType', () =>
    withSim({ speed: 'realistic' }, async (sim) => {
      const { registries, authorization } = sdkClients(sim);
      const before = Date.now();
      const task = await registries.tasks.beginCreateAndWait(RG, REG, 'fresh-identity', cliTask());
      const principalId = task.identity!.principalId!;
      expect(sim.state.principals[principalId]!.visibleAt).toBeGreaterThanOrEqual(before + 10_000);

      const scope = `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}`;
      const roleDefinitionId = roleDefinitionIdFor(sim.subscriptionId, ROLE_GUIDS.AcrPush);
      const refused = await rejection(authorization.roleAssignments.create(scope, '00000000-0000-4000-8000-000000000001', { roleDefinitionId, principalId }));
      expect(refused).toMatchObject({ statusCode: 400, code: 'PrincipalNotFound' });
      const ok = await authorization.roleAssignments.create(scope, '00000000-0000-4000-8000-000000000001', { roleDefinitionId, principalId, principalType: 'ServicePrincipal' });
      expect(ok.principalId).toBe(principalId);
    }));
});
