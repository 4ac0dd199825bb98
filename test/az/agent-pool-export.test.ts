/**
 * Issue 13 §4: `acr-trust export` on the agent-pool path, run as written with Microsoft's Azure CLI
 * (Debian's 2.45 has `az acr agentpool` and `az acr task update --agent-pool`, both in preview).
 * The wizard walks the pool path against one `sim serve --scenario private-endpoint`; `export`
 * writes its script; bash runs it under `set -eu` against a fresh sim of the same scenario. Both
 * clouds must end the same: the pool in the subnet, the task on it, its run Succeeded — with both
 * bypass switches still off (the script's bypass and negative-test lines are comments).
 *
 * Debian's azure-cli 2.45 cannot run `az role assignment create` (Azure/azure-cli#24959): as in
 * export-script.test.ts, the test does what the script's comment says (the az rest line instead).
 * Skipped only when `az` is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSubnetId } from '../../src/sim/scenarios.js';
import { findAz, forThisAz, simCloudOf as cloudOf, tmp, wizardThenScriptSims, type Served } from './helpers.js';

const AZ = findAz();
const SKIP_REASON = 'az (the Azure CLI) is not installed; CI installs it with `apt-get install azure-cli`';
const SUBNET = demoSubnetId('tasks');

/** What the pool path leaves in a cloud, without ids and times that differ between two clouds. */
function outcome(cloud: any) {
  const registry = cloud.registries.find((r: any) => r.name === 'acrtrustdemo').properties;
  return {
    pools: (cloud.agentPools ?? []).map((p: any) => ({ name: p.name, tier: p.properties.tier, count: p.properties.count, subnet: p.properties.virtualNetworkSubnetResourceId, state: p.properties.provisioningState })),
    tasks: cloud.tasks.map((t: any) => ({ name: t.name, identity: t.identity?.type, agentPoolName: t.properties.agentPoolName, customRegistries: t.properties.credentials?.customRegistries })),
    registry: { publicNetworkAccess: registry.publicNetworkAccess, networkRuleBypassOptions: registry.networkRuleBypassOptions, networkRuleBypassAllowedForTasks: registry.networkRuleBypassAllowedForTasks },
    runs: cloud.runs.map((r: any) => ({ runId: r.properties.runId, status: r.properties.status, agentPoolName: r.properties.agentPoolName })),
  };
}

describe.skipIf(!AZ)(`the agent-pool path's exported script, run with the Azure CLI${AZ ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  let dir: string;
  let wizardSim: Served;
  let freshSim: Served;
  let exported: string;
  let env: NodeJS.ProcessEnv;
  let states = { wizard: '', fresh: '' };

  beforeAll(async () => {
    dir = tmp();
    ({ wizardSim, freshSim, states, exported, env } = await wizardThenScriptSims(dir, ['--scenario', 'private-endpoint'], ['--agent-pool', 'acrtrustpool', '--agent-pool-subnet', SUBNET]));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([wizardSim?.stop(), freshSim?.stop()]);
  });

  it('holds the pool’s two az lines and no active bypass line', () => {
    expect(exported).toContain(`\naz acr agentpool create -r acrtrustdemo -n acrtrustpool --tier S1 --subnet-id ${SUBNET}\n`);
    expect(exported).toContain('\naz acr task update -n acr-trust-task -r acrtrustdemo --agent-pool acrtrustpool\n');
    expect(exported).not.toMatch(/^az acr update -n acrtrustdemo --allow-trusted-services/m);
    expect(exported).not.toMatch(/^az resource update .*networkRuleBypassAllowedForTasks=true$/m);
  });

  it('runs to its end with bash under set -eu against a fresh sim: the run on the pool succeeds', () => {
    const az = (...args: string[]) => spawnSync(AZ!, args, { env, encoding: 'utf8', timeout: 60_000 });
    const { text } = forThisAz(exported, az, freshSim.line.subscriptionId);
    const work = join(dir, 'script');
    mkdirSync(work);
    writeFileSync(join(work, 'acr-trust.sh'), text);
    const r = spawnSync('bash', ['acr-trust.sh'], { cwd: work, env, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);
    expect(r.stdout).toMatch(/Run ID: ca1 was successful after/);
    expect(r.stdout).not.toContain('403 Forbidden');
  }, 360_000);

  it('leaves the fresh cloud as the wizard left its own: pool, task on it, run Succeeded, no bypass', async () => {
    await Promise.all([wizardSim.stop(), freshSim.stop()]);
    const wizard = outcome(cloudOf(states.wizard));
    expect(wizard).toEqual({
      pools: [{ name: 'acrtrustpool', tier: 'S1', count: 1, subnet: SUBNET, state: 'Succeeded' }],
      tasks: [{ name: 'acr-trust-task', identity: 'SystemAssigned', agentPoolName: 'acrtrustpool', customRegistries: { 'acrtrustdemo.azurecr.io': { identity: '[system]' } } }],
      registry: { publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: false },
      runs: [{ runId: 'ca1', status: 'Succeeded', agentPoolName: 'acrtrustpool' }],
    });
    expect(outcome(cloudOf(states.fresh))).toEqual(wizard);
  });
});
