/**
 * The run decision as pure functions: task YAML → program, network / credential / role rules,
 * and the planned course of a run (log lines, timing, outcome). No server here; the state is a
 * seeded scenario changed directly.
 */
import { describe, expect, it } from 'vitest';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';
import { credentialFor as modelCredentialFor, ipv4InRange, reachability as modelReachability, registryFactsFromWire, tasksMayBypass as modelTasksMayBypass } from '../../src/model/access.js';
import { AGENT_IP, decideAccess, permissionsAt, planRun, registryByLoginServer, runFacts, type RunSubject } from '../../src/sim/rules.js';
import { DEMO_RESOURCE_GROUP, SIM_SUBSCRIPTION_ID, seedScenario } from '../../src/sim/scenarios.js';
import type { ArmResource, CloudState, Speed } from '../../src/sim/store.js';
import {
  buildTags,
  collectValues,
  parseImageRef,
  programForStep,
  programForYaml,
  type RunVariables,
} from '../../src/model/task-yaml.js';

const T0 = Date.parse('2025-07-01T10:00:00Z');
const HOME = 'acrtrustdemo.azurecr.io';
const TARGET = 'acrtrusttarget.azurecr.io';
const TASK_PRINCIPAL = '11111111-1111-4111-8111-111111111111';
const UAMI_PRINCIPAL = '22222222-2222-4222-8222-222222222222';
const UAMI_CLIENT = '33333333-3333-4333-8333-333333333333';
const BUILD_AND_PUSH = 'version: v1.1.0\nsteps:\n  - build: -t $Registry/hello:{{.Run.ID}} .\n  - push: ["$Registry/hello:{{.Run.ID}}"]\n';

const vars = (over: Partial<RunVariables> = {}): RunVariables => ({
  runId: 'ca1',
  registry: HOME,
  registryName: 'acrtrustdemo',
  os: 'linux',
  architecture: 'amd64',
  date: T0,
  values: {},
  ...over,
});

function cloud(scenario = 'default'): CloudState {
  return seedScenario(scenario, 'instant', T0);
}

function registry(state: CloudState, server = HOME): ArmResource {
  const r = registryByLoginServer(state, server);
  if (!r) throw new Error(`no registry ${server}`);
  return r;
}

/** A task subject: system identity by default, `--auth-mode None`, credentials as given. */
function subject(state: CloudState, opts: { identity?: 'system' | 'user' | 'none'; loginMode?: 'None' | 'Default'; custom?: Record<string, unknown> } = {}): RunSubject {
  const kind = opts.identity ?? 'system';
  const identity =
    kind === 'system'
      ? { type: 'SystemAssigned', principalId: TASK_PRINCIPAL, tenantId: state.tenantId }
      : kind === 'user'
        ? { type: 'UserAssigned', userAssignedIdentities: { '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1': { principalId: UAMI_PRINCIPAL, clientId: UAMI_CLIENT } } }
        : undefined;
  return {
    runType: 'AutoRun',
    home: registry(state),
    identity,
    credentials: { sourceRegistry: { loginMode: opts.loginMode ?? 'None' }, customRegistries: opts.custom ?? {} },
  };
}

function assign(state: CloudState, principalId: string, roleGuid: string, scope: string, createdOn = T0 - 60_000): void {
  const name = `${principalId.slice(0, 8)}-${roleGuid.slice(0, 4)}-4000-8000-${String(Object.keys(state.roleAssignments).length).padStart(12, '0')}`;
  const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
  state.roleAssignments[id.toLowerCase()] = {
    id,
    name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: { roleDefinitionId: roleDefinitionId(SIM_SUBSCRIPTION_ID, roleGuid), principalId, principalType: 'ServicePrincipal', scope, createdOn: new Date(createdOn).toISOString() },
  };
}

function plan(state: CloudState, s: RunSubject, yaml = BUILD_AND_PUSH, opts: { speed?: Speed; at?: number; runId?: string } = {}) {
  const runId = opts.runId ?? 'ca1';
  return planRun({ state, subject: s, program: programForYaml(yaml, vars({ runId })), runId, scheduledAt: opts.at ?? T0, speed: opts.speed ?? 'instant' });
}

// The model's functions over the sim's wire resources.
const reachability = (r: ArmResource, agentIp?: string) => modelReachability(registryFactsFromWire(r), { agentIp });
const tasksMayBypass = (r: ArmResource) => modelTasksMayBypass(registryFactsFromWire(r));
const credentialFor = (s: RunSubject, server: string) => modelCredentialFor(runFacts(s), server, s.home.properties.roleAssignmentMode === 'AbacRepositoryPermissions');

const text = (p: ReturnType<typeof plan>) => p.log.map((l) => l.line).join('\n');

// ---------------------------------------------------------------------------------------------

describe('task YAML', () => {
  it('renders aliases and run variables, then reads build / push / cmd steps', () => {
    const yaml = 'version: v1.1.0\nsteps:\n  - build: -t $Registry/hello:{{.Run.ID}} -f Dockerfile .\n  - push: ["$Registry/hello:{{.Run.ID}}"]\n  - cmd: mcr.microsoft.com/hello-world\n';
    const r = programForYaml(yaml, vars({ runId: 'cb7' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.program.aliases).toBe(true);
    const [build, push, cmd] = r.program.steps;
    expect(build).toMatchObject({ id: 'acb_step_0', kind: 'build', tags: [{ registry: HOME, repository: 'hello', tag: 'cb7' }] });
    expect(push).toMatchObject({ id: 'acb_step_1', kind: 'push', images: [{ text: `${HOME}/hello:cb7` }] });
    expect(cmd).toMatchObject({ id: 'acb_step_2', kind: 'cmd', image: { registry: 'mcr.microsoft.com', repository: 'hello-world', tag: 'latest' } });
  });

  it("accepts the az CLI's --cmd YAML and a push list in block style with step ids", () => {
    const cli = 'version: v1.1.0\nsteps: \n  - cmd: mcr.microsoft.com/hello-world\n    disableWorkingDirectoryOverride: true\n    timeout: 3600\n';
    expect(programForYaml(cli, vars())).toMatchObject({ ok: true, program: { steps: [{ kind: 'cmd' }] } });
    const block = 'version: v1.1.0\nsteps:\n  - id: push-it\n    push:\n      - $Registry/a:1\n      - $Registry/b:2\n';
    const r = programForYaml(block, vars());
    expect(r.ok && r.program.steps[0]).toMatchObject({ id: 'push-it', kind: 'push', images: [{ repository: 'a' }, { repository: 'b' }] });
  });

  it('leaves aliases alone before v1.1.0 (so $Registry is not a valid image name)', () => {
    const r = programForYaml('version: v1.0.0\nsteps:\n  - push: ["$Registry/hello:1"]\n', vars());
    expect(r.ok && r.program.aliases).toBe(false);
    expect(r.ok && r.program.steps[0]).toMatchObject({ kind: 'push', images: [{ valid: false }] });
  });

  it('fills {{.Values.x}} from the step values, the encoded values file and the run overrides', () => {
    const step = {
      type: 'EncodedTask',
      encodedTaskContent: Buffer.from('version: v1.1.0\nsteps:\n  - push: ["$Registry/{{.Values.repo}}:{{.Values.tag}}"]\n').toString('base64'),
      encodedValuesContent: Buffer.from('repo: fromfile\ntag: one\n').toString('base64'),
      values: [{ name: 'repo', value: 'fromstep' }],
    };
    const values = collectValues(step, [{ name: 'tag', value: 'two' }]);
    expect(values).toEqual({ repo: 'fromstep', tag: 'two' });
    const r = programForStep(step, vars({ values }), 'task');
    expect(r.ok && r.program.steps[0]).toMatchObject({ images: [{ text: `${HOME}/fromstep:two` }] });
  });

  it('reports broken YAML and stepless tasks as task errors', () => {
    expect(programForYaml('version: v1.1.0\nsteps: [', vars())).toMatchObject({ ok: false, error: expect.stringContaining('failed to deserialize task') });
    expect(programForYaml('version: v1.1.0\n', vars())).toMatchObject({ ok: false });
    expect(programForYaml('version: v1.1.0\nsteps:\n  - build: x\n    push: [y]\n', vars())).toMatchObject({ ok: false });
  });

  it('maps Docker steps to a build of registry-relative names and a push, FileTask to a push home', () => {
    const docker = programForStep({ type: 'Docker', imageNames: ['hello:{{.Run.ID}}'], isPushEnabled: true, dockerFilePath: 'Dockerfile' }, vars(), 't');
    expect(docker.ok && docker.program.steps.map((s) => s.kind)).toEqual(['build', 'push']);
    expect(docker.ok && docker.program.steps[1]).toMatchObject({ images: [{ text: `${HOME}/hello:ca1` }] });
    const file = programForStep({ type: 'FileTask', taskFilePath: 'acb.yaml' }, vars(), 'MyTask');
    expect(file.ok && file.program.steps[1]).toMatchObject({ kind: 'push', images: [{ registry: HOME, repository: 'mytask', tag: 'ca1' }] });
  });

  it('normalises image references like docker', () => {
    expect(parseImageRef('hello-world')).toMatchObject({ registry: 'docker.io', repository: 'library/hello-world', tag: 'latest', valid: true });
    expect(parseImageRef('myreg.azurecr.io/team/app:v2')).toMatchObject({ registry: 'myreg.azurecr.io', repository: 'team/app', tag: 'v2', valid: true });
    expect(parseImageRef('localhost:5000/x')).toMatchObject({ registry: 'localhost:5000', repository: 'x' });
    expect(parseImageRef('Upper/Case:1').valid).toBe(false);
    expect(buildTags('-t a:1 --tag b:2 --tag=c:3 -f Dockerfile "."')).toEqual(['a:1', 'b:2', 'c:3']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('network rules', () => {
  it('matches IPv4 addresses and CIDR ranges', () => {
    expect(ipv4InRange('20.42.0.17', '20.42.0.17')).toBe(true);
    expect(ipv4InRange('20.42.0.17', '20.42.0.0/16')).toBe(true);
    expect(ipv4InRange('20.42.0.17', '20.42.1.0/24')).toBe(false);
    expect(ipv4InRange('20.42.0.17', '0.0.0.0/0')).toBe(true);
    expect(ipv4InRange('20.42.0.17', '20.42.0.16/31')).toBe(true);
    expect(ipv4InRange('20.42.0.17', '20.42.0.18/31')).toBe(false);
    expect(ipv4InRange('20.42.0.17', 'not-an-ip')).toBe(false);
  });

  it('refuses the agent when public access is disabled, whatever the IP rules say', () => {
    const state = cloud();
    const r = registry(state);
    expect(reachability(r)).toMatchObject({ reachable: true });
    r.properties.networkRuleSet = { defaultAction: 'Deny', ipRules: [] };
    expect(reachability(r)).toEqual({ reachable: false, why: 'ip-not-allowed' });
    r.properties.networkRuleSet.ipRules = [{ action: 'Allow', value: '20.42.0.0/24' }];
    expect(reachability(r)).toMatchObject({ reachable: true });
    expect(reachability(r, '52.1.2.3')).toEqual({ reachable: false, why: 'ip-not-allowed' });
    r.properties.publicNetworkAccess = 'Disabled';
    expect(reachability(r)).toEqual({ reachable: false, why: 'public-access-disabled' });
  });

  it('lets tasks bypass only with both switches on', () => {
    const r = registry(cloud());
    expect(tasksMayBypass(r)).toBe(false); // a new registry: AzureServices, but not the Tasks switch
    r.properties.networkRuleBypassAllowedForTasks = true;
    expect(tasksMayBypass(r)).toBe(true);
    r.properties.networkRuleBypassOptions = 'None';
    expect(tasksMayBypass(r)).toBe(false);
  });
});

describe('credentials', () => {
  it('uses a [system] credential as the task principal, a clientId as the user-assigned one', () => {
    const state = cloud();
    expect(credentialFor(subject(state, { custom: { [HOME]: { identity: '[system]' } } }), HOME)).toEqual({ kind: 'system-identity', principalId: TASK_PRINCIPAL, from: 'customRegistries' });
    expect(credentialFor(subject(state, { identity: 'none', custom: { [HOME]: { identity: '[system]' } } }), HOME)).toEqual({ kind: 'system-identity', principalId: undefined, from: 'customRegistries' });
    expect(credentialFor(subject(state, { identity: 'user', custom: { [HOME]: { identity: UAMI_CLIENT } } }), HOME)).toEqual({ kind: 'user-identity', clientId: UAMI_CLIENT, principalId: UAMI_PRINCIPAL, from: 'customRegistries' });
  });

  it('gives the home registry the run token only in Default login mode and not on ABAC registries', () => {
    expect(credentialFor(subject(cloud(), { loginMode: 'Default' }), HOME)).toEqual({ kind: 'run-token' });
    expect(credentialFor(subject(cloud(), { loginMode: 'None' }), HOME)).toEqual({ kind: 'none' });
    const abac = cloud('abac');
    expect(credentialFor(subject(abac, { loginMode: 'Default' }), HOME)).toEqual({ kind: 'none' });
  });
});

describe('role assignments', () => {
  const regScope = `/subscriptions/${SIM_SUBSCRIPTION_ID}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/acrtrustdemo`;

  it('count on the registry and its parent scopes, not on a sibling registry', () => {
    for (const scope of [regScope, `/subscriptions/${SIM_SUBSCRIPTION_ID}/resourceGroups/${DEMO_RESOURCE_GROUP}`, `/subscriptions/${SIM_SUBSCRIPTION_ID}`]) {
      const state = cloud();
      assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, scope);
      expect(permissionsAt(state, TASK_PRINCIPAL, registry(state), T0).effective).toEqual({ pull: true, push: true });
    }
    const state = cloud('two-registries');
    assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, regScope.replace('acrtrustdemo', 'acrtrusttarget'));
    expect(permissionsAt(state, TASK_PRINCIPAL, registry(state), T0).effective).toEqual({ pull: false, push: false });
  });

  it('grant AcrPull pull only, Reader nothing, Owner/Contributor everything', () => {
    const grants = (guid: string) => {
      const state = cloud();
      assign(state, TASK_PRINCIPAL, guid, regScope);
      return permissionsAt(state, TASK_PRINCIPAL, registry(state), T0).effective;
    };
    expect(grants(ROLE_GUIDS.AcrPull)).toEqual({ pull: true, push: false });
    expect(grants(ROLE_GUIDS.Reader)).toEqual({ pull: false, push: false });
    expect(grants(ROLE_GUIDS.Owner)).toEqual({ pull: true, push: true });
    expect(grants(ROLE_GUIDS.Contributor)).toEqual({ pull: true, push: true });
    expect(grants(ROLE_GUIDS.RepositoryWriter)).toEqual({ pull: false, push: false }); // not on a legacy registry
  });

  it('on ABAC registries honour only the repository roles', () => {
    const grants = (guid: string) => {
      const state = cloud('abac');
      assign(state, TASK_PRINCIPAL, guid, regScope);
      return permissionsAt(state, TASK_PRINCIPAL, registry(state), T0).effective;
    };
    expect(grants(ROLE_GUIDS.AcrPush)).toEqual({ pull: false, push: false });
    expect(grants(ROLE_GUIDS.Owner)).toEqual({ pull: false, push: false });
    expect(grants(ROLE_GUIDS.RepositoryWriter)).toEqual({ pull: true, push: true });
    expect(grants(ROLE_GUIDS.RepositoryContributor)).toEqual({ pull: true, push: true });
    expect(grants(ROLE_GUIDS.RepositoryReader)).toEqual({ pull: true, push: false });
  });

  it('take effect roleDelayMs after createdOn', () => {
    const state = cloud();
    state.roleDelayMs = 5000;
    assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, regScope, T0);
    const r = registry(state);
    expect(permissionsAt(state, TASK_PRINCIPAL, r, T0 + 4999)).toEqual({ effective: { pull: false, push: false }, pending: { pull: true, push: true } });
    expect(permissionsAt(state, TASK_PRINCIPAL, r, T0 + 5000).effective).toEqual({ pull: true, push: true });
  });
});

describe('access decisions', () => {
  const image = (t: string) => parseImageRef(t);

  it('decide network, then authentication, then authorization', () => {
    const state = cloud();
    const r = registry(state);
    const system = subject(state, { custom: { [HOME]: { identity: '[system]' } } });
    const push = (s: RunSubject) => decideAccess(state, s, image(`${HOME}/hello:1`), 'push', T0);

    expect(push(subject(state))).toMatchObject({ allowed: false, cause: 'no-credential', logLine: expect.stringContaining('unauthorized: authentication required') });
    expect(push(system)).toMatchObject({ allowed: false, cause: 'role-missing' });
    assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, r.id);
    expect(push(system)).toMatchObject({ allowed: true, path: 'public' });

    r.properties.publicNetworkAccess = 'Disabled';
    expect(push(system)).toMatchObject({ allowed: false, cause: 'public-access-disabled', logLine: expect.stringContaining("denied: client with IP '20.42.0.17'") });
    r.properties.networkRuleBypassAllowedForTasks = true;
    expect(push(system)).toMatchObject({ allowed: true, path: 'trusted-bypass' });
    expect(push(subject(state))).toMatchObject({ allowed: false, cause: 'public-access-disabled' });
  });

  it('let public pulls through and refuse unknown ACR hosts', () => {
    const state = cloud();
    const s = subject(state);
    expect(decideAccess(state, s, image('mcr.microsoft.com/hello-world'), 'pull', T0)).toMatchObject({ allowed: true });
    expect(decideAccess(state, s, image('docker.io/me/x:1'), 'push', T0)).toMatchObject({ allowed: false, cause: 'public-registry-push' });
    expect(decideAccess(state, s, image('nosuch.azurecr.io/x:1'), 'pull', T0)).toMatchObject({ allowed: false, cause: 'unknown-host' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('planned runs', () => {
  /** The article's configuration: system identity, auth mode None, [system] credential, AcrPush,
   *  public access disabled, both bypass switches on. */
  function articleCloud() {
    const state = cloud();
    const r = registry(state);
    assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, r.id);
    r.properties.publicNetworkAccess = 'Disabled';
    r.properties.networkRuleBypassAllowedForTasks = true;
    return { state, r, s: subject(state, { custom: { [HOME]: { identity: '[system]' } } }) };
  }

  it('succeeds through the bypass with the real log lines, and records the pushed image', () => {
    const { state, s } = articleCloud();
    const p = plan(state, s);
    expect(p.outcome).toEqual({ status: 'Succeeded', at: 0 });
    expect(p.cause).toEqual({ kind: 'succeeded' });
    const log = text(p);
    expect(log).toContain(`Logging in to registry: ${HOME}`);
    expect(log).toContain(`Successfully logged into ${HOME}`);
    expect(log).toContain('Executing step ID: acb_step_0');
    expect(log).toContain(`Pushing image: ${HOME}/hello:ca1, attempt 1`);
    expect(log).toContain(`Successfully pushed image: ${HOME}/hello:ca1`);
    expect(p.log.at(-1)!.line).toBe('Run ID: ca1 was successful after 0s');
    expect(p.log[0]!.line).toMatch(/^2025\/07\/01 10:00:00 Alias support enabled/);
    expect(p.outputImages).toEqual([{ registry: HOME, repository: 'hello', tag: 'ca1', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }]);
  });

  it('fails at the token exchange when trusted services are off (the article’s negative test)', () => {
    const { state, r, s } = articleCloud();
    r.properties.networkRuleBypassOptions = 'None';
    const p = plan(state, s, BUILD_AND_PUSH, { runId: 'ca2' });
    expect(p.outcome).toEqual({ status: 'Failed', at: 0, runErrorMessage: 'failed during run, err: exit status 1' });
    expect(p.log.map((l) => l.line)).toEqual([
      'failed to unmarshal task before running: failed to resolve secrets: failed to get ACR refresh token, exchange API response code: 403 Forbidden',
      'Run ID: ca2 failed after 0s. Error: failed during run, err: exit status 1',
    ]);
    expect(p.cause).toMatchObject({ kind: 'prepare', decision: { allowed: false, cause: 'public-access-disabled', stage: 'prepare' } });
  });

  it('shows the firewall line when the run has no identity credential for a closed registry', () => {
    const { state } = articleCloud();
    // Default auth mode: the run-token login meets the firewall.
    const p = plan(state, subject(state, { loginMode: 'Default' }));
    expect(text(p)).toContain(
      `failed to login, ran out of retries: failed to set docker credentials: Error response from daemon: Get "https://${HOME}/v2/": denied: client with IP '${AGENT_IP}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`,
    );
    expect(text(p)).not.toContain('exchange API');
    // No credential at all: the push itself meets the firewall (three attempts).
    const q = plan(state, subject(state));
    expect(text(q).match(/denied: client with IP '20\.42\.0\.17' is not allowed access/g)).toHaveLength(3);
    expect(text(q)).toContain('failed to run step ID: acb_step_1: Failed to push images successfully');
  });

  it('refuses a push with the registry 401 when the role is missing, after a successful login', () => {
    const state = cloud();
    const p = plan(state, subject(state, { custom: { [HOME]: { identity: '[system]' } } }));
    const log = text(p);
    expect(log).toContain(`Successfully logged into ${HOME}`);
    expect(log).toContain('unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.');
    expect(p.cause).toMatchObject({ kind: 'access', decision: { cause: 'role-missing' } });
  });

  it('refuses a role not yet in effect exactly like a missing one, and succeeds when scheduled later', () => {
    const state = cloud();
    state.roleDelayMs = 60_000;
    assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, registry(state).id, T0);
    const s = subject(state, { custom: { [HOME]: { identity: '[system]' } } });
    const early = plan(state, s);
    expect(early.outcome.status).toBe('Failed');
    expect(early.cause).toMatchObject({ kind: 'access', decision: { cause: 'role-not-yet-effective' } });

    const missing = cloud();
    const same = plan(missing, subject(missing, { custom: { [HOME]: { identity: '[system]' } } }));
    expect(text(early)).toBe(text(same)); // the log cannot tell them apart …

    const later = plan(state, s, BUILD_AND_PUSH, { at: T0 + 60_000 });
    expect(later.outcome.status).toBe('Succeeded'); // … the timing does
  });

  it('lets a push retried after the role took effect succeed within the same run (realistic speed)', () => {
    const state = cloud();
    assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, registry(state).id, T0);
    const s = subject(state, { custom: { [HOME]: { identity: '[system]' } } });
    const firstPush = plan(state, s, BUILD_AND_PUSH, { speed: 'realistic' });
    const pushAt = firstPush.log.find((l) => l.line.includes('attempt 1'))!.at;
    state.roleDelayMs = pushAt + 1000; // in effect between attempt 1 and attempt 2
    const p = plan(state, s, BUILD_AND_PUSH, { speed: 'realistic' });
    expect(p.outcome.status).toBe('Succeeded');
    expect(text(p)).toContain('attempt 2');
    expect(text(p)).toContain('unauthorized: authentication required');
  });

  it('never trusts a quick run', () => {
    const { state } = articleCloud();
    const quick: RunSubject = { runType: 'QuickRun', home: registry(state), credentials: undefined };
    const p = plan(state, quick);
    expect(p.outcome.status).toBe('Failed');
    expect(text(p)).toContain(`Logging in to registry: ${HOME}`);
    expect(text(p)).toContain("denied: client with IP '20.42.0.17' is not allowed access");
    // Even naming [system]: a quick run has no identity to exchange.
    const named = plan(state, { ...quick, credentials: { customRegistries: { [HOME]: { identity: '[system]' } } } });
    expect(text(named)).toContain('the task has no such identity');
  });

  it('reports a push of an image no step built, and a pull refused by the registry', () => {
    const state = cloud();
    const s = subject(state, { custom: { [HOME]: { identity: '[system]' } } });
    assign(state, TASK_PRINCIPAL, ROLE_GUIDS.AcrPush, registry(state).id);
    const typo = plan(state, s, 'version: v1.1.0\nsteps:\n  - build: -t $Registry/hello:1 .\n  - push: ["$Registry/helo:1"]\n');
    expect(text(typo)).toContain(`An image does not exist locally with the tag: ${HOME}/helo`);
    expect(typo.cause).toMatchObject({ kind: 'step' });

    const pull = plan(cloud(), subject(cloud()), 'version: v1.1.0\nsteps:\n  - cmd: $Registry/base:1 echo hi\n');
    expect(text(pull)).toContain(`docker: Error response from daemon: Head "https://${HOME}/v2/base/manifests/1": unauthorized: authentication required`);
    expect(text(pull)).toContain('failed to run step ID: acb_step_0: exit status 125');
  });

  it('unfolds over several seconds at realistic speed, deterministically', () => {
    const { state, s } = articleCloud();
    const p = plan(state, s, BUILD_AND_PUSH, { speed: 'realistic' });
    expect(p.startAt).toBe(1000);
    expect(p.log[0]!.at).toBe(1000);
    expect(p.outcome.at).toBeGreaterThanOrEqual(6000);
    expect(p.outcome.at).toBeLessThanOrEqual(10_000);
    expect(p.log.at(-1)!.at).toBe(p.outcome.at);
    for (let i = 1; i < p.log.length; i++) expect(p.log[i]!.at).toBeGreaterThanOrEqual(p.log[i - 1]!.at);
    expect(new Set(p.log.map((l) => l.at)).size).toBeGreaterThan(10); // lines appear one by one
    expect(p.log.at(-1)!.line).toMatch(/^Run ID: ca1 was successful after [5-9]s$/);
    expect(plan(state, s, BUILD_AND_PUSH, { speed: 'realistic' })).toEqual(p);
  });
});
