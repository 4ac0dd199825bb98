/**
 * Eventual consistency, measured: a role that takes long to apply, a principal the directory does
 * not know yet, network settings that the registry reports or enforces late. Each affected step
 * waits, says why while it waits, and succeeds; past its bound it fails with an explanation and a
 * re-run resumes — never a hang.
 *
 * The role delay is the sim's own (`roleDelayMs` in its state) and goes through the real binary.
 * The others drive the real steps with the real engine against an in-process sim, with the cloud
 * adapter wrapped so that one thing lags: the directory (the sim's own replication delay, reached
 * by sending the role assignment without principalType), or a registry setting (a PATCH that the
 * control plane reports late, or that the data plane enforces late).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toAcrTrustError, type Cloud, type NetworkPatch, type Registry, type RoleAssignment } from '../../src/azure/index.js';
import type { EngineEvent } from '../../src/engine/events.js';
import { runSteps, type RunReport } from '../../src/engine/runner.js';
import { freshState, StateStore } from '../../src/engine/state.js';
import type { RunningSim } from '../../src/sim/index.js';
import { timings, workflow, type Timing, type World } from '../../steps/index.js';
import { REGISTRY, RG, simCloud } from '../azure/sim-cloud.js';
import { cliAsync, expectNoStack, jsonLines, tempDir } from '../cli/helpers.js';
import { sdkClients, withSim } from '../helpers/sim.js';
import { figures, hasStack, timeout } from './support.js';

const fig = figures('eventual');

/** Changes the embedded sim's cloud in a workdir between two runs. */
function editCloud(wd: string, change: (cloud: any) => void): void {
  const file = join(wd, 'sim-cloud.json');
  const cloud = JSON.parse(readFileSync(file, 'utf8'));
  change(cloud);
  writeFileSync(file, JSON.stringify(cloud));
}

/** The adapter with some verbs replaced. */
function override(base: Cloud, over: Partial<Cloud>): Cloud {
  return new Proxy(base, {
    get(target, key) {
      if (key in over) return (over as any)[key];
      const v = (target as any)[key];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function worldOf(sim: RunningSim, cloud: Cloud, timing: Timing): World {
  return {
    answers: { subscription: sim.subscriptionId, resourceGroup: RG, registry: REGISTRY, targetRegistry: REGISTRY, task: 'acr-trust-task', role: 'AcrPush' },
    cloud,
    timing,
  };
}

interface Drive {
  report: RunReport;
  events: EngineEvent[];
  ms: number;
  progress(step: string): string[];
}

async function drive(world: World, store: StateStore, opts: { until?: string; now?: () => number; sleep?: (ms: number) => Promise<void> } = {}): Promise<Drive> {
  const events: EngineEvent[] = [];
  const t0 = Date.now();
  const report = await runSteps(workflow, world, store, {
    emit: (e) => events.push(e),
    until: opts.until,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.sleep ? { sleep: (ms: number) => opts.sleep!(ms) } : {}),
  });
  return {
    report,
    events,
    ms: Date.now() - t0,
    progress: (step) => events.filter((e): e is Extract<EngineEvent, { type: 'step-progress' }> => e.type === 'step-progress' && e.id === step).map((e) => e.text),
  };
}

const newStore = () => new StateStore(join(tempDir(), 'state.json'), freshState());
const resultOf = (d: Drive, id: string) => d.report.results.find((r) => r.id === id);

describe.concurrent('eventual consistency', () => {
  it('a role that takes a while to apply: run-task runs again, saying why, and succeeds (the real binary)', async () => {
    const wd = join(tempDir(), 'wd');
    expect((await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd, '--until', 'preflight'])).status).toBe(0);
    const delayMs = 1_500;
    editCloud(wd, (c) => (c.roleDelayMs = delayMs));
    const t0 = Date.now();
    const r = await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd, '--json']);
    const ms = Date.now() - t0;
    const events = r.status === 0 ? jsonLines(r.stdout) : [];
    const waiting = events.filter((e) => e.event === 'progress' && e.id === 'run-task' && /role may not be in effect yet; running again/.test(e.text));
    fig.roleLate = { roleDelayMs: delayMs, outcome: r.status === 0 ? 'succeeded' : `exit ${r.status}`, runsRefusedWhileWaiting: waiting.length, runMs: ms, saidWhy: waiting[0]?.text };
    expect(r.status, r.stderr).toBe(0);
    expect(waiting.length).toBeGreaterThan(0);
    expect(events.find((e) => e.event === 'step' && e.id === 'run-task')).toMatchObject({ status: 'applied' });
  }, timeout(60_000, 600_000));

  it('a role that does not apply within the bound: exit 1 with the explanation, not a hang; a later re-run resumes', async () => {
    const wd = join(tempDir(), 'wd');
    expect((await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd, '--until', 'preflight'])).status).toBe(0);
    editCloud(wd, (c) => (c.roleDelayMs = 10 * 60_000));
    const t0 = Date.now();
    const r = await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd]);
    const ms = Date.now() - t0;
    editCloud(wd, (c) => (c.roleDelayMs = 0));
    const again = await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd]);
    fig.roleNeverInTime = { boundMs: timings.instant.roleWaitMs, exit: r.status, failedAfterMs: ms, message: r.stderr.split('\n')[0], resumedExit: again.status };
    expect(r.status).toBe(1);
    expectNoStack(r);
    expect(r.stderr).toMatch(/^acr-trust: stopped at run-task \(failed\): Run \w+ Failed: the task's identity logged in to the registry but may not push or pull there: its role is missing, not in effect yet/);
    expect(r.stderr).toContain('A new role assignment can take minutes to apply');
    expect(ms).toBeLessThan(timings.instant.roleWaitMs + 20_000);
    expect(again.status, again.stderr).toBe(0);
  }, timeout(60_000, 600_000));

  it('a principal the directory does not know yet: assign-role retries, saying why, and succeeds; past its bound it explains', async () => {
    const outcomes: Record<string, unknown> = {};
    for (const [label, lagMs, waitMs] of [['in time', 2_500, 8_000], ['past the bound', 60_000, 1_000]] as const) {
      await withSim({ speed: 'instant' }, async (sim) => {
        const clients = sdkClients(sim);
        const base = simCloud(sim);
        // Sent without principalType, the assignment meets the sim's directory, which learns a new
        // identity `lagMs` after the task is created (the replication delay of a real tenant).
        const cloud = override(base, {
          async createTask(...args: Parameters<Cloud['createTask']>) {
            const task = await base.createTask(...args);
            sim.state.principals[task.principalId!]!.visibleAt = Date.now() + lagMs;
            return task;
          },
          async createRoleAssignment(scope: string, roleDefinitionId: string, principalId: string, name: string): Promise<RoleAssignment> {
            // While the directory does not know the principal, ARM's own answer to the request
            // (asked for real, without principalType: it fails and changes nothing); once it
            // does, the adapter's request as usual.
            // (A margin keeps the sim from learning the principal while our request is on its way.)
            const unknownFor = sim.state.principals[principalId]!.visibleAt - Date.now();
            if (unknownFor > 1_000) {
              try {
                await clients.authorization.roleAssignments.create(scope.replace(/^\/+/, ''), name, { roleDefinitionId, principalId });
              } catch (e) {
                throw toAcrTrustError(e, `assign role ${roleDefinitionId.split('/').pop()} to principal ${principalId} on ${scope}`);
              }
              throw new Error('the sim accepted an assignment for a principal its directory does not know yet');
            }
            if (unknownFor > 0) await new Promise((resolve) => setTimeout(resolve, unknownFor + 10));
            return base.createRoleAssignment(scope, roleDefinitionId, principalId, name);
          },
        });
        const d = await drive(worldOf(sim, cloud, { ...timings.instant, principalWaitMs: waitMs, retryDelayMs: 150 }), newStore(), { until: 'assign-role' });
        const step = resultOf(d, 'assign-role')!;
        const said = d.progress('assign-role').filter((t) => /the directory does not know principal .* yet; retrying/.test(t));
        outcomes[label] = { lagMs, boundMs: waitMs, status: step.status, stepMs: step.ms, retriesShown: said.length, reason: step.problem?.reason };
        if (label === 'in time') {
          expect(step.status, JSON.stringify(step.problem)).toBe('applied');
          expect(said.length).toBeGreaterThan(0);
          expect(step.ms).toBeGreaterThanOrEqual(lagMs - 200);
        } else {
          expect(step.status).toBe('failed');
          expect(said.length).toBeGreaterThan(0);
          expect(step.problem?.reason).toMatch(/the directory does not know the task's identity yet/);
          expect(step.problem?.hint).toMatch(/principalType/);
          expect(step.ms).toBeLessThan(waitMs + 15_000);
          expect(hasStack(step.problem?.reason ?? '')).toBe(false);
        }
      });
    }
    fig.principalLate = outcomes;
  }, timeout(60_000, 600_000));

  it('a setting the registry reports late: the step waits ("waiting for the registry to report …") and holds; past the settle bound it explains and a re-run resumes', async () => {
    await withSim({ speed: 'instant' }, async (sim) => {
      // A fake clock for the engine's settle loop: two minutes of waiting take no real time.
      const clock = { t: 1_000_000 };
      let lagMs = 30_000;
      const pending: { patch: NetworkPatch; at: number; rg: string; name: string }[] = [];
      /** A new adapter (with its own read cache) whose registry PATCHes show `lagMs` late. */
      const late = (): Cloud => {
        const base = simCloud(sim);
        const flush = async () => {
          for (const p of [...pending]) {
            if (clock.t < p.at + lagMs) continue;
            pending.splice(pending.indexOf(p), 1);
            await base.updateRegistryNetwork(p.rg, p.name, p.patch);
          }
        };
        return override(base, {
          async updateRegistryNetwork(rg: string, name: string, patch: NetworkPatch): Promise<Registry> {
            pending.push({ patch, at: clock.t, rg, name }); // accepted; visible after `lagMs`
            return (await base.getRegistry(rg, name))!;
          },
          async getRegistry(rg: string, name: string) {
            await flush();
            return base.getRegistry(rg, name);
          },
        });
      };
      const engineClock = { now: () => clock.t, sleep: async (ms: number) => void (clock.t += ms) };
      const world = () => worldOf(sim, late(), timings.instant);

      const inTime = await drive(world(), newStore(), engineClock);
      const waits = inTime.progress('allow-task-bypass').filter((t) => /^waiting for the registry to report networkRuleBypassAllowedForTasks = true — \d+ s$/.test(t));
      const first = resultOf(inTime, 'allow-task-bypass')!;

      lagMs = Infinity;
      const store = newStore();
      // A fresh workflow on the same cloud: reset what the first one did, then run with a setting that never shows.
      sim.state.registries = Object.fromEntries(Object.entries(sim.state.registries).map(([k, r]) => [k, { ...r, properties: { ...r.properties, publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false } }]));
      const t0 = Date.now();
      const never = await drive(world(), store, engineClock);
      const realMs = Date.now() - t0;
      const stuck = resultOf(never, 'allow-task-bypass')!;
      lagMs = 0; // the change finally arrives; a re-run resumes and finishes
      const resumed = await drive(world(), store, engineClock);

      fig.settingReportedLate = {
        lagMs: 30_000,
        inTime: { status: first.status, waitedMs: first.ms, progressShown: waits.length },
        pastBound: { status: stuck.status, boundMs: 120_000, reason: stuck.problem?.reason, realMs },
        resumed: resumed.report.outcome,
      };
      expect(inTime.report.outcome, JSON.stringify(inTime.report.stoppedAt)).toBe('complete');
      expect(first.status).toBe('applied');
      expect(first.ms).toBeGreaterThanOrEqual(30_000);
      expect(waits.length).toBeGreaterThan(0);
      expect(stuck.status).toBe('failed');
      expect(stuck.problem?.reason).toMatch(/^gave up after 1\d\d s waiting for the registry to report networkRuleBypassAllowedForTasks = true; still pending: set networkRuleBypassAllowedForTasks to true/);
      expect(stuck.problem?.hint).toMatch(/Run the same command again later to resume/);
      expect(realMs).toBeLessThan(20_000);
      expect(resumed.report.outcome, JSON.stringify(resumed.report.stoppedAt)).toBe('complete');
    });
  }, timeout(60_000, 600_000));

  it('network settings the registry enforces late: run-task and confirm-denied run again, saying why, and hold; past the bound they explain', async () => {
    await withSim({ speed: 'instant' }, async (sim) => {
      const outcomes: Record<string, unknown> = {};
      const cases = [
        { label: 'in time', lagMs: 900, late: (_: NetworkPatch) => true },
        { label: 'the task bypass enforced late, in time', lagMs: 900, late: (p: NetworkPatch) => p.networkRuleBypassAllowedForTasks === true },
        { label: 'the task bypass never enforced', lagMs: Infinity, late: (p: NetworkPatch) => p.networkRuleBypassAllowedForTasks === true },
        { label: 'trusted services never withdrawn', lagMs: Infinity, late: (p: NetworkPatch) => p.networkRuleBypassOptions === 'None' },
      ];
      for (const c of cases) {
        // A fresh cloud for each case: the default registry as the scenario seeds it.
        for (const r of Object.values(sim.state.registries)) Object.assign(r.properties, { publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false });
        sim.state.tasks = {};
        const base = simCloud(sim);
        // The control plane shows a PATCH at once; the registry enforces it `lagMs` later.
        const pending: { patch: NetworkPatch; at: number; rg: string; name: string }[] = [];
        const flush = async () => {
          for (const p of [...pending]) {
            if (Date.now() < p.at + c.lagMs) continue;
            pending.splice(pending.indexOf(p), 1);
            await base.updateRegistryNetwork(p.rg, p.name, p.patch);
          }
        };
        const view = (r: Registry | undefined) => (r ? pending.reduce((acc, p) => ({ ...acc, ...p.patch }), r) : r);
        const cloud = override(base, {
          async updateRegistryNetwork(rg: string, name: string, patch: NetworkPatch): Promise<Registry> {
            if (!c.late(patch)) return base.updateRegistryNetwork(rg, name, patch);
            pending.push({ patch, at: Date.now(), rg, name });
            return view(await base.getRegistry(rg, name))!;
          },
          async getRegistry(rg: string, name: string) {
            await flush();
            return view(await base.getRegistry(rg, name));
          },
          async scheduleRun(...args: Parameters<Cloud['scheduleRun']>) {
            await flush();
            return base.scheduleRun(...args);
          },
        });
        const timing = { ...timings.instant, settingWaitMs: 3_000, retryDelayMs: 100 };
        const d = await drive(worldOf(sim, cloud, timing), newStore());
        const said = {
          'run-task': d.progress('run-task').filter((t) => /refused by the registry's network rules although they allow the task — the change may not be in effect yet; running again/.test(t)).length,
          'confirm-denied': d.progress('confirm-denied').filter((t) => /the registry still lets the task in \(the change may not be in effect yet\); running again/.test(t)).length,
        };
        const stopped = d.report.stoppedAt;
        outcomes[c.label] = { lagMs: c.lagMs, boundMs: timing.settingWaitMs, outcome: d.report.outcome, stoppedAt: stopped?.id, code: stopped?.problem?.code, runsAgain: said, ms: d.ms };
        if (c.label === 'in time') {
          expect(d.report.outcome, JSON.stringify(stopped)).toBe('complete');
          expect(said['run-task'] + said['confirm-denied']).toBeGreaterThan(0);
        } else if (c.label === 'the task bypass enforced late, in time') {
          expect(d.report.outcome, JSON.stringify(stopped)).toBe('complete');
          expect(said['run-task']).toBeGreaterThan(0);
        } else if (c.label === 'the task bypass never enforced') {
          expect(stopped?.id).toBe('run-task');
          expect(stopped?.problem?.code).toBe('TokenExchangeRefused');
          expect(said['run-task']).toBeGreaterThan(0);
          expect(d.ms).toBeLessThan(timing.settingWaitMs + 10_000);
        } else {
          expect(stopped?.id).toBe('confirm-denied');
          expect(stopped?.problem?.code).toBe('BypassStillAllowed');
          expect(stopped?.problem?.reason).toMatch(/still lets the task in with trusted services disabled/);
          expect(said['confirm-denied']).toBeGreaterThan(0);
          expect(d.ms).toBeLessThan(timing.settingWaitMs + 10_000);
        }
      }
      fig.settingEnforcedLate = outcomes;
    });
  }, timeout(90_000, 600_000));
});
