/**
 * What a route module gets from the sim: the cloud state, the sim clock, persistence and the
 * helpers every ARM resource type needs. Implemented by `server.ts`; used by `routes/*.ts`.
 */
import type { Router, SimRequest } from './http.js';
import type { CloudState, Operation, Speed } from './store.js';

export interface SimContext {
  readonly state: CloudState;
  readonly speed: Speed;
  /** The sim clock in ms. Runs, operations and role propagation are scheduled against it. */
  now(): number;
  /** Persist the state (atomic write). Call after every change. */
  changed(): void;
  /** A new GUID (lower-case, 8-4-4-4-12). Deterministic for a given seed and call order. */
  uuid(): string;
  /**
   * Registers a long-running operation finishing `delayMs` from now (0 at instant speed) and
   * returns its record; answer the request with `asyncOperationHeaders(req, op)` or
   * `locationHeaders(req, op)`.
   */
  startOperation(init: { delayMs: number; status?: Operation['status']; error?: Operation['error']; result?: unknown }): Operation;
  /** `Azure-AsyncOperation` (+ `Retry-After`) headers pointing at the operation's status URL. */
  asyncOperationHeaders(req: SimRequest, op: Operation): Record<string, string>;
  /** `Location` (+ `Retry-After`) headers pointing at the operation's result URL. */
  locationHeaders(req: SimRequest, op: Operation): Record<string, string>;
}

/** A route module: registers its handlers on the router. */
export type RouteModule = (router: Router, sim: SimContext) => void;
