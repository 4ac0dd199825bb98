/**
 * The classroom scenario: one sim seeds a resource group and a Premium registry per learner, and
 * learners running the whole workflow at the same time each end with their own resources — and
 * only theirs — as the workflow leaves them. Learners run in-process: the engine's runner and the
 * ten steps, each learner with their own adapter (`connect`, as the CLI builds it for a served
 * sim) and their own state file, all against one sim.
 */
import { FULL_RUN_FLOOR } from '../../steps/floor.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/azure/index.js';
import { runSteps, type RunReport } from '../../src/engine/runner.js';
import { StateStore } from '../../src/engine/state.js';
import { checkLearners, DEFAULT_LEARNERS, learnerNames, startSim, type RunningSim } from '../../src/sim/index.js';
import { seedScenario } from '../../src/sim/scenarios.js';
import { timings, workflow, type World } from '../../steps/index.js';
import { withSim } from '../helpers/sim.js';
import { learnerCredential } from './room-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'acr-trust-classroom-'));
  dirs.push(d);
  return d;
}

/** Learner `n` runs the whole workflow against `sim`, as `acr-trust run --endpoint … --resource-group learnerNN --registry acrtrustlearnerNN --yes` would. */
async function learnerRuns(sim: RunningSim, n: number, learners: number, dir: string): Promise<RunReport> {
  const { resourceGroup, registry } = learnerNames(n, learners);
  const world: World = {
    answers: { subscription: sim.subscriptionId, resourceGroup, registry, targetRegistry: registry, task: 'acr-trust-task', role: 'AcrPush' },
    // Signed in as the learner's own service principal (client secret at the sim's token endpoint).
    cloud: connect({ subscriptionId: sim.subscriptionId, credential: learnerCredential(sim, n), endpoint: sim.endpoint, ca: sim.caCert, pollIntervalMs: 10 }),
    timing: timings.instant,
  };
  const store = StateStore.load(join(dir, `learner${n}.state.json`));
  return runSteps(workflow, world, store, { emit: () => {} });
}

describe('the classroom scenario', () => {
  it('seeds learner01… with a Premium registry acrtrustlearner01… each, beside the demo group', () => {
    const s = seedScenario('classroom', 'instant', Date.now(), { learners: 3 });
    expect(Object.values(s.resourceGroups).map((g) => g.name).sort()).toEqual(['acr-trust-demo', 'learner01', 'learner02', 'learner03']);
    const registries = Object.values(s.registries);
    expect(registries.map((r) => r.name).sort()).toEqual(['acrtrustdemo', 'acrtrustlearner01', 'acrtrustlearner02', 'acrtrustlearner03']);
    const r7 = registries.find((r) => r.name === 'acrtrustlearner02')!;
    expect(r7.id).toMatch(/\/resourceGroups\/learner02\/providers\/Microsoft.ContainerRegistry\/registries\/acrtrustlearner02$/);
    expect(r7).toMatchObject({ sku: { name: 'Premium' }, properties: { publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices' } });
    expect(s.learners).toBe(3);
    expect(Object.keys(seedScenario('classroom', 'instant').resourceGroups)).toHaveLength(DEFAULT_LEARNERS + 1);
  });

  it('names learners with as many digits as the room needs', () => {
    expect(learnerNames(7, 30)).toEqual({ resourceGroup: 'learner07', registry: 'acrtrustlearner07' });
    expect(learnerNames(7, 120)).toEqual({ resourceGroup: 'learner007', registry: 'acrtrustlearner007' });
  });

  it('refuses a bad learner count, --learners without the classroom, and another count for an existing room', async () => {
    for (const bad of [0, -1, 1.5, 501, 'x', '']) expect(() => checkLearners(bad)).toThrow(/Invalid number of learners/);
    expect(checkLearners('12')).toBe(12);
    expect(() => seedScenario('default', 'instant', Date.now(), { learners: 3 })).toThrow(/applies to the classroom scenario/);
    const stateFile = join(tempDir(), 'room.json');
    const sim = await startSim({ stateFile, scenario: 'classroom', learners: 2 });
    await sim.stop();
    await expect(startSim({ stateFile, learners: 3 })).rejects.toThrow(/classroom for 2 learners, not 3/);
    const again = await startSim({ stateFile });
    expect(again.state.learners).toBe(2);
    await again.stop();
  });

  it('three learners run the whole workflow at once; each ends with their own resources only, at the round-trip floor', () =>
    withSim({ scenario: 'classroom', learners: 3 }, async (sim) => {
      const learners = 3;
      const dir = tempDir();
      const reports = await Promise.all([1, 2, 3].map((n) => learnerRuns(sim, n, learners, dir)));
      for (const r of reports) expect(r.outcome, JSON.stringify(r.stoppedAt)).toBe('complete');

      const principals = new Set<string>();
      for (let n = 1; n <= learners; n++) {
        const { resourceGroup, registry } = learnerNames(n, learners);
        const inGroup = (id: string) => id.toLowerCase().includes(`/resourcegroups/${resourceGroup}/`);
        const tasks = Object.values(sim.state.tasks).filter((t) => inGroup(t.id));
        expect(tasks.map((t) => t.id)).toEqual([expect.stringMatching(new RegExp(`/registries/${registry}/tasks/acr-trust-task$`, 'i'))]);
        const principal = tasks[0]!.identity.principalId as string;
        principals.add(principal);
        // The learner's identity holds exactly one grant, on their own registry.
        const grants = Object.values(sim.state.roleAssignments).filter((a) => a.properties.principalId === principal);
        expect(grants.map((a) => a.properties.scope)).toEqual([expect.stringMatching(new RegExp(`/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${registry}$`))]);
        // Their two runs ran in their registry: the first let in, the second refused.
        const runs = Object.values(sim.state.runs).filter((r) => inGroup(r.resource.id));
        expect(runs.map((r) => r.outcome.status).sort()).toEqual(['Failed', 'Succeeded']);
        const reg = Object.values(sim.state.registries).find((r) => r.name === registry)!;
        expect(reg.properties).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: true });
        // Each learner made the same requests as a learner alone: the workflow's floor, route by route.
        const mine = sim.requests.filter((q) => new RegExp(`/resourcegroups/${resourceGroup}(/|$)|/${registry}/`, 'i').test(q.path));
        expect(mine.filter((q) => q.write)).toHaveLength(8);
        const byRoute: Record<string, number> = {};
        for (const q of mine) byRoute[q.name] = (byRoute[q.name] ?? 0) + 1;
        const { 'subscriptions.get': _subscription, ...floor } = FULL_RUN_FLOOR; // the subscription read names no group
        expect(byRoute).toEqual(floor);
      }
      expect(principals.size).toBe(learners);
      // Nobody touched the demo group.
      const demo = Object.values(sim.state.registries).find((r) => r.name === 'acrtrustdemo')!;
      expect(demo.properties).toMatchObject({ publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false });
      expect(Object.values(sim.state.tasks)).toHaveLength(learners);
      expect(sim.requests.filter((q) => q.status >= 500)).toEqual([]);
    }));
});
