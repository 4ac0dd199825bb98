/**
 * `acr-trust run` (the default command): walk the workflow against the chosen target.
 *
 * In a terminal without --yes (interactive mode) the questions come first, then the live step
 * list; a change that can cut other clients off waits for a confirmation (default no: declining
 * stops the run there, exit 1, nothing changed by that step); `--pause` waits before each step.
 * After every run that may change something, `<workdir>/report.md` is written — while the embedded
 * sim is still up, to read the registry as the run left it.
 */
import type { World } from '../../../steps/index.js';
import { runSteps, selectSteps, type RunOptions as EngineRunOptions, type RunReport, type Selection } from '../../engine/runner.js';
import { isAcrTrustError, usageError } from '../../errors.js';
import { onInterrupt, type Interrupt } from '../interrupt.js';
import { answerFlags, commandLine, shellLine, whereFlags, type AnswerFlags } from '../options.js';
import { concludeReport, type RunInFlight } from '../outcome.js';
import { chooseRenderer, type OutputOptions, type Renderer } from '../render/index.js';
import { closingAfter, interactionFor, openSession, startEvent, type CommonOptions, type Session } from '../session.js';
import { terminal, type Terminal } from '../terminal.js';

export interface RunOptions extends CommonOptions, AnswerFlags, Selection, OutputOptions {
  dryRun?: boolean;
  /** Wait for Enter before each step (presenters). */
  pause?: boolean;
}

/** The steps, and through them the Azure adapter: loaded after the questions, which need neither. */
const loadWorkflow = async () => (await import('../../../steps/index.js')).workflow;

export async function run(opts: RunOptions): Promise<void> {
  const term = terminal();
  const selection: Selection = { from: opts.from, only: opts.only, until: opts.until };
  // An unknown step id is exit 2 before anything starts.
  if (opts.from !== undefined || opts.only !== undefined || opts.until !== undefined) selectSteps(await loadWorkflow(), selection);
  const interaction = interactionFor('run', opts, term, { required: !opts.dryRun });
  checkPause(opts, term);

  const session = await openSession({
    command: 'run',
    opts,
    flags: answerFlags(opts),
    term,
    dryRun: opts.dryRun,
    saveAnswers: !opts.dryRun,
    ask: interaction === 'ask',
    requireGoal: true,
  });
  const interrupt = onInterrupt();
  await closingAfter(session, async () => {
    try {
      const goalSelection = await goalSteps(session, selection);
      const workflow = await loadWorkflow();
      let render: Renderer;
      let report: RunReport;
      for (;;) {
        render = await chooseRenderer(opts, term, { steps: workflow, world: session.world });
        render.emit(startEvent('run', session, opts.dryRun));
        const questions = await questionsWhileRunning(session, render, interrupt, { confirm: interaction === 'ask' && !opts.dryRun, pause: opts.pause });
        try {
          report = await runSteps(workflow, session.world, session.store, {
            ...goalSelection,
            ...questions,
            dryRun: opts.dryRun,
            signal: interrupt.signal,
            emit: render.emit,
            explain: session.explain,
          });
        } finally {
          await render.close?.();
        }
        // The bypass could not be used (refused, or declined): in a terminal, offer the agent pool and go on with it.
        if (interaction !== 'ask' || opts.dryRun || !(await switchedToAgentPool(session, report, interrupt))) break;
      }
      if (!opts.dryRun) {
        render.emit({
          type: 'handout',
          report: await writeHandout(session, report, workflow),
          replay: interaction === 'ask' ? shellLine(['acr-trust', 'run', '--yes', '--answers', session.paths.answers]) : undefined,
          next: report.outcome === 'complete' && session.answers.goal === 'demo' && report.results.some((r) => r.id === 'confirm-denied' && r.status !== 'skipped') ? afterDemo(session, opts) : undefined,
          notes: report.outcome === 'complete' && session.answers.agentPool ? [agentPoolNote(session)] : undefined,
        });
      }
      concludeReport(report, session.paths.dir, commandLine(), report.outcome === 'interrupted' ? await runInFlight(session, report) : undefined);
    } finally {
      interrupt.dispose();
    }
  });
}

/**
 * The steps a goal walks: `setup` ends with `run-task` (the task reaching the registry through the
 * bypass, left that way); `demo` is the whole workflow. --from/--only/--until pick within them; a
 * step after `run-task` with --goal setup is exit 2.
 */
async function goalSteps(session: Session, selection: Selection): Promise<Selection> {
  const { GOAL_LAST_STEP } = await import('../../engine/answers.js');
  const goal = session.answers.goal ?? 'demo';
  if (goal === 'demo') return selection;
  const workflow = await loadWorkflow();
  const ids = workflow.map((s) => s.id);
  const last = ids.indexOf(GOAL_LAST_STEP[goal]);
  for (const [flag, id] of Object.entries(selection)) {
    if (id !== undefined && ids.indexOf(id) > last) {
      throw usageError(`--${flag} ${id} is after ${GOAL_LAST_STEP[goal]}, where --goal ${goal} ends.`, `Use --goal demo for the steps of the negative test (${ids.slice(last + 1).join(', ')}).`);
    }
  }
  if (selection.only !== undefined || selection.until !== undefined) return selection;
  return { ...selection, until: GOAL_LAST_STEP[goal], note: `not part of --goal ${goal}` };
}

/**
 * After a demo (the negative test done: trusted services off, the task refused), the two ways on:
 * back to the working setup — `run --goal setup`, whose live checks turn trusted services on
 * again — or everything as it was before acr-trust (`reset`).
 */
function afterDemo(session: Session, opts: RunOptions): { label: string; command: string }[] {
  // The workdir records its cloud: the workdir (and any endpoint or CA given) says where.
  const more = [...whereFlags({ workdir: opts.workdir, endpoint: opts.endpoint, ca: opts.ca }), ...(opts.yes ? ['--yes'] : [])];
  const registry = session.answers.targetRegistry;
  return [
    { label: `Back to the working setup (trusted services on again; the task reaches ${registry} through the bypass)`, command: shellLine(['acr-trust', 'run', '--goal', 'setup', ...more]) },
    { label: `Everything as it was before acr-trust`, command: shellLine(['acr-trust', 'reset', ...more]) },
  ];
}

/**
 * After a run stopped at a bypass switch — refused (the caller's role, a linked scope, an Azure
 * Policy) or declined at its question — offers a dedicated agent pool in the terminal. On yes the
 * answers gain the pool (saved, so `--yes --answers` replays the pool path) and the caller runs the
 * workflow again: finished steps are re-checked, the bypass steps no longer apply.
 */
async function switchedToAgentPool(session: Session, report: RunReport, interrupt: Interrupt): Promise<boolean> {
  const stop = report.stoppedAt;
  if (report.outcome !== 'stopped' || !stop || session.answers.agentPool) return false;
  const { BYPASS_REFUSALS, DEFAULT_AGENT_POOL, agentPoolTradeOff } = await import('../../../steps/lib/agent-pool.js');
  const { NOT_CONFIRMED } = await import('../../engine/runner.js');
  const code = stop.problem?.code;
  if (!BYPASS_STEPS.includes(stop.id) || code === undefined || !(BYPASS_REFUSALS.includes(code) || code === NOT_CONFIRMED)) return false;
  const { answers, cloud } = session.world;
  const why =
    code === NOT_CONFIRMED
      ? `You declined the bypass (${stop.id}). A dedicated agent pool reaches ${answers.targetRegistry} without it.`
      : `${stop.id} was refused [${code}]: ${code === 'RequestDisallowedByPolicy' ? 'an Azure Policy denies the bypass' : 'you may not change this switch'} — waiting will not change that. A dedicated agent pool reaches ${answers.targetRegistry} without the bypass.`;
  const { offerAgentPool } = await import('../prompts.js');
  let chosen: Awaited<ReturnType<typeof offerAgentPool>>;
  try {
    chosen = await offerAgentPool({
      why,
      tradeOff: agentPoolTradeOff(),
      endpointSubnets: await cloud.privateEndpointSubnets(answers.resourceGroup, answers.targetRegistry).catch(() => []),
      defaultName: DEFAULT_AGENT_POOL,
      existing: (name) => cloud.getAgentPool(answers.resourceGroup, answers.registry, name).catch(() => undefined),
    });
  } catch (e) {
    if (isAcrTrustError(e) && e.exitCode === 130) interrupt.abort();
    throw e;
  }
  if (!chosen) return false;
  const { saveAnswers, DEFAULT_AGENT_POOL_TIER } = await import('../../engine/answers.js');
  const pool = { agentPool: chosen.agentPool, agentPoolTier: session.answers.agentPoolTier ?? DEFAULT_AGENT_POOL_TIER, ...(chosen.agentPoolSubnet ? { agentPoolSubnet: chosen.agentPoolSubnet } : {}) };
  Object.assign(session.answers, pool);
  Object.assign(session.world.answers, pool);
  saveAnswers(session.paths.answers, session.answers);
  return true;
}

/** The steps that turn a bypass switch on (the bypass path only). */
const BYPASS_STEPS = ['allow-trusted-services', 'allow-task-bypass'];

/** What a finished run on the agent-pool path proved, and what the negative test means there. */
function agentPoolNote(session: Session): string {
  const a = session.answers;
  // A switch the bypass path turned on before the path changed (the offer) is left as it is: reset restores it.
  const earlier = ['allow-trusted-services', 'allow-task-bypass'].filter((id) => session.store.step(id)?.status === 'applied');
  return (
    `Agent-pool path: the task reaches ${a.targetRegistry} through agent pool ${a.agentPool}'s network, with no bypass switch turned on by acr-trust` +
    `${earlier.length ? ` on this path (an earlier run on the bypass path applied ${earlier.join(' and ')}; \`acr-trust reset\` restores the registry's original settings)` : ''}. ` +
    `The negative test (${a.goal === 'demo' ? 'part of --goal demo' : 'not part of --goal setup'}) does not apply here: it takes the bypass away, which this task never used — ` +
    'run-task succeeding with the task bypass off was the proof. The pool is billed per instance hour: `acr-trust reset` deletes it if acr-trust created it.'
  );
}

/** `--pause` waits for Enter: it needs someone at a terminal (it works with --yes, which settles only the answers). */
function checkPause(opts: RunOptions, term: Terminal): void {
  if (opts.pause && (!term.interactive || opts.json)) {
    throw usageError('--pause waits for Enter before each step, so it needs a terminal (and no --json).', 'Drop --pause to run the steps one after another.');
  }
}

/**
 * The questions asked while the steps run, through the renderer (inside the live list) or straight
 * in the terminal: before a risky change (interactive mode; the registry's current network settings
 * and who may lose access, default no), before a change to a task the user already had (what
 * changes and why, default no), and before each step with `--pause`. Ctrl-C at one of them
 * is Ctrl-C: the run ends as interrupted, its state saved.
 */
async function questionsWhileRunning(
  session: Session,
  render: Renderer,
  interrupt: Interrupt,
  want: { confirm: boolean; pause?: boolean },
): Promise<Pick<EngineRunOptions<World>, 'beforeStep' | 'beforeApply'>> {
  if (!want.confirm && !want.pause) return {};
  const { askInTerminal, confirmBypass, confirmExistingChange, confirmNextStep, confirmRiskyChange } = await import('../prompts.js');
  const { BYPASS_OPENS } = await import('../../../steps/lib/agent-pool.js');
  const askFor = (id: string) => render.asker?.(id) ?? askInTerminal();
  const asked = async (question: () => Promise<boolean>): Promise<boolean> => {
    try {
      return await question();
    } catch (e) {
      if (isAcrTrustError(e) && e.exitCode === 130) interrupt.abort();
      throw e;
    }
  };
  const { cloud, answers } = session.world;
  return {
    beforeStep: want.pause ? (step) => asked(() => confirmNextStep(step, askFor(step.id))) : undefined,
    beforeApply: want.confirm
      ? async (step, change, why) => {
          if (why) return asked(() => confirmExistingChange(step, change, why, askFor(step.id)));
          // Before a bypass is turned on: what it opens, default yes; no leads to the agent pool.
          if (BYPASS_STEPS.includes(step.id)) return asked(() => confirmBypass(step, change, BYPASS_OPENS, askFor(step.id)));
          if (!step.risky) return true;
          const registry = await cloud.getRegistry(answers.resourceGroup, answers.targetRegistry);
          return !registry || asked(() => confirmRiskyChange(step, registry, askFor(step.id)));
        }
      : undefined,
  };
}

/**
 * Writes `<workdir>/report.md` with the target registry as the run left it — unless the first step
 * already failed to read the cloud (no sign-in, no connection): asking again would only wait again.
 */
async function writeHandout(session: Session, report: RunReport, workflow: Awaited<ReturnType<typeof loadWorkflow>>): Promise<string> {
  const { writeReport } = await import('../report.js');
  const { answers, cloud } = session.world;
  const unreachable = report.stoppedAt?.status === 'failed' && report.stoppedAt.id === workflow[0]!.id;
  const registryFinal = unreachable ? undefined : await cloud.getRegistry(answers.resourceGroup, answers.targetRegistry).catch(() => undefined);
  return writeReport(session.paths.dir, {
    answers: session.answers,
    steps: workflow,
    world: session.world,
    results: report.results,
    notRun: report.notRun,
    outcome: report.outcome,
    registryFinal,
    targetLabel: session.targetLabel,
    command: commandLine(),
    ms: report.ms,
  });
}

/**
 * The task run the interrupted step was following, if it is still going on: a step that runs the
 * task records the run's id (`runId`) the moment Azure returns it.
 */
async function runInFlight(session: Session, report: RunReport): Promise<RunInFlight | undefined> {
  const interrupted = report.notRun[0];
  const runId = interrupted === undefined ? undefined : session.store.step(interrupted)?.outputs.runId;
  if (typeof runId !== 'string') return undefined;
  const { answers, cloud } = session.world;
  const run = await cloud.getRun(answers.resourceGroup, answers.registry, runId).catch(() => undefined);
  const { FINAL_RUN_STATUSES } = await import('../../azure/index.js');
  return run && FINAL_RUN_STATUSES.includes(run.status) ? undefined : { runId, registry: answers.registry };
}
