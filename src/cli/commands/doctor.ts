/**
 * `acr-trust doctor`: why does this task fail against its registries? Reads the task, every
 * registry it reaches, its identity's role assignments and its last runs (read-only, each resource
 * once), decides every registry access with the simulated Azure's own rules, and prints each
 * verdict with the cause, the evidence and the fix.
 *
 * Exit codes: 0 healthy, 3 a problem found, 2 bad input, 1 something could not be read (the
 * missing permission is named) or a cloud call failed.
 *
 * - `--run`: confirm by scheduling one run of the task and following it to its end (asks first in
 *   a terminal).
 * - `--fix`: apply the fixes as the workflow's own steps (check, apply, verify), recorded in the
 *   workdir so `acr-trust reset` undoes them — after showing them (asks in a terminal; needs --yes
 *   elsewhere).
 */
import { AcrTrustError, isAcrTrustError, usageError } from '../../errors.js';
import type { Diagnosis } from '../../doctor/diagnose.js';
import type { DoctorReading } from '../../doctor/read.js';
import type { DoctorOutput } from '../../doctor/render.js';
import { answerFlags, whereFlags, type AnswerFlags } from '../options.js';
import { closingAfter, interactionFor, openSession, type CommonOptions, type Session } from '../session.js';
import { terminal, type Terminal } from '../terminal.js';

export interface DoctorOptions extends CommonOptions, AnswerFlags {
  /** Explain this run (a task run or a quick run) instead of the task's last. */
  runId?: string;
  run?: boolean;
  fix?: boolean;
}

/** How long a new role assignment takes to apply on Azure, as the doctor assumes it (ms). */
export const AZURE_ROLE_DELAY_MS = 10 * 60_000;

export async function doctor(opts: DoctorOptions): Promise<void> {
  const term = terminal();
  if (opts.runId && (opts.run || opts.fix)) throw usageError('--run-id explains one run; it does not combine with --run or --fix.', 'Drop --run-id to check the task as it is now.');
  if (opts.run && opts.fix) throw usageError('--run and --fix cannot be combined.', 'Run `acr-trust doctor --fix` first, then `acr-trust doctor --run` to confirm.');
  const flags = answerFlags(opts);
  // Reading changes nothing: without a terminal it goes ahead; --fix changes things and asks or needs --yes.
  const interaction = interactionFor('doctor', opts, term, { required: Boolean(opts.fix) });
  // What flags, --answers, the workdir's saved answers and the environment already settle is not asked.
  const { readInputs } = await import('../../engine/answers.js');
  const { workdirPaths } = await import('../../engine/workdir.js');
  const { inputs } = readInputs({ flags, file: opts.answers, saved: workdirPaths(opts.workdir).answers, env: process.env });
  const ask = interaction === 'ask' && (!inputs.registry || (!inputs.task && !opts.runId));
  // In a terminal the workflow's pickers ask where (target, subscription, group, registries); the
  // doctor changes nothing, so it asks no goal or role, and picks the task from the registry's live list.
  const pickTask = ask && !inputs.task && !opts.runId;
  const asked = ask ? { goal: 'setup', role: 'AcrPush', ...flags, ...(pickTask ? { task: TASK_TO_PICK } : {}) } : flags;
  // The doctor itself never writes the workdir; --fix hands over to `run`, which does.
  const session = await openSession({ command: 'doctor', opts, flags: asked, term, dryRun: true, saveAnswers: false, ask });
  let first: Examination | undefined;
  let healthy = false;
  await closingAfter(session, async () => {
    if (pickTask) session.answers.task = await pickTaskOf(session);
    first = await examine(session, opts);
    emit(first.output, opts);
    healthy = first.diagnosis.healthy;
    if (opts.run) healthy = await confirmByRun(session, first.diagnosis, opts, term);
  });
  if (opts.fix && first && !first.diagnosis.healthy) healthy = await applyFixes(session, first, opts, term, interaction === 'ask');
  if (!healthy) process.exitCode = 3;
}

/** A placeholder task name while the task is still to be picked (a valid name, never an answer). */
const TASK_TO_PICK = 'doctor-task-to-pick';

/** The task, picked from the registry's live list (typed when the registry has none). */
async function pickTaskOf(session: Session): Promise<string> {
  const a = session.answers;
  const tasks = await session.world.cloud.listTasksJson(a.resourceGroup, a.registry);
  const { askInTerminal, isPromptCancel } = await import('../prompts.js');
  if (tasks.length === 0) throw usageError(`Registry ${a.registry} has no tasks.`, '`acr-trust run` creates one; or pick another registry.');
  const select = (await import('@inquirer/select')).default;
  return askInTerminal()((ctx) =>
    select(
      {
        message: `Task in ${a.registry}`,
        choices: [...tasks].sort((x, y) => x.name.localeCompare(y.name)).map((t) => ({
          value: t.name,
          name: `${t.name}  ${t.properties?.status ?? ''}  identity ${t.identity?.type ?? 'None'}`,
          description: Object.keys(t.properties?.credentials?.customRegistries ?? {}).join(', ') || 'no registry credentials',
        })),
      },
      ctx,
    ),
  ).catch((e) => {
    if (isPromptCancel(e)) throw new AcrTrustError('cancelled at a question; nothing was read or changed.', { exitCode: 130 });
    throw e;
  });
}

interface Examination {
  reading: DoctorReading;
  diagnosis: Diagnosis;
  output: DoctorOutput;
}

/** Reads, decides and renders once, with the session's cloud (or a fresh one after changes). */
async function examine(session: Session, opts: DoctorOptions, cloud = session.world.cloud): Promise<Examination> {
  const [{ readTaskWorld }, { diagnose }, { render }, { diagnoseRunLog }, { stepById }] = await Promise.all([
    import('../../doctor/read.js'),
    import('../../doctor/diagnose.js'),
    import('../../doctor/render.js'),
    import('../../azure/index.js'),
    import('../../../steps/index.js'),
  ]);
  const a = session.answers;
  const targetRegistry = opts.targetRegistry ?? (a.targetRegistry !== a.registry ? a.targetRegistry : undefined);
  const reading = await readTaskWorld(cloud, { resourceGroup: a.resourceGroup, registry: a.registry, task: a.task, targetRegistry, runId: opts.runId });
  const diagnosis = diagnose(reading, {
    roleDelayMs: await roleDelayFor(session, Boolean(opts.endpoint)),
    // The sim's scenario `task-switch-only` reads the two bypass switches the other way (model.BypassModel).
    bypassModel: a.target === 'sim' && a.simScenario === 'task-switch-only' ? 'task-switch-only' : 'both',
    targetRegistry,
    classify: (log) => {
      const d = diagnoseRunLog(log);
      if (d) return { family: d.rule.kind === 'credential' ? 'authorization' : d.rule.kind, line: d.line };
      const line = failureLine(log);
      return line ? { family: 'unknown', line } : undefined;
    },
  });
  const output = render(diagnosis, { answers: a, step: stepById, where: whereFlags(opts) }, { target: session.targetLabel });
  return { reading, diagnosis, output };
}

/** The role delay the target applies: the sim's own (by its speed), Azure's documented "up to 10 minutes". */
async function roleDelayFor(session: Session, endpointGiven: boolean): Promise<number> {
  if (session.answers.target !== 'sim') return AZURE_ROLE_DELAY_MS;
  const [{ defaultRoleDelayMs }, { timings }] = await Promise.all([import('../../sim/scenarios.js'), import('../../../steps/world.js')]);
  // The sim's speed: --sim-speed when given; the embedded sim's own (the session's timing); for a
  // `sim serve` elsewhere, its default (instant) — its state file is not ours to read.
  const given = session.answers.simSpeed;
  const speed = given ?? (endpointGiven ? 'instant' : session.world.timing === timings.instant ? 'instant' : 'realistic');
  return defaultRoleDelayMs(speed === 'instant' ? 'instant' : 'realistic');
}

/** The last line of a log that reads like a failure (redacted), when no rule explains it. */
function failureLine(log: string): string | undefined {
  const lines = log.split(/\r?\n/).map((l) => l.trim()).filter((l) => /error|fail|denied|refused|unauthorized/i.test(l));
  const line = lines.find((l) => !/^Run ID: .* failed after/i.test(l)) ?? lines[0];
  return line ? redactLine(line) : undefined;
}

function redactLine(line: string): string {
  return line.replace(/(https?:\/\/[^\s"'?]+)\?[^\s"']*/gi, '$1?<redacted>');
}

function emit(output: DoctorOutput, opts: DoctorOptions): void {
  if (opts.json) for (const o of output.objects) process.stdout.write(`${JSON.stringify(o)}\n`);
  else process.stdout.write(output.text);
}

// ---- --run --------------------------------------------------------------------------------------------

/** Schedules one run, follows it to its end and compares it with the prediction. True when it succeeded. */
async function confirmByRun(session: Session, predicted: Diagnosis, opts: DoctorOptions, term: Terminal): Promise<boolean> {
  const a = session.answers;
  const cloud = session.world.cloud;
  if (term.interactive && !opts.yes && !opts.json) {
    const { askInTerminal } = await import('../prompts.js');
    const confirm = (await import('@inquirer/confirm')).default;
    const go = await askInTerminal()((ctx) => confirm({ message: `Schedule one run of task ${a.task} in ${a.registry} and follow it?`, default: true }, ctx));
    if (!go) return predicted.healthy;
  }
  const task = await cloud.getTask(a.resourceGroup, a.registry, a.task);
  let runId: string;
  try {
    runId = await cloud.scheduleRun(a.resourceGroup, a.registry, task!.id);
  } catch (e) {
    if (isAcrTrustError(e) && e.code === 'TasksOperationsNotAllowed') {
      const { tasksNotAllowed } = await import('../../doctor/diagnose.js');
      const f = tasksNotAllowed(e.message);
      say(opts, { type: 'run', verdict: 'refused', cause: f.cause, words: f.words, evidence: f.evidence, fix: { az: [], advice: f.advice } }, `\n✗ the run could not be scheduled: ${f.words}\n    evidence: ${e.message}\n    fix: ${f.advice}\n`);
      return false;
    }
    throw e;
  }
  const { timing } = session.world;
  let delay = timing.pollMs;
  const deadline = Date.now() + timing.runTimeoutMs;
  let run = await cloud.getRun(a.resourceGroup, a.registry, runId);
  while (run && !['Succeeded', 'Failed', 'Canceled', 'Error', 'Timeout'].includes(run.status)) {
    if (Date.now() > deadline) throw new AcrTrustError(`Run ${runId} is still ${run.status} after ${Math.round(timing.runTimeoutMs / 1000)} s.`, { hint: `Follow it with \`az acr task logs -r ${a.registry} --run-id ${runId}\`.` });
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(timing.maxPollMs, Math.round(delay * 1.5));
    run = await cloud.getRun(a.resourceGroup, a.registry, runId);
  }
  const status = run?.status ?? 'Unknown';
  let line: string | undefined;
  if (status !== 'Succeeded') {
    const { diagnoseRunLog } = await import('../../azure/index.js');
    const log = await cloud.readRunLog(a.resourceGroup, a.registry, runId);
    line = diagnoseRunLog(log)?.line ?? failureLine(log);
  }
  const agrees = (status === 'Succeeded') === predicted.healthy;
  const note = agrees
    ? 'as predicted'
    : status === 'Succeeded'
      ? 'it succeeded although the doctor predicted a refusal: a setting changed meanwhile, or the registry lets the task in for a reason the doctor does not model'
      : 'it failed although the doctor predicted success: a setting changed meanwhile, or a cause the doctor does not know';
  say(opts, { type: 'run', runId, status, ...(line ? { line } : {}), agrees, note }, `\nRun ${runId}: ${status}${line ? ` — ${line}` : ''}\n    ${agrees ? 'agrees with the prediction.' : `disagrees: ${note}.`}\n`);
  return status === 'Succeeded';
}

function say(opts: DoctorOptions, json: Record<string, unknown>, text: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(json)}\n` : text);
}

// ---- --fix --------------------------------------------------------------------------------------------

/**
 * The fixes as the workflow's own steps, for one target registry (the first refused one): the
 * answers the steps need (target registry, role), and the steps in workflow order after preflight
 * (which records the registry's network settings so `reset` restores them).
 */
export function fixPlan(d: Diagnosis, order: readonly string[]): { targetRegistry?: string; role?: string; steps: string[]; elsewhere: string[] } {
  const findings = [...d.taskFindings, ...d.accesses.flatMap((a) => a.findings)].filter((f) => f.step);
  const targetRegistry = findings[0]?.stepAnswers?.targetRegistry;
  const mine = findings.filter((f) => (f.stepAnswers?.targetRegistry ?? targetRegistry) === targetRegistry);
  const roles = mine.map((f) => f.stepAnswers?.role).filter((r): r is string => Boolean(r));
  // One role covers a push and a pull: the stronger one.
  const role = roles.find((r) => /Push|Writer|Contributor/.test(r)) ?? roles[0];
  const steps = order.filter((id) => id !== 'preflight' && mine.some((f) => f.step === id));
  const elsewhere = [...new Set(findings.filter((f) => !mine.includes(f)).map((f) => f.stepAnswers?.targetRegistry ?? ''))].filter(Boolean);
  return { targetRegistry, role, steps, elsewhere };
}

/**
 * Applies the plan through `acr-trust run --only STEP` (check, apply, verify; recorded in the
 * workdir with the answers, so `acr-trust reset` undoes it), then examines the task again with a
 * fresh connection and says what still fails. True when healthy afterwards.
 */
async function applyFixes(closed: Session, first: Examination, opts: DoctorOptions, term: Terminal, ask: boolean): Promise<boolean> {
  const { stepIds } = await import('../../../steps/index.js');
  const plan = fixPlan(first.diagnosis, stepIds);
  const a = closed.answers;
  if (plan.steps.length === 0) {
    say(opts, { type: 'fix', applied: [], note: 'no workflow step repairs what was found; use the az commands above' }, '\nNo workflow step repairs what was found: use the az commands above.\n');
    return false;
  }
  const steps = ['preflight', ...plan.steps];
  const where = `task ${a.task} in ${a.registry}, target registry ${plan.targetRegistry}${plan.role ? `, role ${plan.role}` : ''}`;
  say(opts, { type: 'fix', steps, targetRegistry: plan.targetRegistry, role: plan.role ?? null }, `\nThe fix, as the workflow's steps (${where}): ${steps.join(', ')}. Recorded in ${closed.paths.dir}; \`acr-trust reset\` undoes it.\n`);
  if (ask) {
    const { askInTerminal } = await import('../prompts.js');
    const confirm = (await import('@inquirer/confirm')).default;
    const go = await askInTerminal()((ctx) => confirm({ message: `Apply ${steps.join(', ')} now?`, default: false }, ctx));
    if (!go) return false;
  }
  const { run } = await import('./run.js');
  for (const only of steps) {
    await run({ ...opts, yes: true, fix: undefined, run: undefined, only, targetRegistry: plan.targetRegistry, ...(plan.role ? { role: plan.role } : {}) } as Parameters<typeof run>[0]);
  }
  if (plan.elsewhere.length) {
    say(opts, { type: 'fix', notApplied: plan.elsewhere }, `\nNot applied (another target registry): ${plan.elsewhere.join(', ')} — run \`acr-trust doctor --fix --target-registry NAME\` in another --workdir for each.\n`);
  }
  // Again, from the cloud as it is now (a new connection: nothing cached from before the changes).
  const again = await openSession({ command: 'doctor', opts, flags: answerFlags(opts), term, dryRun: true, saveAnswers: false });
  let healthy = false;
  await closingAfter(again, async () => {
    const after = await examine(again, opts);
    say(opts, { type: 'after-fix' }, '\nAfter the fix:\n');
    emit(after.output, opts);
    healthy = after.diagnosis.healthy;
  });
  return healthy;
}
