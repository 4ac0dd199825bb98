/**
 * `status` and `verify` share this: every step's check, live and read-only, next to what the
 * workdir recorded. A step a later step deliberately reversed (trusted services, allowed for the
 * first run and disabled for the negative test) holds when that later step holds. With the goal
 * `setup` the steps end at run-task, and every one of them must hold itself.
 */
import { workflow } from '../../steps/index.js';
import { GOAL_LAST_STEP } from '../engine/answers.js';
import { applicableSteps, checkSteps } from '../engine/runner.js';
import { AcrTrustError } from '../errors.js';
import type { Explanation } from '../engine/events.js';
import { onInterrupt } from './interrupt.js';
import { answerFlags, commandLine, type AnswerFlags } from './options.js';
import { chooseRenderer, type CheckReport } from './render/index.js';
import { openSession, startEvent, type CommonOptions } from './session.js';
import { terminal } from './terminal.js';

/**
 * A problem every later check would meet too, so they are not tried: the sign-in failed (the
 * codes of src/azure/credentials.ts), the token was refused, the certificate is not trusted, or
 * the endpoint could not be reached (Node's socket codes: ECONNREFUSED, ENOTFOUND, ETIMEDOUT …).
 */
export function cloudUnreadable(problem: Explanation): boolean {
  const code = problem.code ?? '';
  return /^(AzureCliMissing|NotSignedIn|SignIn[A-Za-z]+|MfaRequired|WrongTenant|CertificateNotTrusted|ConnectionFailed|InvalidAuthenticationToken[A-Za-z]*|ExpiredAuthenticationToken|E[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(code);
}

/**
 * When a check could not be made (the cloud could not be read: sign-in, connection, permission),
 * the error that says so (exit 1, the first check's problem with its hint and ARM's code): nothing
 * is known about those steps, so neither "holds" nor "drifted" may be said of them.
 */
export function uncheckedError(reports: readonly CheckReport[]): AcrTrustError | undefined {
  const errors = reports.filter((r) => r.live.status === 'error');
  const first = errors[0]?.live;
  if (!first || first.status !== 'error') return undefined;
  const { reason, hint, code, link } = first.problem;
  return new AcrTrustError(`${errors.length} step(s) could not be checked (${errors.map((r) => r.id).join(', ')}): ${reason}`, {
    exitCode: 1,
    ...(hint ? { hint } : {}),
    ...(code ? { code } : {}),
    ...(link ? { link } : {}),
  });
}

export async function liveChecks(command: 'status' | 'verify', opts: CommonOptions & AnswerFlags): Promise<CheckReport[]> {
  const term = terminal();
  const session = await openSession({ command, opts, flags: answerFlags(opts), term });
  const render = await chooseRenderer(opts, term);
  const interrupt = onInterrupt();
  try {
    render.emit(startEvent(command, session));
    // A setup ends at run-task: the negative test's steps are not part of it.
    const last = GOAL_LAST_STEP[session.answers.goal ?? 'demo'];
    // Steps of the other path (bypass or agent pool) are not checked: they are listed as not applying.
    const { applies: steps, notApplying } = applicableSteps(workflow.slice(0, workflow.findIndex((s) => s.id === last) + 1), session.world);
    const checks = await checkSteps(steps, session.world, session.store, { emit: render.emit, signal: interrupt.signal, explain: session.explain, stopOn: cloudUnreadable });
    if (!checks) throw new AcrTrustError(`interrupted — nothing was changed; run \`${commandLine()}\` again.`, { exitCode: 130 });
    const done = new Set(checks.filter((c) => c.live.status === 'done').map((c) => c.id));
    const reports: CheckReport[] = checks.map((c, i) => {
      const rec = session.store.step(c.id);
      const supersededBy = steps[i]!.supersededBy;
      const reversed = c.live.status !== 'done' && supersededBy !== undefined && done.has(supersededBy);
      return {
        ...c,
        recorded: rec && { status: rec.status, finishedAt: rec.finishedAt, evidence: rec.evidence },
        holds: c.live.status === 'done' || reversed,
        ...(reversed ? { supersededBy } : {}),
      };
    });
    for (const r of reports) render.emit({ type: 'check', ...r });
    const failing = reports.filter((r) => !r.holds).map((r) => r.id);
    const unchecked = reports.filter((r) => r.live.status === 'error').map((r) => r.id);
    render.emit({ type: 'checks-summary', command, holding: reports.length - failing.length, total: reports.length, failing, ...(unchecked.length ? { unchecked } : {}), ...(notApplying.length ? { notApplying } : {}) });
    return reports;
  } finally {
    interrupt.dispose();
    await session.close();
  }
}
