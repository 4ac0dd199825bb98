import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { startSim } from '../../src/sim/index.js';
import { generateSimCertificates } from '../../src/sim/cert.js';
import { rawRequest, sdkClients, simCredential, withSim } from '../helpers/sim.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'acr-trust-sim-test-'));
const REG_PATH = (sub: string) => `/subscriptions/${sub}/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/registries/acrtrustdemo`;

describe('the sim server', () => {
  it('listens on https://127.0.0.1 with a CA the SDK verifies for real', () =>
    withSim({}, async (sim) => {
      expect(sim.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(readFileSync(sim.caCertFile, 'utf8')).toBe(sim.caCert);
      // Without the CA, and with another CA, TLS verification refuses the sim.
      const noCa = new ContainerRegistryManagementClient(simCredential, sim.subscriptionId, { endpoint: sim.endpoint, credentialScopes: [`${sim.endpoint}/.default`], retryOptions: { maxRetries: 0 } });
      await expect(noCa.registries.get('acr-trust-demo', 'acrtrustdemo')).rejects.toThrow(/certificate/i);
      const otherCa = new ContainerRegistryManagementClient(simCredential, sim.subscriptionId, { endpoint: sim.endpoint, credentialScopes: [`${sim.endpoint}/.default`], tlsOptions: { ca: (await generateSimCertificates()).caCert }, retryOptions: { maxRetries: 0 } });
      await expect(otherCa.registries.get('acr-trust-demo', 'acrtrustdemo')).rejects.toThrow(/certificate/i);
      await expect(sdkClients(sim).registries.registries.get('acr-trust-demo', 'acrtrustdemo')).resolves.toMatchObject({ name: 'acrtrustdemo' });
    }));

  it('answers 401 AuthenticationFailed without a bearer token', () =>
    withSim({}, async (sim) => {
      const r = await rawRequest(sim, 'GET', `${REG_PATH(sim.subscriptionId)}?api-version=2025-11-01`, { auth: false });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." } });
      // The challenge names the subscription's tenant (how a client finds where to sign in); an unknown subscription's, none.
      expect(r.headers['www-authenticate']).toContain(`authorization_uri="https://login.windows.net/${sim.tenantId}"`);
      const unknown = await rawRequest(sim, 'GET', '/subscriptions/00000000-0000-0000-0000-000000000001?api-version=2022-12-01', { auth: false });
      expect(unknown.headers['www-authenticate']).toContain('authorization_uri="https://login.windows.net/"');
      const basic = await rawRequest(sim, 'GET', `${REG_PATH(sim.subscriptionId)}?api-version=2025-11-01`, { auth: false, headers: { authorization: 'Basic eDp5' } });
      expect(basic.status).toBe(401);
    }));

  it('refuses a missing or unknown api-version the way ARM does', () =>
    withSim({}, async (sim) => {
      const missing = await rawRequest(sim, 'GET', REG_PATH(sim.subscriptionId));
      expect(missing.status).toBe(400);
      expect(missing.body.error.code).toBe('MissingApiVersionParameter');
      const unknown = await rawRequest(sim, 'GET', `${REG_PATH(sim.subscriptionId)}?api-version=2030-01-01`);
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.code).toBe('InvalidApiVersionParameter');
      expect(unknown.body.error.message).toContain("The api-version '2030-01-01' is invalid.");
      for (const v of ['2025-11-01', '2022-02-01-preview', '2025-06-01-preview', '2025-05-01-preview', '2023-07-01']) {
        expect((await rawRequest(sim, 'GET', `${REG_PATH(sim.subscriptionId)}?api-version=${v}`)).status).toBe(200);
      }
      const ra = await rawRequest(sim, 'GET', `/subscriptions/${sim.subscriptionId}/providers/Microsoft.Authorization/roleAssignments?api-version=2025-11-01`);
      expect(ra.body.error.code).toBe('InvalidApiVersionParameter');
    }));

  it('answers unknown paths with ARM-like 404s and wrong methods with 405', () =>
    withSim({}, async (sim) => {
      const type = await rawRequest(sim, 'GET', `/subscriptions/${sim.subscriptionId}/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/webhooks/x?api-version=2025-11-01`);
      expect(type.status).toBe(404);
      expect(type.body.error).toEqual({ code: 'InvalidResourceType', message: "The resource type 'webhooks' could not be found in the namespace 'Microsoft.ContainerRegistry' for api version '2025-11-01'." });
      const none = await rawRequest(sim, 'GET', '/nothing/here?api-version=2025-11-01');
      expect(none.status).toBe(404);
      expect(none.body.error.code).toBe('NoRegisteredProviderFound');
      const post = await rawRequest(sim, 'POST', `${REG_PATH(sim.subscriptionId)}?api-version=2025-11-01`);
      expect(post.status).toBe(405);
      expect(post.body.error.code).toBe('MethodNotAllowed');
    }));

  it('answers JSON with ARM request-id headers, and echoes the correlation id', () =>
    withSim({}, async (sim) => {
      const r = await rawRequest(sim, 'GET', `${REG_PATH(sim.subscriptionId)}?api-version=2025-11-01`, { headers: { 'x-ms-correlation-request-id': 'corr-1' } });
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers['x-ms-correlation-request-id']).toBe('corr-1');
    }));

  it('refuses malformed JSON bodies', () =>
    withSim({}, async (sim) => {
      const r = await rawRequest(sim, 'PATCH', `${REG_PATH(sim.subscriptionId)}?api-version=2025-11-01`, { body: '{not json' });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('InvalidRequestContent');
    }));

  it('records every request in the log', () =>
    withSim({}, async (sim) => {
      await sdkClients(sim).registries.registries.get('acr-trust-demo', 'acrtrustdemo');
      await rawRequest(sim, 'GET', '/nope');
      expect(sim.requests).toHaveLength(2);
      expect(sim.requests[0]).toMatchObject({ method: 'GET', path: REG_PATH(sim.subscriptionId), apiVersion: '2025-11-01', status: 200, name: 'registries.get', write: false });
      expect(sim.requests[0]!.ms).toBeGreaterThanOrEqual(0);
      expect(sim.requests[1]).toMatchObject({ status: 404, name: 'unmatched' });
    }));

  it('keeps the cloud across a restart on the same state file', async () => {
    const dir = tmp();
    const stateFile = join(dir, 'cloud.json');
    const first = await startSim({ stateFile });
    const { authorization, registries } = sdkClients(first);
    const scope = REG_PATH(first.subscriptionId);
    await registries.registries.beginUpdateAndWait('acr-trust-demo', 'acrtrustdemo', { networkRuleBypassAllowedForTasks: true });
    await authorization.roleAssignments.create(scope, '11111111-1111-4111-8111-111111111111', { roleDefinitionId: roleDefinitionId(first.subscriptionId, ROLE_GUIDS.AcrPush), principalId: '22222222-2222-4222-8222-222222222222', principalType: 'ServicePrincipal' });
    const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
    const caCert = first.caCert;
    await first.stop();

    const second = await startSim({ stateFile });
    try {
      expect(second.caCert).toBe(caCert); // the CA file is reused, so clients keep trusting it
      expect(Object.keys(second.state.roleAssignments).sort()).toEqual(Object.keys(saved.roleAssignments).sort());
      const c = sdkClients(second);
      expect((await c.registries.registries.get('acr-trust-demo', 'acrtrustdemo')).networkRuleBypassAllowedForTasks).toBe(true);
      expect((await c.authorization.roleAssignments.get(scope, '11111111-1111-4111-8111-111111111111')).principalId).toBe('22222222-2222-4222-8222-222222222222');
    } finally {
      await second.stop();
    }
    expect(existsSync(join(dir, 'cloud.requests.json'))).toBe(true);
  });

  it('refuses a corrupt state file with exit 2 and leaves it untouched', async () => {
    const stateFile = join(tmp(), 'cloud.json');
    writeFileSync(stateFile, '{"version": 1, "oops"');
    await expect(startSim({ stateFile })).rejects.toMatchObject({ name: 'AcrTrustError', exitCode: 2, message: expect.stringContaining(stateFile) });
    writeFileSync(stateFile, '{"version": 7}');
    await expect(startSim({ stateFile })).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('unsupported version 7') });
    expect(readFileSync(stateFile, 'utf8')).toBe('{"version": 7}');
  });

  it('refuses an unknown scenario, and a scenario that contradicts the state file', async () => {
    await expect(startSim({ scenario: 'nope' })).rejects.toMatchObject({ exitCode: 2, message: "Unknown sim scenario 'nope'.", hint: expect.stringContaining('default, basic-sku, abac, two-registries, no-role-write') });
    const stateFile = join(tmp(), 'cloud.json');
    await (await startSim({ stateFile, scenario: 'abac' })).stop();
    await expect(startSim({ stateFile, scenario: 'basic-sku' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining("holds a 'abac' cloud") });
  });

  it('refuses a bad port', async () => {
    await expect(startSim({ port: 70000 })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('gives deterministic ids for a seed, continuing the sequence after a restart', async () => {
    const stateFile = join(tmp(), 'cloud.json');
    let n = 1;
    const ids = async () => {
      const sim = await startSim({ stateFile, seed: 42 });
      // A registry create at 2025-11-01 is asynchronous: its operation id is a generated id.
      const r = await rawRequest(sim, 'PUT', `${REG_PATH(sim.subscriptionId)}${n++}?api-version=2025-11-01`, { body: { location: 'eastus', sku: { name: 'Basic' } } });
      await sim.stop();
      return String(r.headers['azure-asyncoperation']).replace(/^https:\/\/[^/]+/, '');
    };
    const a = await ids();
    const b = await ids();
    expect(a).not.toBe(b);
    const other = join(tmp(), 'cloud.json');
    const sim = await startSim({ stateFile: other, seed: 42 });
    const r = await rawRequest(sim, 'PUT', `${REG_PATH(sim.subscriptionId)}1?api-version=2025-11-01`, { body: { location: 'eastus', sku: { name: 'Basic' } } });
    await sim.stop();
    expect(String(r.headers['azure-asyncoperation']).replace(/^https:\/\/[^/]+/, '')).toBe(a);
  });

  it('serves the az CLI ADFS sign-in without authentication', () =>
    withSim({}, async (sim) => {
      const conf = await rawRequest(sim, 'GET', '/adfs/.well-known/openid-configuration', { auth: false });
      expect(conf.status).toBe(200);
      expect(conf.body.token_endpoint).toBe(`${sim.endpoint}/adfs/oauth2/token`);
      const token = await rawRequest(sim, 'POST', '/adfs/oauth2/token', { auth: false, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=abc&client_secret=x&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default' });
      expect(token.status).toBe(200);
      expect(token.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
      const claims = JSON.parse(Buffer.from(token.body.access_token.split('.')[1], 'base64url').toString());
      expect(claims).toMatchObject({ tid: sim.tenantId, oid: sim.state.caller.principalId, appid: 'abc' });
    }));

  // Start-up time (certificates included) is measured by `npm run bench` (bench/sim.js), not asserted here.
});
