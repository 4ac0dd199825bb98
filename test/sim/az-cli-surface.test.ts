/**
 * What the sim serves for clients beyond the Azure SDK — the az CLI and @azure/identity — checked at
 * the HTTP level (test/az drives the real CLI against it): the tenant discovery `az login --tenant
 * adfs` makes, the OpenID document MSAL for Node accepts, the resource providers
 * `az resource show|update` read for an api-version, Microsoft Graph for `--assignee <objectId>`,
 * and the path-style log link the CLI's log streamer parses.
 */
import { describe, expect, it } from 'vitest';
import { rawRequest, useSim } from '../helpers/sim.js';

const SP_ID = '11111111-2222-4333-8444-555555555555';

describe('sign-in: the ADFS-style authority', () => {
  const s = useSim({});

  it('answers tenant discovery for `az login --tenant adfs` with an issuer whose 4th segment is adfs', async () => {
    const r = await rawRequest(s.sim, 'GET', '/adfs/adfs/.well-known/openid-configuration', { auth: false });
    expect(r.status).toBe(200);
    expect(r.body.issuer.split('/')[3]).toBe('adfs');
  });

  it('serves an OpenID document MSAL for Node accepts (jwks_uri), and the key set that verifies its signed tokens', async () => {
    const conf = await rawRequest(s.sim, 'GET', '/adfs/.well-known/openid-configuration', { auth: false });
    expect(conf.body).toMatchObject({ issuer: `${s.sim.endpoint}/adfs`, token_endpoint: `${s.sim.endpoint}/adfs/oauth2/token`, jwks_uri: `${s.sim.endpoint}/adfs/discovery/keys` });
    expect(Object.keys(conf.body)).toEqual(expect.arrayContaining(['authorization_endpoint', 'token_endpoint', 'issuer', 'jwks_uri']));
    const keys = await rawRequest(s.sim, 'GET', '/adfs/discovery/keys', { auth: false });
    expect(keys.status).toBe(200);
    // One public key (no private part) — the one the sim signs its tokens with.
    expect(keys.body.keys).toHaveLength(1);
    expect(keys.body.keys[0]).toMatchObject({ kty: expect.any(String) });
    expect(keys.body.keys[0]).not.toHaveProperty('d');
  });
});

describe('resource providers', () => {
  const s = useSim({});
  const sub = () => s.sim.subscriptionId;

  it('lists Microsoft.ContainerRegistry with its api-versions newest first (az resource picks the first non-preview)', async () => {
    const r = await rawRequest(s.sim, 'GET', `/subscriptions/${sub()}/providers/Microsoft.ContainerRegistry?api-version=2021-04-01`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ namespace: 'Microsoft.ContainerRegistry', registrationState: 'Registered' });
    const registries = r.body.resourceTypes.find((t: any) => t.resourceType === 'registries');
    // Newest first, previews included (today's az CLIs send 2026-01-01-preview / 2026-09-01-preview).
    expect(registries.apiVersions[0]).toBe('2026-09-01-preview');
    expect(registries.apiVersions).toContain('2022-02-01-preview');
    expect(registries.apiVersions).toContain('2026-01-01-preview');
    expect(registries.apiVersions.find((v: string) => !v.includes('preview'))).toBe('2025-11-01');
    expect(r.body.resourceTypes.map((t: any) => t.resourceType)).toContain('registries/tasks');
    expect(r.body.resourceTypes.map((t: any) => t.resourceType)).toContain('registries/taskRuns');
  });

  it('is case-insensitive, lists all providers, and refuses an unknown namespace like ARM', async () => {
    expect((await rawRequest(s.sim, 'GET', `/subscriptions/${sub()}/providers/microsoft.authorization?api-version=2021-04-01`)).body.namespace).toBe('Microsoft.Authorization');
    const all = await rawRequest(s.sim, 'GET', `/subscriptions/${sub()}/providers?api-version=2021-04-01`);
    expect(all.body.value.map((p: any) => p.namespace)).toEqual(['Microsoft.ContainerRegistry', 'Microsoft.Authorization']);
    const none = await rawRequest(s.sim, 'GET', `/subscriptions/${sub()}/providers/Microsoft.Nope?api-version=2021-04-01`);
    expect(none).toMatchObject({ status: 404, body: { error: { code: 'InvalidResourceNamespace' } } });
  });
});

describe('Microsoft Graph (v1.0)', () => {
  const s = useSim({ speed: 'realistic' });

  const addTaskIdentity = (visibleAt: number) => {
    s.sim.state.principals[SP_ID] = { principalId: SP_ID, kind: 'ServicePrincipal', displayName: 'hello-task', visibleAt };
  };

  it('resolves an object id the way `az role assignment create --assignee` does: by name (none), then getByIds', async () => {
    addTaskIdentity(0);
    const byName = await rawRequest(s.sim, 'GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent(`servicePrincipalNames/any(c:c eq '${SP_ID}')`)}`);
    expect(byName).toMatchObject({ status: 200, body: { value: [] } });
    const byIds = await rawRequest(s.sim, 'POST', '/v1.0/directoryObjects/getByIds', { body: { ids: [SP_ID, '00000000-0000-0000-0000-000000000009'], types: ['user', 'group', 'servicePrincipal', 'directoryObjectPartnerReference'] } });
    expect(byIds.status).toBe(200);
    expect(byIds.body.value).toHaveLength(1);
    expect(byIds.body.value[0]).toMatchObject({ '@odata.type': '#microsoft.graph.servicePrincipal', id: SP_ID, displayName: 'hello-task', servicePrincipalType: 'ManagedIdentity' });
  });

  it('gets a service principal by id and finds it by its appId (a service principal name)', async () => {
    addTaskIdentity(0);
    const sp = await rawRequest(s.sim, 'GET', `/v1.0/servicePrincipals/${SP_ID}`);
    expect(sp.status).toBe(200);
    const byAppId = await rawRequest(s.sim, 'GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent(`servicePrincipalNames/any(c:c eq '${sp.body.appId}')`)}`);
    expect(byAppId.body.value.map((o: any) => o.id)).toEqual([SP_ID]);
  });

  it('does not know an identity before the directory has it (replication lag), in Graph\'s error envelope', async () => {
    addTaskIdentity(Date.now() + 60_000);
    const sp = await rawRequest(s.sim, 'GET', `/v1.0/servicePrincipals/${SP_ID}`);
    expect(sp.status).toBe(404);
    expect(sp.body.error).toMatchObject({ code: 'Request_ResourceNotFound', innerError: { 'request-id': expect.any(String) } });
    const byIds = await rawRequest(s.sim, 'POST', '/v1.0/directoryObjects/getByIds', { body: { ids: [SP_ID] } });
    expect(byIds.body.value).toEqual([]);
  });

  it('answers /me and users with the sim\'s one caller; refuses unsupported filters and unauthenticated calls', async () => {
    const me = await rawRequest(s.sim, 'GET', '/v1.0/me');
    expect(me.body).toMatchObject({ '@odata.type': '#microsoft.graph.user', id: s.sim.state.caller.principalId });
    const users = await rawRequest(s.sim, 'GET', `/v1.0/users?$filter=${encodeURIComponent(`userPrincipalName eq '${me.body.userPrincipalName}'`)}`);
    expect(users.body.value.map((u: any) => u.id)).toEqual([me.body.id]);
    const bad = await rawRequest(s.sim, 'GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent("startswith(displayName,'x')")}`);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'Request_UnsupportedQuery' } } });
    expect((await rawRequest(s.sim, 'GET', '/v1.0/me', { auth: false })).status).toBe(401);
  });
});
