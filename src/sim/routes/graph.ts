/**
 * The corner of Microsoft Graph (v1.0) that `az role assignment create --assignee <objectId>` and
 * `az ad sp show --id <objectId>` read: the directory's service principals (task identities) and
 * users (the sim's caller). `sim az-env` registers the sim's origin as the custom cloud's
 * `microsoft_graph_resource_id`, so the CLI sends `{origin}/v1.0/...` here. Read-only.
 *
 * - `GET /v1.0/servicePrincipals?$filter=…` — `servicePrincipalNames/any(c:c eq 'x')`,
 *   `appId eq 'x'`, `displayName eq 'x'`, `id eq 'x'`. The CLI's resolver asks by name first and
 *   gets an empty list for an object id (an object id is not a service principal name), then asks
 *   `getByIds`.
 * - `GET /v1.0/servicePrincipals/{id}`, `GET /v1.0/users/{id}`, `GET /v1.0/directoryObjects/{id}`.
 * - `GET /v1.0/users?$filter=userPrincipalName eq 'x'` (the CLI's first try for names with `@`).
 * - `POST /v1.0/directoryObjects/getByIds` `{ids, types}` → the objects found, each with its
 *   `@odata.type` (the CLI maps it to the role assignment's principalType).
 * - `GET /v1.0/me` → the sim's caller (the one user every sim token names).
 *
 * A principal the directory does not know yet (a task identity at realistic speed, `visibleAt` in
 * the future) is not found, exactly like the replication lag ARM reports as PrincipalNotFound.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ArmError, type SimRequest, type SimResponse } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import type { Principal } from '../store.js';
import { roomIdentityOf } from '../room.js';
import { callerMayRead, currentCaller, isRestricted } from '../caller.js';

const GRAPH = 'https://graph.microsoft.com/v1.0';
const TYPES: Record<Principal['kind'], string> = { ServicePrincipal: 'servicePrincipal', User: 'user' };

/** Graph's error envelope: ARM's, plus `innerError` with the date and request id. */
class GraphError extends ArmError {
  override toResponse(): SimResponse {
    const requestId = randomUUID();
    const innerError = { date: new Date().toISOString().replace(/\.\d{3}Z$/, ''), 'request-id': requestId, 'client-request-id': requestId };
    return { status: this.status, body: { error: { code: this.code, message: this.message, innerError } } };
  }
}

function graphError(status: number, code: string, message: string): GraphError {
  return new GraphError(status, code, message);
}

/** A stable application (client) id for a principal the sim keeps only by object id. */
function appIdOf(principalId: string): string {
  const h = createHash('sha256').update(`appId:${principalId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function mailNickname(p: Principal): string {
  return p.displayName.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'simuser';
}

/** The directory object as Graph v1.0 returns it. */
export function graphObject(sim: SimContext, p: Principal): Record<string, unknown> {
  if (p.kind === 'User') {
    const upn = `${mailNickname(p)}@sim.onmicrosoft.com`;
    return {
      '@odata.type': '#microsoft.graph.user',
      id: p.principalId,
      displayName: p.displayName,
      userPrincipalName: upn,
      mail: upn,
      accountEnabled: true,
    };
  }
  const identity = roomIdentityOf(sim.state, p.principalId);
  const appId = identity?.clientId ?? appIdOf(p.principalId);
  const owner = ownerResourceId(sim, p.principalId);
  return {
    '@odata.type': '#microsoft.graph.servicePrincipal',
    id: p.principalId,
    appId,
    displayName: p.displayName,
    accountEnabled: true,
    servicePrincipalType: identity ? 'Application' : 'ManagedIdentity',
    appOwnerOrganizationId: sim.state.tenantId,
    servicePrincipalNames: [appId, ...(owner ? [`https://identity.azure.net/${createHash('sha256').update(owner.toLowerCase()).digest('base64')}`] : [])],
    alternativeNames: owner ? ['isExplicit=False', owner] : [],
    tags: [],
  };
}

/** The resource (task or registry) whose system identity this principal is. */
function ownerResourceId(sim: SimContext, principalId: string): string | undefined {
  for (const r of [...Object.values(sim.state.tasks), ...Object.values(sim.state.registries)]) {
    if (r.identity?.principalId === principalId) return r.id;
  }
  return undefined;
}

/** The principals the directory knows now — to a room's learner, only itself and the identities
 *  of resources it may read (another learner's task identity is not there at all). */
function visible(sim: SimContext): Principal[] {
  const now = sim.now();
  const known = Object.values(sim.state.principals).filter((p) => p.visibleAt <= now);
  const caller = currentCaller(sim.state);
  if (!isRestricted(sim.state, caller)) return known;
  return known.filter((p) => {
    if (p.principalId === caller.principalId) return true;
    const owner = ownerResourceId(sim, p.principalId);
    return owner !== undefined && callerMayRead(sim.state, owner);
  });
}

function find(sim: SimContext, id: string, kind?: Principal['kind']): Principal {
  const p = visible(sim).find((x) => x.principalId.toLowerCase() === id.toLowerCase() && (!kind || x.kind === kind));
  if (!p) {
    throw graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  }
  return p;
}

/** `$filter` over the fields clients use; anything else is Graph's 400. */
function graphFilter(sim: SimContext, filter: string | null): (o: Record<string, any>) => boolean {
  if (!filter) return () => true;
  let m: RegExpExecArray | null;
  if ((m = /^\s*servicePrincipalNames\/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i.exec(filter))) {
    const v = m[2]!.replace(/''/g, "'").toLowerCase();
    return (o) => (o.servicePrincipalNames ?? []).some((n: string) => n.toLowerCase() === v);
  }
  if ((m = /^\s*(appId|displayName|id|userPrincipalName)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(filter))) {
    const field = m[1]!;
    const v = m[2]!.replace(/''/g, "'").toLowerCase();
    return (o) => String(o[Object.keys(o).find((k) => k.toLowerCase() === field.toLowerCase()) ?? field] ?? '').toLowerCase() === v;
  }
  void sim;
  throw graphError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${filter.trim().split(/[\s(/]/)[0]}' of resource 'DirectoryObject'.`);
}

function list(sim: SimContext, req: SimRequest, kind: Principal['kind']): SimResponse {
  const keep = graphFilter(sim, req.query.get('$filter'));
  const value = visible(sim)
    .filter((p) => p.kind === kind)
    .map((p) => graphObject(sim, p))
    .filter(keep);
  return { status: 200, body: { '@odata.context': `${GRAPH}/$metadata#${TYPES[kind]}s`, value } };
}

export const graphRoutes: RouteModule = (router, sim) => {
  router.on('GET', '/v1.0/servicePrincipals', { name: 'graph.servicePrincipals.list' }, (req) => list(sim, req, 'ServicePrincipal'));
  router.on('GET', '/v1.0/users', { name: 'graph.users.list' }, (req) => list(sim, req, 'User'));

  router.on('GET', '/v1.0/servicePrincipals/{id}', { name: 'graph.servicePrincipals.get' }, (req) => ({
    status: 200,
    body: { '@odata.context': `${GRAPH}/$metadata#servicePrincipals/$entity`, ...graphObject(sim, find(sim, req.params.id!, 'ServicePrincipal')) },
  }));
  router.on('GET', '/v1.0/users/{id}', { name: 'graph.users.get' }, (req) => ({
    status: 200,
    body: { '@odata.context': `${GRAPH}/$metadata#users/$entity`, ...graphObject(sim, find(sim, req.params.id!, 'User')) },
  }));
  router.on('GET', '/v1.0/directoryObjects/{id}', { name: 'graph.directoryObjects.get' }, (req) => ({
    status: 200,
    body: { '@odata.context': `${GRAPH}/$metadata#directoryObjects/$entity`, ...graphObject(sim, find(sim, req.params.id!)) },
  }));

  router.on('POST', '/v1.0/directoryObjects/getByIds', { name: 'graph.directoryObjects.getByIds' }, (req) => {
    const ids = req.body?.ids;
    if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string')) {
      throw graphError(400, 'Request_BadRequest', "Invalid request: 'ids' must be an array of strings.");
    }
    if (ids.length > 1000) throw graphError(400, 'Request_BadRequest', 'A maximum of 1000 ids may be requested.');
    const types: string[] | undefined = Array.isArray(req.body?.types) ? req.body.types.map((t: unknown) => String(t).toLowerCase()) : undefined;
    const known = new Map(visible(sim).map((p) => [p.principalId.toLowerCase(), p]));
    const value = ids
      .map((id: string) => known.get(id.toLowerCase()))
      .filter((p): p is Principal => p !== undefined && (!types || types.includes(TYPES[p.kind].toLowerCase())))
      .map((p) => graphObject(sim, p));
    return { status: 200, body: { '@odata.context': `${GRAPH}/$metadata#directoryObjects`, value } };
  });

  // Every token the sim issues names its one caller (sim.state.caller), whoever signed in — so
  // `/me` is that user, even after `az login --service-principal` (on Azure an application token
  // gets 400 here). `az ad signed-in-user show`, as in the wizard's preflight commands, works.
  router.on('GET', '/v1.0/me', { name: 'graph.me' }, () => {
    // A room identity signs in as an application: Azure's 400 for an app-only token.
    const caller = isRestricted(sim.state) ? undefined : sim.state.principals[sim.state.caller.principalId];
    if (!caller || caller.kind !== 'User') throw graphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    return { status: 200, body: { '@odata.context': `${GRAPH}/$metadata#users/$entity`, ...graphObject(sim, caller) } };
  });
};
