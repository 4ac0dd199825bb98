/**
 * `acr-trust sim az-env` as the real binary, against a real `sim serve`. The Azure CLI itself is not
 * needed here (a stand-in `az` on PATH satisfies the check); article-workflow.test.ts proves the
 * configuration with the real CLI.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSubscriptionFromAzCli } from '../../src/azure/index.js';
import { acrTrust, cleanEnv, serve, tmp, type Served } from './helpers.js';

describe('acr-trust sim az-env', () => {
  let dir: string;
  let state: string;
  let sim: Served;
  /** PATH with a stand-in `az` and nothing else. */
  let fakeAzPath: string;

  beforeAll(async () => {
    dir = tmp('acr-trust-azenv-');
    state = join(dir, 'sim-cloud.json');
    sim = await serve(['--state', state]);
    fakeAzPath = join(dir, 'fake-bin');
    mkdirSync(fakeAzPath);
    writeFileSync(join(fakeAzPath, 'az'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(fakeAzPath, 'az'), 0o755);
  }, 30_000);

  afterAll(async () => {
    await sim?.stop();
  });

  const azEnv = (args: string[], extra: Record<string, string> = {}) => acrTrust(['sim', 'az-env', ...args], cleanEnv({ PATH: fakeAzPath, HOME: join(dir, 'home'), ...extra }));

  it('writes a configuration of its own for the sim and prints export lines a shell can eval', () => {
    const cfg = join(dir, 'cli-a');
    const r = azEnv(['--endpoint', sim.line.endpoint, '--ca', sim.line.caCertFile, '--dir', cfg]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('export '))).toEqual([
      `export AZURE_CONFIG_DIR=${cfg}`,
      `export REQUESTS_CA_BUNDLE=${join(cfg, 'ca-bundle.pem')}`,
      'export AZURE_CORE_COLLECT_TELEMETRY=false',
      'export AZURE_CORE_ONLY_SHOW_ERRORS=true',
      expect.stringMatching(/^export AZURE_CLIENT_ID=[0-9a-f-]{36}$/),
      expect.stringMatching(/^export AZURE_CLIENT_SECRET=\S+$/),
      'export AZURE_TENANT_ID=adfs',
      `export AZURE_AUTHORITY_HOST=${sim.line.endpoint}`,
      `export AZURE_SUBSCRIPTION_ID=${sim.line.subscriptionId}`,
      `export NODE_EXTRA_CA_CERTS=${sim.line.caCertFile}`,
    ]);
    const shell = spawnSync('sh', ['-c', 'eval "$1"; printf "%s|%s" "$AZURE_CONFIG_DIR" "$AZURE_TENANT_ID"', 'sh', r.stdout], { encoding: 'utf8' });
    expect(shell.stdout).toBe(`${cfg}|adfs`);

    const clouds = readFileSync(join(cfg, 'clouds.config'), 'utf8');
    expect(clouds).toContain('[AcrTrustSim]\n');
    expect(clouds).toContain(`endpoint_resource_manager = ${sim.line.endpoint}/\n`);
    expect(clouds).toContain(`endpoint_active_directory = ${sim.line.endpoint}/adfs\n`);
    expect(clouds).toContain(`endpoint_microsoft_graph_resource_id = ${sim.line.endpoint}/\n`);
    expect(clouds).toContain('suffix_acr_login_server_endpoint = .azurecr.io\n');
    const config = readFileSync(join(cfg, 'config'), 'utf8');
    expect(config).toMatch(/\[cloud\]\nname = AcrTrustSim\n/);
    expect(config).toContain('collect_telemetry = no');
    const profile = JSON.parse(readFileSync(join(cfg, 'azureProfile.json'), 'utf8').replace(/^\uFEFF/, ''));
    expect(profile.subscriptions).toEqual([
      expect.objectContaining({ id: sim.line.subscriptionId, isDefault: true, tenantId: 'adfs', environmentName: 'AcrTrustSim', homeTenantId: sim.line.tenantId, user: { name: expect.any(String), type: 'servicePrincipal' } }),
    ]);
    expect(JSON.parse(readFileSync(join(cfg, 'service_principal_entries.json'), 'utf8'))).toEqual([{ client_id: profile.subscriptions[0].user.name, tenant: 'adfs', client_secret: expect.any(String) }]);
    // The sim's CA first, then public roots so other hosts still verify in that shell.
    const bundle = readFileSync(join(cfg, 'ca-bundle.pem'), 'utf8');
    expect(bundle).toContain(readFileSync(sim.line.caCertFile, 'utf8').trim());
    expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)!.length).toBeGreaterThan(50);
    // The wizard's --target azure reads the same default subscription.
    expect(defaultSubscriptionFromAzCli(cfg)).toBe(sim.line.subscriptionId);
  });

  it('finds a running `sim serve` from its state file, and prints JSON with --json', () => {
    const cfg = join(dir, 'cli-b');
    const r = azEnv(['--state', state, '--dir', cfg, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ endpoint: sim.line.endpoint, cloud: 'AcrTrustSim', env: { AZURE_CONFIG_DIR: cfg, AZURE_AUTHORITY_HOST: sim.line.endpoint } });
  });

  it('rewrites its own folder for another sim, dropping the old tokens', () => {
    const cfg = join(dir, 'cli-c');
    expect(azEnv(['--state', state, '--dir', cfg]).status).toBe(0);
    writeFileSync(join(cfg, 'msal_token_cache.json'), '{}');
    writeFileSync(join(cfg, 'msal_http_cache.bin'), 'x');
    expect(azEnv(['--state', state, '--dir', cfg]).status).toBe(0);
    expect(existsSync(join(cfg, 'msal_token_cache.json'))).toBe(false);
    expect(existsSync(join(cfg, 'msal_http_cache.bin'))).toBe(false);
  });

  it('never touches ~/.azure or a folder it did not write', () => {
    const home = join(dir, 'home-x');
    const own = azEnv(['--state', state, '--dir', join(home, '.azure')], { HOME: home });
    expect(own.status).toBe(2);
    expect(own.stderr).toContain('is your own Azure CLI configuration');
    expect(existsSync(join(home, '.azure'))).toBe(false);

    const foreign = join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'config'), '[core]\n');
    const r = azEnv(['--state', state, '--dir', foreign]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('holds files az-env did not write');
    expect(readFileSync(join(foreign, 'config'), 'utf8')).toBe('[core]\n');
  });

  it('says how to install the Azure CLI when az is not on PATH', () => {
    const r = azEnv(['--state', state, '--dir', join(dir, 'cli-d')], { PATH: join(dir, 'empty') });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('The Azure CLI (az) is not installed');
    expect(r.stderr).toContain('apt-get install azure-cli');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses bad input with exit 2 and a clear message', () => {
    const cases: [string[], string][] = [
      [['--endpoint', sim.line.endpoint], '--endpoint and --ca go together'],
      [['--state', state, '--endpoint', sim.line.endpoint, '--ca', sim.line.caCertFile], 'give one of them'],
      [['--endpoint', 'http://127.0.0.1:1', '--ca', sim.line.caCertFile], 'must be an https:// origin'],
      [['--endpoint', sim.line.endpoint, '--ca', join(dir, 'nope.pem')], 'Cannot read the CA certificate'],
      [['--endpoint', sim.line.endpoint, '--ca', state], 'is not a PEM certificate'],
      [['--state', join(dir, 'none.json')], 'No running sim for'],
      [['--endpoint', 'https://127.0.0.1:1', '--ca', sim.line.caCertFile], 'it cannot be reached (ECONNREFUSED)'],
    ];
    for (const [args, message] of cases) {
      const r = azEnv([...args, '--dir', join(dir, 'cli-e')]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('tells a stale endpoint file (its sim has exited) from a running one', () => {
    const staleState = join(dir, 'stale.json');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'stale.endpoint.json'), JSON.stringify({ ...sim.line, pid: Number(dead.stdout) }));
    const r = azEnv(['--state', staleState, '--dir', join(dir, 'cli-f')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('is not running any more');
  });

  it("refuses a CA that does not verify the sim's certificate", async () => {
    const other = await serve(['--state', join(dir, 'other.json')]);
    try {
      const r = azEnv(['--endpoint', sim.line.endpoint, '--ca', other.line.caCertFile, '--dir', join(dir, 'cli-g')]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('its TLS certificate does not verify');
    } finally {
      await other.stop();
    }
  });
});
