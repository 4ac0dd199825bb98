/**
 * `acr-trust export`'s script, run as written with Microsoft's Azure CLI: the wizard walks the
 * workflow against one `sim serve`, `export` writes its script, and bash runs that script — in the
 * environment `acr-trust sim az-env` prepares, under `set -eu` — against a FRESH sim. Both clouds
 * must end the same: the task with a system identity and loginMode None, holding exactly the YAML
 * the wizard sends; the role on the registry; the `[system]` credential; trusted services off
 * again, the task bypass on, public access disabled; a first run that succeeded and a second that
 * the network rules refused.
 *
 * Skipped only when `az` is not installed (CI installs Debian's azure-cli).
 *
 * Two documented differences, both written in the script's comments:
 * - Debian's azure-cli 2.45 package cannot run `az role assignment create` against any cloud (it
 *   fails before sending a request: "'RoleAssignmentsOperations' object has no attribute 'config'",
 *   Azure/azure-cli#24959). The script keeps that command for current CLIs and, commented out, the
 *   same ARM call with `az rest`; with the broken CLI (found by a read-only probe) the test does
 *   what the comment says: comment the one out and the other in.
 * - `az acr update --public-network-enabled false` also sets the firewall's default action to Deny
 *   (azure-cli's _configure_public_network_access); the wizard changes only public access. With
 *   public access disabled the firewall no longer applies, so the clouds are compared without it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAz, forThisAz, simCloudOf as cloudOf, ROLE_CREATE, ROLE_REST, tmp, wizardThenScriptSims, type Served } from './helpers.js';
import { ROLE_GUIDS } from '../../src/model/roles.js';

const AZ = findAz();
const SKIP_REASON = 'az (the Azure CLI) is not installed; CI installs it with `apt-get install azure-cli`';
if (!AZ) console.warn(`test/az/export-script.test.ts skipped: ${SKIP_REASON}.`);


/** What the workflow leaves in a cloud, without the ids, names and times that differ between two clouds. */
function outcome(cloud: any) {
  const principals = new Set(cloud.tasks.map((t: any) => t.identity?.principalId));
  const registry = cloud.registries.find((r: any) => r.name === 'acrtrustdemo').properties;
  return {
    tasks: cloud.tasks.map((t: any) => ({
      name: t.name,
      identity: t.identity?.type,
      loginMode: t.properties.credentials?.sourceRegistry?.loginMode,
      customRegistries: t.properties.credentials?.customRegistries,
      yaml: Buffer.from(t.properties.step.encodedTaskContent, 'base64').toString('utf8'),
    })),
    roleAssignments: cloud.roleAssignments
      .filter((a: any) => principals.has(a.properties.principalId))
      .map((a: any) => ({ role: a.properties.roleDefinitionId.split('/').pop(), scope: a.properties.scope, principalType: a.properties.principalType })),
    registry: {
      publicNetworkAccess: registry.publicNetworkAccess,
      networkRuleBypassOptions: registry.networkRuleBypassOptions,
      networkRuleBypassAllowedForTasks: registry.networkRuleBypassAllowedForTasks,
    },
    runs: cloud.runs
      .map((r: any) => ({ runId: r.properties.runId, status: r.properties.status, task: r.properties.task }))
      .sort((a: any, b: any) => a.runId.localeCompare(b.runId)),
  };
}

describe.skipIf(!AZ)(`the exported script, run with the Azure CLI${AZ ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  let dir: string;
  let wizardSim: Served;
  let freshSim: Served;
  let exported: string;
  let env: NodeJS.ProcessEnv;
  let states = { wizard: '', fresh: '' };

  const az = (...args: string[]) => {
    const r = spawnSync(AZ!, args, { env, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  beforeAll(async () => {
    dir = tmp();
    ({ wizardSim, freshSim, states, exported, env } = await wizardThenScriptSims(dir, [], []));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([wizardSim?.stop(), freshSim?.stop()]);
  });

  it('holds the role command for current CLIs and, commented out, the az rest call for Debian’s 2.45', () => {
    expect(exported).toMatch(ROLE_CREATE);
    expect(exported).toMatch(ROLE_REST);
    expect(exported).toContain('Azure/azure-cli#24959');
  });

  it('runs to its end with bash under set -eu against a fresh sim', () => {
    // Read-only: a CLI with Debian's packaging bug fails before sending anything; then the script's comment is followed.
    const { text, debian } = forThisAz(exported, az, freshSim.line.subscriptionId);
    if (debian) {
      expect(text).not.toMatch(ROLE_CREATE);
      expect(text).toMatch(/^az rest --method put /m);
    }
    const work = join(dir, 'script');
    mkdirSync(work);
    writeFileSync(join(work, 'acr-trust.sh'), text);
    const r = spawnSync('bash', ['acr-trust.sh'], { cwd: work, env, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);
    // The file az acr task create read has no version line: the CLI puts one in front of it.
    expect(readFileSync(join(work, 'acr-trust-task.yaml'), 'utf8')).not.toMatch(/^version:/m);
    expect(r.stdout).toMatch(/Run ID: ca1 was successful after/);
    expect(r.stdout).toContain('failed to get ACR refresh token, exchange API response code: 403 Forbidden');
    expect(r.stdout).toContain('The run failed, as expected: denied by the network rules');
  }, 360_000);

  it("leaves the fresh cloud as the wizard left its own", async () => {
    // Stopped, each sim has written its whole state.
    await Promise.all([wizardSim.stop(), freshSim.stop()]);
    const wizard = cloudOf(states.wizard);
    const script = cloudOf(states.fresh);
    const expected = {
      tasks: [{ name: 'acr-trust-task', identity: 'SystemAssigned', loginMode: 'None', customRegistries: { 'acrtrustdemo.azurecr.io': { identity: '[system]' } }, yaml: expect.stringMatching(/^version: v1\.1\.0\nsteps:\n/) }],
      roleAssignments: [{ role: ROLE_GUIDS.AcrPush, scope: wizard.registries[0].id, principalType: 'ServicePrincipal' }],
      registry: { publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: true },
      runs: [
        { runId: 'ca1', status: 'Succeeded', task: 'acr-trust-task' },
        { runId: 'ca2', status: 'Failed', task: 'acr-trust-task' },
      ],
    };
    expect(outcome(wizard)).toEqual(expected);
    expect(outcome(script)).toEqual(outcome(wizard));
    // The one difference: az acr update set the firewall's default action too (see above).
    const firewall = (cloud: any) => cloud.registries[0].properties.networkRuleSet.defaultAction;
    expect({ wizard: firewall(wizard), script: firewall(script) }).toEqual({ wizard: 'Allow', script: 'Deny' });
  });
});
