/**
 * Step 8 — run-task: the task runs and reaches the closed registry through the bypass.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { onAgentPool, type World } from './world.js';
import { outputsOf, readTargetRegistry, type Ctx } from './lib/context.js';
import { changedSinceRun, configurationError, followRun, judgeLive, readRun, runFailedError, runAndFollow, type FinishedRun } from './lib/task-runs.js';

export const runTask: Step<World> = {
  id: 'run-task',
  title: 'Run the task: the closed registry should let it in (through the bypass, or an agent pool\'s network)',

  why:
    'With public access disabled, the run can reach the target registry only through the bypass. If the registry and ' +
    'the task are configured correctly, the registry lets the task in and the run succeeds. A run right after the role ' +
    'assignment may still be refused while the role takes effect; acr-trust runs it again for a while before giving up.',

  portal: 'Task registry → Services → Tasks → the task → Run; the run\'s log under Runs',

  // The negative test turns trusted services off on purpose: the task is then expected not to get in.
  supersededBy: 'disable-trusted-services',

  az: ({ answers: a }) => [
    `# A new role can take a few minutes to apply on Azure: if this run fails with 403 Forbidden, run it again`,
    `az acr task run -n ${a.task} -r ${a.registry}`,
  ],

  async check(ctx): Promise<CheckResult> {
    const { runId } = outputsOf(ctx, 'run-task');
    if (!runId) return { status: 'pending', change: `run task ${ctx.world.answers.task}` };
    const seen = await readRun(ctx, runId);
    if (!seen) return { status: 'pending', change: `run task ${ctx.world.answers.task} (run ${runId} is gone)` };
    if (seen.run.status === 'Succeeded') {
      // A success proves the setup only if nothing it depends on changed since (drift repaired,
      // trusted services turned back on by `--goal setup`): otherwise the task runs again.
      const changed = await changedSinceRun(ctx, seen.run);
      if (changed) return { status: 'pending', change: `run task ${ctx.world.answers.task} again (${changed})` };
      return { status: 'done', evidence: `run ${runId} Succeeded${await pathEvidence(ctx)}`, outputs: { runId, status: 'Succeeded' } };
    }
    if (!seen.finished) return { status: 'pending', change: `follow run ${runId} (${seen.run.status})` };
    const why = seen.diagnosis ? `: ${seen.diagnosis.rule.message}` : '';
    return { status: 'pending', change: `run task ${ctx.world.answers.task} again (run ${runId} ${seen.run.status}${why})` };
  },

  async apply(ctx) {
    const { timing } = ctx.world;
    const start = Date.now();
    const deadline = start + timing.roleWaitMs;
    const networkDeadline = start + timing.settingWaitMs;

    // A run recorded before a crash or Ctrl-C may still be going: follow it instead of starting another.
    const previous = outputsOf(ctx, 'run-task').runId;
    const seen = previous ? await readRun(ctx, previous) : undefined;
    let finished: FinishedRun = seen && !seen.finished ? await followRun(ctx, previous!) : await runAndFollow(ctx);

    for (;;) {
      const { run, diagnosis } = finished;
      if (run.status === 'Succeeded') return { runId: run.runId, status: run.status };
      const refusedByRegistry = diagnosis?.rule.kind === 'authorization' || diagnosis?.rule.kind === 'network' || diagnosis?.rule.kind === 'credential';
      if (!refusedByRegistry) throw runFailedError(ctx, finished, 'expected the run to succeed');
      // Propagation or configuration? The access model on the settings Azure reports now decides:
      // if they refuse the task, waiting will not cure it — stop and name the cause and its fix.
      const judged = await judgeLive(ctx);
      if (judged?.explanation) throw configurationError(finished, judged);
      const isRole = diagnosis?.rule.kind === 'authorization';
      const bound = isRole ? deadline : networkDeadline;
      if (Date.now() + timing.retryDelayMs >= bound) throw runFailedError(ctx, finished, 'expected the run to succeed');
      ctx.progress(
        isRole
          ? `run ${run.runId} was refused by the registry's role check although the role is assigned — the role may not be in effect yet; running again`
          : `run ${run.runId} was refused by the registry's network rules although they allow the task — the change may not be in effect yet; running again`,
      );
      await ctx.sleep(timing.retryDelayMs);
      finished = await runAndFollow(ctx);
    }
  },
};

/**
 * On the agent-pool path, what the success proves: with the task bypass off the task cannot have
 * come in through the bypass (under either reading of the two switches), so the pool's network let
 * it in. With the switch on (the user's own setting) the success does not tell the paths apart.
 */
async function pathEvidence(ctx: Ctx): Promise<string> {
  if (!onAgentPool(ctx.world)) return '';
  const pool = ctx.world.answers.agentPool!;
  const target = await readTargetRegistry(ctx);
  if (target && !target.networkRuleBypassAllowedForTasks) {
    return ` on agent pool ${pool} with the task bypass off (networkRuleBypassAllowedForTasks = false, trusted services ${target.networkRuleBypassOptions === 'AzureServices' ? 'allowed' : 'not allowed'}): the private network let it in`;
  }
  return ` on agent pool ${pool} — but the task bypass is on as well (networkRuleBypassAllowedForTasks = true), so this run does not show which way it came in`;
}
