/**
 * Today's az CLIs against the simulated Azure, through the api-versions they send: only Debian's
 * az 2.45 installs here, so the newer CLIs' calls are made with `az rest` at their versions —
 * registries at 2026-01-01-preview (az 2.84, recording test_acr_taskrun) and 2026-09-01-preview
 * (az 2.9x), tasks, runs and taskRuns at 2025-03-01-preview — and an unknown version gets ARM's
 * own refusal (400 InvalidApiVersionParameter). Skipped only when `az` is not installed.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_API_VERSIONS } from '../../src/sim/api-versions.js';
import { azSession, findAz, type Served } from './helpers.js';

const AZ = findAz();
const REG_PATH = (sub: string) => `/subscriptions/${sub}/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/registries/acrtrustdemo`;

describe.skipIf(!AZ)('newer az CLIs’ api-versions, sent with az rest', () => {
  let sim: Served;
  let env: NodeJS.ProcessEnv;
  const az = (...args: string[]) => spawnSync(AZ!, args, { env, encoding: 'utf8', timeout: 60_000 });
  const rest = (method: string, url: string, body?: unknown) => {
    const r = az('rest', '--method', method, '--url', url, ...(body ? ['--body', JSON.stringify(body)] : []));
    return { status: r.status, json: r.stdout.trim() ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  };

  beforeAll(async () => {
    ({ sim, env } = await azSession());
  }, 30_000);

  afterAll(async () => {
    expect(await sim?.stop()).toBe(0);
  });

  for (const [client, versions] of Object.entries(CLIENT_API_VERSIONS)) {
    it(`${client}: registries at ${versions.registries}, tasks at ${versions.tasks}`, () => {
      const reg = REG_PATH(sim.line.subscriptionId);
      const got = rest('get', `${reg}?api-version=${versions.registries}`);
      expect(got.status, got.stderr).toBe(0);
      expect(got.json).toMatchObject({ name: 'acrtrustdemo', systemData: { createdAt: expect.any(String) }, properties: { provisioningState: 'Succeeded' } });
      // A property the version does not define is absent.
      if (versions.registries < '2026-01-01-preview') expect(got.json.properties).not.toHaveProperty('endpointProtocol');
      else expect(got.json.properties).toHaveProperty('endpointProtocol');
      const patched = rest('patch', `${reg}?api-version=${versions.registries}`, { properties: { networkRuleBypassOptions: 'AzureServices' } });
      expect(patched.status, patched.stderr).toBe(0);
      expect(patched.json.properties.networkRuleBypassOptions).toBe('AzureServices');
      const tasks = rest('get', `${reg}/tasks?api-version=${versions.tasks}`);
      expect(tasks.status, tasks.stderr).toBe(0);
      expect(tasks.json).toEqual({ value: [] });
      expect(rest('get', `${reg}/runs?api-version=${versions.tasks}`).json).toEqual({ value: [] });
    });
  }

  it('serves taskRuns at 2025-03-01-preview (az acr taskrun of az 2.84)', () => {
    const list = rest('get', `${REG_PATH(sim.line.subscriptionId)}/taskRuns?api-version=2025-03-01-preview`);
    expect(list.status, list.stderr).toBe(0);
    expect(list.json).toEqual({ value: [] });
  });

  it('refuses an unknown api-version the way ARM does', () => {
    const r = rest('get', `${REG_PATH(sim.line.subscriptionId)}?api-version=2099-01-01`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/InvalidApiVersionParameter/);
    expect(r.stderr).toMatch(/The api-version '2099-01-01' is invalid\. The supported versions are '.*2026-09-01-preview/);
  });
});
