/**
 * Step 8 — run-task: the task runs and reaches the closed registry through the bypass.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import type { World } from './world.js';
import type { Task } from '../src/azure/index.js';
import { outputsOf, readTargetRegistry, readTask, type Ctx } from './lib/context.js';
import { followRun, readRun, runFailedError, runAndFollow, type FinishedRun } from './lib/task-runs.js';

export const runTask: Step<World> = {
  id: 'run-task',
  title: 'Run the task: the closed registry should let it in through the bypass',

  why:
    'With public access disabled, the run can reach the target registry only through the bypass. If the registry and ' +
    'the task are configured correctly, the registry lets the task in and the run succeeds. A run right after the role ' +
    'assignment may still be refused while the role takes effect; acr-trust runs it again for a while before giving up.',

  portal: 'Task registry → Services → Tasks → the task → Run; the run\'s log under Runs',

  az: ({ answers: a }) => [
    `# A new role can take a few minutes to apply on Azure: if this run fails with 403 Forbidden, run it again`,
    `az acr task run -n ${a.task} -r ${a.registry}`,
  ],

  async check(ctx): Promise<CheckResult> {
    const { runId } = outputsOf(ctx, 'run-task');
    if (!runId) return { status: 'pending', change: `run task ${ctx.world.answers.task}` };
    const seen = await readRun(ctx, runId);
    if (!seen) return { status: 'pending', change: `run task ${ctx.world.answers.task} (run ${runId} is gone)` };
    if (seen.run.status === 'Succeeded') return { status: 'done', evidence: `run ${runId} Succeeded`, outputs: { runId, status: 'Succeeded' } };
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
      // Refused by RBAC (not by the network): the new role may not be in effect yet — wait and run again.
      const roleNotYet = diagnosis?.rule.id === 'RoleNotInEffect' && Date.now() + timing.retryDelayMs < deadline;
      // Refused by the network rules although the registry reports the bypass allowed and the task
      // has the identity credential: the settings may not be in effect yet — wait and run again.
      const networkNotYet =
        !roleNotYet && diagnosis?.rule.kind === 'network' && Date.now() + timing.retryDelayMs < networkDeadline && (await bypassConfigured(ctx));
      if (!roleNotYet && !networkNotYet) throw runFailedError(ctx, finished, 'expected the run to succeed');
      ctx.progress(
        roleNotYet
          ? `run ${run.runId} was refused by the registry's role check — the role may not be in effect yet; running again`
          : `run ${run.runId} was refused by the registry's network rules although they allow the task — the change may not be in effect yet; running again`,
      );
      await ctx.sleep(timing.retryDelayMs);
      finished = await runAndFollow(ctx);
    }
  },
};

/**
 * Whether the control plane says the task may pass the target's network rules: trusted services and
 * the task bypass allowed, and the task logging in there with its system identity. When it does and
 * the run is still refused at the network, the change has not reached the registry yet.
 */
async function bypassConfigured(ctx: Ctx): Promise<boolean> {
  const { answers: a, cloud } = ctx.world;
  const [registry, task] = await Promise.all([readTargetRegistry(ctx), readTask(ctx)]);
  if (!registry || !task) return false;
  if (registry.networkRuleBypassOptions !== 'AzureServices' || !registry.networkRuleBypassAllowedForTasks) return false;
  const entryIn = (t: Task) => Object.entries(t.customRegistries).find(([k]) => k.toLowerCase() === registry.loginServer.toLowerCase())?.[1];
  let entry = entryIn(task);
  // GET may blank credentials (`{"<server>": null}`); listDetails has them.
  if (entry === null) entry = entryIn((await cloud.getTaskDetails(a.resourceGroup, a.registry, a.task)) ?? task);
  return /^\[?system\]?$/i.test(entry?.identity ?? '');
}
