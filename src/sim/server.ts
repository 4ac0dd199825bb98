/**
 * The simulated Azure Resource Manager: an HTTPS server on 127.0.0.1 that answers the ARM REST
 * calls the workflow makes, so the real Azure SDK clients (and the az CLI) talk to it exactly as
 * they would to management.azure.com.
 *
 * One request: parse → match a route → fault injection → auth → api-version → handler → answer,
 * and a record in the request log. Route modules (`routes/*.ts`) only see SimRequest/SimResponse
 * and the SimContext implemented here; sockets, TLS, persistence and faults stay in this file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AcrTrustError, isAcrTrustError } from '../errors.js';
import { authorizeRequest, callerContext, currentCaller, filterList, type Caller } from './caller.js';
import { ARM_AUDIENCES, looksLikeJwt, roomIdentityOf, verifyAccessToken } from './room.js';
import { certificateFilesFor, loadOrCreateCertificates, subjectAltNamesFor } from './cert.js';
import type { RouteModule, SimContext } from './context.js';
import { FaultInjector, armFault, isArmFault, isSignInFault, parseFaultSpec, signInFault, type FaultKind } from './faults.js';
import { ArmError, checkApiVersion, foldSlashes, Router, type SimRequest, type SimResponse } from './http.js';
import { authorizationRoutes } from './routes/authorization.js';
import { sourceUploadRoutes } from './routes/source-upload.js';
import { agentPoolsRoutes } from './routes/agent-pools.js';
import { roomRoutes } from './board/routes.js';
import { createBoardHub, type BoardHub } from './board/hub.js';
import { graphRoutes } from './routes/graph.js';
import { asyncOperationUrl, locationUrl, operationsRoutes, retryAfter } from './routes/operations.js';
import { registriesRoutes } from './routes/registries.js';
import { resourceGroupsRoutes } from './routes/resource-groups.js';
import { runsRoutes } from './routes/runs.js';
import { signInRoutes } from './routes/signin.js';
import { subscriptionsRoutes } from './routes/subscriptions.js';
import { tasksRoutes } from './routes/tasks.js';
import { taskRunsRoutes } from './routes/task-runs.js';
import { checkLearners, checkScenario, defaultRoleDelayMs, seedScenario } from './scenarios.js';
import { readStateFile, REQUEST_LOG_LIMIT, requestLogFileFor, stateSaver, writeRequestLog, writeRequestLogAsync, writeStateFile, type RequestRecord, type StateSaver } from './state-file.js';
import type { CloudState, Operation, Speed } from './store.js';
import { armAudiences, SIM_OWN_CLOUD, type CloudFacts } from '../model/clouds.js';

export type { RequestRecord } from './state-file.js';

export interface StartSimOptions {
  /** Persist the cloud here (created from the scenario if missing). Without it, memory only. */
  stateFile?: string;
  /** 0 or absent: an ephemeral port. */
  port?: number;
  /**
   * The address to listen on: default `127.0.0.1`; `0.0.0.0` or `::` for every interface (the
   * certificate then names every address of this machine and its host name), or one address.
   */
  host?: string;
  /** More names and addresses the server certificate must cover (`--san`): the ones learners type. */
  subjectAltNames?: string[];
  /** Seeds a new cloud; must match the scenario of an existing state file. Default `default`. */
  scenario?: string;
  /** Overrides the state's speed. */
  speed?: Speed;
  /** Fault-injection spec (see faults.ts). */
  faults?: string;
  /** Seed for generated ids and (unless the spec has its own) for fault injection. */
  seed?: number;
  /** With scenario `classroom`: how many learners to seed (default 30); must match an existing classroom cloud. */
  learners?: number;
  /**
   * The Azure cloud the sim stands for (`sim serve --cloud NAME`; facts from src/model/clouds.ts or
   * a cloud registered in the Azure CLI): registries' login servers get its suffix and ARM accepts
   * only tokens for its audiences. Kept in the state; must match an existing state's cloud.
   */
  cloud?: CloudFacts;
}

export interface RunningSim {
  /** `https://127.0.0.1:PORT` (or the one address listened on) — the ARM endpoint to give the SDK clients on this machine. */
  endpoint: string;
  /** Every `https://NAME:PORT` the certificate covers: what clients elsewhere may use. */
  endpoints: string[];
  /** The names and addresses the server certificate covers. */
  subjectAltNames: string[];
  /** The CA certificate (PEM) clients must trust. */
  caCert: string;
  caCertFile: string;
  subscriptionId: string;
  tenantId: string;
  /** The live cloud state (the same object the routes change). */
  state: CloudState;
  /** Every answered request, oldest first (the last REQUEST_LOG_LIMIT). */
  requests: RequestRecord[];
  /** Calls `listener` after every answered request; returns the unsubscribe. */
  onRequest(listener: (r: RequestRecord) => void): () => void;
  /** A classroom's live board (`/room`): publish snapshots to it. */
  board?: BoardHub;
  /**
   * Answers a request made in this process — the same routes, access check (as `as`, a principal
   * of this cloud: no token), list filter and save as a request over HTTPS, without the socket,
   * TLS and HTTP parsing; no injected faults, and not in the request log (it is not a client's).
   * For the room board's checks, through the SDK (an in-process HTTP client). `url` is absolute
   * or a path; the answer's body is its text.
   */
  dispatch(request: { method: string; url: string; headers?: Record<string, string>; body?: string | Uint8Array }, as: { principalId: string }): Promise<{ status: number; headers: Record<string, string>; body: string }>;
  stop(): Promise<void>;
}

export { REQUEST_LOG_LIMIT } from './state-file.js';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The route modules, in registration order (first match wins). */
const ROUTE_MODULES: RouteModule[] = [
  signInRoutes,
  subscriptionsRoutes,
  resourceGroupsRoutes,
  operationsRoutes,
  registriesRoutes,
  tasksRoutes,
  runsRoutes,
  sourceUploadRoutes,
  agentPoolsRoutes,
  taskRunsRoutes,
  authorizationRoutes,
  graphRoutes,
  roomRoutes,
];

export async function startSim(opts: StartSimOptions = {}): Promise<RunningSim> {
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
    throw new AcrTrustError(`Invalid port ${opts.port}: expected an integer from 0 to 65535.`, { exitCode: 2 });
  }
  // Checked before anything starts; a scenario's own faults (state.faults) apply when none are given.
  if (opts.faults) parseFaultSpec(opts.faults, opts.seed ?? 1);
  if (opts.scenario !== undefined) checkScenario(opts.scenario);
  if (opts.learners !== undefined) checkLearners(opts.learners);

  const stateFile = opts.stateFile ? resolve(opts.stateFile) : undefined;
  const { state, created } = loadOrSeed(stateFile, opts);
  if (created && stateFile) writeStateFile(stateFile, state);
  // Saved after every change, off the event loop; a changing request is answered once saved.
  const saver = stateSaver(stateFile, state);
  const faultSpec = opts.faults ?? state.faults;
  const faults = faultSpec ? new FaultInjector(parseFaultSpec(faultSpec, opts.seed ?? 1)) : undefined;

  const tempDir = stateFile ? undefined : mkdtempSync(join(tmpdir(), 'acr-trust-sim-'));
  const certFiles = certificateFilesFor(stateFile ?? join(tempDir!, 'sim-cloud.json'));
  const host = checkHost(opts.host ?? '127.0.0.1');
  const sans = subjectAltNamesFor(host, opts.subjectAltNames ?? []);
  const certs = await loadOrCreateCertificates(certFiles, sans);

  const requests: RequestRecord[] = [];
  const requestLogFile = stateFile ? requestLogFileFor(stateFile) : undefined;
  let logTimer: NodeJS.Timeout | undefined;
  let logWriting: Promise<void> | undefined;
  // Debounced and off the event loop; one write at a time (the last one at stop, synchronously).
  const flushLogSoon = () => {
    logTimer = undefined;
    if (!requestLogFile) return;
    if (logWriting) {
      logTimer = setTimeout(flushLogSoon, 250).unref();
      return;
    }
    // The request log is for `sim show`, not part of the cloud: a full disk must not stop the sim.
    logWriting = writeRequestLogAsync(requestLogFile, requests).catch(() => {}).finally(() => (logWriting = undefined));
  };
  const flushLog = async () => {
    if (logTimer) clearTimeout(logTimer);
    logTimer = undefined;
    await logWriting;
    try {
      if (requestLogFile) writeRequestLog(requestLogFile, requests);
    } catch {
      // as above
    }
  };
  const requestListeners = new Set<(r: RequestRecord) => void>();
  const record = (r: RequestRecord) => {
    requests.push(r);
    for (const l of requestListeners) l(r);
    if (requests.length > REQUEST_LOG_LIMIT + 1000) requests.splice(0, requests.length - REQUEST_LOG_LIMIT);
    // Debounced: writing the log on every GET would dominate the sim's cost.
    if (requestLogFile && !logTimer) logTimer = setTimeout(flushLogSoon, 250).unref();
  };

  const context = createContext(state, () => saver.changed(), opts.seed);
  const router = new Router();
  for (const register of ROUTE_MODULES) register(router, context);

  let origin = '';
  // The origins a client may name in Host (the certificate's names at our port): the answers'
  // URLs (operations, run logs, sign-in) use the one the client used, so a learner elsewhere
  // gets links that reach the sim from there. Anything else falls back to `origin`.
  const origins = new Set<string>();
  const audiences: string[] = [];
  const directoryAudiences: string[] = [];
  // A classroom's live board (board/hub.ts): the page and its events, for the trainer.
  const board = state.room ? createBoardHub(() => state.room?.boardToken) : undefined;
  const server: Server = createServer({ key: certs.serverKey, cert: certs.serverCert }, (req, res) => {
    if (board?.serve(req, res)) return;
    const named = `https://${String(req.headers.host ?? '').toLowerCase()}`;
    void handle(req, res, { router, origin: origins.has(named) ? named : origin, faults, record, state, saver, audiences, directoryAudiences, who: () => ({ callerId: currentCaller(state).principalId, tenantId: state.tenantId }) });
  });
  server.on('tlsClientError', () => {}); // a client that distrusts our CA just goes away
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new AcrTrustError(`Port ${opts.port} is already in use.`, { exitCode: 2, hint: 'Pick another --port, or omit it for a free one.' })
          : e.code === 'EADDRNOTAVAIL'
            ? new AcrTrustError(`This machine has no address ${host} to listen on.`, { exitCode: 2, hint: 'Use --host 0.0.0.0 (every interface), 127.0.0.1, or one of the addresses `ip addr` lists.' })
            : e,
      ),
    );
    server.listen({ port: opts.port ?? 0, host, ipv6Only: host === '::' ? false : undefined }, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const urlFor = (name: string) => `https://${isIP(name) === 6 ? `[${name}]` : name}:${port}`;
  const endpoints = sans.filter((n) => !n.startsWith('*.')).map(urlFor);
  for (const e of endpoints) origins.add(e.toLowerCase());
  // The audiences a token may name. The sim as the clients call it (`{endpoint}/.default`, and
  // az's Microsoft Graph `{endpoint}/`) for Microsoft Graph; for ARM, a sim standing for a cloud
  // takes that cloud's audiences only (ARM's 401 InvalidAuthenticationTokenAudience otherwise),
  // the sim's own cloud ARM's public audiences and its own origins too.
  const ownOrigins = endpoints.flatMap((e) => [e, `${e}/`]);
  audiences.push(...(state.cloud ? armAudiences(state.cloud) : [...ARM_AUDIENCES, ...ownOrigins]));
  directoryAudiences.push(...audiences, ...ownOrigins);
  origin = urlFor(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

  let stopped: Promise<void> | undefined;
  return {
    endpoint: origin,
    endpoints,
    subjectAltNames: sans,
    caCert: certs.caCert,
    caCertFile: certFiles.caCertFile,
    subscriptionId: state.subscriptions[0]?.subscriptionId ?? '',
    tenantId: state.tenantId,
    state,
    requests,
    ...(board ? { board } : {}),
    onRequest(listener) {
      requestListeners.add(listener);
      return () => requestListeners.delete(listener);
    },
    async dispatch(request, as) {
      const u = new URL(request.url, origin);
      const headers: IncomingHttpHeaders = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body as Uint8Array | string);
      const h: Handling = { router, origin, record: () => {}, state, saver, audiences, directoryAudiences, who: () => ({ callerId: as.principalId, tenantId: state.tenantId }) };
      const o = await answerRequest({ method: request.method, url: `${u.pathname}${u.search}`, headers, body }, async () => body, h, { caller: { principalId: as.principalId } });
      const answer = o.answer!;
      const { headers: out, payload } = answerHeaders(answer, headers);
      return { status: answer.status, headers: out, body: request.method.toUpperCase() === 'HEAD' ? '' : (payload ?? '') };
    },
    stop: () =>
      (stopped ??= (async () => {
        board?.close();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
        await flushLog();
        await saver.close();
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      })()),
  };
}

/** `--host`: an IPv4 or IPv6 address (`0.0.0.0`/`::` for every interface), brackets allowed. Exit 2 otherwise. */
function checkHost(value: string): string {
  const v = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (!isIP(v)) {
    throw new AcrTrustError(`Invalid --host '${value}': expected an IP address to listen on.`, {
      exitCode: 2,
      hint: 'Use 127.0.0.1 (this machine only, the default), 0.0.0.0 or :: (every interface), or one address of this machine; name host names with --san.',
    });
  }
  return isIP(v) === 6 ? new URL(`https://[${v}]/`).hostname.slice(1, -1) : v;
}

function loadOrSeed(stateFile: string | undefined, opts: StartSimOptions): { state: CloudState; created: boolean } {
  const speed = opts.speed ?? 'instant';
  const existing = stateFile ? readStateFile(stateFile) : undefined;
  if (!existing) {
    const state = seedScenario(opts.scenario ?? 'default', speed, Date.now(), opts.learners === undefined ? {} : { learners: opts.learners });
    if (opts.cloud) {
      // The cloud's registry suffix on every seeded registry (their names are the scenario's).
      state.cloud = opts.cloud;
      for (const r of Object.values(state.registries)) r.properties.loginServer = `${r.name.toLowerCase()}${opts.cloud.acrLoginServerSuffix}`;
    }
    return { state, created: true };
  }
  if (opts.cloud && (existing.cloud?.name ?? SIM_OWN_CLOUD).toLowerCase() !== opts.cloud.name.toLowerCase()) {
    throw new AcrTrustError(`The sim state file ${stateFile} holds a cloud that stands for ${existing.cloud?.name ?? `${SIM_OWN_CLOUD} (no --cloud)`}, not ${opts.cloud.name}.`, {
      exitCode: 2,
      hint: `Drop --cloud to continue that cloud, or pass another --state to start a ${opts.cloud.name} one.`,
    });
  }
  if (opts.scenario && opts.scenario !== existing.scenario) {
    throw new AcrTrustError(`The sim state file ${stateFile} holds a '${existing.scenario}' cloud, not '${opts.scenario}'.`, {
      exitCode: 2,
      hint: `Drop --scenario to continue that cloud, or pass another --state to start a '${opts.scenario}' one.`,
    });
  }
  if (opts.learners !== undefined && opts.learners !== existing.learners) {
    throw new AcrTrustError(
      existing.learners === undefined
        ? `The sim state file ${stateFile} holds a '${existing.scenario}' cloud, not a classroom.`
        : `The sim state file ${stateFile} holds a classroom for ${existing.learners} learners, not ${opts.learners}.`,
      { exitCode: 2, hint: 'Drop --learners to continue that cloud, or pass another --state to seed a new room.' },
    );
  }
  if (opts.speed && opts.speed !== existing.speed) {
    existing.speed = opts.speed;
    existing.roleDelayMs = defaultRoleDelayMs(opts.speed);
    return { state: existing, created: true };
  }
  return { state: existing, created: false };
}

function createContext(state: CloudState, persist: () => void, seed: number | undefined): SimContext {
  return {
    state,
    get speed() {
      return state.speed;
    },
    now: () => Date.now(),
    changed: persist,
    uuid() {
      if (seed === undefined) return randomUUID();
      // Derived from (seed, counter); the counter lives in the state so a restart continues it.
      const n = (state.uuidCounter = (state.uuidCounter ?? 0) + 1);
      const b = createHash('sha256').update(`${seed}:${n}`).digest();
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = b.subarray(0, 16).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
    startOperation(init) {
      const now = Date.now();
      // Forget operations finished an hour ago: no client polls that late.
      for (const [id, old] of Object.entries(state.operations)) if (old.doneAt < now - 3600_000) delete state.operations[id];
      const op: Operation = {
        id: this.uuid(),
        doneAt: now + Math.max(0, init.delayMs),
        status: init.status ?? 'Succeeded',
        startTime: new Date(now).toISOString(),
      };
      if (init.error) op.error = init.error;
      op.principalId = currentCaller(state).principalId;
      if (init.result !== undefined) op.result = init.result;
      state.operations[op.id] = op;
      return op;
    },
    asyncOperationHeaders(req, op) {
      return { 'Azure-AsyncOperation': asyncOperationUrl(this, req, op), 'Retry-After': retryAfter(this) };
    },
    locationHeaders(req, op) {
      return { Location: locationUrl(this, req, op), 'Retry-After': retryAfter(this) };
    },
  };
}

interface Handling {
  router: Router;
  origin: string;
  faults?: FaultInjector;
  record: (r: RequestRecord) => void;
  state: CloudState;
  /** Saves the state; a request that changed it waits for the save before it is answered. */
  saver: StateSaver;
  /** The token audiences ARM routes accept (the cloud's; for the sim's own cloud also its origins). */
  audiences: string[];
  /** The token audiences Microsoft Graph routes (`/v1.0/…`) accept: the sim's origins too. */
  directoryAudiences: string[];
  /** Who the caller is (named in injected ARM errors). */
  who: () => { callerId: string; tenantId: string };
}

/**
 * Who the bearer token names. A JWT is verified (this cloud's signature, issuer, audience,
 * expiry: ARM's 401s otherwise). An opaque token is the sim's single caller — the long-standing
 * contract of single-user clouds (tests, the embedded sim) — and refused in a classroom, where
 * every identity must sign in.
 */
async function authenticate(h: Handling, authorization: string, path: string): Promise<Caller & { audience?: string }> {
  const token = authorization.replace(/^Bearer\s+/i, '').trim();
  if (looksLikeJwt(token)) {
    const directory = /^\/v1\.0(\/|$)/i.test(path);
    const claims = await verifyAccessToken(h.state, token, directory ? h.directoryAudiences : h.audiences, Date.now());
    const known = claims.oid === h.state.caller.principalId || roomIdentityOf(h.state, claims.oid) !== undefined;
    if (!known) throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token is invalid."' });
    return { principalId: claims.oid, clientId: claims.appid, audience: String(claims.aud) };
  }
  if (h.state.room) {
    throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token is invalid."' });
  }
  return { principalId: h.state.caller.principalId };
}

/** A request as the routes see it, whatever carried it (a socket, or `dispatch` in this process). */
interface Incoming {
  method: string;
  /** The request target as sent: path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body, read in full (undefined when the transport reads it itself: see `readBody`). */
  body?: Buffer;
}

/** What answering one request came to, for the transport and the request log. */
interface Outcome {
  name: string;
  write: boolean;
  /** Undefined when the connection is to be dropped (an injected `drop`). */
  answer?: SimResponse;
  fault?: FaultKind;
  learner?: string;
  /** The verified token's audience (a signed-in client's), for the request log. */
  audience?: string;
}

/**
 * Answers one request: match a route, fault injection (unless `inProcess`), authentication (or the
 * in-process caller), the one access check, the api-version, the route, the list filter — and,
 * for a request that changed the cloud, the save before the answer.
 * @param inProcess a request from this process (`dispatch`): made as `caller`, with no token, no
 *   injected faults; everything else as for a request that came over the network.
 */
async function answerRequest(input: Incoming, readBodyOf: () => Promise<Buffer>, h: Handling, inProcess?: { caller: Caller }): Promise<Outcome> {
  const method = input.method.toUpperCase();
  // Not `new URL()`: a path starting `//` would be read as a host name.
  const raw = input.url;
  const q = raw.indexOf('?');
  const path = foldSlashes(q < 0 ? raw : raw.slice(0, q)) || '/';
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const apiVersion = query.get('api-version') ?? undefined;
  const out: Outcome = { name: 'unmatched', write: false };
  try {
    const rawBytes = input.body ?? (await readBodyOf());
    const rawBody = rawBytes.toString('utf8');
    const match = h.router.match(method, path);
    if (!('route' in match)) {
      out.answer = (match.methodNotAllowed ? methodNotAllowed(method) : notFound(path, apiVersion)).toResponse();
      return out;
    }
    const { route, params } = match;
    out.name = route.options.name;
    out.write = route.options.write ?? false;
    const unauthenticated = route.options.auth === false;
    const decision = inProcess ? undefined : h.faults?.decide(out.name, unauthenticated);
    if (decision?.latencyMs) await sleep(decision.latencyMs);
    if (decision?.kind === 'drop') {
      out.fault = 'drop';
      return out;
    }
    if (decision?.kind) {
      out.fault = decision.kind;
      const context = { method, path, params, ...(apiVersion ? { apiVersion } : {}), ...h.who() };
      out.answer = isArmFault(decision.kind)
        ? armFault(decision.kind, context).toResponse()
        : isSignInFault(decision.kind)
          ? signInFault(decision.kind, { ...context, body: rawBody, now: Date.now() })
          : faultResponse(decision.kind, h.faults!.spec.retryAfterSeconds);
      return out;
    }
    if (!inProcess && !unauthenticated && !/^Bearer\s+\S+/i.test(String(input.headers.authorization ?? ''))) {
      // ARM names the tenant of a subscription it knows in the challenge's authorization_uri (how
      // a client finds which tenant to sign in to: shawntabrizi.com, "Secret APIs in Azure Active
      // Directory and Azure Resource Manager").
      const sub = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1]?.toLowerCase();
      const known = sub !== undefined && h.state.subscriptions.some((x) => x.subscriptionId.toLowerCase() === sub);
      const authority = `${h.state.cloud?.authorityHost ?? 'https://login.windows.net'}/${known ? h.state.tenantId : ''}`;
      out.answer = new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", {
        'WWW-Authenticate': `Bearer authorization_uri="${authority}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
      }).toResponse();
      return out;
    }
    // Sign-in and the run logs (whose SAS signature is their key) answer without a token.
    const signedIn = inProcess || unauthenticated ? undefined : await authenticate(h, String(input.headers.authorization), path);
    out.audience = signedIn?.audience;
    const caller: Caller = inProcess?.caller ?? (signedIn ? { principalId: signedIn.principalId, ...(signedIn.clientId ? { clientId: signedIn.clientId } : {}) } : { principalId: h.state.caller.principalId });
    out.learner = roomIdentityOf(h.state, caller.principalId)?.learner;
    out.answer = await callerContext.run(caller, async () => {
      // The one access check for every route, before the route sees the request (ARM order:
      // authorization before validation or not-found), and the one list filter after it.
      authorizeRequest(h.state, method, path);
      const simReq: SimRequest = { method, path, query, headers: input.headers, body: parseBody(input.headers, rawBody), rawBody, rawBytes, params, origin: h.origin };
      if (route.options.apiVersions) checkApiVersion(simReq, route.options.apiVersions, out.name);
      const before = h.saver.generation;
      const routed = await route.handler(simReq);
      // Durable before answered, as a synchronous save was (a save failing is a 500, below).
      if (h.saver.generation !== before) await h.saver.settle();
      return method === 'GET' && routed.status === 200 && routed.body !== undefined ? { ...routed, body: filterList(h.state, path, routed.body) } : routed;
    });
  } catch (e) {
    out.answer = e instanceof ArmError ? e.toResponse() : internalError(e);
  }
  return out;
}

async function handle(req: IncomingMessage, res: ServerResponse, h: Handling): Promise<void> {
  const t0 = performance.now();
  const at = new Date().toISOString();
  const method = (req.method ?? 'GET').toUpperCase();
  const o = await answerRequest({ method, url: req.url ?? '/', headers: req.headers }, () => readBody(req), h);
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = foldSlashes(q < 0 ? raw : raw.slice(0, q)) || '/';
  const apiVersion = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)).get('api-version') ?? undefined;
  if (!o.answer) req.socket.destroy();
  else send(res, method, o.answer, req.headers);
  // The room learner who sent it (classroom), and ARM's error for a refusal: for the board.
  const status = o.answer?.status ?? 0;
  const err = status >= 400 && !o.fault ? (o.answer?.body as { error?: { code?: string; message?: string } } | undefined)?.error : undefined;
  h.record({
    at, method, path, ...(apiVersion ? { apiVersion } : {}), status, ms: Math.round((performance.now() - t0) * 100) / 100, name: o.name, write: o.write, ...(o.fault ? { fault: o.fault } : {}),
    ...(o.learner ? { learner: o.learner } : {}),
    ...(o.audience ? { audience: o.audience } : {}),
    ...(err?.code ? { error: `${err.code}: ${String(err.message ?? '').slice(0, 400)}` } : {}),
  });
}

/** The headers an answer goes out with (ARM's request ids; the client's own echoed). */
function answerHeaders(answer: SimResponse, requestHeaders: IncomingHttpHeaders): { headers: Record<string, string>; payload?: string } {
  const headers: Record<string, string> = {
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': String(requestHeaders['x-ms-correlation-request-id'] ?? randomUUID()),
    ...(answer.headers ?? {}),
  };
  const client = requestHeaders['x-ms-client-request-id'];
  if (client) headers['x-ms-client-request-id'] = String(client);
  let payload: string | undefined;
  if (answer.text !== undefined) {
    payload = answer.text;
    headers['content-type'] = answer.contentType ?? 'text/plain; charset=utf-8';
  } else if (answer.body !== undefined && answer.status !== 204) {
    payload = JSON.stringify(answer.body);
    headers['content-type'] = answer.contentType ?? 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  return { headers, payload };
}

function send(res: ServerResponse, method: string, answer: SimResponse, requestHeaders: IncomingHttpHeaders): void {
  const { headers, payload } = answerHeaders(answer, requestHeaders);
  res.writeHead(answer.status, headers);
  res.end(method === 'HEAD' ? undefined : payload);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ArmError(413, 'RequestEntityTooLarge', 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(headers: IncomingHttpHeaders, raw: string): unknown {
  if (raw.trim() === '') return undefined;
  const type = String(headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded')) return raw;
  // A blob upload (a source tarball): its bytes are in rawBytes.
  if (headers['x-ms-blob-type'] !== undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${(e as Error).message}'.`);
  }
}

/** ARM's 404 for a path no provider serves: InvalidResourceType when it names a provider
 *  namespace and type (the last `/providers/NS/type[/name/subtype…]`), else NoRegisteredProviderFound. */
function notFound(path: string, apiVersion: string | undefined): ArmError {
  const parts = path.split('/').filter(Boolean);
  const at = parts.map((p) => p.toLowerCase()).lastIndexOf('providers');
  const rest = at >= 0 ? parts.slice(at + 1) : [];
  if (rest.length >= 2) {
    const type = rest.slice(1).filter((_, i) => i % 2 === 0).join('/');
    return new ArmError(404, 'InvalidResourceType', `The resource type '${type}' could not be found in the namespace '${rest[0]}' for api version '${apiVersion ?? ''}'.`);
  }
  return new ArmError(404, 'NoRegisteredProviderFound', `No registered resource provider found for the path '${path}' and API version '${apiVersion ?? ''}'. The simulated Azure serves only what the acr-trust workflow uses.`);
}

function methodNotAllowed(method: string): ArmError {
  return new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
}

function faultResponse(kind: '429' | '500' | '503', retryAfterSeconds: number): SimResponse {
  switch (kind) {
    case '429':
      return new ArmError(429, 'TooManyRequests', 'The request is being throttled as the limit has been reached for operation type. (Injected by the sim.)', { 'Retry-After': String(retryAfterSeconds) }).toResponse();
    case '503':
      return new ArmError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. (Injected by the sim.)', { 'Retry-After': String(retryAfterSeconds) }).toResponse();
    case '500':
      return new ArmError(500, 'InternalServerError', 'Encountered internal server error. (Injected by the sim.)').toResponse();
  }
}

function internalError(e: unknown): SimResponse {
  // A bug in a route: answer like ARM, but keep the stack on the sim's stderr for whoever debugs it.
  // An expected failure (its state file cannot be saved: a full disk) is only answered.
  if (!isAcrTrustError(e)) process.stderr.write(`sim: route failed: ${(e as Error)?.stack ?? String(e)}\n`);
  return new ArmError(500, 'InternalServerError', `The simulated Azure failed to handle the request: ${(e as Error)?.message ?? String(e)}`).toResponse();
}
