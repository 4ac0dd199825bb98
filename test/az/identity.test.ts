/**
 * The wizard's real-Azure sign-in, offline: `DefaultAzureCredential` (what `--target azure` uses)
 * with the service-principal environment variables `sim az-env` prints — `AZURE_TENANT_ID=adfs`
 * and `AZURE_AUTHORITY_HOST` at the sim — gets its token from the sim's ADFS-style authority, and
 * the adapter's ARM calls carry it. Nothing leaves loopback: MSAL trusts an ADFS authority without
 * instance discovery at login.microsoftonline.com, and the sim's request log shows every call.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { azureCredential, connect } from '../../src/azure/index.js';
import { startSim, type RunningSim } from '../../src/sim/index.js';

const VARS = ['AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_USERNAME', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_TOKEN_CREDENTIALS'] as const;

describe("DefaultAzureCredential against the sim's sign-in endpoints", () => {
  let sim: RunningSim;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    sim = await startSim({});
    for (const v of VARS) saved[v] = process.env[v];
  });
  afterEach(() => {
    for (const v of VARS) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });
  afterAll(async () => {
    await sim?.stop();
  });

  const signInAsServicePrincipal = () => {
    for (const v of VARS) delete process.env[v];
    // Only the environment's service principal: the chain must not go on to probe the
    // managed-identity endpoint, which is off loopback.
    Object.assign(process.env, { AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential', AZURE_CLIENT_ID: '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c', AZURE_CLIENT_SECRET: 'acr-trust-sim-secret', AZURE_TENANT_ID: 'adfs', AZURE_AUTHORITY_HOST: sim.endpoint });
  };

  it('gets a token from the sim and drives the adapter with it, entirely on loopback', async () => {
    signInAsServicePrincipal();
    const from = sim.requests.length;
    const cloud = connect({ subscriptionId: sim.subscriptionId, credential: azureCredential({ ca: sim.caCert }), endpoint: sim.endpoint, ca: sim.caCert, pollIntervalMs: 5 });
    expect(await cloud.listSubscriptions()).toEqual([expect.objectContaining({ subscriptionId: sim.subscriptionId })]);
    const updated = await cloud.updateRegistryNetwork('acr-trust-demo', 'acrtrustdemo', { networkRuleBypassAllowedForTasks: true });
    expect(updated.networkRuleBypassAllowedForTasks).toBe(true);

    const seen = sim.requests.slice(from).map((r) => `${r.method} ${r.name} ${r.status}`);
    expect(seen.slice(0, 2)).toEqual(['GET signin.openidConfiguration 200', 'POST signin.token 200']);
    expect(seen).toContain('GET subscriptions.list 200');
    expect(seen).toContain('PATCH registries.update 200'); // synchronous, as real Azure answers
    // One token serves every call (MSAL caches it).
    expect(seen.filter((s) => s.includes('signin.token'))).toHaveLength(1);
  });

  it("needs the sim's CA for the sign-in too: without it the credential fails, and says so", async () => {
    signInAsServicePrincipal();
    const cloud = connect({ subscriptionId: sim.subscriptionId, credential: azureCredential(), endpoint: sim.endpoint, ca: sim.caCert });
    const e: any = await cloud.listSubscriptions().catch((x) => x);
    expect(e).toBeInstanceOf(Error);
    expect(String(e.message)).toMatch(/certificate|EnvironmentCredential|authentication/i);
  });
});
