/**
 * Every Azure cloud (issue 15 §3): acr-trust reads the active cloud as the Azure CLI does — the
 * real `az` (Debian's 2.45) sets and registers clouds in a private AZURE_CONFIG_DIR, and what
 * `az cloud show` prints is what acr-trust resolves (Resource Manager, authority host, login-server
 * suffix). Then the binary, with no flag but `--cloud`, runs the workflow against a sim registered
 * as a cloud: its ARM endpoint and its sign-in host come from the CLI's cloud configuration (no
 * AZURE_AUTHORITY_HOST), and the workdir records the cloud. `export` writes the cloud's lines.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCloud } from '../../src/azure/clouds.js';
import { cliAsync, jsonLines, tempDir, withServedSim } from '../cli/helpers.js';

function az(configDir: string, args: string[]): string {
  const r = spawnSync('az', args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: configDir, AZURE_CONFIG_DIR: configDir, AZURE_CORE_COLLECT_TELEMETRY: 'no' }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`az ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What `az cloud show` says of the active cloud, in acr-trust's terms. */
function azShows(configDir: string) {
  const c = JSON.parse(az(configDir, ['cloud', 'show', '-o', 'json']));
  return {
    name: c.name,
    resourceManager: c.endpoints.resourceManager.replace(/\/+$/, ''),
    authorityHost: c.endpoints.activeDirectory.replace(/\/+$/, ''),
    tokenAudience: c.endpoints.activeDirectoryResourceId,
    acrLoginServerSuffix: c.suffixes.acrLoginServerEndpoint,
  };
}

describe('the Azure CLI\'s active cloud', () => {
  it.each([
    ['AzureCloud', 'https://management.azure.com', 'https://login.microsoftonline.com', 'https://management.core.windows.net/', '.azurecr.io'],
    ['AzureChinaCloud', 'https://management.chinacloudapi.cn', 'https://login.chinacloudapi.cn', 'https://management.core.chinacloudapi.cn/', '.azurecr.cn'],
    ['AzureUSGovernment', 'https://management.usgovcloudapi.net', 'https://login.microsoftonline.us', 'https://management.core.usgovcloudapi.net/', '.azurecr.us'],
  ])('%s after `az cloud set`: the endpoints az cloud show prints', (name, resourceManager, authorityHost, tokenAudience, acrLoginServerSuffix) => {
    const dir = tempDir('acr-trust-az-cloud-');
    az(dir, ['cloud', 'set', '--name', name]);
    const expected = { name, resourceManager, authorityHost, tokenAudience, acrLoginServerSuffix };
    expect(azShows(dir)).toEqual(expected);
    expect(resolveCloud({}, dir)).toEqual(expected);
    // --cloud names one whatever is active; --endpoint replaces only Resource Manager.
    expect(resolveCloud({ cloud: 'azurechinacloud' }, dir).acrLoginServerSuffix).toBe('.azurecr.cn');
    expect(resolveCloud({ endpoint: 'https://127.0.0.1:8443/' }, dir)).toEqual({ ...expected, resourceManager: 'https://127.0.0.1:8443' });
  }, 60_000);

  it('export writes the cloud\'s lines: az cloud set, and login servers with its suffix', async () => {
    const dir = tempDir('acr-trust-az-cloud-');
    az(dir, ['cloud', 'set', '--name', 'AzureUSGovernment']);
    const r = await cliAsync(['export', '--target', 'azure', '--subscription', '11111111-2222-3333-4444-555555555555', '--resource-group', 'rg', '--registry', 'myregistry1', '--workdir', join(dir, 'wd')], { env: { AZURE_CONFIG_DIR: dir } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^az cloud set --name AzureUSGovernment\naz account set --subscription /m);
    expect(r.stdout).toContain('--login-server myregistry1.azurecr.us --use-identity');
    expect(r.stdout).toContain('myregistry1.azurecr.us/acr-trust/hello');
    expect(r.stdout).not.toContain('azurecr.io');
  }, 60_000);
});

describe('a cloud registered in the Azure CLI, served by the sim', () => {
  it('az cloud show and acr-trust agree on it; the workflow runs at its Resource Manager, signed in at its authority host; the workdir records it', () =>
    withServedSim(async ({ dir, stateFile, endpoint, caCertFile, subscriptionId }) => {
      // `sim az-env` registers the sim as the CLI's cloud AcrTrustSim and makes it the active one.
      const cfg = join(dir, 'az');
      const prepared = await cliAsync(['sim', 'az-env', '--state', stateFile, '--dir', cfg]);
      expect(prepared.status, prepared.stderr).toBe(0);
      const shown = azShows(cfg);
      expect(shown).toMatchObject({ name: 'AcrTrustSim', resourceManager: endpoint, acrLoginServerSuffix: '.azurecr.io' });
      expect(resolveCloud({}, cfg)).toEqual(shown);

      // Unknown names are exit 2, listing the clouds the CLI knows here.
      const unknown = await cliAsync(['run', '--target', 'azure', '--cloud', 'Nowhere', '--goal', 'setup', '--yes', '--subscription', subscriptionId, '--resource-group', 'rg', '--registry', 'myregistry1', '--workdir', join(dir, 'wd0')], { env: { AZURE_CONFIG_DIR: cfg } });
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('--cloud Nowhere: no such Azure cloud.');
      expect(unknown.stderr).toContain('Clouds known here: AzureCloud, AzureChinaCloud, AzureUSGovernment, AcrTrustSim.');

      // A service principal of tenant adfs; no AZURE_AUTHORITY_HOST: the sign-in host is the cloud's.
      const env = { AZURE_CONFIG_DIR: cfg, AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential', AZURE_CLIENT_ID: '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c', AZURE_CLIENT_SECRET: 'x', AZURE_TENANT_ID: 'adfs' };
      const wd = join(dir, 'wd');
      const r = await cliAsync(['run', '--target', 'azure', '--cloud', 'AcrTrustSim', '--ca', caCertFile, '--goal', 'setup', '--yes', '--subscription', subscriptionId, '--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo', '--workdir', wd, '--json'], { env });
      expect(r.status, r.stderr).toBe(0);
      const events = jsonLines(r.stdout);
      expect(events[0]).toMatchObject({ event: 'start', target: 'Azure (AcrTrustSim)' });
      expect(events.at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });
      expect(JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8')).cloud).toMatchObject({ target: 'azure', cloud: 'AcrTrustSim', subscription: subscriptionId });
      await new Promise((res) => setTimeout(res, 600)); // the served sim writes its request log every 250 ms
      const requests = JSON.parse(readFileSync(stateFile.replace(/\.json$/, '.requests.json'), 'utf8')) as { name: string }[];
      expect(requests.filter((x) => x.name === 'signin.token')).toHaveLength(1);
      // A later command in that workdir stays in that cloud; another is refused, naming both.
      const other = await cliAsync(['status', '--target', 'azure', '--cloud', 'AzureChinaCloud', '--workdir', wd], { env });
      expect(other.status).toBe(2);
      expect(other.stderr).toContain('belongs to Azure cloud AcrTrustSim');
    }), 120_000);
});
