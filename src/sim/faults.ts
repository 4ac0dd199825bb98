/**
 * Fault injection: makes the sim misbehave the way Azure sometimes does (throttling, transient
 * 5xx, dropped connections, slowness) so the wizard's and the SDK's retries are exercised.
 *
 * Spec: comma-separated `key=value`, e.g. `429=0.2,500=0.1,503=0.1,drop=0.05,latency=20,retryAfter=0,seed=7,routes=registries.*`
 *   429, 500, 503, drop  probability (0..1) per request; their sum must not exceed 1
 *   latency              extra milliseconds before every matched request is answered
 *   retryAfter           `Retry-After` seconds sent with 429 and 503 (default 0: the SDK honours it,
 *                        so anything larger makes every retry sleep that long)
 *   seed                 PRNG seed, so a failing sequence reproduces exactly
 *   routes               route-name globs separated by `|` (`registries.*|roleAssignments.create`)
 *
 * Routes without authentication (sign-in, log blobs) are spared unless a `routes` glob names them
 * with a literal prefix (`logs.*`): a fault there tests nothing but the test itself.
 */
import { AcrTrustError } from '../errors.js';

export type FaultKind = '429' | '500' | '503' | 'drop';

export interface FaultSpec {
  rates: Record<FaultKind, number>;
  latencyMs: number;
  retryAfterSeconds: number;
  seed: number;
  /** Route-name globs; undefined = every authenticated route. */
  routes?: string[];
}

export interface FaultDecision {
  /** The fault to inject, or undefined to answer normally. */
  kind?: FaultKind;
  latencyMs: number;
}

const EXAMPLE = 'example: --faults "429=0.2,500=0.1,drop=0.05,latency=20,retryAfter=0,seed=7,routes=registries.*"';
const KINDS: readonly FaultKind[] = ['429', '500', '503', 'drop'];

function bad(what: string): AcrTrustError {
  return new AcrTrustError(`Bad fault spec: ${what}.`, { exitCode: 2, hint: EXAMPLE });
}

export function parseFaultSpec(spec: string, defaultSeed = 1): FaultSpec {
  const out: FaultSpec = { rates: { '429': 0, '500': 0, '503': 0, drop: 0 }, latencyMs: 0, retryAfterSeconds: 0, seed: defaultSeed };
  const seen = new Set<string>();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(`'${part}' is not key=value`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (seen.has(k)) throw bad(`'${k}' is given twice`);
    seen.add(k);
    if ((KINDS as readonly string[]).includes(k)) {
      const rate = Number(v);
      if (v === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) throw bad(`${k}=${v}: a rate must be a number from 0 to 1`);
      out.rates[k as FaultKind] = rate;
    } else if (k === 'latency' || k === 'retryAfter') {
      const n = Number(v);
      if (v === '' || !Number.isInteger(n) || n < 0 || n > 600_000) throw bad(`${k}=${v}: must be a non-negative integer`);
      if (k === 'latency') out.latencyMs = n;
      else out.retryAfterSeconds = n;
    } else if (k === 'seed') {
      const n = Number(v);
      if (v === '' || !Number.isInteger(n)) throw bad(`seed=${v}: must be an integer`);
      out.seed = n;
    } else if (k === 'routes') {
      const globs = v.split('|').map((g) => g.trim()).filter(Boolean);
      if (globs.length === 0 || globs.some((g) => !/^[A-Za-z0-9_.*-]+$/.test(g))) throw bad(`routes=${v}: expected route-name globs like registries.* separated by |`);
      out.routes = globs;
    } else {
      throw bad(`unknown key '${k}' (known: 429, 500, 503, drop, latency, retryAfter, seed, routes)`);
    }
  }
  if (seen.size === 0) throw bad('it is empty');
  const total = KINDS.reduce((sum, kind) => sum + out.rates[kind], 0);
  if (total > 1 + 1e-9) throw bad(`the fault rates add up to ${total}, more than 1`);
  return out;
}

/** mulberry32: a tiny, fast, seedable PRNG — good enough to pick faults reproducibly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`, 'i');
}

export class FaultInjector {
  private readonly random: () => number;
  private readonly globs?: { re: RegExp; literalPrefix: boolean }[];

  constructor(readonly spec: FaultSpec) {
    this.random = mulberry32(spec.seed);
    this.globs = spec.routes?.map((g) => ({ re: globToRegExp(g), literalPrefix: !g.startsWith('*') }));
  }

  /** Decides what happens to one request to the route `name`. `unauthenticated` marks sign-in
   *  and log-blob routes, which only an explicit glob can fault. */
  decide(name: string, unauthenticated: boolean): FaultDecision {
    if (!this.applies(name, unauthenticated)) return { latencyMs: 0 };
    const r = this.random();
    let edge = 0;
    for (const kind of KINDS) {
      edge += this.spec.rates[kind];
      if (r < edge) return { kind, latencyMs: this.spec.latencyMs };
    }
    return { latencyMs: this.spec.latencyMs };
  }

  private applies(name: string, unauthenticated: boolean): boolean {
    if (!this.globs) return !unauthenticated;
    const hit = this.globs.find((g) => g.re.test(name));
    if (!hit) return false;
    return !unauthenticated || hit.literalPrefix;
  }
}
