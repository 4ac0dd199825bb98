/**
 * What commands show, and the one function that picks how it is shown. Every output item is an
 * event: the engine's (step start, progress, detail, result, summary) plus the CLI's own (the run's
 * header, a step's live check for status/verify, a step's description). A renderer turns each into
 * text lines or a JSON line. Questions asked while steps run go through the renderer's `asker`.
 */
import type { EngineEvent } from '../../engine/events.js';
import type { LiveCheck } from '../../engine/runner.js';
import type { RecordedStatus } from '../../engine/state.js';
import type { Step } from '../../engine/step.js';
import { explainResult, explainStep } from '../explain.js';
import type { Asker } from '../prompts.js';
import { terminal, type Terminal } from '../terminal.js';
import { jsonRenderer } from './json.js';
import { plainRenderer, type StepExplainer } from './plain.js';

/** A step's live check as `status` and `verify` report it. */
export interface CheckReport extends LiveCheck {
  recorded?: { status: RecordedStatus; finishedAt?: string; evidence?: string };
  /** Whether the step's outcome holds (or a later step deliberately reversed it). */
  holds: boolean;
  /** The later step that deliberately reversed this one, when that is why it does not hold. */
  supersededBy?: string;
}

export type OutputEvent =
  | EngineEvent
  | { type: 'start'; command: string; workdir: string; target: string; answers: Record<string, string | undefined>; dryRun?: boolean }
  | ({ type: 'check' } & CheckReport)
  | {
      type: 'checks-summary';
      command: 'status' | 'verify';
      holding: number;
      total: number;
      failing: string[];
      /** Steps whose check could not be made (the cloud could not be read): among `failing`, neither holding nor drifted. */
      unchecked?: string[];
      /** Steps of the workflow's other path (bypass or agent pool), not checked: why each does not apply. */
      notApplying?: { id: string; title: string; reason: string }[];
    }
  | { type: 'step-info'; index: number; id: string; title: string; why: string; portal?: string; risky?: string }
  /** After a run, for a reader: where the handout is, and (after questions) the command that replays the answers. */
  | { type: 'handout'; report: string; replay?: string; next?: { label: string; command: string }[]; notes?: string[] };

export interface Renderer {
  emit(event: OutputEvent): void;
  /** Asks a question in step `id`'s place on the screen (the live list); without it, straight in the terminal. */
  asker?(stepId: string): Asker;
  /** Ends live output and gives the terminal back; call once the engine has returned, before anything else is written. */
  close?(): Promise<void>;
}

/** How the user asked for output: `--json`, `--no-color` (commander's `color: false`), `--explain`. */
export interface OutputOptions {
  json?: boolean;
  color?: boolean;
  explain?: boolean;
}

/** The steps a command runs, in order, and the world their az lines are written for (for `--explain`). */
export interface StepList<W> {
  steps: readonly Step<W>[];
  world: W;
}

/**
 * The one place that picks how output is shown:
 * `--json` → JSON lines; a terminal with colours (a TTY, no NO_COLOR or `--no-color`) and a step
 * list → the live list (listr2); otherwise → plain lines. `--explain` adds each step's why, az
 * lines and portal path before it, and (in plain lines) its evidence after it.
 */
export async function chooseRenderer<W>(opts: OutputOptions, term: Terminal = terminal(), list?: StepList<W>): Promise<Renderer> {
  if (opts.json) return jsonRenderer(process.stdout);
  const shown: Terminal = opts.color === false ? { ...term, color: false } : term;
  const explain = opts.explain && list ? explainer(list) : undefined;
  if (list && shown.color) {
    const { createLiveRenderer } = await import('./live.js');
    return createLiveRenderer({ steps: list.steps, term: shown, explain: explain?.before });
  }
  return plainRenderer(process.stdout, shown, explain);
}

/** `--explain`'s words for a step list, from explain.ts. */
function explainer<W>({ steps, world }: StepList<W>): StepExplainer {
  const byId = new Map(steps.map((s) => [s.id, s]));
  return {
    before: (id, width) => {
      const step = byId.get(id);
      return step ? explainStep(step, world, { width, heading: false }) : [];
    },
    after: (result, width) => explainResult(result, width),
  };
}
