/**
 * Each way a sign-in fails (issue 15 §4), produced for real: the sim's token endpoint answers as
 * Entra ID does (`sim serve --faults "AADSTS…=1,after=1,routes=signin.token"`, src/sim/faults.ts
 * SIGNIN_FAULTS: the first sign-in works, every later one is refused). The real az CLI (2.45,
 * signed in to the sim by `sim az-env`) first gets a token (the session works), and az keeps it;
 * the test then expires that cached token, as time would, so the wizard's request makes az go back
 * to the token endpoint — which refuses, as the sim's request log shows. The wizard then says what
 * happened and what to run, exits 1 without a stack, and nothing in the cloud or the workdir has
 * changed. The same answers reach @azure/identity's own sign-in (a service principal,
 * EnvironmentCredential) with the same explanations.
 *
 * Not modelled: az is signed in as a service principal (client credentials), while Entra ID sends
 * 700082/50173 to a user's refresh-token grant; the sim answers whichever grant asks. The wizard's
 * explanation depends only on the AADSTS code az reports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, expectNoStack, withServedSim, type ServedSim } from '../cli/helpers.js';

const WORKFLOW = ['--target', 'azure', '--goal', 'setup', '--yes', '--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo'];

interface Case {
  code: string;
  message: string;
  hint: string;
}

/** The subscription's own tenant, as Resource Manager names it (its 401 challenge), in the command to run. */
const TENANT_HINT = 'Sign in to the tenant of subscription SUBSCRIPTION: `az login --tenant TENANT`, then `az account set --subscription SUBSCRIPTION`.';
const hintFor = (hint: string, sim: ServedSim) => hint.replaceAll('SUBSCRIPTION', sim.subscriptionId).replaceAll('TENANT', (sim as ServedSim & { tenantId: string }).tenantId);

/** A fresh interactive sign-in for the very scope the token was asked for (the cloud's Resource Manager resource, as az asks it). */
const MFA_HINT = 'Sign in again interactively for it: `az logout`, then `az login --scope https://management.core.windows.net//.default`';

const CASES: Case[] = [
  { code: 'AADSTS700082', message: 'Sign-in failed: your Azure sign-in has expired (AADSTS700082).', hint: 'Sign in again: `az login`.' },
  { code: 'AADSTS50173', message: 'Sign-in failed: your Azure sign-in has expired (AADSTS50173).', hint: 'Sign in again: `az login`.' },
  { code: 'AADSTS90002', message: "Sign-in failed: the account or application you signed in with does not belong to the subscription's tenant (AADSTS90002).", hint: TENANT_HINT },
  { code: 'AADSTS700016', message: "Sign-in failed: the account or application you signed in with does not belong to the subscription's tenant (AADSTS700016).", hint: TENANT_HINT },
  { code: 'AADSTS50076', message: 'Sign-in failed: your tenant requires multi-factor authentication for Azure Resource Manager, and the saved sign-in has none (AADSTS50076).', hint: MFA_HINT },
  { code: 'AADSTS50079', message: 'Sign-in failed: your tenant requires multi-factor authentication for Azure Resource Manager, and the saved sign-in has none (AADSTS50079).', hint: MFA_HINT },
];

/** The request log the served sim writes every 250 ms. */
async function requests(sim: ServedSim): Promise<{ name: string; write: boolean; status: number; fault?: string }[]> {
  await new Promise((res) => setTimeout(res, 600));
  return JSON.parse(readFileSync(sim.stateFile.replace(/\.json$/, '.requests.json'), 'utf8'));
}

/** Ages every access token az keeps (MSAL's plain cache, az-env's `encrypt_token_cache = false`) past its expiry. */
function expireCachedTokens(azDir: string): number {
  const file = join(azDir, 'msal_token_cache.json');
  const cache = JSON.parse(readFileSync(file, 'utf8')) as { AccessToken?: Record<string, { expires_on: string; extended_expires_on?: string }> };
  const past = String(Math.floor(Date.now() / 1000) - 60);
  const tokens = Object.values(cache.AccessToken ?? {});
  for (const t of tokens) {
    t.expires_on = past;
    t.extended_expires_on = past;
  }
  writeFileSync(file, JSON.stringify(cache));
  return tokens.length;
}

/** Nothing changed: no write reached the cloud, and the workdir records no step done. */
function expectNothingChanged(log: { write: boolean; status: number }[], wd: string): void {
  expect(log.filter((r) => r.write && r.status < 400)).toEqual([]);
  const state = existsSync(join(wd, 'state.json')) ? JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8')) : { steps: {} };
  expect(Object.values(state.steps ?? {}).filter((s: any) => s.status === 'done' || s.status === 'applied')).toEqual([]);
}

describe('sign-in failures from the token endpoint, through the real az CLI', () => {
  it.each(CASES)('$code: says what it is and what to run; exit 1; nothing changed', ({ code, message, hint }) =>
    withServedSim(async (sim) => {
      const prepared = await cliAsync(['sim', 'az-env', '--state', sim.stateFile, '--dir', join(sim.dir, 'az'), '--json']);
      expect(prepared.status, prepared.stderr).toBe(0);
      const env = JSON.parse(prepared.stdout).env as Record<string, string>;
      for (const k of ['AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST', 'AZURE_SUBSCRIPTION_ID']) delete env[k];
      // The session works: az gets a token for Resource Manager (the resource the wizard asks) and keeps it.
      const token = spawnSync('az', ['account', 'get-access-token', '-o', 'json'], { encoding: 'utf8', env: { ...process.env, ...env } });
      expect(token.status, token.stderr).toBe(0);
      // Time passes: the kept token expires, so az must ask the token endpoint again.
      expect(expireCachedTokens(env.AZURE_CONFIG_DIR!)).toBe(1);

      const wd = join(sim.dir, 'wd');
      const r = await cliAsync(['run', ...WORKFLOW, '--workdir', wd], { env: { ...env, AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential' } });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain(hintFor(hint, sim));
      expectNoStack(r);
      const log = await requests(sim);
      // The first sign-in was answered; the wizard's made az ask again, and the token endpoint refused.
      const signIns = log.filter((x) => x.name === 'signin.token');
      expect(signIns[0]).toMatchObject({ status: 200 });
      expect(signIns.slice(1).map((x) => x.fault)).toContain(code);
      expectNothingChanged(log, wd);
    }, ['--faults', `${code}=1,after=1,routes=signin.token`]), 120_000);
});

describe('sign-in failures from the token endpoint, through @azure/identity', () => {
  it.each(CASES.filter((c) => ['AADSTS700082', 'AADSTS90002', 'AADSTS50076'].includes(c.code)))('$code: the same explanation', ({ code, message, hint }) =>
    withServedSim(async (sim) => {
      const env = { AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential', AZURE_CLIENT_ID: '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c', AZURE_CLIENT_SECRET: 'x', AZURE_TENANT_ID: 'adfs', AZURE_AUTHORITY_HOST: sim.endpoint };
      const wd = join(sim.dir, 'wd');
      const r = await cliAsync(['run', ...WORKFLOW, '--endpoint', sim.endpoint, '--ca', sim.caCertFile, '--subscription', sim.subscriptionId, '--workdir', wd], { env });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(message);
      if (hint === TENANT_HINT) expect(r.stderr).toContain(hintFor(hint, sim));
      expectNoStack(r);
      const log = await requests(sim);
      expect(log.filter((x) => x.name === 'signin.token').map((x) => x.fault)).toContain(code);
      expectNothingChanged(log, wd);
    }, ['--faults', `${code}=1,routes=signin.token`]), 120_000);
});
