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
import { onInterrupt } from './interrupt.js';
import { answerFlags, commandLine, type AnswerFlags } from './options.js';
import { chooseRenderer, type CheckReport } from './render/index.js';
import { openSession, startEvent, type CommonOptions } from './session.js';
import { terminal } from './terminal.js';

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
    const checks = await checkSteps(steps, session.world, session.store, { emit: render.emit, signal: interrupt.signal, explain: session.explain });
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
    render.emit({ type: 'checks-summary', command, holding: reports.length - failing.length, total: reports.length, failing, ...(notApplying.length ? { notApplying } : {}) });
    return reports;
  } finally {
    interrupt.dispose();
    await session.close();
  }
}
