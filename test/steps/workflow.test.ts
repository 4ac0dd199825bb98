/**
 * The ten steps against the simulated Azure, through the real SDK, with a minimal hand-rolled loop
 * (check → apply → check) and a real StepContext built here — not the engine's runner, so these
 * tests pin the steps' own behaviour.
 */
import { describe, expect, it } from 'vitest';
import type { CheckResult, Outputs, Step, StepContext } from '../../src/engine/step.js';
import { withSim } from '../helpers/sim.js';
import type { RunningSim } from '../../src/sim/index.js';
import { stepById, stepIds, timings, workflow, type Answers, type World } from '../../steps/index.js';
import { REGISTRY, RG, TARGET, rejection, simCloud } from '../azure/sim-cloud.js';
import { WORKFLOW_IDS } from '../cli/helpers.js';

interface Harness {
  world: World;
  /** Outputs by step id, as a runner would persist them. */
  outputs: Record<string, Outputs>;
  events: { step: string; kind: 'progress' | 'detail' | 'record'; value: unknown }[];
  ctx(stepId: string): StepContext<World>;
}

function harness(sim: RunningSim, answers: Partial<Answers> = {}, timing: World['timing'] = timings.instant): Harness {
  const world: World = {
    answers: {
      subscription: sim.subscriptionId,
      resourceGroup: RG,
      registry: REGISTRY,
      targetRegistry: answers.registry ?? REGISTRY,
      task: 'acr-trust-task',
      role: 'AcrPush',
      ...answers,
    },
    cloud: simCloud(sim),
    timing,
  };
  const outputs: Record<string, Outputs> = {};
  const events: Harness['events'] = [];
  const controller = new AbortController();
  return {
    world,
    outputs,
    events,
    ctx: (step) => ({
      world,
      outputs,
      record(o) {
        events.push({ step, kind: 'record', value: o });
        outputs[step] = { ...outputs[step], ...o };
      },
      progress: (text) => events.push({ step, kind: 'progress', value: text }),
      detail: (line) => events.push({ step, kind: 'detail', value: line }),
      signal: controller.signal,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }),
  };
}

/** check → (apply → check, re-checking per the settle rule) for one step; returns the final check. */
async function converge(h: Harness, step: Step<World>): Promise<CheckResult> {
  const ctx = h.ctx(step.id);
  let result = await step.check(ctx);
  if (result.status !== 'pending') return keep(h, step, result);
  const applied = await step.apply(ctx);
  if (applied) h.outputs[step.id] = { ...h.outputs[step.id], ...applied };
  for (let delay = 1; ; delay *= 2) {
    result = await step.check(ctx);
    if (result.status !== 'pending' || delay > 64) return keep(h, step, result);
    await ctx.sleep(delay);
  }
}

function keep(h: Harness, step: Step<World>, result: CheckResult): CheckResult {
  if (result.outputs) h.outputs[step.id] = { ...h.outputs[step.id], ...result.outputs };
  return result;
}

/** The steps of the harness's path (the bypass here: no agent pool). */
const applying = (h: Harness) => workflow.filter((s) => s.skipReason?.(h.world) === undefined);

async function runAll(h: Harness): Promise<Record<string, CheckResult>> {
  const results: Record<string, CheckResult> = {};
  for (const step of applying(h)) {
    results[step.id] = await converge(h, step);
    expect(results[step.id], `${step.id}: ${JSON.stringify(results[step.id])}`).toMatchObject({ status: 'done' });
  }
  return results;
}

async function undoAll(h: Harness): Promise<void> {
  for (const step of [...workflow].reverse()) await step.undo?.(h.ctx(step.id));
}

const sim = (scenario: string, fn: (sim: RunningSim) => Promise<void>, faults?: string, speed: 'instant' | 'realistic' = 'instant') => () =>
  withSim({ scenario, speed, faults }, fn);

describe('the workflow', () => {
  it('has the eleven steps in order (agent-pool for its own path), each reading as a step a user follows', () => {
    expect(stepIds).toEqual(WORKFLOW_IDS);
    // The bypass path (no agent pool): the pool's step does not apply; every other does.
    const bypassWorld = { answers: { subscription: 's', resourceGroup: RG, registry: REGISTRY, targetRegistry: TARGET, task: 't', role: 'AcrPush' } } as World;
    expect(workflow.filter((s) => s.skipReason?.(bypassWorld) !== undefined).map((s) => s.id)).toEqual(['agent-pool']);
    const poolWorld = { answers: { ...bypassWorld.answers, agentPool: 'pool1' } } as World;
    expect(workflow.filter((s) => s.skipReason?.(poolWorld) !== undefined).map((s) => s.id)).toEqual(['allow-trusted-services', 'allow-task-bypass', 'disable-trusted-services', 'confirm-denied']);
    expect(stepById('run-task')?.id).toBe('run-task');
    expect(stepById('nope')).toBeUndefined();
    const world = { answers: { subscription: 's', resourceGroup: RG, registry: REGISTRY, targetRegistry: TARGET, task: 't', role: 'Container Registry Repository Writer' } } as World;
    for (const step of workflow) {
      expect(step.title.length).toBeGreaterThan(20);
      expect(step.why.length).toBeGreaterThan(80);
      expect(step.az(world).length).toBeGreaterThan(0);
      for (const line of step.az(world)) expect(line).toMatch(/^(az |principal=|printf |sed |# )/);
    }
    expect(stepById('assign-role')!.az(world).join('\n')).toContain("--role 'Container Registry Repository Writer'");
    expect(stepById('disable-public-access')!.risky).toBeTruthy();
    expect(stepById('disable-trusted-services')!.risky).toBeTruthy();
    expect(stepById('allow-trusted-services')!.supersededBy).toBe('disable-trusted-services');
  });

  it('ends with every step done on the default scenario; a second pass finds every check done; undo restores the registry', sim('default', async (s) => {
    const h = harness(s);
    const before = (await h.world.cloud.getRegistry(RG, REGISTRY))!;

    const results = await runAll(h);
    expect(results['run-task']).toMatchObject({ evidence: expect.stringMatching(/^run c\w+ Succeeded$/) });
    expect((results['confirm-denied'] as { evidence: string }).evidence).toMatch(/exchange API response code: 403 Forbidden/);
    expect(h.events.some((e) => e.step === 'run-task' && e.kind === 'progress' && /^run c\w+: Succeeded$/.test(String(e.value)))).toBe(true);
    expect(h.events.some((e) => e.step === 'run-task' && e.kind === 'detail' && /Successfully pushed image/.test(String(e.value)))).toBe(true);

    // The run id is recorded before the run is followed (crash safety).
    const runEvents = h.events.filter((e) => e.step === 'run-task');
    expect(runEvents[0]).toMatchObject({ kind: 'record', value: { runId: expect.any(String) } });

    const after = (await h.world.cloud.getRegistry(RG, REGISTRY))!;
    expect(after).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: true });

    // Second pass: everything holds, except the step the negative test reverses on purpose.
    for (const step of applying(h)) {
      const again = await step.check(h.ctx(step.id));
      if (step.supersededBy) expect(again.status, step.id).toBe('pending');
      else expect(again, step.id).toMatchObject({ status: 'done' });
    }
    const requestsBefore = s.requests.filter((r) => r.write).length;
    for (const step of applying(h)) await step.check(h.ctx(step.id));
    expect(s.requests.filter((r) => r.write).length, 'checks are read-only').toBe(requestsBefore);

    // Undo everything: the registry's network settings come back exactly; the task and role go.
    await undoAll(h);
    // The settings come back exactly; ARM's last-modified time moves on (the undo is a change too).
    const { lastModifiedAt: changedAt, ...restored } = (await h.world.cloud.getRegistry(RG, REGISTRY))!;
    const { lastModifiedAt: firstAt, ...original } = before;
    expect(restored).toEqual(original);
    expect(Date.parse(changedAt!)).toBeGreaterThan(Date.parse(firstAt!));
    expect(await h.world.cloud.getTask(RG, REGISTRY, 'acr-trust-task')).toBeUndefined();
    expect(Object.values(s.state.roleAssignments).map((a) => a.properties.principalType)).toEqual(['User']);
    await undoAll(h); // idempotent
  }));

  it('keeps the original network settings recorded the first time (a resumed run must not overwrite them)', sim('default', async (s) => {
    const h = harness(s);
    await converge(h, stepById('preflight')!);
    const original = h.outputs.preflight!.original;
    await h.world.cloud.updateRegistryNetwork(RG, REGISTRY, { networkRuleBypassAllowedForTasks: true });
    const again = await stepById('preflight')!.check(h.ctx('preflight'));
    expect(again.outputs?.original).toEqual(original);
    expect(original).toMatchObject({ networkRuleBypassAllowedForTasks: false });
  }));

  it('works across two registries: the task in one, the role and the network rules on the other', sim('two-registries', async (s) => {
    const h = harness(s, { targetRegistry: TARGET });
    const sourceBefore = await h.world.cloud.getRegistry(RG, REGISTRY);
    await runAll(h);
    expect(await h.world.cloud.getRegistry(RG, REGISTRY)).toEqual(sourceBefore);
    expect(await h.world.cloud.getRegistry(RG, TARGET)).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None' });
    const task = (await h.world.cloud.getTask(RG, REGISTRY, 'acr-trust-task'))!;
    expect(task.customRegistries).toHaveProperty(['acrtrusttarget.azurecr.io']);
    const target = (await h.world.cloud.getRegistry(RG, TARGET))!;
    const grants = await h.world.cloud.listRoleAssignments(target.id, task.principalId!);
    expect(grants.map((g) => g.scope.toLowerCase())).toEqual([target.id.toLowerCase()]);
  }));

  it('converges through throttling and transient server errors (the SDK retries; every step is safe to repeat)', sim('default', async (s) => {
    await runAll(harness(s));
    expect(s.requests.filter((r) => r.fault).length).toBeGreaterThan(3);
  }, '429=0.1,500=0.05,503=0.05,drop=0.05,seed=23'));

  it('follows runs that take time and a role that takes effect late (the sim at realistic speed)', sim('default', async (s) => {
    const h = harness(s, {}, { ...timings.realistic, pollMs: 200, retryDelayMs: 1_000 });
    await runAll(h);
    const statuses = h.events.filter((e) => e.step === 'run-task' && e.kind === 'progress').map((e) => String(e.value));
    expect(statuses.some((t) => /: (Queued|Running|Started)$/.test(t))).toBe(true);
    expect(h.events.filter((e) => e.step === 'run-task' && e.kind === 'detail').length).toBeGreaterThan(5);
  }, undefined, 'realistic'), 180_000);

  it('works on an ABAC registry with a repository role', sim('abac', async (s) => {
    await runAll(harness(s, { role: 'Container Registry Repository Writer' }));
  }));

  it('waits for a role that is not in effect yet, saying so, then succeeds', sim('default', async (s) => {
    s.state.roleDelayMs = 400;
    const h = harness(s);
    const results = await runAll(h);
    expect(results['run-task']).toMatchObject({ status: 'done' });
    expect(h.events.some((e) => e.step === 'run-task' && e.kind === 'progress' && /not be in effect yet/.test(String(e.value)))).toBe(true);
  }));
});

describe('preflight blocks with the reason and the remedy', () => {
  const cases = [
    ['basic-sku', {}, 'SkuNotPremium', /--sku Premium/],
    ['no-role-write', {}, 'AuthorizationFailed', /Owner.*User Access Administrator/],
    ['read-only', {}, 'AuthorizationFailed', /Contributor.*Owner/],
    ['default', { registry: 'nosuchregistry', targetRegistry: 'nosuchregistry' }, 'ResourceNotFound', /Registries in resource group acr-trust-demo: acrtrustdemo\. Fix --registry/],
    ['default', { resourceGroup: 'nosuchgroup' }, 'ResourceGroupNotFound', /az group list/],
  ] as const;
  for (const [scenario, answers, code, hint] of cases) {
    it(`${scenario} ${JSON.stringify(answers)} → ${code}`, sim(scenario, async (s) => {
      const h = harness(s, answers);
      const result = await stepById('preflight')!.check(h.ctx('preflight'));
      expect(result).toMatchObject({ status: 'blocked', code });
      expect((result as { hint: string }).hint).toMatch(hint);
      const e = await rejection(stepById('preflight')!.apply(h.ctx('preflight')));
      expect(e).toMatchObject({ name: 'AcrTrustError', code });
    }));
  }

  it('blocks a task that has only a user-assigned identity', sim('default', async (s) => {
    const h = harness(s);
    const registry = (await h.world.cloud.getRegistry(RG, REGISTRY))!;
    // A task made elsewhere with a user-assigned identity only (raw state: the adapter always makes system identities).
    const id = `${registry.id}/tasks/acr-trust-task`;
    const uami = `/subscriptions/${s.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mine`;
    await h.world.cloud.createTask(RG, REGISTRY, 'acr-trust-task', { location: 'eastus', taskYaml: 'version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n' });
    const task = Object.entries(s.state.tasks).find(([k]) => k === id.toLowerCase())![1];
    task.identity = { type: 'UserAssigned', userAssignedIdentities: { [uami]: { principalId: '9a9a9a9a-0000-4000-8000-000000000001', clientId: '9a9a9a9a-0000-4000-8000-000000000002' } } };
    expect(await stepById('preflight')!.check(h.ctx('preflight'))).toMatchObject({ status: 'blocked', code: 'UserAssignedIdentityOnly' });
    expect(await stepById('create-task')!.check(h.ctx('create-task'))).toMatchObject({ status: 'blocked', code: 'UserAssignedIdentityOnly' });
  }));
});

describe('failed runs are explained from their log', () => {
  it('a run without the credential fails with CredentialMissing and the credential command', sim('default', async (s) => {
    const h = harness(s);
    for (const id of ['preflight', 'create-task', 'assign-role']) await converge(h, stepById(id)!);
    const e = await rejection(stepById('run-task')!.apply(h.ctx('run-task')));
    expect(e).toMatchObject({ name: 'AcrTrustError', code: 'CredentialMissing' });
    expect(e.hint).toContain('credential add');
    expect(e.message).toContain('unauthorized: authentication required');
  }));

  it('a closed registry without the task bypass fails with TokenExchangeRefused (the 2025 policy)', sim('default', async (s) => {
    const h = harness(s);
    for (const id of ['preflight', 'create-task', 'assign-role', 'add-credential', 'allow-trusted-services', 'disable-public-access']) await converge(h, stepById(id)!);
    const e = await rejection(stepById('run-task')!.apply(h.ctx('run-task')));
    expect(e).toMatchObject({ name: 'AcrTrustError', code: 'TokenExchangeRefused' });
    expect(e.hint).toContain('networkRuleBypassAllowedForTasks');
  }));

  it('confirm-denied refuses to count a run that failed for another reason', sim('default', async (s) => {
    const h = harness(s);
    for (const id of ['preflight', 'create-task', 'assign-role', 'add-credential']) await converge(h, stepById(id)!);
    // Role gone: the run fails on authorization, not on the network — that proves nothing.
    await stepById('assign-role')!.undo!(h.ctx('assign-role'));
    const e = await rejection(stepById('confirm-denied')!.apply(h.ctx('confirm-denied')));
    expect(e).toMatchObject({ name: 'AcrTrustError', code: 'RoleNotInEffect' });
    expect(await stepById('confirm-denied')!.check(h.ctx('confirm-denied'))).toMatchObject({ status: 'pending' });
  }));

  it('confirm-denied fails plainly when the registry still lets the task in', sim('default', async (s) => {
    const h = harness(s);
    for (const id of ['preflight', 'create-task', 'assign-role', 'add-credential']) await converge(h, stepById(id)!);
    const e = await rejection(stepById('confirm-denied')!.apply(h.ctx('confirm-denied')));
    expect(e).toMatchObject({ name: 'AcrTrustError', code: 'BypassStillAllowed' });
  }));
});
