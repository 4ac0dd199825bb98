/**
 * What commands show, and the one function that picks how it is shown. Every output item is an
 * event: the engine's (step start, progress, detail, result, summary) plus the CLI's own (the run's
 * header, a step's live check for status/verify, a step's description). A renderer turns each into
 * text lines or a JSON line.
 */
import type { EngineEvent } from '../../engine/events.js';
import type { LiveCheck } from '../../engine/runner.js';
import type { RecordedStatus } from '../../engine/state.js';
import { terminal, type Terminal } from '../terminal.js';
import { jsonRenderer } from './json.js';
import { plainRenderer } from './plain.js';

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
  | { type: 'checks-summary'; command: 'status' | 'verify'; holding: number; total: number; failing: string[] }
  | { type: 'step-info'; index: number; id: string; title: string; why: string; portal?: string; risky?: string };

export interface Renderer {
  emit(event: OutputEvent): void;
}

/** `--json` → JSON lines; otherwise plain lines (coloured on a TTY without NO_COLOR). */
export function chooseRenderer(opts: { json?: boolean }, term: Terminal = terminal()): Renderer {
  if (opts.json) return jsonRenderer(process.stdout);
  return plainRenderer(process.stdout, term);
}
