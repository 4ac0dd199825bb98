/**
 * The Step contract. A step is one unit of the workflow that can read the live state (`check`),
 * make itself true (`apply`, idempotent), wait for an eventually consistent result (`settle`) and
 * be undone (`undo`). The engine runs steps; it knows nothing about Azure. Steps know nothing
 * about terminals: they report progress through the context.
 *
 * `W` is the workflow's own world (answers, the cloud adapter); the engine passes it through.
 */

/** What a step records for later steps, for `status`, and for the report. Plain JSON only. */
export type Outputs = Record<string, unknown>;

export type CheckResult =
  /** The step's outcome already holds. `evidence` is what proves it, in a user's words
   *  ("networkRuleBypassOptions = AzureServices", "run ca1 Succeeded"). */
  | { status: 'done'; evidence: string; outputs?: Outputs }
  /** Not yet: `change` says what `apply` would do ("set publicNetworkAccess to Disabled").
   *  `confirm`: the change alters something the user already had (their own task): what it
   *  changes on it and why, said before it happens — in a terminal a question (default no).
   *  `az`: the az lines for this very change when the live state decides them (a dry run shows
   *  these instead of the step's `az(world)`). */
  | { status: 'pending'; change: string; outputs?: Outputs; confirm?: string; az?: string[] }
  /** Cannot proceed: `reason` is what is wrong, `hint` what to do; `code` keeps ARM's code, `link`
   *  points at the documentation; `addArgs`: command-line words the same command needs to go on
   *  (['--agent-pool-subnet', '<id>']), appended to the "run it again" command. */
  | { status: 'blocked'; reason: string; hint: string; code?: string; link?: string; addArgs?: string[]; outputs?: Outputs };

/** What an undo did: `changed` when it wrote to the cloud; `evidence` what it read and did, for a user. */
export interface UndoOutcome {
  changed: boolean;
  evidence: string;
}

/** How long to re-check after `apply` until `check` reports done, with exponential backoff. */
export interface SettleRule {
  /** Give up after this long (ms) and fail the step with `waitingFor` in the message. */
  timeoutMs: number;
  /** First wait between checks (ms); doubles up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** What we are waiting for, shown to the user: "the role to take effect". */
  waitingFor: string;
}

export interface StepContext<W> {
  readonly world: W;
  /** Outputs recorded so far by every step, by step id (from the saved state and this run). */
  readonly outputs: Readonly<Record<string, Outputs>>;
  /** Record outputs now (persisted at once), e.g. a run id right after scheduling, so a crash
   *  before `apply` returns does not lose it. */
  record(outputs: Outputs): void;
  /** What is happening now, shown as the step's subtitle ("run ca1: Running"). */
  progress(text: string): void;
  /** A line of detail: the tail of a task run's log, a warning. */
  detail(line: string): void;
  /** Aborted on Ctrl-C; long waits must listen to it. */
  readonly signal: AbortSignal;
  /** Sleeps `ms`, or rejects when `signal` aborts. */
  sleep(ms: number): Promise<void>;
}

export interface Step<W> {
  /** Stable id, part of the interface: `--from/--only/--until`, state.json, `--json` events. */
  readonly id: string;
  /** A sentence a user reads. */
  readonly title: string;
  /** Why the step exists: the article's reason and, where it applies, what changed in 2025. */
  readonly why: string;
  /** Where the same setting lives in the Azure portal. */
  readonly portal?: string;
  /** The equivalent Azure CLI command lines for the world's answers. */
  az(world: W): string[];
  /** Read-only: does the step's outcome already hold on the live cloud? */
  check(ctx: StepContext<W>): Promise<CheckResult>;
  /** Makes the outcome true. Idempotent: safe to repeat after a crash at any instant. */
  apply(ctx: StepContext<W>): Promise<Outputs | void>;
  /** Re-check after apply until done; without it, one check follows apply. */
  readonly settle?: SettleRule;
  /**
   * Reverses the step (for `reset`). Idempotent. Steps with nothing to undo omit it. It says what
   * it found live and did: `changed: false` when there was nothing of the workflow's to put back
   * ("task legacy not found: nothing to undo") — never "undone" for something it did not change.
   */
  undo?(ctx: StepContext<W>): Promise<UndoOutcome>;
  /** Whether apply can cut other clients off (asks for confirmation in a terminal). */
  readonly risky?: string;
  /**
   * The id of a later step that deliberately reverses this step's outcome (trusted services are
   * allowed for the first run, then disabled for the negative test). Once that step holds, this
   * step's check is not expected to hold: `verify` and `status` report it as superseded, not drift.
   */
  readonly supersededBy?: string;
  /**
   * Why the step does not apply to this world — the workflow has more than one path (the task
   * reaches the registry through the bypass, or through a dedicated agent pool) and some steps
   * belong to one path only. A sentence for the user, or undefined when the step applies. A step
   * that does not apply is neither checked nor applied: `run` reports it `skipped` with this
   * reason, `status`/`verify` list it as not applying; `reset` still runs its undo (which acts
   * only on what an earlier run recorded, so a workdir that changed paths is put back too).
   */
  skipReason?(world: W): string | undefined;
}
