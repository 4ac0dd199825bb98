/**
 * Cloud faults, measured: the real binary against `sim serve --faults …` injecting throttling (429
 * with Retry-After), 500s, 503s, dropped connections and slow answers on every route, at several
 * rates and seeds. Each run either completes, or stops with exit 1 and a message that names the
 * call that failed and why; re-runs against the same faulty cloud then complete. The sim's request
 * log shows that no throttled call was retried sooner than its Retry-After.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, tempDir, type Result } from '../cli/helpers.js';
import { convergence, figures, hasStack, lastEvent, pool, serveSim, simShow, size, timeout, type RequestRecord } from './support.js';

const fig = figures('faults');

interface FaultCase {
  kind: string;
  spec: string;
  /** Retry-After seconds the sim sends with 429 and 503. */
  retryAfter: number;
}

/** One case per kind in CI; every kind at several rates and seeds in the campaign. */
function cases(): FaultCase[] {
  const seeds = size([1], [1, 2, 3]);
  const out: FaultCase[] = [];
  const add = (kind: string, rates: number[], extra: string, retryAfter = 0, seedList = seeds) => {
    for (const rate of rates) for (const seed of seedList) out.push({ kind, spec: `${kind}=${rate},retryAfter=${retryAfter},seed=${seed}${extra}`, retryAfter });
  };
  add('429', size([0.15], [0.1, 0.3]), '', 1);
  if (size(false, true)) add('429', [0.1, 0.3], '', 0);
  add('500', size([0.2], [0.1, 0.3]), '');
  add('503', size([0.2], [0.1, 0.3]), '', size(0, 1));
  add('drop', size([0.1], [0.05, 0.2]), '');
  for (const ms of size([300], [100, 400, 1000])) out.push({ kind: 'latency', spec: `latency=${ms},seed=1`, retryAfter: 0 });
  for (const seed of size([7], [7, 8, 9])) {
    out.push({ kind: 'mixed', spec: `429=0.2,500=0.1,503=0.1,drop=0.05,latency=20,retryAfter=0,seed=${seed}`, retryAfter: 0 });
  }
  if (size(false, true)) out.push({ kind: 'mixed', spec: '429=0.2,500=0.15,503=0.1,drop=0.05,retryAfter=0,seed=11,routes=registries.*|tasks.*', retryAfter: 0 });
  // The task run's log blob (spared by the other cases: it needs no sign-in): read through the SDK's pipeline, so retried too.
  for (const rate of size([0.5], [0.3, 0.5])) for (const seed of seeds) out.push({ kind: 'log', spec: `503=${rate},retryAfter=0,seed=${seed},routes=logs.*`, retryAfter: 0 });
  if (size(false, true)) out.push({ kind: 'log', spec: '500=0.2,drop=0.2,seed=4,routes=logs.*', retryAfter: 0 });
  return out;
}

/** What one attempt ended with, in the user's terms. */
interface Attempt {
  status: number | null;
  ms: number;
  /** The first stderr line: "acr-trust: stopped at <step> (failed): Could not <call>: <why>". */
  message: string;
  stoppedAt?: string;
  failingCall?: string;
  /** The message names the call and the cause; the hint says to run again. */
  explained: boolean;
  stack: boolean;
}

function attemptOf(r: Result, ms: number): Attempt {
  const message = r.stderr.split('\n')[0] ?? '';
  const m = /^acr-trust: stopped at (\S+) \((?:failed|blocked)\): Could not (.+?): (.+)$/.exec(message);
  const summary = lastEvent(r);
  const explained =
    r.status === 0 ||
    (r.status === 1 &&
      m !== null &&
      /\((TooManyRequests|InternalServerError|ServiceUnavailable|ECONNRESET|ECONNREFUSED|ETIMEDOUT)\)|could not be reached/.test(m[3]!) &&
      r.stderr.includes('again: finished steps are kept') &&
      summary?.event === 'summary' &&
      summary.outcome === 'stopped');
  return { status: r.status, ms, message, stoppedAt: m?.[1], failingCall: m?.[2], explained, stack: hasStack(r.stderr) };
}

/**
 * The throttled calls and their retries, from the sim's request log. The wizard makes one call at
 * a time and the SDK retries a call at most 3 times, so the retry of a faulted request is the next
 * request in the log, for the same method and path, unless the call had used up its 4 attempts.
 */
export function throttling(requests: RequestRecord[], retryAfterSeconds: number) {
  let checked = 0;
  let minGapMs = Infinity;
  const early: string[] = [];
  const notRetried: string[] = [];
  let chain = 0;
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    const prev = requests[i - 1];
    chain = prev && prev.fault && prev.method === r.method && prev.path === r.path ? chain + 1 : 1;
    if (r.fault !== '429' && r.fault !== '503') continue;
    if (chain >= 4) continue; // the call's last attempt: the SDK gives up and the step reports it
    const next = requests[i + 1];
    if (!next) continue;
    if (next.method !== r.method || next.path !== r.path) {
      notRetried.push(`${r.at} ${r.method} ${r.name}`);
      continue;
    }
    checked++;
    // Arrival to arrival: the client's wait starts after the answer, which came after the arrival.
    // (Arrival plus the logged duration would be sharper, but the sim logs the duration after it has
    // sent the answer, so a busy machine inflates it.) `at` has millisecond resolution: allow 2 ms.
    const gap = Date.parse(next.at) - Date.parse(r.at);
    minGapMs = Math.min(minGapMs, gap);
    if (gap < retryAfterSeconds * 1000 - 2) early.push(`${r.name} retried ${gap} ms after the throttled request arrived (Retry-After ${retryAfterSeconds} s)`);
  }
  return { checked, minGapMs: Number.isFinite(minGapMs) ? Math.round(minGapMs) : undefined, early, notRetried };
}

/** Faults injected, and how each ended: absorbed by the SDK's retries, or surfaced as a resumable stop. */
function faultOutcomes(requests: RequestRecord[]) {
  let injected = 0;
  let absorbed = 0;
  for (let i = 0; i < requests.length; i++) {
    if (!requests[i]!.fault) continue;
    injected++;
    // Follow the call's retries to its end: a success means the fault was absorbed.
    let j = i + 1;
    while (requests[j] && requests[j]!.fault && requests[j]!.method === requests[i]!.method && requests[j]!.path === requests[i]!.path) j++;
    const end = requests[j];
    if (end && !end.fault && end.method === requests[i]!.method && end.path === requests[i]!.path && end.status < 500) absorbed++;
  }
  return { injected, absorbed };
}

describe('cloud faults', () => {
  it(
    'every run completes, or stops with a resumable error naming the failing call; re-runs then complete; Retry-After is honoured',
    async () => {
      const maxReruns = size(5, 8);
      const trials = await pool(cases(), size(6, 6), async (c) => {
        const dir = tempDir();
        const sim = await serveSim(join(dir, 'cloud.json'), { speed: 'instant', faults: c.spec });
        try {
          const args = ['run', '--target', 'sim', ...sim.flags, '--sim-speed', 'instant', '--yes', '--workdir', join(dir, 'wd'), '--json'];
          const attempts: Attempt[] = [];
          for (let k = 0; k <= maxReruns; k++) {
            const t0 = Date.now();
            const a = attemptOf(await cliAsync(args), Date.now() - t0);
            attempts.push(a);
            if (a.status === 0 || !a.explained) break;
          }
          await sim.stop();
          const cloud = await simShow(sim.stateFile);
          return { c, attempts, throttling: throttling(cloud.requests, c.retryAfter), faults: faultOutcomes(cloud.requests), requests: cloud.requests.length, ...convergence(cloud) };
        } finally {
          await sim.kill();
        }
      });

      const byKind: Record<string, any> = {};
      for (const t of trials) {
        const k = (byKind[t.c.kind] ??= { specs: [], runs: 0, completedFirstTime: 0, stoppedResumably: 0, completedAfterReruns: 0, neverCompleted: 0, unexplainedStops: 0, faultsInjected: 0, faultsAbsorbedByRetries: 0, retriesChecked: 0, retriesTooEarly: 0, minRetryGapMs: undefined as number | undefined, retryAfterSeconds: new Set<number>() });
        k.specs.push(t.c.spec);
        k.runs += t.attempts.length;
        const done = t.attempts.at(-1)!.status === 0;
        if (t.attempts.length === 1 && done) k.completedFirstTime++;
        if (t.attempts.length > 1 && done) k.completedAfterReruns++;
        if (!done) k.neverCompleted++;
        k.stoppedResumably += t.attempts.filter((a) => a.status === 1 && a.explained).length;
        k.unexplainedStops += t.attempts.filter((a) => !a.explained).length;
        k.faultsInjected += t.faults.injected;
        k.faultsAbsorbedByRetries += t.faults.absorbed;
        if (t.c.retryAfter > 0) {
          k.retriesChecked += t.throttling.checked;
          k.retriesTooEarly += t.throttling.early.length;
          if (t.throttling.minGapMs !== undefined) k.minRetryGapMs = Math.min(k.minRetryGapMs ?? Infinity, t.throttling.minGapMs);
        }
        k.retryAfterSeconds.add(t.c.retryAfter);
      }
      for (const k of Object.values(byKind)) k.retryAfterSeconds = [...k.retryAfterSeconds];
      fig.cloudFaults = {
        maxReruns,
        workflows: trials.length,
        completed: trials.filter((t) => t.attempts.at(-1)!.status === 0).length,
        duplicateTasks: trials.filter((t) => t.tasks > 1).length,
        duplicateRoleAssignments: trials.filter((t) => t.assignments > 1).length,
        failingCallsNamed: [...new Set(trials.flatMap((t) => t.attempts.map((a) => a.failingCall).filter(Boolean)))].sort(),
        byKind,
      };

      for (const t of trials) {
        const what = `${t.c.spec}: ${t.attempts.map((a) => `exit ${a.status} ${a.message}`).join(' | ')}`;
        for (const a of t.attempts) {
          expect(a.stack, what).toBe(false);
          expect(a.explained, what).toBe(true);
          if (a.status !== 0) expect(a.failingCall, what).toBeTruthy();
        }
        expect(t.attempts.at(-1)!.status, what).toBe(0);
        expect(t.problems, what).toEqual([]);
        expect(t.throttling.early, what).toEqual([]);
        expect(t.throttling.notRetried, what).toEqual([]);
      }
      // The campaign injected what it says: throttling with a 1 s Retry-After was actually retried and measured.
      const throttled = trials.filter((t) => t.c.retryAfter > 0);
      expect(throttled.reduce((s, t) => s + t.throttling.checked, 0)).toBeGreaterThan(0);
      expect(trials.reduce((s, t) => s + t.faults.injected, 0)).toBeGreaterThan(trials.length);
    },
    timeout(180_000, 1_800_000),
  );
});
