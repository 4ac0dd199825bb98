/**
 * Step 10 — confirm-denied: the same task, run again, is refused by the network rules.
 */
import type { CheckResult, Step, UndoOutcome } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import type { World } from './world.js';
import { reachability } from '../src/model/access.js';
import { outputsOf, readTargetRegistry, type Ctx } from './lib/context.js';
import { NEGATIVE_TEST_NOT_ON_POOL_PATH } from './lib/agent-pool.js';
import { changedSinceRun, followRun, readRun, registryFacts, runAndFollow, runFailedError, type FinishedRun } from './lib/task-runs.js';

export const confirmDenied: Step<World> = {
  skipReason: NEGATIVE_TEST_NOT_ON_POOL_PATH,
  id: 'confirm-denied',
  title: 'Run the task again: without trusted services the registry should refuse it',

  why:
    'The article\'s negative test. With "allow trusted services" off, the registry no longer lets the task in, so the run ' +
    'fails. The failure proves the point only if the network rule caused it — a firewall denial ("client with IP … is ' +
    'not allowed access") or a refused token exchange (403) — not a missing role, a missing credential or a broken task. ' +
    'How the two switches combine is undocumented: if the run still succeeds, this registry admits tasks with the task ' +
    'switch alone; acr-trust says so and, asking first, turns networkRuleBypassAllowedForTasks off to show the denial ' +
    '(`acr-trust reset` turns both back on).',

  portal: 'Task registry → Services → Tasks → the task → Run; the run\'s log under Runs',

  // The run is meant to fail (az exits 1): the `||` keeps a `set -e` script going to its end.
  az: ({ answers: a }) => [
    `# Expected to fail: the log ends with the registry's refusal (403 Forbidden). A changed setting can take a minute to apply on Azure: if this run still succeeds, run it again`,
    `az acr task run -n ${a.task} -r ${a.registry} || echo 'The run failed, as expected: denied by the network rules (see the log above).'`,
  ],

  async check(ctx): Promise<CheckResult> {
    const { task, targetRegistry } = ctx.world.answers;
    const { runId, admittedBySwitch } = outputsOf(ctx, 'confirm-denied');
    if (admittedBySwitch === 'true' && (await readTargetRegistry(ctx))?.networkRuleBypassAllowedForTasks === true) {
      return {
        status: 'pending',
        change: `turn networkRuleBypassAllowedForTasks off on ${targetRegistry} and run task ${task} again, expecting the registry to refuse it`,
        confirm: SWITCH_CONFIRM(targetRegistry),
      };
    }
    if (!runId) return { status: 'pending', change: `run task ${task} again and expect the registry to refuse it` };
    const seen = await readRun(ctx, runId);
    if (!seen) return { status: 'pending', change: `run task ${task} again (run ${runId} is gone)` };
    if (!seen.finished) return { status: 'pending', change: `follow run ${runId} (${seen.run.status})` };
    if (refusedByNetwork(seen)) {
      const changed = await changedSinceRun(ctx, seen.run);
      if (changed) return { status: 'pending', change: `run task ${task} again and expect the registry to refuse it (${changed})` };
      const evidence = `run ${runId} ${seen.run.status}: ${seen.diagnosis!.line}`;
      return { status: 'done', evidence, outputs: { runId, evidence } };
    }
    const outcome = seen.run.status === 'Succeeded' ? 'succeeded' : `failed for another reason${seen.diagnosis ? `: ${seen.diagnosis.rule.message}` : ''}`;
    return { status: 'pending', change: `run task ${task} again (run ${runId} ${outcome})` };
  },

  undo: undoTaskSwitch,

  async apply(ctx) {
    const { answers: a, timing } = ctx.world;
    const deadline = Date.now() + timing.settingWaitMs;

    // A registry that admits tasks with the task switch alone: turn the switch off (the check asked first).
    if (outputsOf(ctx, 'confirm-denied').admittedBySwitch === 'true' && (await readTargetRegistry(ctx))?.networkRuleBypassAllowedForTasks === true) {
      await ctx.world.cloud.updateRegistryNetwork(a.resourceGroup, a.targetRegistry, { networkRuleBypassAllowedForTasks: false });
      ctx.record({ taskSwitchOff: 'true', runId: '' });
      ctx.progress(`networkRuleBypassAllowedForTasks turned off on ${a.targetRegistry}; running the task again`);
    }
    const previous = outputsOf(ctx, 'confirm-denied').runId || undefined;
    const seen = previous ? await readRun(ctx, previous) : undefined;
    let finished: FinishedRun = seen && !seen.finished ? await followRun(ctx, previous!) : await runAndFollow(ctx);

    for (;;) {
      if (refusedByNetwork(finished)) {
        return { runId: finished.run.runId, evidence: `run ${finished.run.runId} ${finished.run.status}: ${finished.diagnosis!.line}` };
      }
      if (finished.run.status !== 'Succeeded') {
        throw runFailedError(ctx, finished, 'it failed, but not because of the network rules, so it proves nothing about the bypass');
      }
      // Still let in: the registry may not apply the change yet. Run again, within a bound.
      if (Date.now() + timing.retryDelayMs >= deadline) {
        const target = await readTargetRegistry(ctx);
        // Closed to the agent (no public path), trusted services off, the task switch on: under the
        // safe model (both switches) the registry must refuse — it did not.
        const closedToAgent = target !== undefined && !reachability(registryFacts(target)).reachable;
        if (target?.networkRuleBypassAllowedForTasks === true && target.networkRuleBypassOptions === 'None' && closedToAgent) {
          // What the success proves: with trusted services off, the task switch alone lets it in here.
          ctx.record({ runId: finished.run.runId, admittedBySwitch: 'true' });
          throw new AcrTrustError(
            `Run ${finished.run.runId} succeeded: registry ${a.targetRegistry} still lets the task in with trusted services disabled. That proves this registry admits a task's system identity with the task switch alone (networkRuleBypassAllowedForTasks = true) — trusted services are not what lets it in here (or the change has still not reached it after ${Math.round(timing.settingWaitMs / 1000)} s).`,
            {
              code: 'BypassStillAllowed',
              hint: `To show the denial, run \`acr-trust run --only confirm-denied\` again: it turns networkRuleBypassAllowedForTasks off on ${a.targetRegistry} (asking first) and runs the task; \`acr-trust reset\` turns both switches back on.`,
            },
          );
        }
        throw new AcrTrustError(
          `Run ${finished.run.runId} succeeded: registry ${a.targetRegistry} still lets the task in with trusted services disabled.`,
          {
            code: 'BypassStillAllowed',
            hint: `Check the registry: \`az acr show -n ${a.targetRegistry} --query "{publicNetworkAccess: publicNetworkAccess, networkRuleBypassOptions: networkRuleBypassOptions, networkRuleSet: networkRuleSet}"\` — public access must be Disabled and no IP rule may admit the task's agent.`,
          },
        );
      }
      ctx.progress(`run ${finished.run.runId} succeeded — the registry still lets the task in (the change may not be in effect yet); running again`);
      await ctx.sleep(timing.retryDelayMs);
      finished = await runAndFollow(ctx);
    }
  },
};

const SWITCH_CONFIRM = (registry: string) =>
  `The last run succeeded with trusted services off: registry ${registry} admits tasks with the task switch alone. To show the denial, acr-trust turns networkRuleBypassAllowedForTasks off on ${registry} — every task that reaches it through the bypass loses access until \`acr-trust reset\` turns it back on.`;

/** Turns the task switch back on if confirm-denied turned it off (reset). */
async function undoTaskSwitch(ctx: Ctx): Promise<UndoOutcome> {
  const { answers: a, cloud } = ctx.world;
  if (outputsOf(ctx, 'confirm-denied').taskSwitchOff !== 'true') return { changed: false, evidence: 'confirm-denied changed no setting: nothing to undo' };
  const target = await readTargetRegistry(ctx);
  if (!target) return { changed: false, evidence: `registry ${a.targetRegistry} not found: nothing to undo` };
  if (target.networkRuleBypassAllowedForTasks) return { changed: false, evidence: `networkRuleBypassAllowedForTasks = true on ${a.targetRegistry}, as before (checked now)` };
  await cloud.updateRegistryNetwork(a.resourceGroup, a.targetRegistry, { networkRuleBypassAllowedForTasks: true });
  return { changed: true, evidence: `networkRuleBypassAllowedForTasks turned back on for ${a.targetRegistry}` };
}

/** A failed run whose log shows the network bypass was refused (firewall denial or refused exchange). */
function refusedByNetwork(f: FinishedRun): boolean {
  return f.run.status !== 'Succeeded' && f.diagnosis?.rule.kind === 'network';
}
