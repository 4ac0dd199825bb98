/**
 * docs/training.md's doctor exercise, as written: `acr-trust sim serve` in its own process, the
 * Azure CLI (Debian's az 2.45) sets the article's workflow up and breaks it on purpose, and
 * `acr-trust doctor` finds each cause and its fix; `doctor --fix --yes` repairs the last one.
 * Skipped only when `az` is not installed (CI installs Debian's azure-cli).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../cli/helpers.js';
import { acrTrust, cleanEnv, findAz, serve, tmp, type Served } from '../az/helpers.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';

const AZ = findAz();
const SKIP_REASON = 'az (the Azure CLI) is not installed; CI installs it with `apt-get install azure-cli`';
const RG = 'acr-trust-demo';
const REG = 'acrtrustdemo';
const TASK = 'hello-task';
const LOGIN_SERVER = 'acrtrustdemo.azurecr.io';

describe.skipIf(!AZ)(`the training exercise: break it, find the cause with acr-trust doctor${AZ ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  let dir: string;
  let sim: Served;
  let env: NodeJS.ProcessEnv;

  const az = (...args: string[]) => {
    const r = spawnSync(AZ!, args, { env, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const azOk = (...args: string[]): any => {
    const r = az(...args);
    if (r.status !== 0) throw new Error(`az ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  };
  /** The exercise's `doctor` shell function. */
  const doctor = (...args: string[]) =>
    acrTrust(
      ['doctor', '--target', 'sim', '--endpoint', sim.line.endpoint, '--ca', sim.line.caCertFile, '--resource-group', RG, '--registry', REG, '--task', TASK, '--workdir', join(dir, 'w'), ...args],
      { ...cleanEnv(), NO_COLOR: '1' },
    );

  beforeAll(async () => {
    dir = tmp();
    const state = join(dir, 'sim-cloud.json');
    sim = await serve(['--state', state]);
    const prepared = acrTrust(['sim', 'az-env', '--state', state, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
    if (prepared.status !== 0) throw new Error(`sim az-env exited ${prepared.status}: ${prepared.stderr}`);
    env = cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: dir });
    // The article's workflow (docs/training.md, steps 1–6), with az alone.
    const task = azOk('acr', 'task', 'create', '-n', TASK, '-r', REG, '--cmd', '$Registry/hello-world', '--context', '/dev/null', '--assign-identity', '--auth-mode', 'None');
    const registryId = azOk('acr', 'show', '-n', REG, '--query', 'id');
    const body = { properties: { roleDefinitionId: roleDefinitionId(sim.line.subscriptionId, ROLE_GUIDS.AcrPush), principalId: task.identity.principalId, principalType: 'ServicePrincipal' } };
    azOk('rest', '--method', 'put', '--url', `${registryId}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, '--body', JSON.stringify(body));
    azOk('acr', 'task', 'credential', 'add', '-n', TASK, '-r', REG, '--login-server', LOGIN_SERVER, '--use-identity', '[system]');
    azOk('acr', 'update', '-n', REG, '--public-network-enabled', 'false');
    azOk('resource', 'update', '--namespace', 'Microsoft.ContainerRegistry', '--resource-type', 'registries', '-n', REG, '-g', RG, '--api-version', '2025-06-01-preview', '--set', 'properties.networkRuleBypassAllowedForTasks=true');
    expect(az('acr', 'task', 'run', '-n', TASK, '-r', REG).status).toBe(0);
  }, 120_000);

  afterAll(async () => {
    expect(await sim?.stop()).toBe(0);
  });

  it('healthy after the workflow: the pull goes through the bypass', () => {
    const r = doctor();
    expect(r.stderr).toBe('');
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toContain(`✓ pull ${LOGIN_SERVER}/hello-world: allowed (through the trusted-services bypass for tasks)`);
  });

  it('1. trusted services off: the run fails; the doctor names the switch, the az fix and the step, and agrees with the run', () => {
    azOk('acr', 'update', '-n', REG, '--allow-trusted-services', 'false');
    const run = az('acr', 'task', 'run', '-n', TASK, '-r', REG);
    expect(run.stdout + run.stderr).toMatch(/exchange API response code: 403 Forbidden/);
    const r = doctor();
    expect(r.status).toBe(3);
    expect(r.stdout).toContain(`✗ pull ${LOGIN_SERVER}/hello-world: refused`);
    expect(r.stdout).toMatch(/trusted services are not allowed on it \(networkRuleBypassOptions = None\)/);
    expect(r.stdout).toContain(`az acr update -n ${REG} --allow-trusted-services true`);
    expect(r.stdout).toMatch(/fix \(acr-trust\): acr-trust run --only allow-trusted-services/);
    expect(r.stdout).toMatch(/Last run ca2: Failed — .*403 Forbidden\n\s+agrees with the prediction\./);
  });

  it('2. the printed az fix: healthy again, and the failed run is named as older than the fix', () => {
    azOk('acr', 'update', '-n', REG, '--allow-trusted-services', 'true');
    const r = doctor();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/disagrees: .*every access is allowed now/);
  });

  it('3. the credential removed: no-system-credential in --json; doctor --fix --yes adds it back as the workflow step', () => {
    azOk('acr', 'task', 'credential', 'remove', '-n', TASK, '-r', REG, '--login-server', LOGIN_SERVER);
    const r = doctor('--json');
    expect(r.status).toBe(3);
    const access = jsonLines(r.stdout).find((o) => o.type === 'access');
    expect(access).toMatchObject({ access: `pull ${LOGIN_SERVER}/hello-world`, verdict: 'refused', cause: 'no-system-credential' });
    const fixed = doctor('--fix', '--yes');
    expect(fixed.stderr).toBe('');
    expect(fixed.status).toBe(0);
    expect(azOk('acr', 'task', 'credential', 'list', '-n', TASK, '-r', REG)).toMatchObject({ [LOGIN_SERVER]: { identity: '[system]' } });
  });
});
