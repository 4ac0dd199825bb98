/**
 * The one-file Azure SDK bundle (src/azure/bundle-sdk.ts → dist/azure-sdk.mjs): it builds, its
 * manifest names every package it holds, the real SDK clients from it talk to the sim through the
 * same pipeline (TLS verified against the sim's CA), and a stale manifest is refused, so the adapter
 * falls back to the installed packages.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCurrent, SDK_PACKAGES } from '../../src/azure/sdk.js';
import { simClientOptions, simCredential, withSim } from '../helpers/sim.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'dist');

describe('the SDK bundle', () => {
  beforeAll(() => {
    // global-setup has compiled dist/; the bundle step runs after tsc.
    const r = spawnSync(process.execPath, [join(dist, 'src/azure/bundle-sdk.js')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  it('holds the four packages and names every package it bundled, at its installed version', () => {
    const manifest = readFileSync(join(dist, 'azure-sdk.json'), 'utf8');
    const packages = Object.keys(JSON.parse(manifest).packages as Record<string, string>).map((p) => p.replace(/.*node_modules[\\/]/, '').replace(/[\\/]package\.json$/, ''));
    for (const pkg of [...Object.keys(SDK_PACKAGES), '@azure/core-client', '@azure/core-rest-pipeline']) expect(packages).toContain(pkg);
    expect(bundleCurrent(manifest)).toBe(true);
  });

  it('is refused when a bundled package is missing or at another version', () => {
    const manifest = JSON.parse(readFileSync(join(dist, 'azure-sdk.json'), 'utf8')) as { packages: Record<string, string> };
    const [first] = Object.keys(manifest.packages);
    expect(bundleCurrent(JSON.stringify({ packages: { ...manifest.packages, [first!]: '0.0.0-other' } }))).toBe(false);
    expect(bundleCurrent(JSON.stringify({ packages: { ...manifest.packages, '/nowhere/package.json': '1.0.0' } }))).toBe(false);
    expect(bundleCurrent('{}')).toBe(false);
    expect(bundleCurrent('not json')).toBe(false);
  });

  it("serves the real clients: each talks to the sim, trusting only the sim's CA", () =>
    withSim({}, async (sim) => {
      const b = await import(pathToFileURL(join(dist, 'azure-sdk.mjs')).href);
      const options = simClientOptions(sim);
      const acr = new b.ContainerRegistryManagementClient(simCredential, sim.subscriptionId, options);
      expect((await acr.registries.get('acr-trust-demo', 'acrtrustdemo')).loginServer).toBe('acrtrustdemo.azurecr.io');
      const rg = await new b.ResourceManagementClient(simCredential, sim.subscriptionId, options).resourceGroups.get('acr-trust-demo');
      expect(rg.location).toBe('eastus');
      const sub = await new b.SubscriptionClient(simCredential, options).subscriptions.get(sim.subscriptionId);
      expect(sub.subscriptionId).toBe(sim.subscriptionId);
      const authz = new b.AuthorizationManagementClient(simCredential, sim.subscriptionId, options);
      const perms = [];
      for await (const p of authz.permissions.listForResourceGroup('acr-trust-demo')) perms.push(p);
      expect(perms.length).toBeGreaterThan(0);
      // Without the CA the bundled pipeline refuses the sim's certificate (verification stays on).
      const untrusting = new b.ContainerRegistryManagementClient(simCredential, sim.subscriptionId, { ...options, tlsOptions: undefined, retryOptions: { maxRetries: 0 } });
      await expect(untrusting.registries.get('acr-trust-demo', 'acrtrustdemo')).rejects.toThrow(/certificate|self.signed|unable to verify/i);
    }));
});
