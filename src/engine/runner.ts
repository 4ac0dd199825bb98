/**
 * The runner: walks a list of steps in order, each one Read (`check`) → Create/Update (`apply`) →
 * Read again until it holds (`settle`), and keeps what happened in the state store as it goes.
 * Every selected step is checked live in every run: the state store is a hint (which run ids to
 * follow, what preflight saw first), never the answer — a re-run repairs drift.
 *
 *   check says done     → record, move on                     (status `done`, "holds, checked now")
 *   check says pending, and the step's `supersededBy` step is selected, was finished by an earlier
 *                         run, and its check holds now → the reversal is on purpose  (status `done`)
 *   check says blocked  → stop; the reason and hint go out     (status `blocked`, exit 1, resumable)
 *   check says pending  → dry run: say what would change       (status `would-change`)
 *                         else apply, then re-check with backoff (status `applied`, or `failed`)
 *
 * Two hooks let the caller stop the run before something happens (a person confirms): `beforeStep`
 * before a step that is not recorded done runs, `beforeApply` between a pending check and apply.
 * A hook that answers false ends the run with that step `blocked` (code `NotConfirmed`): nothing
 * was changed by it. A hook that throws once the signal has aborted (Ctrl-C at a question) ends
 * the run as `interrupted`.
 *
 * It emits events and returns a report; it never writes to a terminal and knows nothing of Azure.
 * Errors thrown by steps are turned into explanations by the `explain` function it is given.
 */
import { isAcrTrustError, usageError } from '../errors.js';
import type { EventSink, Explanation, RunOutcome, StepResult, StepStatus } from './events.js';
import type { StateStore } from './state.js';
import type { CheckResult, Outputs, Step, StepContext } from './step.js';

export interface Selection {
  /** Start at this step (earlier ones are skipped). */
  from?: string;
  /** Run just this step. */
  only?: string;
  /** Stop after this step. */
  until?: string;
  /** Why steps outside the selection are skipped, when not the flags above (e.g. "not part of --goal setup"). */
  note?: string;
}

export interface EngineOptions {
  emit: EventSink;
  /** Aborted on Ctrl-C: waits stop, the state is saved, the outcome is `interrupted`. */
  signal?: AbortSignal;
  /** Explains a thrown error (the cloud adapter's rules table); undefined when not recognised. */
  explain?: (error: unknown) => Explanation | undefined;
  /** For tests: the clock and the sleep the settle loop uses. */
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Asked before something happens; false stops the run there, with nothing changed. */
export type Gate<W> = (step: Step<W>) => Promise<boolean>;

export interface RunOptions<W = unknown> extends Selection, EngineOptions {
  /** Check every step and report what would change; apply nothing. */
  dryRun?: boolean;
  /** Before a selected step that an earlier run did not finish (a finished one is re-checked without asking): false stops the run before it. */
  beforeStep?: Gate<W>;
  /**
   * After a step's check found it pending, before its apply (never in a dry run): false stops the
   * run. `confirm` is the check's own say when the change alters something the user already had.
   */
  beforeApply?: (step: Step<W>, change: string, confirm?: string) => Promise<boolean>;
}

/** The code of a step a `beforeStep` or `beforeApply` hook declined. */
export const NOT_CONFIRMED = 'NotConfirmed';

export interface RunReport {
  outcome: RunOutcome;
  results: StepResult[];
  /** Selected steps not reached because the run stopped. */
  notRun: string[];
  /** The step that stopped the run (blocked or failed). */
  stoppedAt?: StepResult;
  /** How long the run took (ms). */
  ms: number;
}

/** Which steps a selection picks, in order. Unknown ids and contradictions are exit 2. */
export function selectSteps<W>(steps: readonly Step<W>[], sel: Selection): Set<string> {
  const ids = steps.map((s) => s.id);
  const indexOf = (flag: string, id: string): number => {
    const i = ids.indexOf(id);
    if (i < 0) throw usageError(`unknown step "${id}" for --${flag}.`, `Step ids, in order: ${ids.join(', ')}.`);
    return i;
  };
  if (sel.only !== undefined && (sel.from !== undefined || sel.until !== undefined)) {
    throw usageError('--only cannot be combined with --from or --until.', 'Use --only STEP for one step, or --from/--until for a range.');
  }
  if (sel.only !== undefined) return new Set([ids[indexOf('only', sel.only)]!]);
  const from = sel.from === undefined ? 0 : indexOf('from', sel.from);
  const until = sel.until === undefined ? ids.length - 1 : indexOf('until', sel.until);
  if (from > until) throw usageError(`--from ${sel.from} comes after --until ${sel.until}.`, `Step ids, in order: ${ids.join(', ')}.`);
  return new Set(ids.slice(from, until + 1));
}

export async function runSteps<W>(steps: readonly Step<W>[], world: W, store: StateStore, opts: RunOptions<W>): Promise<RunReport> {
  const selected = selectSteps(steps, opts);
  const engine = new Engine(world, store, opts);
  const started = engine.now();
  const results: StepResult[] = [];
  const notRun: string[] = [];
  let outcome: RunOutcome = 'complete';
  let stoppedAt: StepResult | undefined;
  let pendingBefore = false; // dry run: an earlier step would change, so later blockers may be its doing

  for (const [index, step] of steps.entries()) {
    const notHere = selected.has(step.id) ? step.skipReason?.(world) : undefined;
    if (!selected.has(step.id) || notHere !== undefined) {
      const r = engine.result(step, 'skipped', notHere ?? selectionNote(opts), engine.now());
      results.push(r);
      opts.emit({ type: 'step-result', ...r });
      continue;
    }
    if (outcome !== 'complete') {
      notRun.push(step.id);
      continue;
    }
    opts.emit({ type: 'step-start', id: step.id, title: step.title, index: index + 1, total: steps.length });
    // The gate (a presenter's pause) is for steps still to do; a finished one is only re-checked.
    const gate = finishedBefore(store, step.id) ? undefined : opts.beforeStep;
    // A later step reverses an earlier one only when this run includes it (`--goal setup` does not).
    const reversers = steps.filter((s) => selected.has(s.id) && s.skipReason?.(world) === undefined);
    const r = await engine.runStepIf(gate, step, () => engine.runStep(step, Boolean(opts.dryRun), pendingBefore, reversers));
    if (r === 'interrupted') {
      outcome = 'interrupted';
      notRun.push(step.id);
      continue;
    }
    results.push(r);
    opts.emit({ type: 'step-result', ...r });
    if (r.status === 'would-change') pendingBefore = true;
    if (r.status === 'failed' || (r.status === 'blocked' && !(opts.dryRun && pendingBefore))) {
      outcome = 'stopped';
      stoppedAt = r;
    }
  }
  const ms = engine.now() - started;
  opts.emit({ type: 'summary', outcome, results, notRun, ms });
  return { outcome, results, notRun, stoppedAt, ms };
}

/** Whether an earlier run recorded the step as holding (a hint only: the step is checked again). */
function finishedBefore(store: StateStore, id: string): boolean {
  const status = store.step(id)?.status;
  return status === 'done' || status === 'applied';
}

export interface LiveCheck {
  id: string;
  title: string;
  /** The check's answer, or `error` when the check itself failed. */
  live: CheckResult | { status: 'error'; problem: Explanation };
}

/** The steps that apply to `world`, and those that do not with why (`Step.skipReason`). */
export function applicableSteps<W>(steps: readonly Step<W>[], world: W): { applies: Step<W>[]; notApplying: { id: string; title: string; reason: string }[] } {
  const applies: Step<W>[] = [];
  const notApplying: { id: string; title: string; reason: string }[] = [];
  for (const step of steps) {
    const reason = step.skipReason?.(world);
    if (reason === undefined) applies.push(step);
    else notApplying.push({ id: step.id, title: step.title, reason });
  }
  return { applies, notApplying };
}

/**
 * Runs every step's check, read-only, and persists nothing: what `status` and `verify` show.
 * Steps that do not apply to the world (`Step.skipReason`) are left out. Returns undefined when
 * interrupted.
 */
export async function checkSteps<W>(
  steps: readonly Step<W>[],
  world: W,
  store: StateStore,
  opts: EngineOptions & {
    /** A failure no later check can escape (the cloud unreachable, the sign-in refused): the remaining steps are not tried and report the same problem. */
    stopOn?: (problem: Explanation) => boolean;
  },
): Promise<LiveCheck[] | undefined> {
  const engine = new Engine(world, store, opts, { persist: false });
  const checks: LiveCheck[] = [];
  let stopped: Explanation | undefined;
  // A step of the workflow's other path has nothing to check here (callers list them: applicableSteps).
  for (const step of applicableSteps(steps, world).applies) {
    if (stopped) {
      checks.push({ id: step.id, title: step.title, live: { status: 'error', problem: stopped } });
      continue;
    }
    try {
      checks.push({ id: step.id, title: step.title, live: await engine.abortable(step.check(engine.context(step))) });
    } catch (e) {
      if (engine.aborted) return undefined;
      const problem = engine.explain(e);
      checks.push({ id: step.id, title: step.title, live: { status: 'error', problem } });
      if (opts.stopOn?.(problem)) stopped = { ...problem, reason: `not checked: ${problem.reason}` };
    }
  }
  return checks;
}

/**
 * `reset`: runs each step's undo in reverse order with the outputs the workflow recorded (or, when
 * the state was already reset, the outputs from before that reset, so a second reset converges
 * too). On success the state is marked reset: step records cleared, their outputs kept aside.
 */
export async function undoSteps<W>(steps: readonly Step<W>[], world: W, store: StateStore, opts: EngineOptions): Promise<RunReport> {
  const hasRecords = Object.keys(store.state.steps).length > 0;
  const outputs = hasRecords ? store.outputs() : (store.state.lastReset?.outputs ?? {});
  const engine = new Engine(world, store, opts, { persist: false, outputs });
  const started = engine.now();
  const results: StepResult[] = [];
  const notRun: string[] = [];
  let outcome: RunOutcome = 'complete';
  let stoppedAt: StepResult | undefined;
  const reversed = [...steps].reverse();

  for (const [index, step] of reversed.entries()) {
    if (outcome !== 'complete') {
      notRun.push(step.id);
      continue;
    }
    if (!step.undo) {
      const r = engine.result(step, 'skipped', 'nothing to undo', engine.now());
      results.push(r);
      opts.emit({ type: 'step-result', ...r });
      continue;
    }
    opts.emit({ type: 'step-start', id: step.id, title: `Undo: ${step.title}`, index: index + 1, total: reversed.length });
    const t0 = engine.now();
    let r: StepResult;
    try {
      const did = await engine.abortable(step.undo(engine.context(step)));
      r = engine.result(step, did.changed ? 'undone' : 'unchanged', did.evidence, t0);
    } catch (e) {
      if (engine.aborted) {
        outcome = 'interrupted';
        notRun.push(step.id);
        continue;
      }
      const problem = engine.explain(e);
      r = { ...engine.result(step, 'failed', problem.reason, t0), problem };
      outcome = 'stopped';
      stoppedAt = r;
    }
    results.push(r);
    opts.emit({ type: 'step-result', ...r });
  }
  if (outcome === 'complete') {
    store.state.lastReset = { at: new Date().toISOString(), outputs };
    store.state.steps = {};
    store.save();
  }
  const ms = engine.now() - started;
  opts.emit({ type: 'summary', outcome, results, notRun, ms });
  return { outcome, results, notRun, stoppedAt, ms };
}

class AbortedError extends Error {
  override readonly name = 'AbortError';
}

/** One run's machinery: contexts, outputs, timing, abort handling, explanations. */
class Engine<W> {
  readonly now: () => number;
  private readonly signal: AbortSignal;
  private readonly sleepFn: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Outputs by step id, shared with every step's context and kept current as steps record. */
  private readonly outputs: Record<string, Outputs>;
  private readonly persist: boolean;

  constructor(
    private readonly world: W,
    private readonly store: StateStore,
    private readonly opts: EngineOptions & Pick<RunOptions<W>, 'beforeApply'>,
    o: { persist?: boolean; outputs?: Record<string, Outputs> } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.signal = opts.signal ?? new AbortController().signal;
    this.sleepFn = opts.sleep ?? sleep;
    this.persist = o.persist ?? true;
    this.outputs = o.outputs ?? store.outputs();
  }

  get aborted(): boolean {
    return this.signal.aborted;
  }

  /**
   * Runs the step when `gate` lets it (or there is none); a declined gate is the step blocked, not
   * started and not recorded. Ctrl-C at the gate is `interrupted`.
   */
  async runStepIf(gate: Gate<W> | undefined, step: Step<W>, run: () => Promise<StepResult | 'interrupted'>): Promise<StepResult | 'interrupted'> {
    if (gate) {
      const t0 = this.now();
      const go = await this.ask(() => gate(step));
      if (go === 'interrupted') return go;
      if (!go) {
        const reason = 'not started: the run was stopped before this step';
        return { ...this.result(step, 'blocked', reason, t0), problem: { reason, code: NOT_CONFIRMED } };
      }
    }
    return run();
  }

  /** A hook's answer; `interrupted` when it threw because the signal aborted (Ctrl-C at a question). */
  private async ask(hook: () => Promise<boolean>): Promise<boolean | 'interrupted'> {
    try {
      return await this.abortable(hook());
    } catch (e) {
      if (this.aborted) return 'interrupted';
      throw e;
    }
  }

  /** Runs one selected step to its result, or `interrupted`. `steps`: the selected steps, to find a step's `supersededBy` among them. */
  async runStep(step: Step<W>, dryRun: boolean, pendingBefore: boolean, steps: readonly Step<W>[] = []): Promise<StepResult | 'interrupted'> {
    const t0 = this.now();
    const persist = this.persist && !dryRun;
    const ctx = this.context(step, persist);
    const finish = (status: StepStatus, evidence: string, extra: Partial<StepResult> = {}): StepResult => {
      const r = { ...this.result(step, status, evidence, t0), ...extra };
      if (persist && (status === 'done' || status === 'applied' || status === 'blocked' || status === 'failed')) {
        this.store.update(step.id, { status, finishedAt: new Date().toISOString(), evidence, problem: r.problem });
      }
      return r;
    };
    try {
      if (persist) this.store.update(step.id, { status: 'running', startedAt: new Date().toISOString(), finishedAt: undefined, evidence: undefined, problem: undefined });
      const c = await this.check(step, ctx, persist);
      if (c.status === 'done') return finish('done', c.evidence);
      if (c.status === 'pending') {
        const reversed = await this.reversedOnPurpose(step, steps);
        if (reversed) return finish('done', reversed);
      }
      if (c.status === 'blocked') {
        const problem = blockedProblem(c);
        const evidence = dryRun && pendingBefore ? `${c.reason} (may clear once the changes above are made)` : c.reason;
        return finish('blocked', evidence, { problem });
      }
      if (dryRun) return finish('would-change', c.confirm ? `${c.change} — ${c.confirm}` : c.change, { az: c.az ?? step.az(this.world) });
      const beforeApply = this.opts.beforeApply;
      if (c.confirm) ctx.detail(c.confirm);
      if (beforeApply && !(await this.abortable(beforeApply(step, c.change, c.confirm)))) {
        const reason = `not confirmed, so nothing was changed: ${c.change}`;
        return finish('blocked', reason, { problem: { reason, code: NOT_CONFIRMED } });
      }

      const applied = await this.abortable(step.apply(ctx));
      if (applied) this.keep(step.id, applied, persist);
      const after = await this.settle(step, ctx, persist);
      if (after.status === 'done') return finish('applied', after.evidence);
      return finish('failed', after.problem.reason, { problem: after.problem });
    } catch (e) {
      if (this.aborted) return 'interrupted';
      const explained = this.opts.explain?.(e);
      const problem = explained ?? this.explain(e);
      const r = finish('failed', problem.reason, { problem });
      if (!explained && !isAcrTrustError(e)) throw e; // a bug: recorded, then the CLI prints its stack
      return r;
    }
  }

  /**
   * Why a pending step is not to be applied: a later step (`supersededBy`) deliberately reverses it,
   * an earlier run finished that step (the record is the hint), and its check holds now (the live
   * answer). Returns the evidence, or undefined when the step must be applied. The later step's
   * check runs read-only, its outputs not kept: it is checked again, in its turn.
   */
  private async reversedOnPurpose(step: Step<W>, steps: readonly Step<W>[]): Promise<string | undefined> {
    const later = step.supersededBy === undefined ? undefined : steps.find((s) => s.id === step.supersededBy);
    const rec = later && this.store.step(later.id);
    if (!later || !rec || (rec.status !== 'done' && rec.status !== 'applied')) return undefined;
    const c = await this.abortable(later.check(this.context(later)));
    return c.status === 'done' ? `reversed on purpose by ${later.id}, which holds (checked now: ${c.evidence})` : undefined;
  }

  /**
   * After apply: check at once, then with exponential backoff until done, blocked, or the settle
   * rule's timeout. Without a rule, the single check decides.
   */
  private async settle(step: Step<W>, ctx: StepContext<W>, persist: boolean): Promise<{ status: 'done'; evidence: string } | { status: 'failed'; problem: Explanation }> {
    const rule = step.settle;
    const start = this.now();
    let delay = rule?.firstDelayMs ?? 0;
    for (;;) {
      const c = await this.check(step, ctx, persist);
      if (c.status === 'done') return c;
      if (c.status === 'blocked') return { status: 'failed', problem: blockedProblem(c) };
      const elapsed = this.now() - start;
      if (!rule) {
        return {
          status: 'failed',
          problem: { reason: `the change was made but the check still reports: ${c.change}`, hint: 'Run again: the step is safe to repeat.' },
        };
      }
      if (elapsed >= rule.timeoutMs) {
        return {
          status: 'failed',
          problem: {
            reason: `gave up after ${seconds(elapsed)} waiting for ${rule.waitingFor}; still pending: ${c.change}`,
            hint: 'Azure can be slow to settle. Run the same command again later to resume: the step is safe to repeat.',
          },
        };
      }
      ctx.progress(`waiting for ${rule.waitingFor} — ${seconds(elapsed)}`);
      await ctx.sleep(Math.min(delay, rule.timeoutMs - elapsed));
      delay = Math.min(delay * 2, rule.maxDelayMs);
    }
  }

  private async check(step: Step<W>, ctx: StepContext<W>, persist: boolean): Promise<CheckResult> {
    const c = await this.abortable(step.check(ctx));
    if (c.outputs) this.keep(step.id, c.outputs, persist);
    return c;
  }

  context(step: Step<W>, persist = false): StepContext<W> {
    const { emit } = this.opts;
    return {
      world: this.world,
      outputs: this.outputs,
      record: (outputs) => this.keep(step.id, outputs, persist),
      // After Ctrl-C the step's request may still finish in the background (steps are idempotent);
      // it is no longer reported: the run's summary is its last event.
      progress: (text) => this.aborted || emit({ type: 'step-progress', id: step.id, text }),
      detail: (line) => this.aborted || emit({ type: 'step-detail', id: step.id, line }),
      signal: this.signal,
      sleep: (ms) => this.sleepFn(ms, this.signal),
    };
  }

  private keep(id: string, outputs: Outputs, persist: boolean): void {
    if (persist) {
      this.store.record(id, outputs);
      this.outputs[id] = this.store.step(id)!.outputs;
    } else {
      this.outputs[id] = { ...this.outputs[id], ...outputs };
    }
  }

  result(step: Step<W>, status: StepStatus, evidence: string, t0: number): StepResult {
    return { id: step.id, title: step.title, status, evidence, outputs: this.outputs[step.id] ?? {}, ms: this.now() - t0 };
  }

  explain(e: unknown): Explanation {
    const fromRules = this.opts.explain?.(e);
    if (fromRules) return fromRules;
    if (isAcrTrustError(e)) return { reason: e.message, hint: e.hint, code: e.code, link: e.options.link };
    return { reason: e instanceof Error ? e.message : String(e) };
  }

  /** Settles with `p`, or rejects as soon as the signal aborts (the work may finish unseen; steps are idempotent). */
  abortable<T>(p: Promise<T>): Promise<T> {
    if (this.signal.aborted) {
      p.catch(() => undefined); // settles unseen, like any work cut off by Ctrl-C
      return Promise.reject(new AbortedError('interrupted'));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new AbortedError('interrupted'));
      this.signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => this.signal.removeEventListener('abort', onAbort));
    });
  }
}

function blockedProblem(c: Extract<CheckResult, { status: 'blocked' }>): Explanation {
  const problem: Explanation = { reason: c.reason, hint: c.hint, code: c.code };
  if (c.link) problem.link = c.link;
  if (c.addArgs?.length) problem.addArgs = c.addArgs;
  return problem;
}

function selectionNote(sel: Selection): string {
  if (sel.note) return sel.note;
  if (sel.only) return `not selected (--only ${sel.only})`;
  return `not selected (${[sel.from && `--from ${sel.from}`, sel.until && `--until ${sel.until}`].filter(Boolean).join(' ')})`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** Sleeps `ms`; rejects with an AbortError when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError('interrupted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

