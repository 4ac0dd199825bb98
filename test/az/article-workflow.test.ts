/**
 * Issue 5: the article's own az commands, unmodified, against the simulated Azure.
 *
 * The real binaries only: `acr-trust sim serve` (a separate process), `acr-trust sim az-env`, then
 * Microsoft's Azure CLI alone walks the article's workflow — create the task with a system
 * identity and `--auth-mode None`, AcrPush for its principal on the registry, the `[system]`
 * credential, public access off, the task bypass switch on (`az resource update`, the 2025
 * policy), a run that succeeds, trusted services off, a run that fails with the denial — and reads
 * each step's result back with az. Then the wizard looks at the same cloud: `status` sees every
 * step az completed, `verify` names only the two runs it has no record of, and `run` adopts az's
 * task, proves the bypass itself, and leaves a cloud az reads back.
 *
 * Skipped only when `az` is not installed (CI installs Debian's azure-cli).
 *
 * Debian's azure-cli 2.45 package cannot run `az role assignment create|list` against any cloud:
 * it pairs the CLI with a newer azure-mgmt-authorization, and the command fails before sending a
 * request with "'RoleAssignmentsOperations' object has no attribute 'config'" (Azure/azure-cli
 * #24959, #26896). The test tries the article's command first and, on exactly that failure,
 * creates and lists the assignment with `az rest` (the same ARM call) — and checks through
 * `az ad sp show` that the sim's Microsoft Graph resolves the principal, which is what
 * `--assignee <objectId>` needs in a CLI without that bug.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../cli/helpers.js';
import { acrTrust, azSession, cleanEnv, findAz, type Served } from './helpers.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';

const AZ = findAz();
const SKIP_REASON = 'az (the Azure CLI) is not installed; CI installs it with `apt-get install azure-cli`';
if (!AZ) console.warn(`test/az/article-workflow.test.ts skipped: ${SKIP_REASON}.`);

const RG = 'acr-trust-demo';
const REG = 'acrtrustdemo';
const TASK = 'hello-task';
const LOGIN_SERVER = 'acrtrustdemo.azurecr.io';
const DEBIAN_ROLE_BUG = /'RoleAssignments?Operations' object has no attribute 'config'|'RoleDefinitionsOperations' object has no attribute 'config'/;

describe.skipIf(!AZ)(`the article's workflow with the Azure CLI alone${AZ ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  let dir: string;
  let home: string;
  let sim: Served;
  let env: NodeJS.ProcessEnv;
  let wizardFlags: string[];
  let principalId: string;
  let registryId: string;
  /** Set when this az cannot run `az role assignment` (Debian's packaging bug). */
  let roleCommandsBroken = false;

  const az = (...args: string[]) => {
    const r = spawnSync(AZ!, args, { env, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  /** Runs az, expects exit 0, returns its JSON output (the CLI's default output format). */
  const azJson = (...args: string[]): any => {
    const r = az(...args);
    if (r.status !== 0) throw new Error(`az ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  };
  const roleAssignmentsOfPrincipal = (): any[] =>
    roleCommandsBroken
      ? azJson('rest', '--method', 'get', '--url', `${registryId}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId eq '${principalId}'`).value.map((a: any) => ({ ...a.properties, id: a.id }))
      : azJson('role', 'assignment', 'list', '--assignee', principalId, '--scope', registryId);

  beforeAll(async () => {
    // HOME is a fresh folder: the test proves that nothing lands in ~/.azure.
    ({ dir, sim, env } = await azSession());
    home = join(dir, 'home');
    wizardFlags = ['--target', 'sim', '--endpoint', sim.line.endpoint, '--ca', sim.line.caCertFile, '--resource-group', RG, '--registry', REG, '--task', TASK, '--workdir', join(dir, 'wizard'), '--json'];
  }, 30_000);

  afterAll(async () => {
    expect(await sim?.stop()).toBe(0);
  });

  it('signs in to the sim from the az-env configuration', () => {
    expect(azJson('account', 'show')).toMatchObject({ id: sim.line.subscriptionId, environmentName: 'AcrTrustSim', isDefault: true, user: { type: 'servicePrincipal' } });
  });

  it('1. creates the task with a system-assigned identity and --auth-mode None', () => {
    const created = azJson('acr', 'task', 'create', '-n', TASK, '-r', REG, '--cmd', '$Registry/hello-world', '--context', '/dev/null', '--assign-identity', '--auth-mode', 'None');
    expect(created).toMatchObject({ name: TASK, identity: { type: 'SystemAssigned' }, credentials: { sourceRegistry: { loginMode: 'None' } } });
    principalId = created.identity.principalId;
    expect(principalId).toMatch(/^[0-9a-f-]{36}$/);

    const shown = azJson('acr', 'task', 'show', '-n', TASK, '-r', REG);
    expect(shown).toMatchObject({ identity: { type: 'SystemAssigned', principalId }, credentials: { sourceRegistry: { loginMode: 'None' } }, step: { type: 'EncodedTask' }, status: 'Enabled' });
    expect(Buffer.from(shown.step.encodedTaskContent, 'base64').toString()).toContain('cmd: $Registry/hello-world');
  });

  it('2. assigns AcrPush to the task identity on the registry', () => {
    registryId = azJson('acr', 'show', '-n', REG, '--query', 'id');
    const created = az('role', 'assignment', 'create', '--assignee', principalId, '--role', 'AcrPush', '--scope', registryId);
    if (created.status === 0) {
      // A CLI without Debian's bug resolves --assignee through the sim's Microsoft Graph.
      expect(JSON.parse(created.stdout)).toMatchObject({ principalId, principalType: 'ServicePrincipal', scope: registryId });
    } else {
      expect(created.stderr).toMatch(DEBIAN_ROLE_BUG);
      roleCommandsBroken = true;
      // What --assignee resolves through: the sim's Graph knows the task's identity.
      expect(azJson('ad', 'sp', 'show', '--id', principalId)).toMatchObject({ id: principalId, servicePrincipalType: 'ManagedIdentity', displayName: TASK });
      const body = { properties: { roleDefinitionId: roleDefinitionId(sim.line.subscriptionId, ROLE_GUIDS.AcrPush), principalId, principalType: 'ServicePrincipal' } };
      azJson('rest', '--method', 'put', '--url', `${registryId}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, '--body', JSON.stringify(body));
    }
    const assignments = roleAssignmentsOfPrincipal();
    expect(assignments).toHaveLength(1);
    expect(assignments[0]).toMatchObject({ principalId, principalType: 'ServicePrincipal', scope: registryId });
    expect(assignments[0].roleDefinitionId).toMatch(new RegExp(`/roleDefinitions/${ROLE_GUIDS.AcrPush}$`));
  });

  it('3. adds the registry credential to the task with its system identity', () => {
    azJson('acr', 'task', 'credential', 'add', '-n', TASK, '-r', REG, '--login-server', LOGIN_SERVER, '--use-identity', '[system]');
    expect(azJson('acr', 'task', 'credential', 'list', '-n', TASK, '-r', REG)).toEqual({ [LOGIN_SERVER]: { identity: '[system]', userName: null, password: null } });
  });

  it('4. disables public access', () => {
    const r = az('acr', 'update', '-n', REG, '--public-network-enabled', 'false');
    expect(r.status).toBe(0);
    expect(azJson('acr', 'show', '-n', REG)).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices', networkRuleSet: { defaultAction: 'Deny' } });
  });

  it('5. enables the task bypass switch with a full PUT at a 2025 api-version', () => {
    const flags = ['--namespace', 'Microsoft.ContainerRegistry', '--resource-type', 'registries', '-n', REG, '-g', RG, '--api-version', '2025-06-01-preview'];
    azJson('resource', 'update', ...flags, '--set', 'properties.networkRuleBypassAllowedForTasks=true');
    const props = azJson('resource', 'show', ...flags, '--query', 'properties');
    // The full PUT kept what it did not mention.
    expect(props).toMatchObject({ networkRuleBypassAllowedForTasks: true, publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices' });
  });

  it('6. runs the task: it succeeds through the bypass, its log streamed by az', () => {
    const run = az('acr', 'task', 'run', '-n', TASK, '-r', REG);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Successfully logged into ${LOGIN_SERVER}`);
    expect(run.stdout).toContain('Hello from Docker!');
    expect(run.stdout).toMatch(/Run ID: ca1 was successful after \d+s/);
    expect(azJson('acr', 'task', 'show-run', '-r', REG, '--run-id', 'ca1')).toMatchObject({ runId: 'ca1', status: 'Succeeded', task: TASK, runType: 'QuickRun' });
  });

  it('7. turns trusted services off; az acr show (2022-02-01-preview) still reads the registry', () => {
    azJson('acr', 'update', '-n', REG, '--allow-trusted-services', 'false');
    const registry = azJson('acr', 'show', '-n', REG);
    expect(registry).toMatchObject({ networkRuleBypassOptions: 'None', publicNetworkAccess: 'Disabled', sku: { name: 'Premium' } });
    // The CLI's api-version predates the task switch: the sim hides it there, as ARM does.
    expect(registry.networkRuleBypassAllowedForTasks).toBeUndefined();
  });

  it('8. runs again: the registry refuses the task, and the run fails with the denial', () => {
    const run = az('acr', 'task', 'run', '-n', TASK, '-r', REG);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('failed to get ACR refresh token, exchange API response code: 403 Forbidden');
    expect(run.stdout).toMatch(/Run ID: ca2 failed after \d+s/);
    expect(run.stderr).toContain('Run failed');
    const runs = azJson('acr', 'task', 'list-runs', '-r', REG, '--query', '[].{runId: runId, status: status, task: task}');
    expect(runs).toEqual([
      { runId: 'ca2', status: 'Failed', task: TASK },
      { runId: 'ca1', status: 'Succeeded', task: TASK },
    ]);
  });

  it("the wizard sees what az did: every step az completed holds; only the runs it did not record are open", () => {
    const status = acrTrust(['status', ...wizardFlags]);
    expect(status.status, status.stderr).toBe(0);
    const checks = Object.fromEntries(
      jsonLines(status.stdout)
        .filter((e) => e.event === 'check')
        .map((e) => [e.id, { live: e.live.status, holds: e.holds, ...(e.supersededBy ? { supersededBy: e.supersededBy } : {}) }]),
    );
    expect(checks).toEqual({
      preflight: { live: 'done', holds: true },
      'create-task': { live: 'done', holds: true },
      'assign-role': { live: 'done', holds: true },
      'add-credential': { live: 'done', holds: true },
      // Turned off again by the negative test, which holds.
      'allow-trusted-services': { live: 'pending', holds: true, supersededBy: 'disable-trusted-services' },
      'allow-task-bypass': { live: 'done', holds: true },
      'disable-public-access': { live: 'done', holds: true },
      // The wizard judges runs it started itself; az's runs are not in its workdir. A run now would
      // be refused anyway: the negative test turned trusted services off, on purpose.
      'run-task': { live: 'pending', holds: true, supersededBy: 'disable-trusted-services' },
      'disable-trusted-services': { live: 'done', holds: true },
      'confirm-denied': { live: 'pending', holds: false },
    });

    const verify = acrTrust(['verify', ...wizardFlags]);
    expect(verify.status, verify.stderr).toBe(3);
    expect(verify.stderr).toContain('1 step(s) do not hold: confirm-denied');
  });

  it("the wizard adopts az's task and proves the bypass itself; az reads back the wizard's runs", () => {
    const run = acrTrust(['run', '--yes', ...wizardFlags]);
    expect(run.status, run.stderr).toBe(0);
    const steps = Object.fromEntries(
      jsonLines(run.stdout)
        .filter((e) => e.event === 'step')
        .map((e) => [e.id, e.status]),
    );
    // az's task, role and credential are used as they are; only the negative test's switch is
    // turned back on for the wizard's own successful run.
    expect(steps).toMatchObject({ 'create-task': 'done', 'assign-role': 'done', 'add-credential': 'done', 'allow-trusted-services': 'applied', 'run-task': 'applied', 'disable-trusted-services': 'applied', 'confirm-denied': 'applied' });
    expect(acrTrust(['verify', ...wizardFlags]).status).toBe(0);

    const runs = azJson('acr', 'task', 'list-runs', '-r', REG, '--query', '[].{runId: runId, status: status}');
    expect(runs).toEqual([
      { runId: 'ca4', status: 'Failed' },
      { runId: 'ca3', status: 'Succeeded' },
      { runId: 'ca2', status: 'Failed' },
      { runId: 'ca1', status: 'Succeeded' },
    ]);
    expect(azJson('acr', 'show', '-n', REG, '--query', '{bypass: networkRuleBypassOptions, public: publicNetworkAccess}')).toEqual({ bypass: 'None', public: 'Disabled' });
    expect(roleAssignmentsOfPrincipal()).toHaveLength(1);
  });

  it("never touched the user's ~/.azure", () => {
    expect(existsSync(join(home, '.azure'))).toBe(false);
    expect(existsSync(join(dir, 'azure-cli', 'azureProfile.json'))).toBe(true);
  });
});
