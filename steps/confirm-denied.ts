/**
 * Step 10 — confirm-denied: the same task, run again, is refused by the network rules.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import type { World } from './world.js';
import { outputsOf } from './lib/context.js';
import { followRun, readRun, runAndFollow, runFailedError, type FinishedRun } from './lib/task-runs.js';

export const confirmDenied: Step<World> = {
  id: 'confirm-denied',
  title: 'Run the task again: without trusted services the registry should refuse it',

  why:
    'The article\'s negative test. With "allow trusted services" off, the registry no longer lets the task in, so the run ' +
    'fails. The failure proves the point only if the network rule caused it — a firewall denial ("client with IP … is ' +
    'not allowed access") or a refused token exchange (403) — not a missing role, a missing credential or a broken task.',

  portal: 'Task registry → Services → Tasks → the task → Run; the run\'s log under Runs',

  // The run is meant to fail (az exits 1): the `||` keeps a `set -e` script going to its end.
  az: ({ answers: a }) => [
    `# Expected to fail: the log ends with the registry's refusal (403 Forbidden). A changed setting can take a minute to apply on Azure: if this run still succeeds, run it again`,
    `az acr task run -n ${a.task} -r ${a.registry} || echo 'The run failed, as expected: denied by the network rules (see the log above).'`,
  ],

  async check(ctx): Promise<CheckResult> {
    const { task } = ctx.world.answers;
    const { runId } = outputsOf(ctx, 'confirm-denied');
    if (!runId) return { status: 'pending', change: `run task ${task} again and expect the registry to refuse it` };
    const seen = await readRun(ctx, runId);
    if (!seen) return { status: 'pending', change: `run task ${task} again (run ${runId} is gone)` };
    if (!seen.finished) return { status: 'pending', change: `follow run ${runId} (${seen.run.status})` };
    if (refusedByNetwork(seen)) {
      const evidence = `run ${runId} ${seen.run.status}: ${seen.diagnosis!.line}`;
      return { status: 'done', evidence, outputs: { runId, evidence } };
    }
    const outcome = seen.run.status === 'Succeeded' ? 'succeeded' : `failed for another reason${seen.diagnosis ? `: ${seen.diagnosis.rule.message}` : ''}`;
    return { status: 'pending', change: `run task ${task} again (run ${runId} ${outcome})` };
  },

  async apply(ctx) {
    const { answers: a, timing } = ctx.world;
    const deadline = Date.now() + timing.settingWaitMs;

    const previous = outputsOf(ctx, 'confirm-denied').runId;
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

/** A failed run whose log shows the network bypass was refused (firewall denial or refused exchange). */
function refusedByNetwork(f: FinishedRun): boolean {
  return f.run.status !== 'Succeeded' && f.diagnosis?.rule.kind === 'network';
}
