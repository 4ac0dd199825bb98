/**
 * The access model (src/model/access.ts) on its own: pure facts in, a verdict out — the decision
 * the sim plays and `doctor` explains. Facts are written the way ARM returns them.
 */
import { describe, expect, it } from 'vitest';
import { decideAccess, logins, type AccessInput, type RegistryFacts, type RunFacts } from '../../src/model/access.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';

const T0 = Date.parse('2025-07-01T10:00:00Z');
const HOME = 'acrtrustdemo.azurecr.io';
const BASE = 'acrtrustbase.azurecr.io';
const SUB = '/subscriptions/6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/registries';
const PRINCIPAL = '11111111-1111-4111-8111-111111111111';
const ACRPUSH = roleDefinitionId('x', ROLE_GUIDS.AcrPush);
const ACRPULL = ROLE_GUIDS.AcrPull;
const WRITER = ROLE_GUIDS.RepositoryWriter;

const registry = (over: Partial<RegistryFacts> = {}): RegistryFacts => ({ id: `${SUB}/acrtrustdemo`, loginServer: HOME, sku: 'Premium', publicNetworkAccess: 'Enabled', ...over });
const closed = (over: Partial<RegistryFacts> = {}) => registry({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: true, ...over });
const task = (over: Partial<RunFacts> = {}): RunFacts => ({ kind: 'task-run', homeLoginServer: HOME, identity: { type: 'SystemAssigned', principalId: PRINCIPAL }, ...over });

function input(reg: RegistryFacts | undefined, run: RunFacts, roles: AccessInput['roleAssignments'] = [], access: 'push' | 'pull' = 'push', server = HOME): AccessInput {
  return { registry: reg, run, roleAssignments: roles, request: { access, loginServer: server, repository: 'app', at: T0 } };
}
const pushRole = (scope = `${SUB}/acrtrustdemo`, roleDefinitionId = ACRPUSH, createdOn = new Date(T0 - 60_000).toISOString()) => [{ principalId: PRINCIPAL, scope, roleDefinitionId, createdOn }];

describe('the login model (acr-builder: one credential per login server)', () => {
  // The landing-zone bootstrap's task as Terraform deploys it: no sourceRegistry login mode sent
  // (Default), a [system] credential for its own registry, AcrPush, registry closed, switch on.
  const alz = task({ credentials: { customRegistries: { [HOME]: { identity: '[system]' } } } });

  it('lets the customRegistries entry replace the run token for its server: one login, through the bypass', () => {
    expect(logins(alz, false)).toEqual([{ server: HOME, credential: { kind: 'system-identity', principalId: PRINCIPAL, from: 'customRegistries' } }]);
    const v = decideAccess(input(closed(), alz, pushRole()));
    expect(v).toMatchObject({ allowed: true, path: 'trusted-bypass' });
    expect(v.evidence).toContain('role AcrPush on ' + `${SUB}/acrtrustdemo`);
  });

  it('logs in once per registry with public access on too', () => {
    expect(logins(alz, false)).toHaveLength(1);
    expect(decideAccess(input(registry(), alz, pushRole()))).toMatchObject({ allowed: true, path: 'public' });
  });

  it('keeps the run token for the home registry when the custom entry names another registry', () => {
    const cross = task({ homeLoginServer: 'acrbuild.azurecr.io', credentials: { customRegistries: { [HOME]: { identity: '[system]' } } } });
    expect(logins(cross, false).map((l) => [l.server, l.credential.kind])).toEqual([
      ['acrbuild.azurecr.io', 'run-token'],
      [HOME, 'system-identity'],
    ]);
  });
});

describe('refusals name their cause, evidence and the runner’s line', () => {
  it('the firewall at the token exchange when the bypass is off', () => {
    const run = task({ credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { [HOME]: { identity: '[system]' } } } });
    const v = decideAccess(input(closed({ networkRuleBypassOptions: 'None' }), run, pushRole()));
    expect(v).toMatchObject({ allowed: false, cause: 'public-access-disabled', stage: 'prepare', logLine: expect.stringContaining('exchange API response code: 403 Forbidden') });
    expect(!v.allowed && v.evidence).toContain('networkRuleBypassOptions=None');
    // … and the other reading of the two switches admits it.
    expect(decideAccess({ ...input(closed({ networkRuleBypassOptions: 'None' }), run, pushRole()), bypassModel: 'task-switch-only' })).toMatchObject({ allowed: true });
  });

  it('the firewall at docker login for the run token; the registry 401 for a missing or pending role', () => {
    expect(decideAccess(input(closed(), task()))).toMatchObject({ allowed: false, stage: 'login', logLine: expect.stringContaining("denied: client with IP '20.42.0.17'") });
    const system = task({ credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { [HOME]: { identity: '[system]' } } } });
    expect(decideAccess(input(closed(), system))).toMatchObject({ allowed: false, cause: 'role-missing', stage: 'access', logLine: expect.stringContaining('unauthorized: authentication required') });
    const pending = decideAccess({ ...input(closed(), system, pushRole(undefined, undefined, new Date(T0).toISOString())), roleDelayMs: 5000 });
    expect(pending).toMatchObject({ allowed: false, cause: 'role-not-yet-effective' });
    expect(decideAccess(input(closed(), system, pushRole(undefined, ACRPULL)), )).toMatchObject({ allowed: false, cause: 'role-missing' });
    expect(decideAccess(input(closed(), system, pushRole(undefined, ACRPULL), 'pull'))).toMatchObject({ allowed: true });
  });

  it('ABAC registries: no implicit token; sourceRegistry.identity with a repository role works', () => {
    const abac = closed({ roleAssignmentMode: 'AbacRepositoryPermissions' });
    expect(decideAccess(input(abac, task(), pushRole(undefined, WRITER)))).toMatchObject({ allowed: false, cause: 'public-access-disabled', stage: 'access' });
    const source = task({ credentials: { sourceRegistry: { loginMode: 'Default', identity: '[system]' } } });
    expect(decideAccess(input(abac, source, pushRole(undefined, WRITER)))).toMatchObject({ allowed: true, credential: { from: 'sourceRegistry.identity' } });
    expect(decideAccess(input(abac, source, pushRole()))).toMatchObject({ allowed: false, cause: 'role-missing' });
  });

  it('agent pools: a pool in the private endpoint’s network reaches a closed registry without any bypass', () => {
    const subnet = '/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/tasks';
    const pe = '/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/endpoints';
    const reg = closed({ networkRuleBypassAllowedForTasks: false, privateEndpointSubnets: [pe] });
    const run = task({ agentPool: { name: 'pool1', exists: true, subnetId: subnet, provisioningState: 'Succeeded' }, credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { [HOME]: { identity: '[system]' } } } });
    expect(decideAccess(input(reg, run, pushRole()))).toMatchObject({ allowed: true, path: 'private-endpoint' });
    expect(decideAccess(input(reg, { ...run, agentPool: { name: 'nope', exists: false } }, pushRole()))).toMatchObject({ allowed: false, cause: 'agent-pool-missing', stage: 'prepare' });
  });

  it('public registries and unknown ACR names', () => {
    expect(decideAccess(input(undefined, task(), [], 'pull', 'mcr.microsoft.com'))).toMatchObject({ allowed: true, path: 'not-a-registry' });
    expect(decideAccess(input(undefined, task(), [], 'pull', BASE))).toMatchObject({ allowed: false, cause: 'unknown-host', logLine: expect.stringContaining('no such host') });
  });
});
