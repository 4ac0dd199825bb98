/**
 * The run decision: whether each registry access a run makes is let through, in the order the
 * registry and the runner apply their checks, and the run's whole course (log lines, timing,
 * outcome) that follows. Pure functions over the cloud state — no HTTP, no clock, no randomness —
 * so the same state and schedule time always give the same run.
 *
 * An access to a registry the sim knows (its login server is in `state.registries`) is decided:
 *
 * 1. Network. The task's agent runs outside the customer's network, at AGENT_IP. The registry
 *    refuses it when `publicNetworkAccess` is Disabled, or `networkRuleSet.defaultAction` is Deny
 *    and no IP rule matches the agent — unless the *bypass* applies: the run authenticates to that
 *    registry with the task's **system-assigned** identity (a `customRegistries` entry for the
 *    login server with `identity: "[system]"`), and the registry has both
 *    `networkRuleBypassOptions = AzureServices` and `networkRuleBypassAllowedForTasks = true`
 *    (arm-reference.md §0: how the two switches combine is undocumented; requiring both is the
 *    safe model). A user-assigned identity never bypasses; neither does the task's own registry
 *    token (`loginMode: Default`) nor a quick run, which has no identity at all.
 * 2. Authentication. `customRegistries[server]` decides the credential; without one, the home
 *    registry gets the run's own registry token when `sourceRegistry.loginMode` is Default (not on
 *    ABAC registries: there tasks lose their implicit data-plane access). Otherwise there is none.
 * 3. Authorization (identity credentials only). A role assignment for the identity's principal on
 *    the registry or a parent scope, in effect at the moment of the access
 *    (`createdOn + state.roleDelayMs ≤ access time`). Legacy registries honour the roles with
 *    registry actions (AcrPush/Contributor/Owner: push and pull; AcrPull: pull); ABAC registries
 *    (`roleAssignmentMode = AbacRepositoryPermissions`) honour only the "Container Registry
 *    Repository …" roles (Writer/Contributor: push and pull; Reader: pull). The role table is
 *    `roles.ts` (`registryData`, `abac`).
 *
 * Where each refusal shows in the log (run-log.ts has the exact words and their sources):
 * - Identity credential, network refused → the runner's token exchange fails *before any step*:
 *   `failed to unmarshal task before running: failed to resolve secrets: failed to get ACR refresh
 *   token, exchange API response code: 403 Forbidden`. This is the line of a refused bypass.
 * - No identity credential, network refused → the firewall's own words, at `docker login` (run
 *   token, username/password) or at the push/pull (no credential at all):
 *   `… denied: client with IP '20.42.0.17' is not allowed access. Refer https://aka.ms/acr/firewall
 *   to grant access.` A client tells the two apart by these texts alone.
 * - Reached but no credential, or a credential whose principal lacks the permission → the
 *   registry's 401 `unauthorized: authentication required, visit https://aka.ms/acr/authorization
 *   for more information.` — ACR answers an insufficient scope with the same 401 as a missing
 *   login. The two differ in the log by the `Logging in to registry: X` / `Successfully logged
 *   into X` lines before the step: present with a credential, absent without.
 * - A role that exists but is not yet in effect is refused exactly like a missing one (ACR cannot
 *   tell either). It is observable through timing only, as on Azure: the log's timestamps put the
 *   push before `createdOn + propagation`, and the same run scheduled later succeeds (a push
 *   retried by acb after the role took effect succeeds within the same run).
 *
 * Modelling choices that are not documented anywhere (UNCERTAIN, kept deliberately simple):
 * - The identity-token exchange does not check RBAC (ACR checks permissions when it issues the
 *   access token for a repository scope), so `403` at the exchange always means the network.
 * - With `loginMode: Default` the runner logs in with the run token first; on a registry closed to
 *   the agent that login meets the firewall even when a `[system]` credential for the same
 *   registry would have bypassed it — the reason the article asks for `--auth-mode None`.
 * - Username/password credentials are taken as valid and sufficient (admin user, tokens): the sim
 *   only judges identities.
 * - ABAC role-assignment conditions (per-repository) are not evaluated: a repository role applies
 *   to the whole registry.
 */
import { createHash } from 'node:crypto';
import { roleByGuid } from './roles.js';
import { DENIED, DOCKER_RUN_ERROR, PUSH_STEP_ERROR, RUN_ERROR_MESSAGE, UNAUTHORIZED, daemonGetV2, exchangeRefused, exchangeUnreachable, firewallDenied, goLogTime, identityMissing, line, loginFailed, noSuchHost } from './run-log.js';
import type { ArmResource, CloudState, Speed } from './store.js';
import { key } from './store.js';
import { withTag, type ImageRef, type ProgramResult, type TaskStep } from './task-yaml.js';

/** The public IP the sim's task agents come from (an Azure public range, so a firewall rule can
 *  name it exactly or by CIDR). */
export const AGENT_IP = '20.42.0.17';

// ---------------------------------------------------------------------------------------------
// Registries by login server
// ---------------------------------------------------------------------------------------------

export function registryByLoginServer(state: CloudState, server: string): ArmResource | undefined {
  const s = server.toLowerCase();
  return Object.values(state.registries).find((r) => String(r.properties?.loginServer ?? '').toLowerCase() === s);
}

/** ACR login-server domains (public and sovereign clouds). A name there that the sim does not know
 *  does not resolve. */
export function isAcrHost(server: string): boolean {
  return /\.azurecr\.(io|cn|us)$/i.test(server);
}

// ---------------------------------------------------------------------------------------------
// 1. Network
// ---------------------------------------------------------------------------------------------

export type Reachability = { reachable: true } | { reachable: false; why: 'public-access-disabled' | 'ip-not-allowed' };

/** Whether the registry's network rules let a client at `ip` in (before any bypass). */
export function reachability(registry: ArmResource, ip: string = AGENT_IP): Reachability {
  const p = registry.properties ?? {};
  // Disabling the public endpoint overrides every firewall rule: only private endpoints remain.
  if (p.publicNetworkAccess === 'Disabled') return { reachable: false, why: 'public-access-disabled' };
  const rules = p.networkRuleSet;
  if (rules?.defaultAction === 'Deny') {
    const allowed = (rules.ipRules ?? []).some(
      (r: any) => (r.action ?? 'Allow') === 'Allow' && ipv4InRange(ip, String(r.value ?? r.iPAddressOrRange ?? '')),
    );
    if (!allowed) return { reachable: false, why: 'ip-not-allowed' };
  }
  return { reachable: true };
}

/** `ip` lies in `range` (`1.2.3.4` or `1.2.3.0/24`). IPv4 only, as ACR's IP rules are. */
export function ipv4InRange(ip: string, range: string): boolean {
  const [base, bitsText] = range.trim().split('/');
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base ?? '');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.trim().split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

/** Both switches a task's bypass needs (arm-reference.md §0). A new registry has AzureServices
 *  but not the Tasks switch. */
export function tasksMayBypass(registry: ArmResource): boolean {
  const p = registry.properties ?? {};
  return (p.networkRuleBypassOptions ?? 'AzureServices') === 'AzureServices' && p.networkRuleBypassAllowedForTasks === true;
}

// ---------------------------------------------------------------------------------------------
// 2. Credentials
// ---------------------------------------------------------------------------------------------

/** What a run is: its home registry, its credentials, and (for a task) the task's identity. */
export interface RunSubject {
  runType: 'AutoRun' | 'QuickRun' | 'QuickBuild';
  home: ArmResource;
  /** Wire `Credentials` (a task's `properties.credentials`, or a quick-run request's). */
  credentials?: any;
  /** The task's `identity` (absent for quick runs: they never have one). */
  identity?: any;
}

export type Credential =
  | { kind: 'none' }
  /** The run's own registry token (`sourceRegistry.loginMode: Default`). */
  | { kind: 'run-token' }
  /** `identity: "[system]"`; `principalId` is undefined when the task has no system identity. */
  | { kind: 'system-identity'; principalId?: string }
  /** `identity: <clientId>`; `principalId` is undefined when no identity of the task has it. */
  | { kind: 'user-identity'; clientId: string; principalId?: string }
  | { kind: 'password' };

export function sourceLoginMode(subject: RunSubject): 'Default' | 'None' {
  return subject.credentials?.sourceRegistry?.loginMode === 'None' ? 'None' : 'Default';
}

function isAbac(registry: ArmResource): boolean {
  return registry.properties?.roleAssignmentMode === 'AbacRepositoryPermissions';
}

/** Whether the run logs in to its home registry with its own token. */
export function hasRunToken(subject: RunSubject): boolean {
  return sourceLoginMode(subject) === 'Default' && !isAbac(subject.home);
}

/** The non-null `customRegistries` entries, in the order the runner logs in. */
export function customEntries(subject: RunSubject): { server: string; entry: any }[] {
  const map = subject.credentials?.customRegistries ?? {};
  return Object.entries(map)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([server, entry]) => ({ server, entry }));
}

/** The credential the run uses for `server`. */
export function credentialFor(subject: RunSubject, server: string): Credential {
  const s = server.toLowerCase();
  const custom = customEntries(subject).find((c) => c.server.toLowerCase() === s);
  if (custom) return credentialOf(subject, custom.entry);
  const home = String(subject.home.properties?.loginServer ?? '').toLowerCase();
  if (s === home && hasRunToken(subject)) return { kind: 'run-token' };
  return { kind: 'none' };
}

function credentialOf(subject: RunSubject, entry: any): Credential {
  // With a username/password the identity (if any) only fetches them from Key Vault; the login
  // itself is by password.
  if (entry?.userName || entry?.password) return { kind: 'password' };
  const identity = typeof entry?.identity === 'string' ? entry.identity.trim() : '';
  if (!identity) return { kind: 'none' };
  if (identity.toLowerCase() === '[system]' || identity.toLowerCase() === 'system') {
    const type = String(subject.identity?.type ?? '');
    return { kind: 'system-identity', principalId: /SystemAssigned/i.test(type) ? subject.identity?.principalId : undefined };
  }
  const users = Object.values(subject.identity?.userAssignedIdentities ?? {}) as any[];
  const match = users.find((u) => String(u?.clientId ?? '').toLowerCase() === identity.toLowerCase());
  return { kind: 'user-identity', clientId: identity, principalId: match?.principalId };
}

/** Whether `credential` carries the run through `registry`'s network rules. */
export function bypasses(registry: ArmResource, credential: Credential): boolean {
  return credential.kind === 'system-identity' && credential.principalId !== undefined && tasksMayBypass(registry);
}

// ---------------------------------------------------------------------------------------------
// 3. Authorization
// ---------------------------------------------------------------------------------------------

export interface Permissions {
  pull: boolean;
  push: boolean;
}

/**
 * What `principalId` may do on `registry`'s data plane at sim time `at`: `effective` counts the
 * role assignments in effect then; `pending` those that exist but have not taken effect yet.
 */
export function permissionsAt(state: CloudState, principalId: string, registry: ArmResource, at: number): { effective: Permissions; pending: Permissions } {
  const effective = { pull: false, push: false };
  const pending = { pull: false, push: false };
  const registryKey = key(registry.id);
  const abac = isAbac(registry);
  for (const assignment of Object.values(state.roleAssignments)) {
    const p = assignment.properties ?? {};
    if (String(p.principalId ?? '').toLowerCase() !== principalId.toLowerCase()) continue;
    const scope = key(String(p.scope ?? scopeOfAssignment(assignment.id)));
    if (!(registryKey === scope || registryKey.startsWith(`${scope}/`))) continue;
    const role = roleByGuid(String(p.roleDefinitionId ?? ''));
    // Each role-assignment mode honours its own family of roles only.
    if (!role || role.abac !== abac) continue;
    const grant = { pull: ['pull', 'push', 'all'].includes(role.registryData), push: ['push', 'all'].includes(role.registryData) };
    const createdOn = Date.parse(String(p.createdOn ?? ''));
    const inEffect = Number.isNaN(createdOn) || createdOn + state.roleDelayMs <= at;
    const into = inEffect ? effective : pending;
    into.pull ||= grant.pull;
    into.push ||= grant.push;
  }
  return { effective, pending };
}

function scopeOfAssignment(id: string): string {
  const i = id.toLowerCase().indexOf('/providers/microsoft.authorization/roleassignments/');
  return i < 0 ? id : id.slice(0, i);
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

export type ExchangeDecision = { ok: true } | { ok: false; cause: 'network' | 'no-identity' | 'unknown-host' };

/** The runner swapping an identity's Entra token for an ACR refresh token at `server`. */
export function decideExchange(state: CloudState, server: string, credential: Credential): ExchangeDecision {
  if (credential.kind !== 'system-identity' && credential.kind !== 'user-identity') return { ok: true };
  if (!credential.principalId) return { ok: false, cause: 'no-identity' };
  const registry = registryByLoginServer(state, server);
  if (!registry) return { ok: false, cause: 'unknown-host' };
  if (!reachability(registry).reachable && !bypasses(registry, credential)) return { ok: false, cause: 'network' };
  return { ok: true };
}

export type LoginDecision = { ok: true } | { ok: false; cause: 'network' | 'unknown-host' };

/** `docker login` to `server`: the registry's `/v2/` accepts any valid credential — permissions
 *  are checked later, per repository. */
export function decideLogin(state: CloudState, server: string, credential: Credential): LoginDecision {
  const registry = registryByLoginServer(state, server);
  // A registry outside the sim with a username/password: the sim cannot judge it, so it lets it be.
  if (!registry) return isAcrHost(server) ? { ok: false, cause: 'unknown-host' } : { ok: true };
  if (!reachability(registry).reachable && !bypasses(registry, credential)) return { ok: false, cause: 'network' };
  return { ok: true };
}

export type Access = 'pull' | 'push';

export type AccessDecision =
  | { ok: true }
  | { ok: false; cause: 'unknown-host' }
  | { ok: false; cause: 'network'; why: 'public-access-disabled' | 'ip-not-allowed' }
  | { ok: false; cause: 'unauthenticated' }
  | { ok: false; cause: 'unauthorized'; role: 'missing' | 'not-yet-effective' }
  /** A push to a registry outside Azure without a credential (Docker Hub's "denied"). */
  | { ok: false; cause: 'public-registry-push' };

/** One pull or push of `image` by the run, at sim time `at`. */
export function decideAccess(state: CloudState, subject: RunSubject, image: ImageRef, access: Access, at: number): AccessDecision {
  const registry = registryByLoginServer(state, image.registry);
  const credential = credentialFor(subject, image.registry);
  if (!registry) {
    if (isAcrHost(image.registry)) return { ok: false, cause: 'unknown-host' };
    // Public registries (mcr.microsoft.com, docker.io …): pulls need no decision.
    if (access === 'pull' || credential.kind === 'password') return { ok: true };
    return { ok: false, cause: 'public-registry-push' };
  }
  const net = reachability(registry);
  if (!net.reachable && !bypasses(registry, credential)) return { ok: false, cause: 'network', why: net.why };
  switch (credential.kind) {
    case 'none':
      return access === 'pull' && registry.properties?.anonymousPullEnabled === true ? { ok: true } : { ok: false, cause: 'unauthenticated' };
    case 'run-token':
    case 'password':
      return { ok: true };
    case 'system-identity':
    case 'user-identity': {
      if (!credential.principalId) return { ok: false, cause: 'unauthenticated' };
      const { effective, pending } = permissionsAt(state, credential.principalId, registry, at);
      if (effective[access]) return { ok: true };
      return { ok: false, cause: 'unauthorized', role: pending[access] ? 'not-yet-effective' : 'missing' };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The run's course
// ---------------------------------------------------------------------------------------------

export interface OutputImage {
  registry: string;
  repository: string;
  tag: string;
  digest: string;
}

/** Why a run ended as it did. For tests and sim-side explanations only: never in the Run or its log. */
export type RunCause =
  | { kind: 'succeeded' }
  | { kind: 'task-invalid'; error: string }
  | { kind: 'exchange'; server: string; decision: ExchangeDecision }
  | { kind: 'login'; server: string; decision: LoginDecision }
  | { kind: 'access'; stepId: string; image: string; access: Access; decision: AccessDecision }
  | { kind: 'step'; stepId: string; error: string };

export interface RunPlan {
  /** ms after scheduling when the run leaves Queued. */
  startAt: number;
  /** The log, each line with the ms after scheduling at which it appears. */
  log: { at: number; line: string }[];
  outcome: { status: 'Succeeded' | 'Failed'; at: number; runErrorMessage?: string };
  /** Images the run pushed (only when it succeeded). */
  outputImages: OutputImage[];
  cause: RunCause;
}

export interface RunPlanInput {
  state: CloudState;
  subject: RunSubject;
  program: ProgramResult;
  runId: string;
  /** Sim ms timestamp of scheduling. */
  scheduledAt: number;
  speed: Speed;
}

/**
 * Nominal durations (ms) at realistic speed. At instant speed every offset is 0: the run is final
 * on its first read. Realistic: Queued for 1 s, then lines appear one by one; a build-and-push
 * run ends after about 7 s, a refused push (three attempts) after about 9 s.
 */
const T = {
  queue: 1000,
  /** Between two of acb's own lines. */
  line: 200,
  /** Between two lines of docker output. */
  output: 60,
  login: 700,
  /** The runner retries a refused token exchange before giving up. */
  exchange: 2400,
  build: 1500,
  push: 800,
  /** acb sleeps 500 ms between push attempts (builder/push.go). */
  retry: 500,
  pull: 800,
  container: 400,
} as const;

const PUSH_ATTEMPTS = 3;

class Timeline {
  private nominal = 0;
  readonly lines: { at: number; line: string }[] = [];
  constructor(private readonly scheduledAt: number, private readonly scale: number) {}
  pass(ms: number): void {
    this.nominal += ms;
  }
  /** ms after scheduling, as the sim sees it. */
  get offset(): number {
    return Math.round(this.nominal * this.scale);
  }
  /** The sim time now, in the run. */
  get now(): number {
    return this.scheduledAt + this.offset;
  }
  /** One of acb's own lines (timestamped). */
  acb(text: string, gap: number = T.line): void {
    this.pass(gap);
    this.lines.push({ at: this.offset, line: `${goLogTime(this.now)} ${text}` });
  }
  /** docker output or an error line (no timestamp). */
  out(texts: string | string[], gap: number = T.output): void {
    for (const text of Array.isArray(texts) ? texts : [texts]) {
      this.pass(gap);
      this.lines.push({ at: this.offset, line: text });
    }
  }
}

/** The whole course of a run, decided at scheduling against the state then. */
export function planRun(input: RunPlanInput): RunPlan {
  const { state, subject, program, runId } = input;
  const tl = new Timeline(input.scheduledAt, input.speed === 'instant' ? 0 : 1);
  tl.pass(T.queue);
  const startAt = tl.offset;
  const seconds = () => Math.round((tl.offset - startAt) / 1000);

  const fail = (cause: RunCause): RunPlan => {
    tl.out(line.runFailed(runId, seconds()), T.line);
    return { startAt, log: tl.lines, outcome: { status: 'Failed', at: tl.offset, runErrorMessage: RUN_ERROR_MESSAGE }, outputImages: [], cause };
  };

  if (!program.ok) {
    tl.out(line.taskNotPrepared(program.error), T.line);
    return fail({ kind: 'task-invalid', error: program.error });
  }

  // Secrets first: identity credentials become ACR refresh tokens before anything runs.
  const logins = customEntries(subject).map(({ server, entry }) => ({ server, credential: credentialOf(subject, entry) }));
  for (const { server, credential } of logins) {
    const decision = decideExchange(state, server, credential);
    if (decision.ok) continue;
    tl.pass(T.exchange);
    const identity = credential.kind === 'user-identity' ? credential.clientId : '[system]';
    const why = decision.cause === 'network' ? exchangeRefused() : decision.cause === 'no-identity' ? identityMissing(identity) : exchangeUnreachable(server);
    tl.out(line.taskNotPrepared(why), 0);
    return fail({ kind: 'exchange', server, decision });
  }

  if (program.program.aliases) tl.acb(line.aliasSupport(), 0);
  tl.acb(line.creatingNetwork(), program.program.aliases ? T.output : 0);
  tl.acb(line.networkReady());
  tl.acb(line.settingUpDocker());
  tl.acb(line.dockerReady());

  // The run token for the home registry, then each custom registry (acb's task.Credentials order).
  const home = String(subject.home.properties?.loginServer ?? '');
  const loginOrder = [...(hasRunToken(subject) ? [{ server: home, credential: { kind: 'run-token' } as Credential }] : []), ...logins];
  for (const { server, credential } of loginOrder) {
    if (credential.kind === 'none') continue;
    tl.acb(line.loggingIn(server));
    tl.pass(T.login);
    const decision = decideLogin(state, server, credential);
    if (!decision.ok) {
      tl.out(loginFailed(server, decision.cause === 'network' ? firewallDenied(AGENT_IP) : noSuchHost(server)), 0);
      return fail({ kind: 'login', server, decision });
    }
    tl.acb(line.loggedIn(server), 0);
  }

  const local = new Set<string>();
  const pushed: OutputImage[] = [];
  const stepSeconds: { id: string; seconds: number }[] = [];
  for (const step of program.program.steps) {
    tl.acb(line.executingStep(step.id));
    const began = tl.offset;
    const failure = runStep(step, { tl, state, subject, runId, local, pushed });
    if (failure) {
      tl.out(line.stepFailed(step.id, failure.error), T.line);
      return fail(failure.cause);
    }
    stepSeconds.push({ id: step.id, seconds: (tl.offset - began) / 1000 });
  }
  for (const s of stepSeconds) tl.acb(line.stepSucceeded(s.id, s.seconds));
  tl.out(line.runSucceeded(runId, seconds()), T.line);
  return { startAt, log: tl.lines, outcome: { status: 'Succeeded', at: tl.offset }, outputImages: pushed, cause: { kind: 'succeeded' } };
}

interface StepContext {
  tl: Timeline;
  state: CloudState;
  subject: RunSubject;
  runId: string;
  /** Images built earlier in the run (by their tagged name). */
  local: Set<string>;
  pushed: OutputImage[];
}

type StepFailure = { error: string; cause: RunCause };

function runStep(step: TaskStep, c: StepContext): StepFailure | undefined {
  switch (step.kind) {
    case 'build':
      return build(step, c);
    case 'push':
      return push(step, c);
    case 'cmd':
      return cmd(step, c);
  }
}

function build(step: Extract<TaskStep, { kind: 'build' }>, c: StepContext): StepFailure | undefined {
  const { tl } = c;
  tl.acb(line.scanning());
  tl.acb(line.scanned(), T.build / 3);
  tl.acb(line.launching(step.id));
  const bad = step.tags.find((t) => !t.valid);
  if (bad) {
    tl.out([`invalid argument "${bad.text}" for "-t, --tag" flag: invalid reference format`, "See 'docker build --help'."]);
    tl.acb(line.containerFailed(step.id));
    return { error: DOCKER_RUN_ERROR, cause: { kind: 'step', stepId: step.id, error: 'invalid reference format' } };
  }
  tl.out('Sending build context to Docker daemon  2.048kB');
  tl.pass(T.build);
  tl.out(`Successfully built ${hex(`${c.runId}|${step.id}`).slice(0, 12)}`);
  for (const t of step.tags) {
    tl.out(`Successfully tagged ${withTag(t)}`);
    c.local.add(imageKey(t));
  }
  tl.acb(line.executed(step.id));
  return undefined;
}

function push(step: Extract<TaskStep, { kind: 'push' }>, c: StepContext): StepFailure | undefined {
  const { tl } = c;
  for (const image of step.images) {
    let last: RunCause = { kind: 'step', stepId: step.id, error: PUSH_STEP_ERROR };
    let done = false;
    for (let attempt = 1; attempt <= PUSH_ATTEMPTS && !done; attempt++) {
      if (attempt > 1) tl.pass(T.retry);
      tl.acb(line.pushing(image.text, attempt));
      if (!image.valid) {
        tl.out('invalid reference format');
        last = { kind: 'step', stepId: step.id, error: 'invalid reference format' };
        continue;
      }
      if (!c.local.has(imageKey(image))) {
        // Pushing something no step built: docker's own refusal (a typo in the task).
        tl.out(`An image does not exist locally with the tag: ${image.registry}/${image.repository}`);
        last = { kind: 'step', stepId: step.id, error: 'image does not exist locally' };
        continue;
      }
      const layer = hex(`${image.registry}/${image.repository}`).slice(0, 12);
      tl.out(`The push refers to repository [${image.registry}/${image.repository}]`);
      tl.out(`${layer}: Preparing`);
      tl.pass(T.push / 2);
      const decision = decideAccess(c.state, c.subject, image, 'push', tl.now);
      if (!decision.ok) {
        tl.out(pushRefusal(decision, image.registry));
        last = { kind: 'access', stepId: step.id, image: image.text, access: 'push', decision };
        continue;
      }
      const digest = `sha256:${hex(`${image.registry}|${image.repository}|${image.tag}|${c.runId}`)}`;
      tl.out(`${layer}: Pushed`, T.push / 2);
      tl.out(`${image.tag}: digest: ${digest} size: 524`);
      tl.acb(line.pushed(image.text));
      c.pushed.push({ registry: image.registry, repository: image.repository, tag: image.tag, digest });
      done = true;
    }
    if (!done) return { error: PUSH_STEP_ERROR, cause: last };
  }
  return undefined;
}

function cmd(step: Extract<TaskStep, { kind: 'cmd' }>, c: StepContext): StepFailure | undefined {
  const { tl } = c;
  const image = step.image;
  tl.acb(line.launching(step.id));
  const containerFailed = (text: string, cause: RunCause): StepFailure => {
    tl.out([text, "See 'docker run --help'."]);
    tl.acb(line.containerFailed(step.id));
    return { error: DOCKER_RUN_ERROR, cause };
  };
  if (!image.valid) return containerFailed('docker: invalid reference format.', { kind: 'step', stepId: step.id, error: 'invalid reference format' });
  if (!c.local.has(imageKey(image))) {
    tl.out(`Unable to find image '${withTag(image)}' locally`);
    tl.pass(T.pull / 2);
    const decision = decideAccess(c.state, c.subject, image, 'pull', tl.now);
    if (!decision.ok) {
      return containerFailed(`docker: Error response from daemon: ${pullRefusal(decision, image)}`, {
        kind: 'access',
        stepId: step.id,
        image: image.text,
        access: 'pull',
        decision,
      });
    }
    const digest = `sha256:${hex(`${image.registry}|${image.repository}|${image.tag}`)}`;
    tl.out(`${image.tag}: Pulling from ${image.repository}`);
    tl.out(`${hex(image.repository).slice(0, 12)}: Pull complete`, T.pull / 2);
    tl.out([`Digest: ${digest}`, `Status: Downloaded newer image for ${withTag(image)}`]);
  }
  tl.pass(T.container);
  if (/(^|\/)hello-world$/.test(image.repository)) tl.out(HELLO_WORLD);
  tl.acb(line.executed(step.id));
  return undefined;
}

/** What `docker push` prints when the registry (or its network) refuses. */
function pushRefusal(d: Exclude<AccessDecision, { ok: true }>, server: string): string {
  switch (d.cause) {
    case 'network':
      return `Get "https://${server}/v2/": ${firewallDenied(AGENT_IP)}`;
    case 'unknown-host':
      return `Get "https://${server}/v2/": ${noSuchHost(server)}`;
    case 'unauthenticated':
    case 'unauthorized':
      return UNAUTHORIZED;
    case 'public-registry-push':
      return DENIED;
  }
}

/** What the daemon answers `docker run` when it cannot pull the image (after "Error response from daemon: "). */
function pullRefusal(d: Exclude<AccessDecision, { ok: true }>, image: ImageRef): string {
  switch (d.cause) {
    case 'network':
      return daemonGetV2(image.registry, firewallDenied(AGENT_IP)).replace(/^Error response from daemon: /, '');
    case 'unknown-host':
      return `Get "https://${image.registry}/v2/": ${noSuchHost(image.registry)}.`;
    case 'unauthenticated':
    case 'unauthorized':
      return `Head "https://${image.registry}/v2/${image.repository}/manifests/${image.digest ?? image.tag}": ${UNAUTHORIZED}`;
    case 'public-registry-push':
      return `${DENIED}.`;
  }
}

const HELLO_WORLD = [
  '',
  'Hello from Docker!',
  'This message shows that your installation appears to be working correctly.',
  '',
];

function imageKey(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}:${ref.tag}`.toLowerCase();
}

function hex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}
