/**
 * Issue 13 §4, the wizard side: the agent-pool path through the real binary against the simulated
 * Azure — the task reaches a closed registry on a dedicated agent pool in its private endpoint's
 * network with both bypass switches off; reset undoes the pool and the task change; a bypass write
 * refused by policy or by the caller's role names the pool alternative (the exact command, which
 * then works); a non-Premium task registry, a pool without a subnet, a registry without a private
 * endpoint are refused before anything changes; --dry-run and export print the az lines.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoSubnetId } from '../../src/sim/scenarios.js';
import { cli, expectNoStack, registryNamed, simCloud, tempDir, withServedSim } from './helpers.js';

const TASKS_SUBNET = demoSubnetId('tasks');
const ENDPOINT_SUBNET = demoSubnetId('endpoints');
const POOL_FLAGS = ['--agent-pool', 'acrtrustpool', '--agent-pool-subnet', TASKS_SUBNET];
const SIM = ['--target', 'sim', '--sim-scenario', 'private-endpoint', '--sim-speed', 'instant'];

const pools = (cloud: any) => Object.values(cloud.agentPools ?? {}) as any[];
const tasks = (cloud: any) => Object.values(cloud.tasks) as any[];

describe('the agent-pool path', () => {
  it('reaches the closed registry on a pool in its private endpoint’s network with both bypass switches off; status, verify, replay; reset undoes the pool and the task', () => {
    const wd = join(tempDir(), 'wd');
    const run = cli(['run', '--yes', ...SIM, ...POOL_FLAGS, '--workdir', wd]);
    expectNoStack(run);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^agent-pool +applied .*task acr-trust-task runs on agent pool acrtrustpool/m);
    for (const id of ['allow-trusted-services', 'allow-task-bypass']) expect(run.stdout).toMatch(new RegExp(`^${id} +skipped +not on the agent-pool path`, 'm'));
    for (const id of ['disable-trusted-services', 'confirm-denied']) expect(run.stdout).toMatch(new RegExp(`^${id} +skipped +not on the agent-pool path: the negative test`, 'm'));
    expect(run.stdout).toMatch(/^ +✓ applied run ca1 Succeeded on agent pool acrtrustpool with the task bypass off \(networkRuleBypassAllowedForTasks = false, trusted services not allowed\): the private network let it in/m);
    expect(run.stdout).toContain('Finished: 7 step(s) hold (checked now), 5 changed by this run.');
    expect(run.stdout).toMatch(/Agent-pool path: the task reaches acrtrustdemo through agent pool acrtrustpool's network, with no\s+bypass switch/);
    expect(run.stdout).toMatch(/The negative test \(part of --goal demo\) does not apply here/);

    // The cloud as the run left it: closed, no bypass switch on, the pool in the subnet, the task on it, its run Succeeded.
    const cloud = simCloud(wd);
    const registry = registryNamed(cloud, 'acrtrustdemo');
    expect(registry.properties).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: false });
    expect(pools(cloud).map((p) => [p.name, p.properties.tier, p.properties.virtualNetworkSubnetResourceId])).toEqual([['acrtrustpool', 'S1', TASKS_SUBNET]]);
    expect(tasks(cloud).map((t) => t.properties.agentPoolName)).toEqual(['acrtrustpool']);
    const shown = JSON.parse(cli(['sim', 'show', '--state', join(wd, 'sim-cloud.json'), '--json']).stdout);
    expect(shown.runs.map((r: any) => [r.properties.runId, r.properties.status, r.properties.agentPoolName])).toEqual([['ca1', 'Succeeded', 'acrtrustpool']]);

    // The answer is saved: status/verify see the pool path; the other path's steps are listed as not applying.
    expect(readFileSync(join(wd, 'answers.yaml'), 'utf8')).toMatch(/^agentPool: acrtrustpool$[\s\S]*^agentPoolSubnet: \/subscriptions\/.*\/subnets\/tasks$[\s\S]*^agentPoolTier: S1$/m);
    const status = cli(['status', '--workdir', wd]);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^✓ agent-pool: holds — task acr-trust-task runs on agent pool acrtrustpool \(S1, 1 instance\(s\)/m);
    expect(status.stdout).toMatch(/^- allow-task-bypass: does not apply — not on the agent-pool path/m);
    expect(status.stdout).toContain('All 7 steps hold.');
    expect(cli(['verify', '--workdir', wd]).status).toBe(0);
    const json = cli(['status', '--json', '--workdir', wd]);
    const summary = json.stdout.trim().split('\n').map((l) => JSON.parse(l)).at(-1);
    expect(summary.notApplying.map((n: any) => n.id)).toEqual(['allow-trusted-services', 'allow-task-bypass', 'disable-trusted-services', 'confirm-denied']);

    // Replayed unattended from the saved answers, in a new workdir (a new cloud): the same path.
    const replay = cli(['run', '--yes', '--answers', join(wd, 'answers.yaml'), '--workdir', join(tempDir(), 'replay'), '--sim-speed', 'instant']);
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/^agent-pool +applied /m);

    // reset: the task off the pool and deleted, the pool (acr-trust's) deleted, the registry as it was.
    const reset = cli(['reset', '--yes', '--workdir', wd]);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/^ +✓ undone task acr-trust-task back on Azure's shared agents; deleted agent pool acrtrustpool \(created by acr-trust\)/m);
    const after = simCloud(wd);
    expect(pools(after)).toEqual([]);
    expect(tasks(after)).toEqual([]);
    expect(registryNamed(after, 'acrtrustdemo').properties).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: false });
  }, 60_000);

  it('--dry-run and export print the pool’s az lines (and, on the bypass path, export keeps them as the commented alternative)', () => {
    const dry = cli(['run', '--dry-run', ...SIM, ...POOL_FLAGS, '--workdir', join(tempDir(), 'wd')]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`az acr agentpool create -r acrtrustdemo -n acrtrustpool --tier S1 --subnet-id ${TASKS_SUBNET}`);
    expect(dry.stdout).toContain('az acr task update -n acr-trust-task -r acrtrustdemo --agent-pool acrtrustpool');
    expect(dry.stdout).not.toContain('networkRuleBypassAllowedForTasks=true');

    const script = cli(['export', '--target', 'sim', ...POOL_FLAGS, '--agent-pool-tier', 'S2']).stdout;
    expect(script).toMatch(/^# Answers: .*agent pool acrtrustpool \(S2\) — the agent-pool path: no bypass switch is turned on\.$/m);
    expect(script).toMatch(new RegExp(`^# 5\\. agent-pool: .*\\naz acr agentpool create -r acrtrustdemo -n acrtrustpool --tier S2 --subnet-id ${TASKS_SUBNET}\\naz acr task update -n acr-trust-task -r acrtrustdemo --agent-pool acrtrustpool$`, 'm'));
    expect(script).toMatch(/^# 7\. allow-task-bypass: .* — not on the agent-pool path.*\n#   az resource update .*networkRuleBypassAllowedForTasks=true$/m);
    expect(script).toMatch(/^# 10\. disable-trusted-services: .* — not on the agent-pool path: the negative test/m);
    // No az command of the bypass or the negative test is left active.
    expect(script.split('\n').filter((l) => /^az .*(--allow-trusted-services|networkRuleBypassAllowedForTasks=)/.test(l))).toEqual([]);

    const bypass = cli(['export', '--target', 'sim']).stdout;
    expect(bypass).toMatch(/^# 5\. agent-pool: .* — not used: the task reaches the registry through the bypass.*\n#   az acr agentpool create -r acrtrustdemo -n acrtrustpool --tier S1 --subnet-id '<SUBNET_RESOURCE_ID>'\n#   az acr task update -n acr-trust-task -r acrtrustdemo --agent-pool acrtrustpool$/m);
    expect(bypass).toMatch(/^az resource update .*networkRuleBypassAllowedForTasks=true$/m);
  });

  it('refuses before anything changes: a non-Premium task registry, a new pool without a subnet, a registry without a private endpoint, pool flags without --agent-pool', () => {
    // The task's registry Basic, the target Premium: the pool belongs to the task's registry.
    const wd = join(tempDir(), 'wd');
    expect(cli(['run', '--yes', '--target', 'sim', '--sim-scenario', 'two-registries', '--sim-speed', 'instant', '--only', 'preflight', '--workdir', wd]).status).toBe(0);
    const cloud = simCloud(wd);
    registryNamed(cloud, 'acrtrustdemo').sku = { name: 'Basic', tier: 'Basic' };
    writeFileSync(join(wd, 'sim-cloud.json'), JSON.stringify(cloud));
    const basic = cli(['run', '--yes', '--workdir', wd, ...POOL_FLAGS]);
    expectNoStack(basic);
    expect(basic.status).toBe(1);
    expect(basic.stderr).toContain('stopped at preflight (blocked): Registry acrtrustdemo is Basic: dedicated agent pools need the Premium SKU');
    expect(basic.stderr).toContain('az acr update -n acrtrustdemo --sku Premium');
    expect(simCloud(wd).tasks).toEqual({});

    const noSubnet = cli(['run', '--yes', ...SIM, '--agent-pool', 'newpool', '--workdir', join(tempDir(), 'wd')]);
    expect(noSubnet.status).toBe(1);
    expect(noSubnet.stderr).toContain('stopped at preflight (blocked): Agent pool newpool does not exist yet, and no subnet was given to create it in.');
    expect(noSubnet.stderr).toContain(`Give --agent-pool-subnet with a subnet in the network of acrtrustdemo's private endpoint, e.g. ${ENDPOINT_SUBNET}`);

    const noEndpointDir = join(tempDir(), 'wd');
    const noEndpoint = cli(['run', '--yes', '--target', 'sim', '--sim-speed', 'instant', ...POOL_FLAGS, '--workdir', noEndpointDir]);
    expect(noEndpoint.status).toBe(1);
    expect(noEndpoint.stderr).toContain('stopped at preflight (blocked): Registry acrtrustdemo has no approved private endpoint');
    expect(simCloud(noEndpointDir).tasks).toEqual({});

    // A subnet in a network without the registry's endpoint: a warning at agent-pool, then the run is
    // refused and the explanation names the pool's network — not the bypass, which this path does not use.
    const otherVnet = TASKS_SUBNET.replace('/acr-vnet/', '/other-vnet/');
    const elsewhere = cli(['run', '--yes', ...SIM, '--agent-pool', 'otherpool', '--agent-pool-subnet', otherVnet, '--workdir', join(tempDir(), 'wd')]);
    expectNoStack(elsewhere);
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stdout).toContain(`subnet ${otherVnet} is not in the virtual network of acrtrustdemo's private endpoints`);
    expect(elsewhere.stderr).toContain('stopped at run-task (failed)');
    expect(elsewhere.stderr).toContain('the settings show why: the task runs on agent pool otherpool in virtual network other-vnet, and acrtrustdemo has no approved private endpoint in that network (its endpoints are in acr-vnet), so the pool has no way in; waiting will not change that');
    expect(elsewhere.stderr).toContain('Fix: az network private-endpoint create -g acr-trust-demo -n acrtrustdemo-pe --vnet-name other-vnet');
    expect(elsewhere.stderr).not.toMatch(/allow-trusted-services true|networkRuleBypassAllowedForTasks=true|Since 1 June 2025/);

    const stray = cli(['run', '--yes', ...SIM, '--agent-pool-subnet', TASKS_SUBNET]);
    expect(stray.status).toBe(2);
    expect(stray.stderr).toContain('--agent-pool-subnet says how to build an agent pool, but no agent pool was named.');
    const badSubnet = cli(['run', '--yes', ...SIM, '--agent-pool', 'pool1', '--agent-pool-subnet', 'tasks']);
    expect(badSubnet.status).toBe(2);
    expect(badSubnet.stderr).toContain('"tasks" is not a valid agent pool subnet: a subnet is given by its resource id');
  }, 60_000);

  it('a new pool without a subnet is refused by preflight with nothing changed; the command it prints (with the subnet) completes', () => {
    const cwd = tempDir();
    const wd = join(cwd, 'wd');
    const refused = cli(['run', ...SIM, '--agent-pool', 'acrtrustpool', '--yes', '--workdir', wd], { cwd });
    expectNoStack(refused);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('stopped at preflight (blocked): Agent pool acrtrustpool does not exist yet, and no subnet was given to create it in.');
    expect(refused.stdout).toContain('✗ blocked Agent pool acrtrustpool does not exist yet, and no subnet was given to create it in. [AgentPoolSubnetMissing]');
    expect(refused.stdout).toMatch(/^create-task +not run/m);
    // The cloud as it was: no task, no role assignment, no pool, the registry untouched.
    const cloud = simCloud(wd);
    const fresh = join(cwd, 'fresh');
    expect(cli(['run', '--yes', ...SIM, '--only', 'preflight', '--workdir', fresh]).status).toBe(0);
    expect(tasks(cloud)).toEqual([]);
    expect(Object.keys(cloud.roleAssignments)).toEqual(Object.keys(simCloud(fresh).roleAssignments));
    expect(pools(cloud)).toEqual([]);
    const network = (c: any) => {
      const { publicNetworkAccess, networkRuleBypassOptions, networkRuleBypassAllowedForTasks, networkRuleSet } = registryNamed(c, 'acrtrustdemo').properties;
      return { publicNetworkAccess, networkRuleBypassOptions, networkRuleBypassAllowedForTasks, networkRuleSet };
    };
    expect(network(cloud)).toEqual(network(simCloud(fresh)));
    // The follow-up command names the endpoint's subnet; run as printed, it completes on the pool path.
    const command = /Then run `(acr-trust run [^`]+)` again/.exec(refused.stderr)?.[1];
    expect(command).toBe(`acr-trust run ${SIM.join(' ')} --agent-pool acrtrustpool --yes --workdir ${wd} --agent-pool-subnet ${ENDPOINT_SUBNET}`);
    const pooled = cli(command!.split(' ').slice(1), { cwd });
    expect(pooled.status, pooled.stderr).toBe(0);
    expect(pooled.stdout).toMatch(/^ +✓ applied run ca1 Succeeded on agent pool acrtrustpool with the task bypass off/m);
    expect(pools(simCloud(wd)).map((p) => p.properties.virtualNetworkSubnetResourceId)).toEqual([ENDPOINT_SUBNET]);
  }, 60_000);

  it('an existing pool in another subnet is refused by preflight, before the task is created', () => {
    const wd = join(tempDir(), 'wd');
    expect(cli(['run', '--yes', ...SIM, '--only', 'preflight', '--workdir', wd]).status).toBe(0);
    // A pool acr-trust did not create, in the tasks subnet; the run asks for it in the endpoints subnet.
    const cloud = simCloud(wd);
    const registry = registryNamed(cloud, 'acrtrustdemo');
    const id = `${registry.id}/agentPools/acrtrustpool`;
    cloud.agentPools = { [id.toLowerCase()]: { id, name: 'acrtrustpool', type: 'Microsoft.ContainerRegistry/registries/agentPools', location: registry.location, properties: { tier: 'S1', count: 1, os: 'Linux', virtualNetworkSubnetResourceId: TASKS_SUBNET, provisioningState: 'Succeeded' } } };
    writeFileSync(join(wd, 'sim-cloud.json'), JSON.stringify(cloud));
    const refused = cli(['run', '--yes', '--workdir', wd, '--agent-pool', 'acrtrustpool', '--agent-pool-subnet', ENDPOINT_SUBNET]);
    expectNoStack(refused);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`stopped at preflight (blocked): Agent pool acrtrustpool exists in subnet ${TASKS_SUBNET}, not in ${ENDPOINT_SUBNET} as asked`);
    expect(tasks(simCloud(wd))).toEqual([]);
    // The command to run again uses the pool as it is (its subnet in place of the one asked); it completes.
    const command = /Then run `(acr-trust run [^`]+)` again/.exec(refused.stderr)?.[1];
    expect(command).toBe(`acr-trust run --yes --workdir ${wd} --agent-pool acrtrustpool --agent-pool-subnet ${TASKS_SUBNET}`);
    const adopted = cli(command!.split(' ').slice(1));
    expect(adopted.status, adopted.stderr).toBe(0);
    expect(tasks(simCloud(wd)).map((t) => t.properties.agentPoolName)).toEqual(['acrtrustpool']);
  }, 60_000);

  it.each(['RequestDisallowedByPolicy', 'AuthorizationFailed', 'LinkedAuthorizationFailed'])(
    'a bypass write refused with %s names the pool alternative — the exact command, which then reaches the registry',
    async (code) => {
      await withServedSim(
        async (sim) => {
          const cwd = tempDir();
          const where = ['--target', 'sim', '--endpoint', sim.endpoint, '--ca', sim.caCertFile];
          const refused = cli(['run', '--yes', ...where], { cwd });
          expectNoStack(refused);
          expect(refused.status).toBe(1);
          expect(refused.stderr).toContain(`acr-trust: stopped at allow-trusted-services (failed): Could not update networkRuleBypassOptions on registry acrtrustdemo`);
          expect(refused.stderr).toContain(`(${code})`);
          const command = /`(acr-trust run --agent-pool acrtrustpool --agent-pool-subnet [^`]+)`/.exec(refused.stderr)?.[1];
          expect(command).toBe(`acr-trust run --agent-pool acrtrustpool --agent-pool-subnet ${ENDPOINT_SUBNET}`);
          expect(refused.stderr).toContain(`az acr agentpool create -r acrtrustdemo -n acrtrustpool --tier S1 --subnet-id ${ENDPOINT_SUBNET}\` then \`az acr task update -n acr-trust-task -r acrtrustdemo --agent-pool acrtrustpool`);
          expect(refused.stderr).toMatch(/Pools cost per instance hour and need Premium/);
          // The command as printed (the workdir remembers the cloud), unattended: the pool path, no bypass write needed.
          const pooled = cli([...command!.split(' ').slice(1), '--yes'], { cwd });
          expect(pooled.status, pooled.stderr).toBe(0);
          expect(pooled.stdout).toMatch(/^ +✓ applied run ca1 Succeeded on agent pool acrtrustpool with the task bypass off/m);
          const cloud = JSON.parse(readFileSync(sim.stateFile, 'utf8'));
          expect(registryNamed(cloud, 'acrtrustdemo').properties).toMatchObject({ networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: false });
        },
        ['--scenario', 'private-endpoint', '--faults', `${code}=1,routes=registries.update`],
      );
    },
    60_000,
  );
});
