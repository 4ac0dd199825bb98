/**
 * What the engine tells a renderer. The engine never writes to a terminal: it emits these typed
 * events and a renderer (plain lines, JSON lines, later a live list) turns them into output.
 */
import type { Outputs } from './step.js';

/**
 * How a step ended in this run:
 * - `done`: its check found the outcome already holding; nothing changed.
 * - `applied`: it was pending, apply ran, and the re-check found it holding.
 * - `would-change`: dry run; it is pending and `change` says what apply would do.
 * - `blocked`: its check says it cannot proceed (reason + hint); the run stops there.
 * - `failed`: apply threw, or the outcome did not hold in time after apply; the run stops there.
 * - `skipped`: outside the selection (`--from`, `--only`, `--until`).
 * - `undone`: `reset` ran its undo and it changed the cloud back.
 * - `unchanged`: `reset` looked, live, and found nothing of the workflow's to put back (the
 *   resource is gone, was never created by acr-trust, or already as it was).
 */
export type StepStatus = 'done' | 'applied' | 'would-change' | 'blocked' | 'failed' | 'skipped' | 'undone' | 'unchanged';

/** A failure or blocker, explained for a user: what is wrong, what to do, where to read more. */
export interface Explanation {
  reason: string;
  hint?: string;
  /** ARM's error code, kept as the cloud sent it. */
  code?: string;
  link?: string;
  /** Command-line words the same command needs to go on (a blocked step's `addArgs`). */
  addArgs?: string[];
}

export interface StepResult {
  id: string;
  title: string;
  status: StepStatus;
  /** What proves the outcome, or what would change, or why it stopped — one line for a user. */
  evidence: string;
  /** The step's outputs after it ran (recorded so far, including earlier runs). */
  outputs: Outputs;
  ms: number;
  /** Dry run: the equivalent az command lines. */
  az?: string[];
  /** Blocked or failed: the explanation. */
  problem?: Explanation;
}

export type EngineEvent =
  | { type: 'step-start'; id: string; title: string; index: number; total: number }
  | { type: 'step-progress'; id: string; text: string }
  | { type: 'step-detail'; id: string; line: string }
  | ({ type: 'step-result' } & StepResult)
  | { type: 'summary'; outcome: RunOutcome; results: StepResult[]; notRun: string[]; ms: number };

/**
 * - `complete`: every selected step holds (or, in a dry run, was previewed).
 * - `stopped`: a step was blocked or failed; the state is saved and a re-run resumes.
 * - `interrupted`: the abort signal fired (Ctrl-C); the state is saved.
 */
export type RunOutcome = 'complete' | 'stopped' | 'interrupted';

export type EventSink = (event: EngineEvent) => void;
