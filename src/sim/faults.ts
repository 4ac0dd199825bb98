/**
 * Fault injection: makes the sim misbehave the way Azure sometimes does (throttling, transient
 * 5xx, dropped connections, slowness) so the wizard's and the SDK's retries are exercised.
 *
 * Spec: comma-separated `key=value`, e.g. `429=0.2,500=0.1,503=0.1,drop=0.05,latency=20,retryAfter=0,seed=7,routes=registries.*`
 *   429, 500, 503, drop  probability (0..1) per request; their sum must not exceed 1
 *   <ARM error code>     probability of answering with that real ARM error (status and message as
 *                        Azure sends them; the codes are ARM_FAULTS below), e.g.
 *                        `TasksOperationsNotAllowed=1,routes=registries.scheduleRun` (a free trial)
 *   <AADSTS code>        probability of the sign-in's token endpoint answering with that Entra ID
 *                        error (SIGNIN_FAULTS below: body as Entra ID sends it), e.g.
 *                        `AADSTS700082=1,routes=signin.token` (an expired sign-in); these hit the
 *                        token route only, and need `routes` naming it
 *   latency              extra milliseconds before every matched request is answered
 *   retryAfter           `Retry-After` seconds sent with 429 and 503 (default 0: the SDK honours it,
 *                        so anything larger makes every retry sleep that long)
 *   after                how many matched requests are answered normally before faults begin
 *                        (default 0), e.g. `AADSTS700082=1,after=1,routes=signin.token`: the first
 *                        sign-in works, every later one finds the session expired
 *   seed                 PRNG seed, so a failing sequence reproduces exactly
 *   routes               route-name globs separated by `|` (`registries.*|roleAssignments.create`)
 *
 * Routes without authentication (sign-in, log blobs) are spared unless a `routes` glob names them
 * with a literal prefix (`logs.*`): a fault there tests nothing but the test itself.
 */
import { AcrTrustError } from '../errors.js';
import { ArmError } from './http.js';
import { requestedAudience } from './room.js';

/** A transport fault, an ARM error code from ARM_FAULTS, or a sign-in error from SIGNIN_FAULTS. */
export type FaultKind = '429' | '500' | '503' | 'drop' | ArmFaultCode | SignInFaultCode;

/** What an ARM fault's message may name (from the request it answers). */
export interface FaultContext {
  method: string;
  path: string;
  params: Record<string, string>;
  apiVersion?: string;
  callerId: string;
  tenantId: string;
  /** The request's body (the token request's form, for a sign-in fault). */
  body?: string;
  /** The sim's own time (ms). */
  now?: number;
}

/**
 * Real ARM refusals a route returns, by code: status and message as Azure sends them, so a client
 * (the wizard, az, the SDK) meets them exactly as on Azure. Sources: each entry's comment.
 */
export const ARM_FAULTS = {
  /** scheduleRun where ACR Tasks are blocked for the subscription (free trials):
   *  Azure-Samples/azure-search-openai-demo#2220, Azure-Samples/contoso-chat#259. */
  TasksOperationsNotAllowed: (c: FaultContext) =>
    new ArmError(400, 'TasksOperationsNotAllowed', `ACR Tasks requests for the registry ${c.params.registryName ?? 'registry'} and ${c.params.subscriptionId ?? ''} are not permitted. Please file an Azure support request at http://aka.ms/azuresupport for assistance.`),
  /** Closing a non-Premium registry (the sim's registries route answers it for Basic/Standard too). */
  DisablingPublicNetworkAccessNotSupported: (c: FaultContext) =>
    new ArmError(400, 'DisablingPublicNetworkAccessNotSupported', `Disabling public network access is not supported for the SKU ${c.params.registryName ? 'of this registry' : 'Basic'}. For more information, please visit https://aka.ms/acr/private-link.`),
  /** Role assignment for a principal the directory does not know yet (aka.ms/docs-principaltype). */
  PrincipalNotFound: (c: FaultContext) =>
    new ArmError(400, 'PrincipalNotFound', `Principal ${String(c.params.principalId ?? '00000000000000000000000000000000').replace(/-/g, '')} does not exist in the directory ${c.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`),
  RoleAssignmentExists: () => new ArmError(409, 'RoleAssignmentExists', 'The role assignment already exists.'),
  AuthorizationFailed: (c: FaultContext) =>
    new ArmError(403, 'AuthorizationFailed', `The client '${c.callerId}' with object id '${c.callerId}' does not have authorization to perform action '${actionOf(c)}' over scope '${scopeOfPath(c.path)}' or the scope is invalid. If access was recently granted, please refresh your credentials.`),
  /** A write that names another resource (a subnet to join) the caller may not use. */
  LinkedAuthorizationFailed: (c: FaultContext) =>
    new ArmError(403, 'LinkedAuthorizationFailed', `The client '${c.callerId}' with object id '${c.callerId}' has permission to perform action '${actionOf(c)}' on scope '${scopeOfPath(c.path)}'; however, it does not have permission to perform action(s) 'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) '/subscriptions/${c.params.subscriptionId ?? ''}/resourceGroups/${c.params.resourceGroupName ?? ''}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default' (respectively) or the linked scope(s) are invalid.`),
  /** An Azure Policy assignment with the deny effect refusing the change. */
  RequestDisallowedByPolicy: (c: FaultContext) =>
    new ArmError(403, 'RequestDisallowedByPolicy', `Resource '${lastName(c.path)}' was disallowed by policy. Policy identifiers: '[{"policyAssignment":{"name":"Container registries should not allow unrestricted network access","id":"/subscriptions/${c.params.subscriptionId ?? ''}/providers/Microsoft.Authorization/policyAssignments/acr-deny"},"policyDefinition":{"name":"Container registries should not allow unrestricted network access","id":"/providers/Microsoft.Authorization/policyDefinitions/d0793b48-0edc-4296-a390-4c75d1bdfd71"}}]'.`),
  ResourceNotFound: (c: FaultContext) =>
    new ArmError(404, 'ResourceNotFound', `The Resource '${resourceTypeAndName(c.path)}' under resource group '${c.params.resourceGroupName ?? ''}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  InvalidApiVersionParameter: (c: FaultContext) =>
    new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${c.apiVersion ?? ''}' is invalid. The supported versions are '2019-06-01-preview,2023-01-01-preview,2023-07-01,2023-11-01-preview,2025-04-01'.`),
} as const satisfies Record<string, (c: FaultContext) => ArmError>;

export type ArmFaultCode = keyof typeof ARM_FAULTS;
const ARM_FAULT_CODES = Object.keys(ARM_FAULTS) as ArmFaultCode[];

/** An OAuth error from Entra ID's token endpoint: HTTP status and body. */
export interface SignInError {
  status: number;
  body: { error: string; error_description: string; error_codes: number[]; timestamp: string; trace_id: string; correlation_id: string; error_uri: string; suberror?: string; claims?: string };
}

/**
 * Entra ID's refusals at the token endpoint (`POST …/oauth2/token`), by AADSTS code: OAuth's
 * `error`, the description with the code first and Entra's trace lines, `error_codes`,
 * `error_uri` — the shape MSAL (Python's in az, Node's in @azure/identity) reads. Texts and shapes
 * from Entra ID's answers quoted in public issues: Azure/azure-cli#14244, #23105 (700082),
 * #16745 (50173), #23628 (50076, suberror basic_action), #22145 (90002),
 * AzureAD/azure-activedirectory-library-for-nodejs#151 (50079 with a claims challenge); 700016
 * as the sim's classroom answers it (routes/signin.ts).
 */
export const SIGNIN_FAULTS = {
  /** The refresh token (the saved sign-in) unused for 90 days. */
  AADSTS700082: (c: SignInFaultContext) =>
    signInError(c, 400, 'invalid_grant', 700082, `The refresh token has expired due to inactivity. The token was issued on ${iso(c.now - 91 * DAY)} and was inactive for 90.00:00:00.`),
  /** The grant revoked (password changed or reset, sessions revoked by an admin). */
  AADSTS50173: (c: SignInFaultContext) =>
    signInError(c, 400, 'invalid_grant', 50173, `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${iso(c.now - 7 * DAY)}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${iso(c.now - DAY)}'.`),
  /** A tenant this cloud does not know (signed in to another tenant, or another cloud). */
  AADSTS90002: (c: SignInFaultContext) =>
    signInError(c, 400, 'invalid_tenant', 90002, `Tenant '${c.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`),
  /** The application is not in this tenant's directory. */
  AADSTS700016: (c: SignInFaultContext) =>
    signInError(c, 400, 'unauthorized_client', 700016, `Application with identifier '${c.clientId}' was not found in the directory '${c.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`),
  /** Conditional access requires multi-factor authentication the saved sign-in does not have. */
  AADSTS50076: (c: SignInFaultContext) =>
    signInError(c, 400, 'interaction_required', 50076, `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${c.resource}'.`, { suberror: 'basic_action' }),
  /** The user must first register for multi-factor authentication; a claims challenge comes with it. */
  AADSTS50079: (c: SignInFaultContext) =>
    signInError(c, 400, 'interaction_required', 50079, `Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '${c.resource}'.`, {
      claims: JSON.stringify({ access_token: { capolids: { essential: true, values: ['8d8f0a6e-4a3e-4f3a-9a55-3ad1f2b5c0de'] } } }),
    }),
} as const satisfies Record<string, (c: SignInFaultContext) => SignInError>;

export type SignInFaultCode = keyof typeof SIGNIN_FAULTS;
const SIGNIN_FAULT_CODES = Object.keys(SIGNIN_FAULTS) as SignInFaultCode[];
/** The one route sign-in faults answer. */
export const SIGNIN_FAULT_ROUTE = 'signin.token';

interface SignInFaultContext {
  now: number;
  tenant: string;
  clientId: string;
  /** What the token was asked for: the scope's resource, or v1's `resource`. */
  resource: string;
}

const DAY = 24 * 3600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '0000Z');

function signInError(c: SignInFaultContext, status: number, error: string, code: number, text: string, extra: { suberror?: string; claims?: string } = {}): SignInError {
  const trace = globalThis.crypto.randomUUID();
  const timestamp = new Date(c.now).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${trace} Correlation ID: ${trace} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: trace,
      correlation_id: trace,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      ...extra,
    },
  };
}

export function isSignInFault(kind: string | undefined): kind is SignInFaultCode {
  return kind !== undefined && (SIGNIN_FAULT_CODES as string[]).includes(kind);
}

/** The answer to a token request a sign-in fault hits: who and what the form names. */
export function signInFault(code: SignInFaultCode, c: FaultContext): SignInError {
  const form = new URLSearchParams(c.body ?? '');
  return SIGNIN_FAULTS[code]({ now: c.now ?? Date.now(), tenant: c.params.tenant ?? c.tenantId, clientId: form.get('client_id') ?? '', resource: requestedAudience(form) });
}

/** The answer to a request an ARM fault hits. */
export function armFault(code: ArmFaultCode, c: FaultContext): ArmError {
  return ARM_FAULTS[code](c);
}

export function isArmFault(kind: string | undefined): kind is ArmFaultCode {
  return kind !== undefined && (ARM_FAULT_CODES as string[]).includes(kind);
}

function scopeOfPath(path: string): string {
  return path.replace(/\/(scheduleRun|listBuildSourceUploadUrl|listCredentials|cancel|listLogSasUrl)$/i, '');
}

function lastName(path: string): string {
  return scopeOfPath(path).split('/').filter(Boolean).pop() ?? '';
}

function resourceTypeAndName(path: string): string {
  const m = /\/providers\/([^/]+)\/(.+)$/i.exec(scopeOfPath(path));
  if (!m) return lastName(path);
  const parts = m[2]!.split('/');
  const types = parts.filter((_, i) => i % 2 === 0);
  const names = parts.filter((_, i) => i % 2 === 1);
  return `${m[1]}/${types.map((t, i) => `${t}/${names[i] ?? ''}`).join('/')}`.replace(/\/$/, '');
}

/** The RBAC action a request is (ARM names it in AuthorizationFailed). */
function actionOf(c: FaultContext): string {
  const m = /\/providers\/([^/]+)\/(.+)$/i.exec(c.path);
  if (!m) return 'Microsoft.Resources/subscriptions/resourceGroups/read';
  const parts = m[2]!.split('/');
  const types = parts.filter((_, i) => i % 2 === 0);
  const trailing = parts.length % 2 === 1 ? types.pop() : undefined;
  const verb = trailing ? `${trailing}/action` : c.method === 'GET' ? 'read' : c.method === 'DELETE' ? 'delete' : 'write';
  return `${m[1]}/${[...types, verb].join('/')}`;
}

export interface FaultSpec {
  rates: Record<'429' | '500' | '503' | 'drop', number> & Partial<Record<ArmFaultCode | SignInFaultCode, number>>;
  latencyMs: number;
  retryAfterSeconds: number;
  /** Matched requests answered normally before any fault (0: faults from the first). */
  after?: number;
  seed: number;
  /** Route-name globs; undefined = every authenticated route. */
  routes?: string[];
}

export interface FaultDecision {
  /** The fault to inject, or undefined to answer normally. */
  kind?: FaultKind;
  latencyMs: number;
}

const EXAMPLE = 'example: --faults "429=0.2,500=0.1,drop=0.05,latency=20,retryAfter=0,seed=7,routes=registries.*" or "TasksOperationsNotAllowed=1,routes=registries.scheduleRun"';
const TRANSPORT: readonly FaultKind[] = ['429', '500', '503', 'drop'];
const KINDS: readonly FaultKind[] = [...TRANSPORT, ...ARM_FAULT_CODES, ...SIGNIN_FAULT_CODES];

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
      (out.rates as Record<string, number>)[k] = rate;
    } else if (k === 'latency' || k === 'retryAfter' || k === 'after') {
      const n = Number(v);
      if (v === '' || !Number.isInteger(n) || n < 0 || n > 600_000) throw bad(`${k}=${v}: must be a non-negative integer`);
      if (k === 'latency') out.latencyMs = n;
      else if (k === 'after') out.after = n;
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
      throw bad(`unknown key '${k}' (known: 429, 500, 503, drop, ${ARM_FAULT_CODES.join(', ')}, ${SIGNIN_FAULT_CODES.join(', ')}, latency, retryAfter, after, seed, routes)`);
    }
  }
  if (seen.size === 0) throw bad('it is empty');
  // A sign-in error is an answer of the token endpoint only: the spec must aim at it, and only at it.
  const signIn = SIGNIN_FAULT_CODES.filter((k) => seen.has(k));
  if (signIn.length && (!out.routes || out.routes.some((g) => !globToRegExp(g).test(SIGNIN_FAULT_ROUTE) || !g.startsWith('signin')))) {
    throw bad(`${signIn.join(', ')} ${signIn.length > 1 ? 'are answers' : 'is an answer'} of the sign-in's token endpoint: add routes=${SIGNIN_FAULT_ROUTE}`);
  }
  const total = KINDS.reduce((sum, kind) => sum + ((out.rates as Record<string, number>)[kind] ?? 0), 0);
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
  /** Matched requests answered normally so far (spec.after). */
  private passed = 0;

  constructor(readonly spec: FaultSpec) {
    this.random = mulberry32(spec.seed);
    this.globs = spec.routes?.map((g) => ({ re: globToRegExp(g), literalPrefix: !g.startsWith('*') }));
  }

  /** Decides what happens to one request to the route `name`. `unauthenticated` marks sign-in
   *  and log-blob routes, which only an explicit glob can fault. */
  decide(name: string, unauthenticated: boolean): FaultDecision {
    if (!this.applies(name, unauthenticated)) return { latencyMs: 0 };
    if (this.passed < (this.spec.after ?? 0)) {
      this.passed++;
      return { latencyMs: this.spec.latencyMs };
    }
    const r = this.random();
    let edge = 0;
    for (const kind of KINDS) {
      edge += (this.spec.rates as Record<string, number>)[kind] ?? 0;
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
