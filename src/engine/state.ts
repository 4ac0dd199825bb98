/**
 * `state.json`: what the workflow has done, per step, so a later run resumes, `status` reports and
 * `reset` undoes. Written atomically (0600) after every change, so a crash at any instant leaves the
 * old or the new file. Secrets never reach it: outputs are scrubbed before they are kept.
 */
import { existsSync, readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import type { Explanation } from './events.js';
import type { Outputs } from './step.js';

export type RecordedStatus = 'running' | 'done' | 'applied' | 'blocked' | 'failed' | 'undone';

export interface StepRecord {
  status: RecordedStatus;
  startedAt?: string;
  finishedAt?: string;
  /** What the step recorded: ids, original settings, run ids and outcomes. Plain JSON. */
  outputs: Outputs;
  evidence?: string;
  problem?: Explanation;
}

export interface WorkflowState {
  version: 1;
  createdAt: string;
  updatedAt: string;
  /** What this state is about (target kind, subscription, registry …); set by the CLI. */
  target?: Record<string, string>;
  steps: Record<string, StepRecord>;
  /** The outputs as they were before the last `reset`, so a second reset can still undo. */
  lastReset?: { at: string; outputs: Record<string, Outputs> };
  /**
   * The cloud this workdir belongs to, recorded the first time a command records anything about
   * it (see `StateStore.bindOnFirstRecord`); later commands use it and refuse another one.
   */
  cloud?: CloudBinding;
}

/**
 * Which cloud a workdir was made against: enough to reach the same one again without flags.
 * - `target`: `sim` or `azure`;
 * - `endpoint`: the Resource Manager URL given with `--endpoint` (absent: the embedded sim for
 *   `sim`, the cloud's own Resource Manager for `azure`);
 * - `ca`: the absolute path of the CA certificate file given with `--ca` (its path, not its text:
 *   a restarted `sim serve` with the same state file keeps its CA);
 * - `subscription`: the subscription id the steps acted in;
 * - `cloud`: the named Azure cloud (AzureCloud, AzureUSGovernment …) when one was chosen;
 * - `join`: the absolute path of a training room's join file given with `--join` (the room's
 *   endpoint, CA and the identity signed in as are read from it on every command; no secret here).
 */
export interface CloudBinding {
  target: string;
  endpoint?: string;
  ca?: string;
  subscription: string;
  cloud?: string;
  join?: string;
  /** When it was recorded (ISO 8601). */
  at: string;
}

export function freshState(now = new Date()): WorkflowState {
  const at = now.toISOString();
  return { version: 1, createdAt: at, updatedAt: at, steps: {} };
}

export class StateStore {
  /**
   * @param file where the state lives.
   * @param persist false for a dry run: the state changes in memory only.
   */
  /** The cloud to record with the first step record, when the state has none yet. */
  private binding?: Omit<CloudBinding, 'at'>;

  constructor(
    readonly file: string,
    readonly state: WorkflowState,
    private readonly persist = true,
  ) {}

  /**
   * Records `binding` as the workdir's cloud together with the first step record that this
   * command saves (a step done or applied, or outputs such as preflight's original settings, or
   * the `created` mark written before a create) — so a run that cannot even reach its cloud binds
   * nothing, and a dry run (which saves nothing) never binds. A state already bound keeps its cloud.
   */
  bindOnFirstRecord(binding: Omit<CloudBinding, 'at'>): void {
    if (!this.state.cloud) this.binding = binding;
  }

  /** Reads `file`, or starts a fresh state when it does not exist. A corrupt file is exit 2, untouched. */
  static load(file: string, opts: { persist?: boolean } = {}): StateStore {
    return new StateStore(file, existsSync(file) ? parseState(file, readFileSync(file, 'utf8')) : freshState(), opts.persist ?? true);
  }

  save(): void {
    this.state.updatedAt = new Date().toISOString();
    if (this.persist) writeFileAtomic(this.file, JSON.stringify(this.state, null, 2) + '\n');
  }

  step(id: string): StepRecord | undefined {
    return this.state.steps[id];
  }

  /** Every step's recorded outputs, by step id. */
  outputs(): Record<string, Outputs> {
    return Object.fromEntries(Object.entries(this.state.steps).map(([id, r]) => [id, r.outputs]));
  }

  /** Changes a step's record (creating it) and saves. */
  update(id: string, patch: Partial<StepRecord>): StepRecord {
    const prev = this.state.steps[id] ?? { status: 'running', outputs: {} };
    const next: StepRecord = { ...prev, ...patch, outputs: { ...prev.outputs, ...withoutSecrets(patch.outputs ?? {}) } };
    for (const k of Object.keys(next) as (keyof StepRecord)[]) if (next[k] === undefined) delete next[k];
    this.state.steps[id] = next;
    const recordsTheCloud = next.status === 'done' || next.status === 'applied' || Object.keys(patch.outputs ?? {}).length > 0;
    if (this.binding && !this.state.cloud && recordsTheCloud) {
      this.state.cloud = { ...this.binding, at: new Date().toISOString() };
      this.binding = undefined;
    }
    this.save();
    return next;
  }

  /** Merges outputs into a step's record and saves at once. */
  record(id: string, outputs: Outputs): void {
    this.update(id, { outputs });
  }
}

function parseState(file: string, text: string): WorkflowState {
  const bad = (what: string) =>
    usageError(
      `${file} ${what}; it was left untouched.`,
      `Move it aside (mv ${file} ${file}.bad) and run again to start over — run \`acr-trust reset\` first if the workflow had changed the registry — or use another --workdir.`,
    );
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(`is not valid JSON (${(e as Error).message})`);
  }
  const s = data as Partial<WorkflowState> | null;
  if (!s || typeof s !== 'object' || s.version !== 1 || !s.steps || typeof s.steps !== 'object' || Array.isArray(s.steps)) {
    throw bad('is not an acr-trust state file (version 1 with a "steps" object)');
  }
  const c = s.cloud as Partial<CloudBinding> | undefined;
  if (c !== undefined && (!c || typeof c !== 'object' || typeof c.target !== 'string' || typeof c.subscription !== 'string')) {
    throw bad('has a malformed "cloud" record (it needs a target and a subscription)');
  }
  for (const [id, r] of Object.entries(s.steps)) {
    if (!r || typeof r !== 'object' || typeof r.status !== 'string' || !r.outputs || typeof r.outputs !== 'object') {
      throw bad(`has a malformed record for step "${id}"`);
    }
  }
  return s as WorkflowState;
}

const SECRET_KEY = /token|secret|password|passwd|sas|loglink|credentialvalue/i;
const SECRET_VALUE = [/[?&]sig=/i, /^Bearer\s/i, /^eyJ[\w-]+\.eyJ[\w-]+\./];
export const REDACTED = '[redacted]';

/**
 * Outputs with anything that looks like a secret replaced by `[redacted]`: keys named like tokens,
 * passwords or SAS links, and values that are signed URLs, bearer headers or JWTs.
 */
export function withoutSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v)) as T;
  if (typeof value === 'string') return (SECRET_VALUE.some((re) => re.test(value)) ? REDACTED : value) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v != null ? REDACTED : withoutSecrets(v)]),
    ) as T;
  }
  return value;
}
