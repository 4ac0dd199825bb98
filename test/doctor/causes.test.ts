/**
 * `acr-trust doctor` tells the causes apart: each case breaks one thing on a simulated Azure built
 * through its own ARM API, runs the real binary against it, and checks the verdict, the cause
 * (`--json`), its evidence, the fix and the exit code. The healthy cases must say healthy (exit 0).
 */
import { describe, expect, it } from 'vitest';
import { cliAsync } from '../cli/helpers.js';
import { rawRequest } from '../helpers/sim.js';
import { CLOSED_WITH_BYPASS, RG, pullYaml, pushYaml, systemCredential, useDoctorBench } from './helpers.js';

const bench = useDoctorBench();

/** The refused access's causes, by access label. */
function causes(r: { accesses: any[] }): Record<string, string[]> {
  return Object.fromEntries(r.accesses.map((a) => [a.access, a.findings.map((f: any) => f.cause)]));
}

describe('acr-trust doctor: causes of a refused access, each told apart', () => {
  it('healthy: a closed registry with both switches, [system] credential and AcrPush: the bypass holds (exit 0)', async () => {
    const reg = await bench.registry('drhealthy01', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'healthy-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'healthy-task', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const push = r.accesses.find((a) => a.kind === 'push');
    expect(push).toMatchObject({ verdict: 'allowed', path: 'trusted-bypass', loginServer: reg.loginServer, cause: null });
    expect(r.summary).toMatchObject({ healthy: true, refused: 0 });
  });

  it('task bypass off (the June 2025 change): refused, says so, fix is allow-task-bypass (exit 3)', async () => {
    const reg = await bench.registry('drbypassoff1', { ...CLOSED_WITH_BYPASS, networkRuleBypassAllowedForTasks: false });
    const task = await bench.task(reg.name, 'bypass-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'bypass-task', '--json']);
    expect(r.status).toBe(3);
    const push = r.accesses.find((a) => a.kind === 'push');
    expect(push.verdict).toBe('refused');
    expect(push.cause).toBe('task-bypass-off');
    expect(push.findings[0].words).toMatch(/1 June 2025/);
    expect(push.findings[0].evidence).toContain('networkRuleBypassAllowedForTasks=false');
    expect(push.findings[0].fix.step).toBe('allow-task-bypass');
    expect(push.findings[0].fix.acrTrust).toMatch(/^acr-trust run --only allow-task-bypass .*--registry drbypassoff1/);
    expect(push.findings[0].fix.az.join('\n')).toMatch(/networkRuleBypassAllowedForTasks=true/);
    // The text form says the same, with the az line and the acr-trust step.
    const text = await bench.doctor(['--registry', reg.name, '--task', 'bypass-task']);
    expect(text.status).toBe(3);
    expect(text.stdout).toMatch(/✗ push drbypassoff1\.azurecr\.io\/app: refused/);
    expect(text.stdout).toMatch(/fix \(acr-trust\): acr-trust run --only allow-task-bypass/);

    // The printed step runs as printed (where the doctor looked: target, endpoint, CA, workdir),
    // and repairs it: the doctor then finds the task healthy.
    const line = /fix \(acr-trust\): (acr-trust run .*)$/m.exec(text.stdout)![1]!;
    expect(line).toContain(`--workdir ${text.workdir}`);
    const words = line.split(' ').slice(1); // no word here needs quoting: names, ids and temp paths
    const fixed = await cliAsync([...words, '--yes']);
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/^allow-task-bypass +applied /m);
    expect((await bench.doctor(['--registry', reg.name, '--task', 'bypass-task', '--json'])).status).toBe(0);
  });

  it('trusted services off: refused, fix is allow-trusted-services', async () => {
    const reg = await bench.registry('drtrustoff01', { ...CLOSED_WITH_BYPASS, networkRuleBypassOptions: 'None' });
    const task = await bench.task(reg.name, 'trust-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'trust-task', '--json']);
    expect(r.status).toBe(3);
    expect(causes(r)[`push ${reg.loginServer}/app`]).toEqual(['trusted-services-off']);
    expect(r.accesses[0].findings[0].fix.az).toEqual([`az acr update -n ${reg.name} --allow-trusted-services true`]);
  });

  it('an IP firewall with no rule for the Tasks agents and no bypass: the firewall is named, both switches are causes', async () => {
    const reg = await bench.registry('drfirewall01', {
      publicNetworkAccess: 'Enabled',
      networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '203.0.113.7' }] },
      networkRuleBypassOptions: 'None',
      networkRuleBypassAllowedForTasks: false,
    });
    const task = await bench.task(reg.name, 'firewall-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'firewall-task', '--json']);
    expect(r.status).toBe(3);
    const push = r.accesses.find((a) => a.kind === 'push');
    expect(push.findings.map((f: any) => f.cause).sort()).toEqual(['task-bypass-off', 'trusted-services-off']);
    expect(push.findings[0].words).toMatch(/firewall denies by default and no IP rule admits/);
    expect(push.findings[0].evidence).toContain('ipRules=203.0.113.7');
  });

  it('no identity: the [system] credential names an identity the task does not have', async () => {
    const reg = await bench.registry('drnoident01', CLOSED_WITH_BYPASS);
    await bench.task(reg.name, 'noident-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer), identity: { type: 'None' } });
    const r = await bench.doctor(['--registry', reg.name, '--task', 'noident-task', '--json']);
    expect(r.status).toBe(3);
    const push = r.accesses.find((a) => a.kind === 'push');
    expect(push.cause).toBe('no-identity');
    expect(push.findings[0].fix.az).toEqual([`az acr task identity assign -n noident-task -r ${reg.name}`]);
    expect(push.findings[0].fix.step).toBe('create-task');
  });

  it('only a user-assigned identity: never trusted', async () => {
    const reg = await bench.registry('druseronly01', CLOSED_WITH_BYPASS);
    const uai = `/subscriptions/${bench.sim.subscriptionId}/resourceGroups/acr-trust-demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder`;
    const first = await bench.task(reg.name, 'user-task', { yaml: pushYaml(reg.loginServer), identity: { type: 'UserAssigned', userAssignedIdentities: { [uai]: {} } } });
    const clientId = (Object.values((first as any).identity.userAssignedIdentities)[0] as any).clientId;
    const principalId = (Object.values((first as any).identity.userAssignedIdentities)[0] as any).principalId;
    await bench.task(reg.name, 'user-task', {
      yaml: pushYaml(reg.loginServer),
      identity: { type: 'UserAssigned', userAssignedIdentities: { [uai]: {} } },
      credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { [reg.loginServer]: { identity: clientId } } },
    });
    await bench.role(reg.id, 'AcrPush', principalId);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'user-task', '--json']);
    expect(r.status).toBe(3);
    expect(r.accesses.find((a) => a.kind === 'push').cause).toBe('user-assigned-only');
  });

  it('no [system] credential for the registry (loginMode None, nothing in customRegistries)', async () => {
    const reg = await bench.registry('drnocred0001', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'nocred-task', { yaml: pushYaml(reg.loginServer), credentials: { sourceRegistry: { loginMode: 'None' } } });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'nocred-task', '--json']);
    expect(r.status).toBe(3);
    const push = r.accesses.find((a) => a.kind === 'push');
    expect(push.cause).toBe('no-system-credential');
    expect(push.findings[0].fix.step).toBe('add-credential');
    expect(push.findings[0].fix.az).toEqual([`az acr task credential add -n nocred-task -r ${reg.name} --login-server ${reg.loginServer} --use-identity '[system]'`]);
  });

  it('a credential for the wrong login server (.azurecr.cn for .azurecr.io): named, with the server meant', async () => {
    const reg = await bench.registry('drtypo000001', CLOSED_WITH_BYPASS);
    const wrong = reg.loginServer.replace(/\.io$/, '.cn');
    const task = await bench.task(reg.name, 'typo-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(wrong) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'typo-task', '--json']);
    expect(r.status).toBe(3);
    const all = r.accesses.flatMap((a) => a.findings);
    expect(all.length).toBeGreaterThan(0);
    for (const f of all) expect(f.cause).toBe('wrong-login-server');
    expect(all[0].words).toContain(wrong);
    expect(all[0].words).toContain(reg.loginServer);
    expect(all[0].fix.az[0]).toBe(`az acr task credential remove -n typo-task -r ${reg.name} --login-server ${wrong}`);
  });

  it('role missing, role on the wrong scope, role too weak (AcrPull for a push)', async () => {
    const reg = await bench.registry('drroles00001', CLOSED_WITH_BYPASS);
    const other = await bench.registry('drrolesother', {});
    const make = async (name: string) => bench.task(reg.name, name, { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    const missing = await make('role-missing');
    const wrong = await make('role-wrong-scope');
    await bench.role(other.id, 'AcrPush', wrong.principalId!);
    const weak = await make('role-too-weak');
    await bench.role(reg.id, 'AcrPull', weak.principalId!);
    const [a, b, c] = await Promise.all(['role-missing', 'role-wrong-scope', 'role-too-weak'].map((t) => bench.doctor(['--registry', reg.name, '--task', t, '--json'])));
    expect(missing.principalId).toBeTruthy();
    for (const r of [a, b, c]) expect(r!.status).toBe(3);
    expect(a!.accesses[0].cause).toBe('role-missing');
    expect(b!.accesses[0].cause).toBe('role-wrong-scope');
    expect(b!.accesses[0].findings[0].words).toContain(other.id);
    expect(c!.accesses[0].cause).toBe('role-too-weak');
    for (const r of [a, b, c]) {
      expect(r!.accesses[0].findings[0].fix.step).toBe('assign-role');
      expect(r!.accesses[0].findings[0].fix.az.join('\n')).toMatch(/--role AcrPush --scope/);
    }
  });

  it('a role created too recently to be in effect (the sim at realistic speed applies roles after 5 s)', async () => {
    const reg = await bench.registry('drrecent0001', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'recent-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'recent-task', '--json', '--sim-speed', 'realistic']);
    expect(r.status).toBe(3);
    expect(r.accesses[0].cause).toBe('role-too-recent');
    // The same setup judged with the instant sim's delay (none) is healthy.
    const instant = await bench.doctor(['--registry', reg.name, '--task', 'recent-task', '--json', '--sim-speed', 'instant']);
    expect(instant.status).toBe(0);
  });

  it('an ABAC registry: AcrPush is ignored; without a source identity the task has no access to its own registry', async () => {
    const reg = await bench.registry('drabac000001', { ...CLOSED_WITH_BYPASS, roleAssignmentMode: 'AbacRepositoryPermissions' });
    const legacy = await bench.task(reg.name, 'abac-legacy', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', legacy.principalId!);
    const open = await bench.registry('drabac000002', { roleAssignmentMode: 'AbacRepositoryPermissions' });
    await bench.task(open.name, 'abac-nosource', { yaml: pushYaml(open.loginServer), credentials: { sourceRegistry: { loginMode: 'Default' } } });
    const [a, b] = await Promise.all([
      bench.doctor(['--registry', reg.name, '--task', 'abac-legacy', '--json']),
      bench.doctor(['--registry', open.name, '--task', 'abac-nosource', '--json']),
    ]);
    expect(a.status).toBe(3);
    expect(a.accesses[0].cause).toBe('abac-legacy-role');
    expect(a.accesses[0].findings[0].fix.acrTrust).toMatch(/--role 'Container Registry Repository Writer'/);
    expect(b.status).toBe(3);
    expect(b.accesses[0].cause).toBe('abac-no-source-identity');
    expect(b.accesses[0].findings[0].fix.az[0]).toMatch(/--source-acr-auth-id '\[system\]'/);
    // The wizard's step that sets it: add-credential on the task's own (ABAC) registry.
    expect(b.accesses[0].findings[0].fix.acrTrust).toMatch(/--only add-credential .*--role 'Container Registry Repository Writer'/);
  });

  it('a Basic registry as the target: no network rules at all (exit 3, Premium named)', async () => {
    const reg = await bench.registry('drbasic00001', {}, 'Basic');
    const task = await bench.task(reg.name, 'basic-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'basic-task', '--target-registry', reg.name, '--json']);
    expect(r.status).toBe(3);
    const note = r.objects.find((o) => o.type === 'task');
    expect(note).toMatchObject({ cause: 'not-premium' });
    expect(note.fix.az).toEqual([`az acr update -n ${reg.name} --sku Premium`]);
    // Every access itself is allowed: nothing refuses the task there.
    expect(r.accesses.every((a) => a.verdict === 'allowed')).toBe(true);
  });

  it('the task disabled', async () => {
    const reg = await bench.registry('drdisabled01', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'disabled-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer), status: 'Disabled' });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'disabled-task', '--json']);
    expect(r.status).toBe(3);
    expect(r.objects.find((o) => o.type === 'task')).toMatchObject({ cause: 'task-disabled' });
    expect(r.objects.find((o) => o.type === 'task').fix.az).toEqual([`az acr task update -n disabled-task -r ${reg.name} --status Enabled`]);
  });

  it('healthy: a task on an agent pool in the network of the registry\'s private endpoint, no bypass at all; without the endpoint, refused', async () => {
    const reg = await bench.registry('drpool000001', { publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: false });
    const subnet = (name: string) => `/subscriptions/${bench.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/acr-vnet/subnets/${name}`;
    const pool = await rawRequest(bench.sim, 'PUT', `${reg.id}/agentPools/pool1?api-version=2019-06-01-preview`, { body: { location: 'eastus', properties: { tier: 'S1', count: 1, virtualNetworkSubnetResourceId: subnet('tasks') } } });
    expect(pool.status).toBeLessThan(300);
    const task = await bench.task(reg.name, 'pool-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer), agentPoolName: 'pool1' });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    // A private endpoint is a Microsoft.Network resource, which the sim does not serve: its
    // connection is put on the registry the way the sim keeps it (as test/realusers/agent-pools does).
    const registry = bench.sim.state.registries[reg.id.toLowerCase()]!;
    registry.properties.privateEndpointConnections = [{ properties: { privateEndpoint: { id: '/pe', subnetId: subnet('endpoints') }, privateLinkServiceConnectionState: { status: 'Approved' } } }];
    const healthy = await bench.doctor(['--registry', reg.name, '--task', 'pool-task', '--json']);
    expect(healthy.stderr).toBe('');
    expect(healthy.status).toBe(0);
    expect(healthy.accesses[0]).toMatchObject({ verdict: 'allowed', path: 'private-endpoint' });
    // The same run on the sim agrees.
    const runId = await bench.schedule(reg.name, task.id!);
    expect((await bench.clients.registries.runs.get(RG, reg.name, runId)).status).toBe('Succeeded');

    registry.properties.privateEndpointConnections = [];
    const refused = await bench.doctor(['--registry', reg.name, '--task', 'pool-task', '--json']);
    expect(refused.status).toBe(3);
    expect(refused.accesses[0].findings.map((f: any) => f.cause)).toEqual(['network-closed', 'trusted-services-off', 'task-bypass-off']);
    expect(refused.accesses[0].findings[0].words).toMatch(/agent pool pool1 in virtual network acr-vnet/);
  });

  it('a task on an agent pool that does not exist', async () => {
    const reg = await bench.registry('drpoolghost1', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'ghost-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer), agentPoolName: 'ghost' });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'ghost-task', '--json']);
    expect(r.status).toBe(3);
    expect(r.objects.find((o) => o.type === 'task')).toMatchObject({ cause: 'agent-pool-missing' });
  });

  it('two registries: a push through the bypass and a pull from a second closed registry without a role', async () => {
    const home = await bench.registry('drtwohome001', CLOSED_WITH_BYPASS);
    const base = await bench.registry('drtwobase001', CLOSED_WITH_BYPASS);
    const yaml = [pullYaml(base.loginServer).trimEnd(), ...pushYaml(home.loginServer).split('\n').slice(2)].join('\n');
    const task = await bench.task(home.name, 'two-task', { yaml, credentials: systemCredential(home.loginServer, base.loginServer) });
    await bench.role(home.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', home.name, '--task', 'two-task', '--json']);
    expect(r.status).toBe(3);
    expect(r.accesses.map((a) => [a.access, a.verdict, a.cause])).toEqual([
      // AcrPush on the home registry only: the base registry's pull meets a role on another scope.
      [`pull ${base.loginServer}/base:1.0`, 'refused', 'role-wrong-scope'],
      [`push ${home.loginServer}/app`, 'allowed', null],
    ]);
    expect(r.accesses[0].findings[0].fix.acrTrust).toMatch(/--target-registry drtwobase001/);
    expect(r.accesses[0].findings[0].fix.acrTrust).toMatch(/--role AcrPull/);
  });
});
