/**
 * A finding's fix as commands: the workflow step that repairs it (`acr-trust run --only STEP …`)
 * and that step's own az lines for these answers — the same lines `acr-trust export` prints — or
 * the finding's own az lines where no workflow step applies.
 */
import type { Answers, World } from '../../steps/index.js';
import type { Step } from '../engine/step.js';
import { shellLine } from '../cli/options.js';
import type { Finding } from './diagnose.js';

export interface FixCommands {
  /** The workflow step, when one repairs it. */
  step?: string;
  /** `acr-trust run --only STEP …`, with the answers this fix needs. */
  acrTrust?: string;
  /** The exact az command lines. */
  az: string[];
  /** Said instead of (or beside) commands: wait, ask support. */
  advice?: string;
}

export interface FixContext {
  answers: Pick<Answers, 'subscription' | 'resourceGroup' | 'registry' | 'task'>;
  /** The workflow's step with this id. */
  step: (id: string) => Step<World> | undefined;
  /** Where the doctor looked (`--target sim --workdir …`, see `whereFlags`): the fix acts there too. */
  where?: string[];
}

/** The fix of one finding, for these answers. */
export function fixOf(f: Finding, ctx: FixContext): FixCommands {
  const out: FixCommands = { az: [...(f.az ?? [])], advice: f.advice };
  const step = f.step ? ctx.step(f.step) : undefined;
  if (!step) return out;
  const answers: Answers = {
    ...ctx.answers,
    targetRegistry: f.stepAnswers?.targetRegistry ?? ctx.answers.registry,
    role: (f.stepAnswers?.role as Answers['role'] | undefined) ?? 'AcrPush',
  };
  out.step = step.id;
  out.acrTrust = shellLine([
    'acr-trust',
    'run',
    '--only',
    step.id,
    // One step, so the goal changes nothing; named, it is not asked (nor refused with --yes).
    '--goal',
    'setup',
    ...(ctx.where ?? []),
    '--subscription',
    answers.subscription,
    '--resource-group',
    answers.resourceGroup,
    '--registry',
    answers.registry,
    ...(answers.targetRegistry !== answers.registry ? ['--target-registry', answers.targetRegistry] : []),
    '--task',
    answers.task,
    ...(answers.role !== 'AcrPush' ? ['--role', answers.role] : []),
  ]);
  // The step's own az lines, unless the finding names more precise ones (a typo to remove first).
  if (out.az.length === 0) out.az = step.az({ answers, cloud: undefined as never, timing: undefined as never });
  return out;
}
