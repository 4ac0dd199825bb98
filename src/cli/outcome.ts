/**
 * How a command's report becomes its exit: the one mapping from an engine outcome to an exit code,
 * and the errors that carry it to the top-level error policy in main.ts.
 */
import type { RunOutcome } from '../engine/events.js';
import type { RunReport } from '../engine/runner.js';
import { AcrTrustError, type ExitCode } from '../errors.js';
import { shellLine } from './options.js';

export function exitCodeOf(outcome: RunOutcome): 0 | ExitCode {
  return outcome === 'complete' ? 0 : outcome === 'interrupted' ? 130 : 1;
}

/** A task run that was going on in the cloud when the run was interrupted: acr-trust leaves it alone. */
export interface RunInFlight {
  runId: string;
  /** The registry that owns the task (and the run). */
  registry: string;
}

/** Throws the command's failure (exit 1 or 130) after the renderer has shown the report. */
export function concludeReport(report: RunReport, workdir: string, resume: string, inFlight?: RunInFlight): void {
  if (report.outcome === 'interrupted') {
    throw new AcrTrustError(`interrupted — progress is saved in ${workdir}; run \`${resume}\` again to resume.`, {
      exitCode: 130,
      hint: inFlight
        ? `Task run ${inFlight.runId} goes on in the cloud: acr-trust left it alone, and a resumed run follows it. To cancel it: \`az acr task cancel-run -r ${inFlight.registry} --run-id ${inFlight.runId}\`.`
        : undefined,
    });
  }
  const stop = report.stoppedAt;
  if (report.outcome === 'stopped' && stop) {
    const again = `run \`${withArgs(resume, stop.problem?.addArgs)}\` again: finished steps are kept.`;
    throw new AcrTrustError(`stopped at ${stop.id} (${stop.status}): ${stop.problem?.reason ?? stop.evidence}`, {
      exitCode: 1,
      hint: stop.problem?.hint ? `${stop.problem.hint} Then ${again}` : `To go on, ${again}`,
      code: stop.problem?.code,
      link: stop.problem?.link,
    });
  }
}

/**
 * The command to run again, with the words a blocked step says it needs (`addArgs`: a flag and its
 * value): a flag the command already has gets the new value in place, else the words are appended.
 */
export function withArgs(command: string, addArgs: readonly string[] | undefined): string {
  if (!addArgs?.length) return command;
  const [flag, ...values] = addArgs;
  const given = new RegExp(`(^| )${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(=| )('[^']*'|\\S+)`);
  if (values.length === 1 && given.test(command)) return command.replace(given, (_m, lead: string) => `${lead}${shellLine([flag, values[0]])}`);
  return `${command} ${shellLine(addArgs)}`;
}
