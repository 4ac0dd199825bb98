/**
 * Issue 13 §4 in a real terminal: when the bypass cannot be used — its write refused by an Azure
 * Policy or by the caller's role (the sim's `--faults` by ARM code), or declined at the question
 * that comes before it — the wizard offers a dedicated agent pool, with the trade-off, asks its
 * name and subnet (picked among the subnets of the registry's private endpoints, or typed), and
 * goes on with it to a successful run with both bypass switches off.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoSubnetId } from '../../src/sim/scenarios.js';
import { cli, registryNamed, simCloud, withServedSim } from '../cli/helpers.js';
import { binaryInTmux, type BinaryInTerminal } from './helpers.js';

const ANSWERS = ['--goal', 'demo', '--subscription', '6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c', '--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo', '--target-registry', 'acrtrustdemo', '--task', 'acr-trust-task', '--role', 'AcrPush'];
const BYPASS_QUESTION = /\? allow-trusted-services is about to set networkRuleBypassOptions to AzureServices on acrtrustdemo \(now None\)\.[\s\S]*What it opens: The bypass lets any ACR task[\s\S]*Turn the bypass on\? \(Y\/n\)/;
const OFFER = /Run the task on a dedicated agent pool instead of the bypass\? \(y\/N\)/;

let term: BinaryInTerminal | undefined;
afterEach(async () => {
  await term?.kill();
  term = undefined;
});

/** Answers the offer with yes, keeps the suggested pool name, and picks the private endpoint's subnet from the list. */
async function acceptOfferWithListedSubnet(t: BinaryInTerminal): Promise<string> {
  const offer = await t.waitForText(OFFER, 20_000);
  await t.type('y');
  await t.sendKeys('Enter');
  await t.waitForText(/\? Agent pool name .*acrtrustpool/);
  await t.sendKeys('Enter');
  await t.waitForText(`❯ ${demoSubnetId('endpoints')}`);
  await t.sendKeys('Enter');
  return offer;
}

describe('the agent pool offered in a terminal', () => {
  it.each([
    ['RequestDisallowedByPolicy', 'an Azure Policy denies the bypass'],
    ['AuthorizationFailed', 'you may not change this switch'],
  ])('after %s on the bypass write: the offer, the pool from the endpoint’s subnet, the run through it', async (code, why) => {
    await withServedSim(
      async (sim) => {
        const t = (term = await binaryInTmux(['run', '--target', 'sim', '--endpoint', sim.endpoint, '--ca', sim.caCertFile, '--workdir', 'wd', ...ANSWERS]));
        await t.waitForText(BYPASS_QUESTION, 20_000);
        await t.sendKeys('Enter'); // yes: the default
        const offer = (await acceptOfferWithListedSubnet(t)).replace(/\s+/g, ' '); // the question wraps at the terminal's width
        expect(offer).toContain(`allow-trusted-services was refused [${code}]: ${why} — waiting will not change that.`);
        expect(offer).toMatch(/billed per instance hour on top of the registry/);
        expect(offer).toMatch(/it needs the Premium SKU/);
        expect(offer).toMatch(/in some regions only/);
        expect(offer).toMatch(/AzureKeyVault, Storage, EventHub, AzureActiveDirectory and AzureMonitor/);
        expect(await t.waitForExit(60_000)).toBe(0);
        const screen = await t.scrollback();
        expect(screen).toMatch(/✔ agent-pool /);
        expect(screen).toMatch(/run ca1 Succeeded on agent pool acrtrustpool with the task bypass off/);
        expect(screen).toContain('Agent-pool path: the task reaches acrtrustdemo through agent pool acrtrustpool');
        expect(screen).not.toMatch(/^\s+at /m);
        // The answer is kept for a replay: --yes --answers takes the pool path.
        expect(readFileSync(join(t.cwd, 'wd', 'answers.yaml'), 'utf8')).toMatch(/^agentPool: acrtrustpool$/m);
        const cloud = JSON.parse(readFileSync(sim.stateFile, 'utf8'));
        expect(registryNamed(cloud, 'acrtrustdemo').properties).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: false });
        expect(Object.values(cloud.agentPools).map((p: any) => [p.name, p.properties.virtualNetworkSubnetResourceId])).toEqual([['acrtrustpool', demoSubnetId('endpoints')]]);
      },
      ['--scenario', 'private-endpoint', '--faults', `${code}=1,routes=registries.update`],
    );
  }, 90_000);

  it('declining the bypass leads to the offer; declining that too stops the run with nothing changed; the next time, yes and a typed subnet', async () => {
    const args = ['run', '--target', 'sim', '--sim-scenario', 'private-endpoint', '--sim-speed', 'instant', '--workdir', 'wd', ...ANSWERS];
    let t = (term = await binaryInTmux(args));
    await t.waitForText(BYPASS_QUESTION, 20_000);
    await t.type('n');
    await t.sendKeys('Enter');
    const offer = (await t.waitForText(OFFER, 20_000)).replace(/\s+/g, ' ');
    expect(offer).toContain('You declined the bypass (allow-trusted-services). A dedicated agent pool reaches acrtrustdemo without it.');
    await t.sendKeys('Enter'); // no: the default
    expect(await t.waitForExit()).toBe(1);
    expect(await t.scrollback()).toContain('acr-trust: stopped at allow-trusted-services (blocked): not confirmed, so nothing was changed: set networkRuleBypassOptions to AzureServices on acrtrustdemo (now None)');
    const wd = join(t.cwd, 'wd');
    expect(registryNamed(simCloud(wd), 'acrtrustdemo').properties.networkRuleBypassOptions).toBe('None');
    expect(simCloud(wd).agentPools ?? {}).toEqual({});

    await t.kill();
    // The next time: yes to trusted services, no to the task bypass — then the pool.
    t = term = await binaryInTmux(['run', '--workdir', wd, '--sim-speed', 'instant']);
    await t.waitForText(BYPASS_QUESTION, 20_000);
    await t.sendKeys('Enter');
    await t.waitForText(/\? allow-task-bypass is about to set networkRuleBypassAllowedForTasks to true on acrtrustdemo \(now false\)\.[\s\S]*Turn the bypass on\? \(Y\/n\)/, 20_000);
    await t.type('n');
    await t.sendKeys('Enter');
    expect((await t.waitForText(OFFER, 20_000)).replace(/\s+/g, ' ')).toContain('You declined the bypass (allow-task-bypass).');
    await t.type('y');
    await t.sendKeys('Enter');
    await t.waitForText(/\? Agent pool name/);
    await t.type('buildpool');
    await t.sendKeys('Enter');
    await t.waitForText('Another subnet of that network (type its resource id)');
    await t.sendKeys('Down', 'Enter');
    await t.waitForText(/\? Subnet for the pool \(its resource id/);
    await t.type('vnet/tasks');
    expect(await t.waitForText('✗ a subnet is given by its resource id')).toBeTruthy();
    await t.sendKeys('C-u');
    await t.type(demoSubnetId('tasks'));
    await t.sendKeys('Enter');
    expect(await t.waitForExit(60_000)).toBe(0);
    const end = (await t.scrollback()).replace(/\s+/g, ' ');
    expect(end).toMatch(/run ca1 Succeeded on agent pool buildpool with the task bypass off \(networkRuleBypassAllowedForTasks = false, trusted services allowed\)/);
    // The switch the bypass path turned on before the change of path is said, not silently kept.
    expect(end).toContain('with no bypass switch turned on by acr-trust on this path (an earlier run on the bypass path applied allow-trusted-services; `acr-trust reset` restores the registry\'s original settings).');
    expect(registryNamed(simCloud(wd), 'acrtrustdemo').properties).toMatchObject({ networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false });
    const cloud = simCloud(wd);
    expect(Object.values(cloud.agentPools).map((p: any) => [p.name, p.properties.virtualNetworkSubnetResourceId])).toEqual([['buildpool', demoSubnetId('tasks')]]);
    expect(Object.values(cloud.tasks).map((x: any) => x.properties.agentPoolName)).toEqual(['buildpool']);
    // status agrees, from the saved answers.
    expect(cli(['status', '--workdir', wd]).stdout).toMatch(/^✓ agent-pool: holds — task acr-trust-task runs on agent pool buildpool/m);
  }, 120_000);
});
