/**
 * Every rule of the explanation table (src/azure/errors.ts `errorRules`), triggered for real on the
 * simulated Azure — through the binary where a user can meet it, through the adapter where the
 * workflow avoids it on purpose — with the message, the suggestion and the link the user sees.
 */
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseRunLog, errorRules, roleAssignmentName, ruleById, toAcrTrustError, type ErrorRule } from '../../src/azure/index.js';
import { startSim, type RunningSim } from '../../src/sim/index.js';
import { ROLE_GUIDS } from '../../src/model/roles.js';
import { seedScenario } from '../../src/sim/scenarios.js';
import { REGISTRY, RG, rejection, simCloud } from '../azure/sim-cloud.js';
import { cliAsync, expectNoStack, withServedSim, jsonLines, networkSettings, registryNamed, simCloud as workdirCloud, simRequests, tempDir, type Result } from '../cli/helpers.js';
import { sdkClients } from '../helpers/sim.js';

const triggered = new Set<string>();

/** The rule, and a note that a test triggered it. */
function rule(id: string): ErrorRule {
  const r = ruleById(id);
  if (!r) throw new Error(`no rule ${id} in errorRules`);
  triggered.add(id);
  return r;
}

/** Runs the binary on the sim (no terminal: instant speed) in `wd`, one invocation after another. */
async function run(wd: string, ...invocations: string[][]): Promise<Result> {
  let last: Result | undefined;
  for (const args of invocations) last = await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd, ...args]);
  return last!;
}

/** Changes the embedded sim's cloud between two runs, as someone working behind the workflow's back. */
function editCloud(wd: string, change: (cloud: any) => void): void {
  const file = join(wd, 'sim-cloud.json');
  const cloud = JSON.parse(readFileSync(file, 'utf8'));
  change(cloud);
  writeFileSync(file, JSON.stringify(cloud));
}

/** What the user reads on stderr when a step stops the run: the message, the suggestion, the link. */
function expectStopped(r: Result, step: string, status: 'failed' | 'blocked', message: string | RegExp, hint: string, link?: string): void {
  expect(r.status, r.stdout + r.stderr).toBe(1);
  expectNoStack(r);
  const [first, second, third] = r.stderr.split('\n');
  expect(first).toMatch(new RegExp(`^acr-trust: stopped at ${step} \\(${status}\\): `));
  if (typeof message === 'string') expect(first).toContain(message);
  else expect(first).toMatch(message);
  expect(second).toContain(hint);
  if (link) expect(third).toBe(`  see ${link}`);
}

describe.concurrent('the explanation table, rule by rule, on the sim', () => {
  // ---- ARM errors -------------------------------------------------------------------------------

  it('PrincipalNotFound: a role assignment for a new identity without principalType (what the workflow avoids)', async () => {
    const r = rule('PrincipalNotFound');
    const sim = await startSim({ speed: 'realistic' });
    try {
      const cloud = simCloud(sim);
      const task = await cloud.createTask(RG, REGISTRY, 'fresh-task', { location: 'eastus', taskYaml: 'version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n' });
      const registry = (await cloud.getRegistry(RG, REGISTRY))!;
      const roleDefinitionId = await cloud.roleDefinitionId('AcrPush');
      // The SDK straight, without principalType: the directory does not know the identity yet.
      const { authorization } = sdkClients(sim);
      const raw = await rejection(
        authorization.roleAssignments.create(registry.id, roleAssignmentName(registry.id, roleDefinitionId, task.principalId!), { roleDefinitionId, principalId: task.principalId! }),
      );
      const e = toAcrTrustError(raw, `assign role AcrPush to principal ${task.principalId}`) as any;
      expect(e.code).toBe('PrincipalNotFound');
      expect(e.message).toBe(`Could not assign role AcrPush to principal ${task.principalId}: ${r.message} (PrincipalNotFound).`);
      expect(e.hint).toContain('principalType ServicePrincipal');
      expect(e.options.link).toBe(r.link);
      // The adapter sends principalType, so the same assignment goes through at once.
      await expect(cloud.createRoleAssignment(registry.id, roleDefinitionId, task.principalId!, roleAssignmentName(registry.id, roleDefinitionId, task.principalId!))).resolves.toBeDefined();
    } finally {
      await sim.stop();
    }
  });

  it('RoleAssignmentExists: the same role for the same identity under another name', async () => {
    const r = rule('RoleAssignmentExists');
    const sim = await startSim({ speed: 'instant' });
    try {
      const cloud = simCloud(sim);
      const task = await cloud.createTask(RG, REGISTRY, 'some-task', { location: 'eastus', taskYaml: 'version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n' });
      const registry = (await cloud.getRegistry(RG, REGISTRY))!;
      const role = await cloud.roleDefinitionId('AcrPush');
      await cloud.createRoleAssignment(registry.id, role, task.principalId!, '11111111-1111-4111-8111-111111111111');
      const e = await rejection(cloud.createRoleAssignment(registry.id, role, task.principalId!, '22222222-2222-4222-8222-222222222222'));
      expect(e.name).toBe('AcrTrustError');
      expect(e.code).toBe('RoleAssignmentExists');
      expect(e.message).toContain(`${r.message} (RoleAssignmentExists).`);
      expect(e.hint).toBe(r.hint);
    } finally {
      await sim.stop();
    }
  });

  it('DisablingPublicNetworkAccessNotSupported: closing a Basic registry (preflight skipped with --only)', async () => {
    const r = rule('DisablingPublicNetworkAccessNotSupported');
    const wd = join(tempDir(), 'wd');
    const res = await run(wd, ['--sim-scenario', 'basic-sku', '--only', 'disable-public-access']);
    expectStopped(res, 'disable-public-access', 'failed', `Could not update publicNetworkAccess on registry acrtrustdemo: ${r.message} (DisablingPublicNetworkAccessNotSupported).`, r.hint, r.link);
    expect(res.stdout).toMatch(/✗ failed Could not update publicNetworkAccess .* \[DisablingPublicNetworkAccessNotSupported\]/);
  });

  it('RoleAssignmentWriteDenied (AuthorizationFailed on a role assignment write): a Contributor caller past preflight', async () => {
    const r = rule('RoleAssignmentWriteDenied');
    const wd = join(tempDir(), 'wd');
    const res = await run(wd, ['--sim-scenario', 'no-role-write', '--from', 'create-task']);
    expectStopped(res, 'assign-role', 'failed', new RegExp(`^acr-trust: stopped at assign-role \\(failed\\): Could not assign role .*: ${r.message} \\(AuthorizationFailed\\)\\.$`), r.hint, r.link);
  });

  it('RoleAssignmentWriteDenied, found first by preflight: the same link, the permission named', async () => {
    const r = rule('RoleAssignmentWriteDenied');
    const res = await run(join(tempDir(), 'wd'), ['--sim-scenario', 'no-role-write']);
    expectStopped(res, 'preflight', 'blocked', 'You may not create role assignments on registry acrtrustdemo (Microsoft.Authorization/roleAssignments/write).', 'Ask for Owner, User Access Administrator', r.link);
  });

  describe('AuthorizationFailed (a write other than a role assignment): a caller with Reader only (read-only)', () => {
    /** The refused run left the cloud as seeded and recorded no step as done. */
    function expectNothingChanged(wd: string): void {
      const cloud = workdirCloud(wd);
      const seeded = seedScenario('read-only', 'instant');
      expect(cloud.tasks).toEqual({});
      expect(cloud.runs).toEqual({});
      expect(Object.keys(cloud.roleAssignments)).toEqual(Object.keys(seeded.roleAssignments));
      expect(networkSettings(registryNamed(cloud, 'acrtrustdemo'))).toBe(networkSettings(registryNamed(seeded, 'acrtrustdemo')));
      // Every write the sim was asked for, it refused.
      expect(simRequests(wd).filter((q) => q.write && q.status < 400)).toEqual([]);
      const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
      for (const step of Object.values<any>(state.steps)) expect(step.status).toMatch(/^(failed|blocked|skipped)$/);
    }

    it("past preflight, the task PUT: ARM's 403 in the user's terms, ARM's code kept, nothing changed", async () => {
      const r = rule('AuthorizationFailed');
      const wd = join(tempDir(), 'wd');
      const res = await run(wd, ['--sim-scenario', 'read-only', '--from', 'create-task']);
      expectStopped(res, 'create-task', 'failed', `Could not create task acr-trust-task in registry acrtrustdemo: ${r.message} (AuthorizationFailed).`, r.hint, r.link);
      expect(res.stdout).toMatch(/✗ failed Could not create task .* \[AuthorizationFailed\]/);
      // The refusal was ARM's, for the action the step needed.
      expect(simRequests(wd).filter((q) => q.write)).toEqual([expect.objectContaining({ method: 'PUT', name: 'tasks.create', status: 403 })]);
      expectNothingChanged(wd);
    });

    it('past preflight, the PATCH of the registry\'s publicNetworkAccess: the same explanation, the registry untouched', async () => {
      const r = rule('AuthorizationFailed');
      const wd = join(tempDir(), 'wd');
      const res = await run(wd, ['--sim-scenario', 'read-only', '--only', 'disable-public-access']);
      expectStopped(res, 'disable-public-access', 'failed', `Could not update publicNetworkAccess on registry acrtrustdemo: ${r.message} (AuthorizationFailed).`, r.hint, r.link);
      expect(simRequests(wd).filter((q) => q.write)).toEqual([expect.objectContaining({ method: 'PATCH', name: 'registries.update', status: 403 })]);
      expectNothingChanged(wd);
    });

    it('found first by preflight, before any write: the missing permissions named, the same link', async () => {
      const r = rule('AuthorizationFailed');
      const wd = join(tempDir(), 'wd');
      const res = await run(wd, ['--sim-scenario', 'read-only']);
      expectStopped(
        res,
        'preflight',
        'blocked',
        'You may not change registry acrtrustdemo: your roles do not grant Microsoft.ContainerRegistry/registries/tasks/write, Microsoft.ContainerRegistry/registries/scheduleRun/action, Microsoft.ContainerRegistry/registries/write, Microsoft.Authorization/roleAssignments/write.',
        'Ask for Contributor on the registry or the resource group, and Owner, User Access Administrator',
        r.link,
      );
      expect(res.stdout).toContain('[AuthorizationFailed]');
      expect(simRequests(wd).filter((q) => q.write)).toEqual([]);
      expectNothingChanged(wd);
    });
  });

  it('SubscriptionNotFound: a subscription the sim does not have', async () => {
    rule('SubscriptionNotFound');
    const res = await run(join(tempDir(), 'wd'), ['--subscription', '00000000-0000-0000-0000-000000000001']);
    expectStopped(res, 'preflight', 'blocked', 'Subscription 00000000-0000-0000-0000-000000000001 was not found, or you have no access to it.', 'az account list -o table');
  });

  it('ResourceGroupNotFound: a resource group that does not exist', async () => {
    rule('ResourceGroupNotFound');
    const res = await run(join(tempDir(), 'wd'), ['--resource-group', 'no-such-group']);
    expectStopped(res, 'preflight', 'blocked', 'Resource group no-such-group was not found in subscription', 'az group list -o table');
  });

  it('ResourceNotFound: a registry that does not exist', async () => {
    const r = rule('ResourceNotFound');
    const res = await run(join(tempDir(), 'wd'), ['--registry', 'nosuchregistry']);
    // The registries there are, and the command to run again names the group's only one.
    expectStopped(res, 'preflight', 'blocked', 'Registry nosuchregistry was not found in resource group acr-trust-demo.', 'Registries in resource group acr-trust-demo: acrtrustdemo. Fix --registry (or --resource-group).', r.link);
    const again = /Then run `acr-trust (.*)` again/.exec(res.stderr)![1]!.split(' ');
    expect(again).toContain('acrtrustdemo');
    expect(again).not.toContain('nosuchregistry');
    const fixed = await cliAsync(again.filter((w) => w !== '--no-color'));
    expect(fixed.status, fixed.stderr).toBe(0);
  });

  it('NotSignedIn: Azure without any sign-in', async () => {
    const r = rule('NotSignedIn');
    const res = await cliAsync(['run', '--target', 'azure', '--goal', 'demo', '--yes', '--workdir', join(tempDir(), 'wd'), '--subscription', '11111111-2222-3333-4444-555555555555', '--resource-group', 'rg', '--registry', 'myregistry1'], {
      // Only the environment credential, unset: the chain fails at once, without spawning CLIs.
      env: { AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential' },
    });
    expectStopped(res, 'preflight', 'failed', new RegExp(`Could not read subscription 11111111-2222-3333-4444-555555555555: ${r.message} \\((AggregateAuthenticationError|CredentialUnavailableError)\\)\\.$`), r.hint, r.link);
  });

  describe('the connection to a sim served elsewhere', () => {
    let sim: RunningSim;
    let other: RunningSim;
    beforeAll(async () => {
      [sim, other] = await Promise.all([startSim({ speed: 'instant' }), startSim({ speed: 'instant' })]);
    });
    afterAll(async () => {
      await Promise.all([sim?.stop(), other?.stop()]);
    });

    it('CertificateNotTrusted: the CA of another sim', async () => {
      const r = rule('CertificateNotTrusted');
      const res = await run(join(tempDir(), 'wd'), ['--endpoint', sim.endpoint, '--ca', other.caCertFile]);
      expectStopped(res, 'preflight', 'failed', new RegExp(`: ${r.message} \\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)\\)\\.$`), r.hint);
    });

    it('ConnectionFailed: nothing listening at the endpoint', async () => {
      const r = rule('ConnectionFailed');
      const port = await closedPort();
      const ca = join(tempDir(), 'ca.pem');
      writeFileSync(ca, sim.caCert);
      const res = await run(join(tempDir(), 'wd'), ['--endpoint', `https://127.0.0.1:${port}`, '--ca', ca]);
      expectStopped(res, 'preflight', 'failed', `: ${r.message} (ECONNREFUSED).`, r.hint);
    }, 60_000);
  });

  it("InvalidAuthenticationTokenAudience: a Resource Manager of another cloud than the one signed in for (a sim standing for Azure China, the public cloud's token)", () =>
    withServedSim(
      async (served) => {
        const r = rule('InvalidAuthenticationTokenAudience');
        const res = await cliAsync(
          ['run', '--target', 'azure', '--cloud', 'AzureCloud', '--endpoint', served.endpoint, '--ca', served.caCertFile, '--goal', 'setup', '--yes', '--subscription', served.subscriptionId, '--resource-group', RG, '--registry', REGISTRY, '--workdir', join(served.dir, 'wd')],
          // The sim's own service principal, through the environment credential only.
          { env: { AZURE_CONFIG_DIR: join(served.dir, 'no-az'), AZURE_CLIENT_ID: '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c', AZURE_CLIENT_SECRET: 'x', AZURE_TENANT_ID: 'adfs', AZURE_AUTHORITY_HOST: served.endpoint, AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential' } },
        );
        expectStopped(res, 'preflight', 'failed', `${r.message}`, r.hint, r.link);
        expect(res.stderr).toContain('(InvalidAuthenticationTokenAudience)');
      },
      ['--cloud', 'AzureChinaCloud'],
    ));

  it('TasksOperationsNotAllowed: a subscription where ACR Tasks are blocked (free trial) — stopped at the first run, not retried', async () => {
    const r = rule('TasksOperationsNotAllowed');
    const wd = join(tempDir(), 'wd');
    const res = await run(wd, ['--sim-scenario', 'tasks-not-allowed']);
    expectStopped(res, 'run-task', 'failed', `${r.message} (TasksOperationsNotAllowed).`, r.hint, r.link);
    expect(simRequests(wd).filter((q) => q.name === 'registries.scheduleRun')).toHaveLength(1);
  });

  describe('refusals the workflow meets only where Azure has them: through the adapter, on a sim faulting that route', () => {
    for (const [id, route, call] of [
      ['RequestDisallowedByPolicy', 'registries.update', (c: ReturnType<typeof simCloud>) => c.updateRegistryNetwork(RG, REGISTRY, { networkRuleBypassAllowedForTasks: true })],
      ['LinkedAuthorizationFailed', 'registries.update', (c: ReturnType<typeof simCloud>) => c.updateRegistryNetwork(RG, REGISTRY, { publicNetworkAccess: 'Disabled' })],
      ['InvalidApiVersionParameter', 'registries.get', (c: ReturnType<typeof simCloud>) => c.getRegistry(RG, REGISTRY)],
    ] as const) {
      it(`${id}: ARM's code kept, the rule's message and fix`, async () => {
        const r = rule(id);
        const sim = await startSim({ faults: `${id}=1,routes=${route}` });
        try {
          const e = await rejection(call(simCloud(sim)));
          expect(e.code).toBe(id);
          expect(e.message).toContain(`${r.message} (${id}).`);
          expect(e.hint).toBe(r.hint);
        } finally {
          await sim.stop();
        }
      });
    }
  });

  // ---- task run logs ----------------------------------------------------------------------------

  it('FirewallDenied: a run without the [system] credential reaches a closed registry', async () => {
    const r = rule('FirewallDenied');
    const res = await run(join(tempDir(), 'wd'), ['--until', 'assign-role'], ['--only', 'disable-public-access'], ['--only', 'run-task']);
    expectStopped(res, 'run-task', 'failed', `Run ca1 Failed: ${r.message}. The log says: `, r.hint, r.link);
    expect(res.stderr).toContain("denied: client with IP '20.42.0.17' is not allowed access");
  });

  it('TokenExchangeRefused: the [system] credential, but the task bypass is off', async () => {
    const r = rule('TokenExchangeRefused');
    const res = await run(join(tempDir(), 'wd'), ['--until', 'add-credential'], ['--only', 'disable-public-access'], ['--only', 'run-task']);
    expectStopped(res, 'run-task', 'failed', `Run ca1 Failed: ${r.message}. The log says: failed to unmarshal task before running: failed to resolve secrets: failed to get ACR refresh token, exchange API response code: 403 Forbidden`, r.hint, r.link);
  });

  it('TokenExchangeRefused is what the negative test proves: confirm-denied holds with that log line', async () => {
    rule('TokenExchangeRefused');
    const res = await run(join(tempDir(), 'wd'), ['--json']);
    expect(res.status, res.stderr).toBe(0);
    const denied = jsonLines(res.stdout).find((e) => e.event === 'step' && e.id === 'confirm-denied');
    expect(denied).toMatchObject({ status: 'applied', evidence: expect.stringContaining('exchange API response code: 403 Forbidden') });
  });

  it('SourceIdentityMissing: a quick build on an ABAC registry without a source identity (the sim’s real log)', async () => {
    const r = rule('SourceIdentityMissing');
    const sim = await startSim({ scenario: 'abac' });
    try {
      const run = await sdkClients(sim).registries.registries.beginScheduleRunAndWait(RG, REGISTRY, { type: 'DockerBuildRequest', imageNames: ['img:v1'], isPushEnabled: true, dockerFilePath: 'Dockerfile', sourceLocation: 'https://github.com/Azure-Samples/acr-build-helloworld-node.git', platform: { os: 'Linux' } } as any);
      const log = await simCloud(sim).readRunLog(RG, REGISTRY, run.runId!);
      const found = diagnoseRunLog(log);
      expect(found?.rule.id).toBe(r.id);
      expect(found?.line).toBe('when specifying push, at least one credential is required');
    } finally {
      await sim.stop();
    }
  });

  it('IdentityMissing: the [system] credential on a task that lost its identity', async () => {
    const r = rule('IdentityMissing');
    const wd = join(tempDir(), 'wd');
    expect((await run(wd, ['--until', 'add-credential'])).status).toBe(0);
    editCloud(wd, (cloud) => {
      for (const task of Object.values<any>(cloud.tasks)) task.identity = { type: 'None' };
    });
    const res = await run(wd, ['--only', 'run-task']);
    expectStopped(res, 'run-task', 'failed', `Run ca1 Failed: ${r.message}. The log says: `, r.hint, r.link);
    expect(res.stderr).toContain("failed to get a token for managed identity '[system]'");
  });

  it('RegistryNotFound: a task file that pushes to a registry that does not exist', async () => {
    const r = rule('RegistryNotFound');
    const taskFile = join(tempDir(), 'task.yaml');
    writeFileSync(taskFile, ['version: v1.1.0', 'steps:', '  - build: -t nosuchregistry9.azurecr.io/app:1 -f Dockerfile .', '  - push: ["nosuchregistry9.azurecr.io/app:1"]', ''].join('\n'));
    const res = await run(join(tempDir(), 'wd'), ['--task-file', taskFile]);
    expectStopped(res, 'run-task', 'failed', `Run ca1 Failed: ${r.message}. The log says: `, r.hint);
    expect(res.stderr).toContain('no such host');
  });

  it('RoleNotInEffect: a role that does not allow the push (AcrPull); run-task stops at once (waiting cannot cure it) and names the role', async () => {
    const r = rule('RoleNotInEffect');
    const res = await run(join(tempDir(), 'wd'), ['--role', 'AcrPull']);
    expectStopped(res, 'run-task', 'failed', new RegExp(`Run ca1 Failed: ${escape(r.message)}\\. The log says: unauthorized: authentication required.* the settings show why: the task's identity has no role on registry acrtrustdemo that allows it to push`), r.hint, r.link);
    expect(res.stderr).toContain("Fix: assign AcrPush to the task's principal on registry acrtrustdemo");
    expect(res.stdout).not.toContain('running again');
  });

  it('RoleNotInEffect, on an ABAC registry: AcrPush (put in place of the repository role behind the workflow) is ignored there', async () => {
    const r = rule('RoleNotInEffect');
    const wd = join(tempDir(), 'wd');
    expect((await run(wd, ['--sim-scenario', 'abac', '--until', 'add-credential'])).status).toBe(0);
    editCloud(wd, (cloud) => {
      for (const a of Object.values<any>(cloud.roleAssignments)) {
        a.properties.roleDefinitionId = a.properties.roleDefinitionId.replace(ROLE_GUIDS.RepositoryWriter, ROLE_GUIDS.AcrPush);
      }
    });
    const res = await run(wd, ['--only', 'run-task']);
    expectStopped(res, 'run-task', 'failed', `Failed: ${r.message}. The log says: unauthorized: authentication required`, r.hint, r.link);
    expect(res.stderr).toContain('an ABAC registry honours only the Container Registry Repository roles');
  });

  it('CredentialMissing: a run without the credential on an open registry', async () => {
    const r = rule('CredentialMissing');
    const res = await run(join(tempDir(), 'wd'), ['--until', 'assign-role'], ['--only', 'run-task']);
    expectStopped(res, 'run-task', 'failed', `Run ca1 Failed: ${r.message}. The log says: unauthorized: authentication required`, r.hint, r.link);
  });

  // ---- refusals acr-trust finds itself ------------------------------------------------------------

  it('SkuNotPremium: a Basic registry', async () => {
    const r = rule('SkuNotPremium');
    const res = await run(join(tempDir(), 'wd'), ['--sim-scenario', 'basic-sku']);
    expectStopped(res, 'preflight', 'blocked', 'Registry acrtrustdemo is Basic: network rules and disabling public access need the Premium SKU.', 'az acr update -n acrtrustdemo --sku Premium', r.link);
  });

  it('CredentialMissing on an ABAC registry: the task has no source registry identity for its own registry (add-credential skipped)', async () => {
    const r = rule('CredentialMissing');
    const wd = join(tempDir(), 'wd');
    const res = await run(wd, ['--sim-scenario', 'abac', '--until', 'assign-role'], ['--only', 'run-task']);
    // The log's line and rule, then the cause the live settings show: the source identity, named.
    expectStopped(
      res,
      'run-task',
      'failed',
      `Run ca1 Failed: ${r.message}. The log says: unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information. — the settings show why: the task reaches its own registry acrtrustdemo.azurecr.io without any credential: acrtrustdemo uses ABAC repository permissions, which give a task no implicit access to its own registry, and the task has no source registry identity (credentials.sourceRegistry.identity); waiting will not change that`,
      "Fix: az acr task update -n acr-trust-task -r acrtrustdemo --source-acr-auth-id '[system]'",
      r.link,
    );
    // Not retried: one run only.
    expect(Object.keys(workdirCloud(wd).runs ?? {})).toHaveLength(1);
  });

  it('UserAssignedIdentityOnly: the task has only a user-assigned identity', async () => {
    const r = rule('UserAssignedIdentityOnly');
    const wd = join(tempDir(), 'wd');
    expect((await run(wd, ['--until', 'create-task'])).status).toBe(0);
    editCloud(wd, (cloud) => {
      const uai = `/subscriptions/${cloud.subscriptions[0].subscriptionId}/resourceGroups/acr-trust-demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder`;
      for (const task of Object.values<any>(cloud.tasks)) {
        task.identity = { type: 'UserAssigned', userAssignedIdentities: { [uai]: { principalId: '9d3c7b51-2a6e-4f0d-8c1b-3e5f7a9b1c2d', clientId: '4b2d6f8a-1c3e-4a5b-9d7f-0e2c4a6b8d1f' } } };
      }
    });
    const res = await run(wd, ['--from', 'preflight', '--until', 'preflight']);
    expectStopped(res, 'preflight', 'blocked', "Task acr-trust-task has only a user-assigned identity; only a task's system-assigned identity may bypass", 'az acr task identity assign -n acr-trust-task -r acrtrustdemo', r.link);
  });

  it('BypassStillAllowed: the registry still lets the task in after trusted services were disabled (public access re-enabled)', async () => {
    rule('BypassStillAllowed');
    const wd = join(tempDir(), 'wd');
    expect((await run(wd, ['--until', 'disable-trusted-services'])).status).toBe(0);
    editCloud(wd, (cloud) => {
      registryNamed(cloud, 'acrtrustdemo').properties.publicNetworkAccess = 'Enabled';
    });
    const res = await run(wd, ['--only', 'confirm-denied']);
    expectStopped(res, 'confirm-denied', 'failed', /^acr-trust: stopped at confirm-denied \(failed\): Run c\w+ succeeded: registry acrtrustdemo still lets the task in with trusted services disabled\.$/, 'public access must be Disabled and no IP rule may admit the task\'s agent');
  });
});

describe('coverage of the table', () => {
  it('every rule is triggered above', () => {
    const untriggered = errorRules.map((r) => r.id).filter((id) => !triggered.has(id));
    expect(untriggered).toEqual([]);
  });
});

/** A local port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
