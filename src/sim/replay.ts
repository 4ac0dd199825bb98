/**
 * Replays recorded real ARM traffic against a running simulated Azure and compares, per
 * interaction, what the sim answers with what Azure answered: the status, the long-running
 * pattern (sync / Azure-AsyncOperation / Location) and the answer's key paths with their JSON types
 * — never the values.
 *
 * The recordings are the Azure CLI's vcrpy cassettes (Azure/azure-cli, acr tests), distilled into
 * fixtures of facts under test/sim/replay/ (`<recording>.json` + `shapes.json`); see their `source`.
 * Out-of-scope interactions (deployments, storage, Graph, data plane) are counted and skipped.
 * Ids learned from the sim's answers (`learn`) are substituted into later requests (`{run1}`), and
 * `{sub}` is the sim's subscription. Polls of an asynchronous operation are made as a client would
 * make them and are part of the interaction that started it.
 *
 * Used by test/sim/replay.test.ts (fails on any difference the allow-list does not explain) and by
 * bench/fidelity.js (the figures). Talks HTTPS to the sim only; no Azure SDK.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

export type LroPattern = 'sync' | 'async' | 'location';

/** A shape: a JSON tree whose leaves name types ("string", "number", "boolean"), `null`, `[]`,
 *  `{}`; `"$name"` refers to another shape; `*` keys stand for data keys. */
type Shape = unknown;
interface ShapeEntry {
  from: string[];
  shape?: Shape;
  extends?: string;
  add?: Shape;
}

export interface Interaction {
  n: number;
  command: string;
  scope?: 'out';
  why?: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  apiVersion?: string;
  body?: unknown;
  status?: number;
  lro?: LroPattern;
  answer?: string | { list: string[] } | null;
  /** For a generic list: compare only the item with this name. */
  itemName?: string;
  learn?: Record<string, string>;
  /** An out-of-scope call whose effect the replay reproduces with an in-scope call (not counted). */
  stands_for?: { method: string; path: string; apiVersion: string; body?: unknown; why: string };
  note?: string;
}

export interface Fixture {
  recording: string;
  source: { repository: string; path: string; commit: string; client: string; recorded: string };
  setup?: { method: string; path: string; apiVersion: string; body?: unknown; why: string }[];
  interactions: Interaction[];
}

export interface AllowEntry {
  recording: string;
  /** Interaction numbers; absent: every interaction of the recording. */
  n?: number[];
  kind: 'status' | 'lro' | 'key';
  /** For `key`: key paths (`path:type`, `*` as a suffix wildcard) the entry explains. */
  keys?: string[];
  reason: string;
}

export interface Difference {
  kind: 'status' | 'lro' | 'key';
  detail: string;
  /** For `key`: the key path (`path:type`) missing from or extra in the sim's answer. */
  key?: string;
  allowed?: string;
}

export interface InteractionResult {
  n: number;
  command: string;
  method: string;
  path: string;
  inScope: boolean;
  statusMatch?: boolean;
  lroMatch?: boolean;
  shapeMatch?: boolean;
  differences: Difference[];
}

export interface RecordingResult {
  recording: string;
  source: Fixture['source'];
  interactions: InteractionResult[];
  inScope: number;
  outOfScope: number;
  statusMatches: number;
  lroMatches: number;
  shapeMatches: number;
  /** Differences no allow-list entry explains. */
  unexplained: (Difference & { n: number })[];
}

export interface SimTarget {
  endpoint: string;
  caCert: string;
  subscriptionId: string;
}

export function loadFixtures(dir: string): { fixtures: Fixture[]; shapes: Record<string, ShapeEntry>; allow: AllowEntry[] } {
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const names = ['test_acr_task', 'test_acr_taskrun', 'test_acr_with_public_network_access', 'test_acr_with_public_network_access_and_bypass', 'test_acr_with_public_network_access_disabled'];
  return { fixtures: names.map((n) => read(`${n}.json`)), shapes: read('shapes.json').shapes, allow: read('allow-list.json').entries };
}

// ---------------------------------------------------------------------------------------------
// Key paths
// ---------------------------------------------------------------------------------------------

/** Keys under these are data (server names, identity ids, tag names), compared as `*`. */
const MAP_PARENTS = new Set(['tags', 'customRegistries', 'userAssignedIdentities']);
const TYPE_NAMES = new Set(['string', 'number', 'boolean']);

function resolveShape(name: string, shapes: Record<string, ShapeEntry>): Shape {
  const entry = shapes[name];
  if (!entry) throw new Error(`unknown shape '${name}'`);
  if (entry.shape !== undefined) return entry.shape;
  return merge(resolveShape(entry.extends!, shapes), entry.add ?? {});
}

function merge(a: any, b: any): any {
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : v;
  return out;
}

/** `path:type` for every node of a value (`shape`: leaves are type names, `$x` refs). */
export function keyPaths(value: unknown, options: { shape?: boolean; shapes?: Record<string, ShapeEntry> } = {}, prefix = '', parentKey = ''): Set<string> {
  const out = new Set<string>();
  const add = (p: string, t: string) => out.add(`${p}:${t}`);
  const walk = (v: unknown, p: string, parent: string) => {
    if (options.shape && typeof v === 'string' && v.startsWith('$')) return walk(resolveShape(v.slice(1), options.shapes!), p, parent);
    if (v === null) return add(p, 'null');
    if (Array.isArray(v)) {
      add(p, 'array');
      for (const item of v) walk(item, `${p}[]`, '');
      return;
    }
    if (typeof v === 'object') {
      add(p, 'object');
      for (const [k, child] of Object.entries(v as object)) {
        const name = MAP_PARENTS.has(parent) ? '*' : k;
        walk(child, p ? `${p}.${name}` : name, k);
      }
      return;
    }
    if (options.shape && typeof v === 'string' && TYPE_NAMES.has(v)) return add(p, v);
    add(p, typeof v);
  };
  walk(value, prefix, parentKey);
  return out;
}

function recordedKeys(it: Interaction, shapes: Record<string, ShapeEntry>): Set<string> {
  if (it.answer === null || it.answer === undefined) return new Set();
  if (typeof it.answer === 'string') return keyPaths(resolveShape(it.answer, shapes), { shape: true, shapes });
  return keyPaths({ value: it.answer.list.map((n) => resolveShape(n, shapes)) }, { shape: true, shapes });
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

function call(target: SimTarget, method: string, url: string, body?: unknown): Promise<Answer> {
  const u = new URL(url, target.endpoint);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method,
        ca: target.caCert,
        headers: { authorization: 'Bearer replay', accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function substitute<T>(value: T, vars: Record<string, string>): T {
  const text = JSON.stringify(value ?? null).replace(/\{(\w+)\}/g, (m, k) => vars[k] ?? m);
  return JSON.parse(text);
}

function urlOf(path: string, apiVersion: string | undefined, query: Record<string, string> | undefined, vars: Record<string, string>): string {
  const q = new URLSearchParams(substitute(query ?? {}, vars));
  if (apiVersion) q.set('api-version', apiVersion);
  return `${substitute(path, vars)}?${q.toString()}`;
}

function patternOf(a: Answer): LroPattern {
  if (a.headers['azure-asyncoperation']) return 'async';
  if (a.status === 202 && a.headers.location) return 'location';
  return 'sync';
}

/** Polls an operation the way a client does, until it is final (at most 50 polls). */
async function settle(target: SimTarget, a: Answer): Promise<void> {
  const pattern = patternOf(a);
  if (pattern === 'sync') return;
  const url = String(pattern === 'async' ? a.headers['azure-asyncoperation'] : a.headers.location);
  for (let i = 0; i < 50; i++) {
    const poll = await call(target, 'GET', url);
    const status = (poll.body as any)?.status;
    if (pattern === 'async' ? status && status !== 'InProgress' : poll.status !== 202) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pick(body: unknown, path: string): string | undefined {
  let v: any = body;
  for (const k of path.split('.')) v = v?.[k];
  return typeof v === 'string' ? v : undefined;
}

// ---------------------------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------------------------

function allowed(allow: AllowEntry[], recording: string, n: number, d: Difference, key?: string): string | undefined {
  for (const e of allow) {
    if (e.recording !== recording && e.recording !== '*') continue;
    if (e.n && !e.n.includes(n)) continue;
    if (e.kind !== d.kind) continue;
    if (d.kind === 'key' && !(e.keys ?? []).some((k) => (k.endsWith('*') ? key!.startsWith(k.slice(0, -1)) : key === k))) continue;
    return e.reason;
  }
  return undefined;
}

/** Replays one recording against a fresh sim. */
export async function replay(target: SimTarget, fixture: Fixture, shapes: Record<string, ShapeEntry>, allow: AllowEntry[]): Promise<RecordingResult> {
  const vars: Record<string, string> = { sub: target.subscriptionId };
  for (const s of fixture.setup ?? []) {
    const a = await call(target, s.method, urlOf(s.path, s.apiVersion, undefined, vars), substitute(s.body, vars));
    if (a.status >= 300) throw new Error(`${fixture.recording}: setup ${s.method} ${s.path} answered ${a.status}: ${JSON.stringify(a.body)}`);
  }
  const results: InteractionResult[] = [];
  for (const it of fixture.interactions) {
    const base = { n: it.n, command: it.command, method: it.method, path: it.path };
    if (it.scope === 'out') {
      if (it.stands_for) {
        const s = it.stands_for;
        const a = await call(target, s.method, urlOf(s.path, s.apiVersion, undefined, vars), substitute(s.body, vars));
        if (a.status >= 300) throw new Error(`${fixture.recording} #${it.n}: ${s.method} ${s.path} (for an out-of-scope call) answered ${a.status}: ${JSON.stringify(a.body)}`);
        await settle(target, a);
      }
      results.push({ ...base, inScope: false, differences: [] });
      continue;
    }
    const a = await call(target, it.method, urlOf(it.path, it.apiVersion, it.query, vars), it.body === undefined ? undefined : substitute(it.body, vars));
    const differences: Difference[] = [];
    const statusMatch = a.status === it.status;
    if (!statusMatch) differences.push({ kind: 'status', detail: `recorded ${it.status}, sim ${a.status}${a.status >= 400 ? ` ${JSON.stringify(a.body)}` : ''}` });
    const pattern = patternOf(a);
    const lroMatch = pattern === (it.lro ?? 'sync');
    if (!lroMatch) differences.push({ kind: 'lro', detail: `recorded ${it.lro ?? 'sync'}, sim ${pattern}` });
    await settle(target, a);

    let body: unknown = a.body;
    if (it.itemName && body && typeof body === 'object') {
      body = { value: ((body as any).value ?? []).filter((x: any) => String(x?.name).toLowerCase() === it.itemName!.toLowerCase()) };
    }
    const want = recordedKeys(it, shapes);
    const got = a.status < 400 && body !== undefined ? keyPaths(body) : new Set<string>();
    let shapeMatch = true;
    for (const k of want) {
      if (got.has(k)) continue;
      shapeMatch = false;
      differences.push({ kind: 'key', detail: `missing ${k}`, key: k });
    }
    for (const k of got) {
      if (want.has(k)) continue;
      shapeMatch = false;
      differences.push({ kind: 'key', detail: `extra ${k}`, key: k });
    }
    for (const d of differences) d.allowed = allowed(allow, fixture.recording, it.n, d, d.key);
    for (const [name, path] of Object.entries(it.learn ?? {})) {
      const v = pick(a.body, path);
      if (v) vars[name] = v;
    }
    results.push({ ...base, inScope: true, statusMatch, lroMatch, shapeMatch, differences });
  }
  const inScope = results.filter((r) => r.inScope);
  return {
    recording: fixture.recording,
    source: fixture.source,
    interactions: results,
    inScope: inScope.length,
    outOfScope: results.length - inScope.length,
    statusMatches: inScope.filter((r) => r.statusMatch).length,
    lroMatches: inScope.filter((r) => r.lroMatch).length,
    shapeMatches: inScope.filter((r) => r.shapeMatch).length,
    unexplained: results.flatMap((r) => r.differences.filter((d) => !d.allowed).map((d) => ({ ...d, n: r.n }))),
  };
}
