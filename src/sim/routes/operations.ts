/**
 * Long-running operation status URLs, in the two forms ACR uses:
 *
 * - `Azure-AsyncOperation`: `…/registries/{name}/operationStatuses/{id}` (seen in real ACR logs),
 *   or `…/locations/{loc}/operationStatuses/{id}` for an operation outside a registry. Always 200
 *   with `{id, name, status, startTime, endTime?, error?}`; `InProgress` until it finishes.
 * - `Location`: `/subscriptions/{s}/providers/Microsoft.ContainerRegistry/locations/{loc}/operationResults/{id}`.
 *   202 (with Location and Retry-After again) until it finishes, then the final answer: 200 with
 *   the operation's result, 204 when it has none, or the error when it failed.
 *
 * The client appends its own api-version when the URL lacks one; we always include the original
 * request's, and accept any well-formed version here (the task and run routes use other versions
 * than the registry routes, and the status URL is theirs too).
 */
import { ArmError, type SimRequest, type SimResponse } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import type { Operation } from '../store.js';
import { key } from '../store.js';

const PROVIDER = 'providers/Microsoft.ContainerRegistry';

/** Where the status of an operation started by `req` is polled. */
export function asyncOperationUrl(sim: SimContext, req: SimRequest, op: Operation): string {
  const registry = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+)/i.exec(req.path)?.[1];
  const base = registry ? `${registry}/operationStatuses/${op.id}` : `/subscriptions/${subscriptionOf(req)}/${PROVIDER}/locations/${locationOf(sim, req)}/operationStatuses/${op.id}`;
  return `${req.origin}${base}${versionQuery(req)}`;
}

/** Where the result of an operation started by `req` is polled (Location form). */
export function locationUrl(sim: SimContext, req: SimRequest, op: Operation): string {
  return `${req.origin}/subscriptions/${subscriptionOf(req)}/${PROVIDER}/locations/${locationOf(sim, req)}/operationResults/${op.id}${versionQuery(req)}`;
}

function versionQuery(req: SimRequest): string {
  const v = req.query.get('api-version');
  return v ? `?api-version=${encodeURIComponent(v)}` : '';
}

function subscriptionOf(req: SimRequest): string {
  return /^\/subscriptions\/([^/]+)/i.exec(req.path)?.[1] ?? 'unknown';
}

/** The region of the registry the request is about, else of its resource group. */
function locationOf(sim: SimContext, req: SimRequest): string {
  const registry = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+)/i.exec(req.path)?.[1];
  if (registry) {
    const r = sim.state.registries[key(registry)];
    if (r?.location) return r.location;
  }
  const rg = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)/i.exec(req.path);
  if (rg) {
    const group = sim.state.resourceGroups[`${rg[1]}/${rg[2]}`.toLowerCase()];
    if (group) return group.location;
  }
  return 'eastus';
}

function checkVersion(req: SimRequest): void {
  const v = req.query.get('api-version');
  if (!v) throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
  if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(v)) throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${v}' is invalid.`);
}

function findOperation(sim: SimContext, id: string): Operation {
  const op = sim.state.operations[id];
  if (!op) throw new ArmError(404, 'OperationNotFound', `The operation '${id}' could not be found.`);
  return op;
}

export const operationsRoutes: RouteModule = (router, sim) => {
  const status = (req: SimRequest): SimResponse => {
    checkVersion(req);
    const op = findOperation(sim, req.params.operationId!);
    const done = sim.now() >= op.doneAt;
    const body: Record<string, unknown> = { id: req.path, name: op.id, status: done ? op.status : 'InProgress', startTime: op.startTime };
    if (done) body.endTime = new Date(op.doneAt).toISOString();
    if (done && op.error) body.error = op.error;
    const headers: Record<string, string> = done ? {} : { 'Retry-After': retryAfter(sim) };
    return { status: 200, body, headers };
  };
  router.on('GET', `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/${PROVIDER}/registries/{registryName}/operationStatuses/{operationId}`, { name: 'operations.status' }, status);
  router.on('GET', `/subscriptions/{subscriptionId}/${PROVIDER}/locations/{location}/operationStatuses/{operationId}`, { name: 'operations.status' }, status);

  router.on('GET', `/subscriptions/{subscriptionId}/${PROVIDER}/locations/{location}/operationResults/{operationId}`, { name: 'operations.result' }, (req) => {
    checkVersion(req);
    const op = findOperation(sim, req.params.operationId!);
    if (sim.now() < op.doneAt) {
      return { status: 202, headers: { Location: `${req.origin}${req.path}?api-version=${req.query.get('api-version')}`, 'Retry-After': retryAfter(sim) } };
    }
    if (op.status !== 'Succeeded') {
      const error = op.error ?? { code: op.status, message: `The operation ${op.status.toLowerCase()}.` };
      throw new ArmError(400, error.code, error.message);
    }
    return op.result === undefined ? { status: 204 } : { status: 200, body: op.result };
  });
};

export function retryAfter(sim: SimContext): string {
  return sim.speed === 'realistic' ? '1' : '0';
}
