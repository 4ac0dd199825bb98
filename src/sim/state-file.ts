/**
 * Reading and writing the sim's files: the cloud state (`sim-cloud.json`) and, beside it, the
 * bounded request log (`sim-cloud.requests.json`) that `sim show` prints and, while `sim serve`
 * runs, where it listens (`sim-cloud.endpoint.json`, read by `sim az-env --state`).
 *
 * A state file that cannot be read as a cloud is never overwritten or "repaired": the user may
 * have pointed `--state` at the wrong file, so we stop with exit 2 and name it.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { AcrTrustError } from '../errors.js';
import { writeFileAtomic, writeFileAtomicAsync } from '../files.js';
import type { CloudState } from './store.js';

/**
 * Replaces `file` whole: a temp file in the same folder, then a rename — so a reader, or a sim
 * killed mid-write, sees the old file or the new one, never a torn one. Private to the user (0600).
 *
 * Unlike the wizard's own state (`writeFileAtomic`), the sim's files are not fsynced: the sim
 * writes its cloud after every change, and an fsync per write was the largest single cost of a
 * run on the sim (tens of ms on a busy disk). The trade-off: a process crash loses nothing (the
 * renamed file is in the OS's cache), but a machine crash or power loss could lose the sim's last
 * writes — or, on a file system that does not order the rename after the data, leave an empty
 * state file, which the sim then refuses to load (it never overwrites one) and names. For a
 * simulated training cloud that is a fair price; the wizard's own state keeps its fsync.
 */
export function replaceFile(file: string, data: string): void {
  writeFileAtomic(file, data, { durable: false });
}

/** `replaceFile` through the thread pool: the event loop goes on answering meanwhile. One at a time per file. */
export function replaceFileAsync(file: string, data: string): Promise<void> {
  return writeFileAtomicAsync(file, data, { durable: false });
}

/** One answered request, as the sim's request log keeps it. */
export interface RequestRecord {
  /** ISO time the request arrived. */
  at: string;
  method: string;
  path: string;
  apiVersion?: string;
  status: number;
  /** Milliseconds from arrival to the end of the answer. */
  ms: number;
  /** The route's name (`registries.update`), or `unmatched`. */
  name: string;
  write: boolean;
  /** Set when fault injection answered instead of the route (`429`, `drop` …). */
  fault?: string;
  /** The classroom learner who sent it (`07`), when a learner's identity signed it. */
  learner?: string;
  /** For an answer of 400 or more: ARM's `code: message`. */
  error?: string;
  /** The `aud` of the request's verified token (a signed-in client), e.g. https://management.core.windows.net/. */
  audience?: string;
}

/** Requests a running sim keeps in memory. */
export const REQUEST_LOG_LIMIT = 10_000;

/** How many records the request log file keeps (the in-memory log keeps more). */
export const REQUEST_LOG_FILE_LIMIT = 1000;

export function requestLogFileFor(stateFile: string): string {
  return `${stateFile.replace(/\.json$/i, '')}.requests.json`;
}

export function endpointFileFor(stateFile: string): string {
  return `${stateFile.replace(/\.json$/i, '')}.endpoint.json`;
}

/** What `sim serve` announces: its JSON line, plus the serving process. */
export interface EndpointRecord {
  endpoint: string;
  /** Every URL the certificate covers (absent in files of older sims). */
  endpoints?: string[];
  caCertFile: string;
  subscriptionId: string;
  tenantId: string;
  /** The `sim serve` process (to tell a running sim from a stale file). */
  pid: number;
}

export function writeEndpointFile(file: string, record: EndpointRecord): void {
  writeFileAtomic(file, `${JSON.stringify(record, null, 1)}\n`);
}

/** Undefined when there is none or it is not an endpoint record. */
export function readEndpointFile(file: string): EndpointRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Partial<EndpointRecord>;
    if (typeof r?.endpoint !== 'string' || typeof r.caCertFile !== 'string' || typeof r.pid !== 'number') return undefined;
    return r as EndpointRecord;
  } catch {
    return undefined;
  }
}

/** Removes the endpoint file if it still names `pid` (a newer sim on the same state keeps its own). */
export function removeEndpointFile(file: string, pid: number): void {
  if (readEndpointFile(file)?.pid === pid) rmSync(file, { force: true });
}

function corrupt(file: string, why: string): AcrTrustError {
  return new AcrTrustError(`The sim state file ${file} is not a simulated cloud: ${why}.`, {
    exitCode: 2,
    hint: 'The file was left untouched. Move it away, or pass another --state, to start a new cloud.',
  });
}

/** Loads and checks a state file. Missing → undefined; unreadable or malformed → exit 2. */
export function readStateFile(file: string): CloudState | undefined {
  if (!existsSync(file)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw corrupt(file, e instanceof SyntaxError ? `invalid JSON (${e.message})` : (e as Error).message);
  }
  const s = data as Partial<CloudState> | null;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw corrupt(file, 'not a JSON object');
  if (s.version !== 1) throw corrupt(file, `unsupported version ${JSON.stringify(s.version)} (expected 1)`);
  if (typeof s.tenantId !== 'string' || !Array.isArray(s.subscriptions)) throw corrupt(file, 'tenantId or subscriptions missing');
  if (typeof s.caller !== 'object' || s.caller === null) throw corrupt(file, 'caller missing');
  for (const field of ['resourceGroups', 'registries', 'tasks', 'runs', 'roleAssignments', 'principals', 'operations', 'runCounters'] as const) {
    const v = s[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(file, `'${field}' is not an object`);
  }
  if (s.speed !== 'instant' && s.speed !== 'realistic') throw corrupt(file, `unknown speed ${JSON.stringify(s.speed)}`);
  return s as CloudState;
}

export function writeStateFile(file: string, state: CloudState): void {
  replaceFile(file, stateText(state));
}

/**
 * Saves the cloud after changes without blocking the server (a room of 100 learners has a state of
 * megabytes, and every write request changes it), with the durability of a synchronous save: a
 * request that changed the state is answered only once a save that began after its change has
 * landed (`settle`). Saves run one at a time; changes made while one runs are all taken by the
 * next (group commit), so under load there are far fewer saves than writes. A failed save rejects
 * the requests waiting for it (the sim answers them 500, as before) and the next change tries again.
 */
export interface StateSaver {
  /** The state changed: a save will follow. */
  changed(): void;
  /** Resolves when a save that began after this call has landed (rejects when it failed). */
  settle(): Promise<void>;
  /** How many changes so far (to tell whether a request changed anything). */
  readonly generation: number;
  /** Waits for the save in flight, then saves synchronously (at stop). */
  close(): Promise<void>;
}

export function stateSaver(file: string | undefined, state: CloudState): StateSaver {
  let generation = 0;
  let saved = 0;
  let running: Promise<void> | undefined;
  const waiters: { target: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const loop = async () => {
    while (saved < generation) {
      const target = generation;
      try {
        if (file) await replaceFileAsync(file, stateText(state));
        saved = target;
        for (const w of waiters.filter((x) => x.target <= target)) w.resolve();
      } catch (e) {
        // The failed generation counts as handled: the next change tries again.
        saved = target;
        for (const w of waiters.filter((x) => x.target <= target)) w.reject(e);
      }
      waiters.splice(0, waiters.length, ...waiters.filter((x) => x.target > target));
    }
  };
  const kick = () => {
    running ??= loop().finally(() => {
      running = undefined;
      if (saved < generation) kick();
    });
  };
  return {
    get generation() {
      return generation;
    },
    changed() {
      generation++;
      kick();
    },
    settle() {
      generation++;
      const target = generation;
      const done = new Promise<void>((resolve, reject) => waiters.push({ target, resolve, reject }));
      kick();
      return done;
    },
    async close() {
      while (running) await running.catch(() => {});
      if (file) writeStateFile(file, state);
      saved = generation;
    },
  };
}

function stateText(state: CloudState): string {
  return `${JSON.stringify(state)}\n`;
}

export function readRequestLog(file: string): RequestRecord[] {
  if (!existsSync(file)) return [];
  try {
    const data = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(data) ? (data as RequestRecord[]) : [];
  } catch {
    return []; // the log is a convenience; a torn or foreign file just shows as empty
  }
}

export function writeRequestLog(file: string, records: readonly RequestRecord[]): void {
  replaceFile(file, JSON.stringify(records.slice(-REQUEST_LOG_FILE_LIMIT)));
}

/** `writeRequestLog` off the event loop (one at a time per file). */
export function writeRequestLogAsync(file: string, records: readonly RequestRecord[]): Promise<void> {
  return replaceFileAsync(file, JSON.stringify(records.slice(-REQUEST_LOG_FILE_LIMIT)));
}
