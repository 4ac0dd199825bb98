/**
 * `acr-trust run` (the default command): walk the workflow against the chosen target.
 */
import { workflow } from '../../../steps/index.js';
import { runSteps, selectSteps, type Selection } from '../../engine/runner.js';
import { onInterrupt } from '../interrupt.js';
import { answerFlags, commandLine, type AnswerFlags } from '../options.js';
import { concludeReport } from '../outcome.js';
import { chooseRenderer } from '../render/index.js';
import { openSession, requireYes, startEvent, type CommonOptions } from '../session.js';
import { terminal } from '../terminal.js';

export interface RunOptions extends CommonOptions, AnswerFlags, Selection {
  dryRun?: boolean;
}

export async function run(opts: RunOptions): Promise<void> {
  const term = terminal();
  const selection: Selection = { from: opts.from, only: opts.only, until: opts.until };
  selectSteps(workflow, selection); // an unknown step id is exit 2 before anything starts
  if (!opts.dryRun) requireYes('run', opts, term);

  const render = chooseRenderer(opts, term);
  const session = await openSession({ command: 'run', opts, flags: answerFlags(opts), term, dryRun: opts.dryRun, saveAnswers: !opts.dryRun });
  const interrupt = onInterrupt();
  try {
    render.emit(startEvent('run', session, opts.dryRun));
    const report = await runSteps(workflow, session.world, session.store, {
      ...selection,
      dryRun: opts.dryRun,
      signal: interrupt.signal,
      emit: render.emit,
      explain: session.explain,
    });
    concludeReport(report, session.paths.dir, commandLine());
  } finally {
    interrupt.dispose();
    await session.close();
  }
}
