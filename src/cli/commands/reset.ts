/**
 * `acr-trust reset`: undo the workflow in reverse order — the registry's network settings back to
 * exactly what preflight recorded, the role assignment and the task deleted (each only if
 * acr-trust created it; a task the user had gets back the identity, login mode and credential
 * preflight recorded) — then mark the state reset. Each step reads what it undoes live and reports
 * `unchanged` when there was nothing to put back. Acts on the workdir's own cloud. Safe to repeat.
 */
import { workflow } from '../../../steps/index.js';
import { undoSteps } from '../../engine/runner.js';
import { onInterrupt } from '../interrupt.js';
import { answerFlags, commandLine, type AnswerFlags } from '../options.js';
import { concludeReport } from '../outcome.js';
import { chooseRenderer } from '../render/index.js';
import { closingAfter, interactionFor, openSession, startEvent, type CommonOptions } from '../session.js';
import { terminal } from '../terminal.js';

export async function reset(opts: CommonOptions & AnswerFlags): Promise<void> {
  const term = terminal();
  const interaction = interactionFor('reset', opts, term);
  const session = await openSession({ command: 'reset', opts, flags: answerFlags(opts), term, ask: interaction === 'ask' });
  const interrupt = onInterrupt();
  await closingAfter(session, async () => {
    try {
      const render = await chooseRenderer(opts, term, { steps: [...workflow].reverse(), world: session.world });
      render.emit(startEvent('reset', session));
      let report;
      try {
        report = await undoSteps(workflow, session.world, session.store, { emit: render.emit, signal: interrupt.signal, explain: session.explain });
      } finally {
        await render.close?.();
      }
      concludeReport(report, session.paths.dir, commandLine());
    } finally {
      interrupt.dispose();
    }
  });
}
