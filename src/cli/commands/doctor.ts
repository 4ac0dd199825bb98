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
import { answerFlags, type AnswerFlags } from '../options.js';
import { closingAfter, interactionFor, openSession, type CommonOptions, type Session } from '../session.js';
import { terminal, type Terminal } from '../terminal.js';

export interface DoctorOptions extends CommonOptions, AnswerFlags {
  run?: boolean;
  fix?: boolean;
}

/** How long a new role assignment takes to apply on Azure, as the doctor assumes it (ms). */
export const AZURE_ROLE_DELAY_MS = 10 * 60_000;

export async function doctor(opts: DoctorOptions): Promise<void> {
  const term = terminal();
  if (opts.run && opts.fix) throw usageError('--run and --fix cannot be combined.', 'Run `acr-trust doctor --fix` first, then `acr-trust doctor --run` to confirm.');
  const flags = answerFlags(opts);
  // Reading changes nothing: without a terminal it goes ahead; --fix changes things and asks or needs --yes.
  const interaction = interactionFor('doctor', opts, term, { required: Boolean(opts.fix) });
  const ask = interaction === 'ask' && (!flags.registry || !flags.task);
  const session = await openSession({ command: 'doctor', opts, flags, term, dryRun: !opts.fix, saveAnswers: false, ask });
  await closingAfter(session, async () => {
    const first = await examine(session, opts);
    emit(first.output, opts);
    let healthy = first.diagnosis.healthy;
    if (opts.run) healthy = await confirmByRun(session, first.diagnosis, opts, term);
    if (opts.fix && !first.diagnosis.healthy) healthy = await applyFixes(session, first, opts, term);
    if (!healthy) process.exitCode = 3;
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
  const reading = await readTaskWorld(cloud, { resourceGroup: a.resourceGroup, registry: a.registry, task: a.task, targetRegistry });
  const diagnosis = diagnose(reading, {
    roleDelayMs: await roleDelayFor(session),
    targetRegistry,
    classify: (log) => {
      const d = diagnoseRunLog(log);
      if (d) return { family: d.rule.kind === 'credential' ? 'authorization' : d.rule.kind, line: d.line };
      const line = failureLine(log);
      return line ? { family: 'unknown', line } : undefined;
    },
  });
  const output = render(diagnosis, { answers: a, step: stepById }, { target: session.targetLabel });
  return { reading, diagnosis, output };
}

/** The role delay the target applies: the sim's own (by its speed), Azure's documented "up to 10 minutes". */
async function roleDelayFor(session: Session): Promise<number> {
  if (session.answers.target !== 'sim') return AZURE_ROLE_DELAY_MS;
  const { defaultRoleDelayMs } = await import('../../sim/scenarios.js');
  return defaultRoleDelayMs(session.answers.simSpeed === 'instant' ? 'instant' : 'realistic');
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

async function applyFixes(_session: Session, _first: Examination, _opts: DoctorOptions, _term: Terminal): Promise<boolean> {
  throw usageError('--fix is not available yet.', 'Run the fix commands the doctor printed.');
}
