/**
 * Signing in as owners sign in (issue 15 §4), through the binary against a served sim:
 * - after `az login` (the real az CLI, signed in to the sim by `sim az-env`), the wizard uses that
 *   session — DefaultAzureCredential's AzureCliCredential — with no other credential in the
 *   environment, and the cloud (endpoint, subscription) comes from the CLI's configuration;
 * - `--use-device-code` shows one line with the URL and the code, and signs in (the sim serves the
 *   device-code flow and approves every code at once);
 * - no az on PATH, az signed out: each says what it is and what to run (the token endpoint's own
 *   refusals — expired, wrong tenant, MFA — are in sign-in-failures.test.ts).
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, expectNoStack, jsonLines, withServedSim, type ServedSim } from '../cli/helpers.js';
import { spawnSync } from 'node:child_process';

/** The az CLI's own configuration for the sim (`sim az-env`), and the environment a shell gets from it, minus the service principal. */
async function azSession(sim: ServedSim, name: string): Promise<Record<string, string>> {
  const r = await cliAsync(['sim', 'az-env', '--state', sim.stateFile, '--dir', join(sim.dir, name), '--json']);
  expect(r.status, r.stderr).toBe(0);
  const env = JSON.parse(r.stdout).env as Record<string, string>;
  // No other credential: AzureCliCredential is what is left in DefaultAzureCredential's chain.
  for (const k of ['AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST', 'AZURE_SUBSCRIPTION_ID']) delete env[k];
  return env;
}

const WORKFLOW = ['--target', 'azure', '--goal', 'setup', '--yes', '--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo'];

describe('sign-in', () => {
  it("uses the az CLI's session after az login, with no other credential", () =>
    withServedSim(async (sim) => {
      const env = await azSession(sim, 'az');
      // The real az CLI is signed in to the sim.
      const account = spawnSync('az', ['account', 'show', '-o', 'json'], { encoding: 'utf8', env: { ...process.env, ...env } });
      expect(account.status, account.stderr).toBe(0);
      expect(JSON.parse(account.stdout).id).toBe(sim.subscriptionId);

      // No --subscription, --endpoint or --cloud: all from the az CLI's configuration.
      const r = await cliAsync(['run', ...WORKFLOW, '--workdir', join(sim.dir, 'wd'), '--json'], { env: { ...env, AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential' } });
      expect(r.status, r.stderr).toBe(0);
      const events = jsonLines(r.stdout);
      expect(events[0]).toMatchObject({ event: 'start', target: 'Azure (AcrTrustSim)', answers: { subscription: sim.subscriptionId } });
      expect(events.at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });

      // Signed out: one clear line naming `az login`, not a stack or the chain's list.
      const cfg = env.AZURE_CONFIG_DIR!;
      expect(spawnSync('az', ['logout'], { encoding: 'utf8', env: { ...process.env, ...env } }).status).toBe(0);
      const out = await cliAsync(['run', ...WORKFLOW, '--subscription', sim.subscriptionId, '--workdir', join(sim.dir, 'wd-out')], { env: { ...env, AZURE_CONFIG_DIR: cfg, AZURE_TOKEN_CREDENTIALS: 'dev' } });
      expect(out.status).toBe(1);
      expect(out.stderr).toContain('Sign-in failed: you are not signed in to the Azure CLI.');
      expect(out.stderr).toContain('Run `az login` (or `az login --use-device-code` in a terminal without a browser).');
      expect(out.stderr).not.toContain('ChainedTokenCredential');
      expectNoStack(out);
    }), 120_000);

  it('without az on PATH: says az is not installed and names az login, --use-device-code and a service principal', () =>
    withServedSim(async (sim) => {
      const env = await azSession(sim, 'az');
      const bin = join(sim.dir, 'node-only');
      mkdirSync(bin);
      symlinkSync(process.execPath, join(bin, 'node'));
      const r = await cliAsync(['run', ...WORKFLOW, '--workdir', join(sim.dir, 'wd')], { env: { ...env, PATH: bin, AZURE_TOKEN_CREDENTIALS: 'dev' } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('Sign-in failed: no Azure sign-in was found, and the Azure CLI (`az`) is not installed to sign in with.');
      expect(r.stderr).toContain('Install the Azure CLI (https://aka.ms/azure-cli) and run `az login`; or sign in with a code in a browser: `acr-trust … --use-device-code`');
      expectNoStack(r);
    }), 120_000);

  it('--use-device-code: one line with the URL and the code, then the workflow', () =>
    withServedSim(async (sim) => {
      const env = { AZURE_TENANT_ID: 'adfs', AZURE_AUTHORITY_HOST: sim.endpoint };
      const r = await cliAsync(['run', ...WORKFLOW, '--use-device-code', '--endpoint', sim.endpoint, '--ca', sim.caCertFile, '--subscription', sim.subscriptionId, '--workdir', join(sim.dir, 'wd'), '--json'], { env });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^acr-trust: To sign in, open ${sim.endpoint.replace(/[.]/g, '\\.')}/adfs/devicelogin and enter the code [0-9A-F]{9}$`));
      expect(jsonLines(r.stdout).at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });
    }), 120_000);
});
