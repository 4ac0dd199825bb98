/**
 * What the reliability campaign's suites share: the campaign size (short in CI, full under
 * `npm run reliability`), the figures each suite publishes, a `sim serve` in its own process, the
 * cloud as `sim show --json` prints it, and a small worker pool.
 *
 * Figures: every suite records what it actually tried and what happened, through `figures(part)`.
 * When ACR_TRUST_RELIABILITY_OUT names a folder (reliability/run.js sets it), they are written
 * there as `<part>.json` after the suite, and run.js turns them into docs/reliability.md.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll } from 'vitest';
import { BIN, cleanEnv, cliAsync, tempDir, type Result } from '../cli/helpers.js';

/** `full` under `npm run reliability`; `short` (the CI size) otherwise. */
export const MODE: 'short' | 'full' = process.env.ACR_TRUST_RELIABILITY === 'full' ? 'full' : 'short';
export const FULL = MODE === 'full';

/** The short value in CI, the full one in the campaign. */
export function size<T>(short: T, full: T): T {
  return FULL ? full : short;
}

/** A test timeout that grows with the campaign. */
export function timeout(shortMs: number, fullMs: number): number {
  return size(shortMs, fullMs);
}

type Figures = Record<string, unknown>;

/**
 * The figures of one part of the campaign (`crashes`, `faults`, `input`, `secrets`), written after
 * the suite when the campaign asks for them. Record before asserting, so a failing run still
 * publishes what it measured.
 */
export function figures(part: string): Figures {
  const data: Figures = { mode: MODE };
  afterAll(() => {
    const out = process.env.ACR_TRUST_RELIABILITY_OUT;
    if (!out) return;
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${part}.json`), JSON.stringify(data, null, 2) + '\n');
  });
  return data;
}

/** Runs `fn` over `items`, at most `concurrency` at a time, keeping the order of the results. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- a sim served by another process ------------------------------------------------------------

export interface ServedSim {
  endpoint: string;
  caCertFile: string;
  stateFile: string;
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
  /** The flags that point a wizard at it. */
  flags: string[];
  /** SIGTERM and wait: the sim saves its state and request log, then exits 0. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: no chance to save anything. */
  kill(): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `acr-trust sim serve` on `stateFile` and waits for its announcement line. */
export async function serveSim(stateFile: string, opts: { speed?: 'instant' | 'realistic'; faults?: string; scenario?: string } = {}): Promise<ServedSim> {
  const args = ['sim', 'serve', '--state', stateFile];
  if (opts.speed) args.push('--speed', opts.speed);
  if (opts.faults) args.push('--faults', opts.faults);
  if (opts.scenario) args.push('--scenario', opts.scenario);
  const child = spawn(process.execPath, [BIN, ...args], { cwd: tempDir(), env: cleanEnv() });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    void exited.then(({ code }) => reject(new Error(`sim serve exited ${code} before announcing: ${stderr}`)));
  });
  const { endpoint, caCertFile } = JSON.parse(line) as { endpoint: string; caCertFile: string };
  return {
    endpoint,
    caCertFile,
    stateFile,
    child,
    stderr: () => stderr,
    flags: ['--endpoint', endpoint, '--ca', caCertFile],
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return (await exited).code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

// ---- the cloud as `sim show --json` prints it -----------------------------------------------------

export interface RequestRecord {
  at: string;
  method: string;
  path: string;
  status: number;
  ms: number;
  name: string;
  write: boolean;
  fault?: string;
}

export interface CloudView {
  registries: any[];
  tasks: any[];
  runs: any[];
  roleAssignments: any[];
  requests: RequestRecord[];
}

/** `acr-trust sim show --state FILE --json`, parsed (throws with its stderr when it fails). */
export async function simShow(stateFile: string): Promise<CloudView> {
  const r = await cliAsync(['sim', 'show', '--state', stateFile, '--json']);
  if (r.status !== 0) throw new Error(`sim show --state ${stateFile} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as CloudView;
}

/** Role assignments held by service principals (the scenario's own caller assignment is a user's). */
export function principalAssignments(cloud: CloudView): any[] {
  return cloud.roleAssignments.filter((a) => a.properties.principalType !== 'User');
}

/** What converged means for a workflow on the default scenario: one task, one assignment, for it. */
export function convergence(cloud: CloudView): { tasks: number; assignments: number; assignmentsForTask: number; problems: string[] } {
  const principal = cloud.tasks[0]?.identity?.principalId;
  const assignments = principalAssignments(cloud);
  const forTask = assignments.filter((a) => a.properties.principalId === principal);
  const problems: string[] = [];
  if (cloud.tasks.length !== 1) problems.push(`${cloud.tasks.length} tasks`);
  if (assignments.length !== 1) problems.push(`${assignments.length} service-principal role assignments`);
  if (forTask.length !== 1) problems.push(`${forTask.length} role assignments for the task's principal`);
  return { tasks: cloud.tasks.length, assignments: assignments.length, assignmentsForTask: forTask.length, problems };
}

// ---- a wizard we can stop at a chosen moment ------------------------------------------------------

export interface Victim {
  child: ChildProcessWithoutNullStreams;
  /** stdout lines with the ms (since spawn) each arrived at. */
  lines: { t: number; text: string }[];
  stderr(): string;
  started: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the line once a `--json` line matches (or undefined when the process ended first). */
  waitFor(match: (event: any) => boolean): Promise<any | undefined>;
  /** Resolves once the n-th stdout line has arrived (or the process ended first). */
  nthLine(n: number): Promise<void>;
  /** Resolves with the index of the k-th line at or after index `from` that matches (undefined when the process ended first). */
  nthMatch(re: RegExp, k: number, from: number): Promise<number | undefined>;
  /** The id of the last step that started (per the `--json` stream). */
  currentStep(): string | undefined;
}

/** Starts the binary (in a clean environment) and follows its `--json` stream. */
export function startWizard(args: string[], env: NodeJS.ProcessEnv = {}, opts: { mergeStderr?: boolean } = {}): Victim {
  const started = Date.now();
  // mergeStderr: stderr into stdout, in the order written (a shell's `2>&1`, then exec: the pid is the wizard's).
  const child = opts.mergeStderr
    ? spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, BIN, ...args], { cwd: tempDir(), env: cleanEnv(env) })
    : spawn(process.execPath, [BIN, ...args], { cwd: tempDir(), env: cleanEnv(env) });
  const lines: Victim['lines'] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const waiters: { match: (e: any) => boolean; resolve: (e: any) => void }[] = [];
  const lineWaiters: { n: number; resolve: () => void }[] = [];
  const matchWaiters: { re: RegExp; k: number; from: number; resolve: (i: number | undefined) => void }[] = [];
  const findMatch = (w: { re: RegExp; k: number; from: number }): number | undefined => {
    let seen = 0;
    for (let i = Math.max(0, w.from); i < lines.length; i++) if (w.re.test(lines[i]!.text) && ++seen === w.k) return i;
    return undefined;
  };
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  createInterface({ input: child.stdout }).on('line', (text) => {
    lines.push({ t: Date.now() - started, text });
    for (const w of lineWaiters.filter((w) => lines.length >= w.n)) {
      lineWaiters.splice(lineWaiters.indexOf(w), 1);
      w.resolve();
    }
    for (const w of [...matchWaiters]) {
      const i = findMatch(w);
      if (i === undefined) continue;
      matchWaiters.splice(matchWaiters.indexOf(w), 1);
      w.resolve(i);
    }
    let event: any;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    for (const w of [...waiters]) {
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  void exit.then(() => {
    for (const w of waiters.splice(0)) w.resolve(undefined);
    for (const w of lineWaiters.splice(0)) w.resolve();
    for (const w of matchWaiters.splice(0)) w.resolve(undefined);
  });
  return {
    child,
    lines,
    stderr: () => stderr,
    started,
    exit,
    waitFor(match) {
      for (const l of lines) {
        try {
          const e = JSON.parse(l.text);
          if (match(e)) return Promise.resolve(e);
        } catch {
          /* not JSON */
        }
      }
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(undefined);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    nthMatch(re, k, from) {
      const i = findMatch({ re, k, from });
      if (i !== undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(i);
      return new Promise((resolve) => matchWaiters.push({ re, k, from, resolve }));
    },
    nthLine(n) {
      if (lines.length >= n || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => lineWaiters.push({ n, resolve }));
    },
    currentStep() {
      for (let i = lines.length - 1; i >= 0; i--) {
        try {
          const e = JSON.parse(lines[i]!.text);
          if (e.event === 'step-start') return e.id;
        } catch {
          /* not JSON */
        }
      }
      return undefined;
    },
  };
}

/** The last `--json` line of a finished run, parsed (the summary, when the run ended normally). */
export function lastEvent(r: Result): any {
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  try {
    return JSON.parse(lines.at(-1) ?? 'null');
  } catch {
    return undefined;
  }
}

/** A file's text, or undefined when it does not exist. */
export function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A stack trace or the "this is a bug" banner in a text. */
export function hasStack(text: string): boolean {
  return /\n\s+at .+[(\s].*:\d+:\d+\)?/.test(text) || text.includes('this is a bug');
}
