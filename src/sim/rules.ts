/**
 * The run's course: the sim plays a run — log lines, timing, outcome — from the access model's
 * verdicts (src/model/access.ts, shared with `acr-trust doctor`, so the sim and the doctor never
 * disagree). This file only translates the sim's state into the model's facts and the model's
 * verdicts into a timeline. Pure functions over the cloud state — no HTTP, no clock, no
 * randomness — so the same state and schedule time always give the same run.
 *
 * The run, in the runner's order (Azure/acr-builder graph/task.go, builder/builder.go):
 * 1. Prepare: the task (disabled, its agent pool) and the secrets — each identity credential is
 *    exchanged for an ACR refresh token at its registry; a refused exchange fails the run before
 *    any step (`failed to unmarshal task before running: failed to resolve secrets: …403 Forbidden`).
 * 2. Logins: one per login server (acb keeps a map keyed by registry). For the home registry a
 *    `customRegistries` entry replaces the run token; `sourceRegistry.identity` (ABAC registries)
 *    replaces it too. A run-token or password login refused by the firewall prints docker's words
 *    (`failed to login, ran out of retries: … denied: client with IP …`).
 * 3. Steps: every pull and push goes through network → bypass → credential → role (model's
 *    `decideRegistryAccess`), with the registry's 401 or the firewall's denial where docker
 *    prints them. A role not yet in effect is refused exactly like a missing one (ACR cannot tell
 *    either): only the log's timestamps and a later run tell them apart.
 *
 * Modelling choices that are not documented anywhere (UNCERTAIN, kept deliberately simple):
 * - The identity-token exchange does not check RBAC, so `403` at the exchange means the network.
 * - Username/password credentials are taken as valid and sufficient (admin user, tokens).
 * - ABAC role-assignment conditions (per-repository) are not evaluated.
 */
import { createHash } from 'node:crypto';
import {
  AGENT_IP,
  decideLogin,
  decidePrepare,
  decideRegistryAccess,
  grantingRoles,
  isAbac,
  isAcrHost,
  logins,
  registryFactsFromWire,
  roleAssignmentFactFromWire,
  type AccessKind,
  type AccessVerdict,
  type BypassModel,
  type Credential,
  type RegistryFacts,
  type RoleAssignmentFact,
  type RunFacts,
} from '../model/access.js';
import { DOCKER_RUN_ERROR, PUSH_STEP_ERROR, RUN_ERROR_MESSAGE, UNAUTHORIZED, DENIED, goLogTime, line } from './run-log.js';
import type { ArmResource, CloudState, Speed } from './store.js';
import { withTag, type ImageRef, type ProgramResult, type TaskStep } from '../model/task-yaml.js';

export { AGENT_IP, isAcrHost };

// ---------------------------------------------------------------------------------------------
// The sim's state as the access model's input (src/model/access.ts decides; this only translates)
// ---------------------------------------------------------------------------------------------

export function registryByLoginServer(state: CloudState, server: string): ArmResource | undefined {
  const s = server.toLowerCase();
  return Object.values(state.registries).find((r) => String(r.properties?.loginServer ?? '').toLowerCase() === s);
}

/** The role assignments of the cloud as the model's facts. */
export function roleAssignmentFacts(state: CloudState): RoleAssignmentFact[] {
  return Object.values(state.roleAssignments).map(roleAssignmentFactFromWire);
}

/** The scenario `task-switch-only` follows the other reading of the two bypass switches. */
export function bypassModelOf(state: CloudState): BypassModel {
  return state.scenario === 'task-switch-only' ? 'task-switch-only' : 'both';
}

/** What a run is: its home registry, its credentials, and (for a task) the task's identity. */
export interface RunSubject {
  runType: 'AutoRun' | 'QuickRun' | 'QuickBuild';
  home: ArmResource;
  /** Wire `Credentials` (a task's `properties.credentials`, or a quick-run request's). */
  credentials?: any;
  /** The task's `identity` (absent for quick runs: they never have one). */
  identity?: any;
  /** The agent pool the run asks for, as found in the state (`exists: false` when it is not). */
  agentPool?: RunFacts['agentPool'];
  /** The signed-in caller (for quick runs' `[caller]` source identity). */
  callerPrincipalId?: string;
}

export function runFacts(subject: RunSubject): RunFacts {
  return {
    kind: subject.runType === 'AutoRun' ? 'task-run' : 'quick-run',
    homeLoginServer: String(subject.home.properties?.loginServer ?? ''),
    identity: subject.identity,
    credentials: subject.credentials,
    agentPool: subject.agentPool,
    callerPrincipalId: subject.callerPrincipalId,
  };
}

/** Everything one run's decisions read, translated once per run. */
export interface DecisionScope {
  state: CloudState;
  run: RunFacts;
  roles: RoleAssignmentFact[];
  bypassModel: BypassModel;
  facts: (server: string) => RegistryFacts | undefined;
}

export function decisionScope(state: CloudState, subject: RunSubject): DecisionScope {
  const cache = new Map<string, RegistryFacts | undefined>();
  return {
    state,
    run: runFacts(subject),
    roles: roleAssignmentFacts(state),
    bypassModel: bypassModelOf(state),
    facts: (server) => {
      const s = server.toLowerCase();
      if (!cache.has(s)) {
        const r = registryByLoginServer(state, s);
        cache.set(s, r ? registryFactsFromWire(r) : undefined);
      }
      return cache.get(s);
    },
  };
}

/** What `principalId` may do on `registry`'s data plane at sim time `at`: `effective` counts the
 *  role assignments in effect then, `pending` those that exist but have not taken effect yet. */
export function permissionsAt(state: CloudState, principalId: string, registry: ArmResource, at: number): { effective: { pull: boolean; push: boolean }; pending: { pull: boolean; push: boolean } } {
  const facts = registryFactsFromWire(registry);
  const roles = roleAssignmentFacts(state);
  const effective = { pull: false, push: false };
  const pending = { pull: false, push: false };
  for (const access of ['pull', 'push'] as const) {
    const found = grantingRoles(facts, roles, principalId, access, at, state.roleDelayMs);
    effective[access] = found.some((r) => r.inEffect);
    pending[access] = found.some((r) => !r.inEffect);
  }
  return { effective, pending };
}

/** One pull or push of `image` by the run, at sim time `at` (the model's verdict). */
export function decideAccess(state: CloudState, subject: RunSubject, image: ImageRef, access: AccessKind, at: number, scope = decisionScope(state, subject)): AccessVerdict {
  return decideRegistryAccess({
    registry: scope.facts(image.registry),
    run: scope.run,
    roleAssignments: scope.roles,
    request: { access, loginServer: image.registry, repository: image.repository, at },
    roleDelayMs: state.roleDelayMs,
    bypassModel: scope.bypassModel,
  });
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
  /** Refused before any step (the task, its pool, an identity's token exchange). */
  | { kind: 'prepare'; server?: string; decision: Refusal }
  | { kind: 'login'; server: string; decision: Refusal }
  | { kind: 'access'; stepId: string; image: string; access: AccessKind; decision: Refusal }
  | { kind: 'step'; stepId: string; error: string };

type Refusal = Extract<AccessVerdict, { allowed: false }>;

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

  const scope = decisionScope(state, subject);
  const options = { roleDelayMs: state.roleDelayMs, bypassModel: scope.bypassModel };
  const homeFacts = scope.facts(scope.run.homeLoginServer);
  // One login per registry (acb resolves its credentials into a map keyed by login server).
  const plannedLogins = logins(scope.run, homeFacts ? isAbac(homeFacts) : false);

  // The task itself, then secrets: identity credentials become ACR refresh tokens before anything runs.
  const taskRefusal = decidePrepare({ registry: homeFacts, run: scope.run, ...options });
  if (taskRefusal) {
    tl.out(line.taskNotPrepared(taskRefusal.logLine), T.line);
    return fail({ kind: 'prepare', decision: taskRefusal });
  }
  for (const login of plannedLogins) {
    const refusal = decidePrepare({ registry: scope.facts(login.server), run: scope.run, login, ...options });
    if (!refusal) continue;
    tl.pass(T.exchange);
    tl.out(refusal.logLine, 0);
    return fail({ kind: 'prepare', server: login.server, decision: refusal });
  }

  // acb's build command: a build that pushes needs at least one credential (on an ABAC registry a
  // quick build without --source-acr-auth-id has none). Seen in Azure/azure-cli-extensions#9724.
  if (program.program.pushNeedsCredential && plannedLogins.length === 0) {
    tl.acb('Downloading source code...', 0);
    tl.acb('Finished downloading source code', T.build);
    tl.out('when specifying push, at least one credential is required', 0);
    tl.out('', 0);
    return fail({ kind: 'step', stepId: 'build', error: 'when specifying push, at least one credential is required' });
  }

  if (program.program.aliases) tl.acb(line.aliasSupport(), 0);
  tl.acb(line.creatingNetwork(), program.program.aliases ? T.output : 0);
  tl.acb(line.networkReady());
  tl.acb(line.settingUpDocker());
  tl.acb(line.dockerReady());

  for (const login of plannedLogins) {
    tl.acb(line.loggingIn(login.server));
    tl.pass(T.login);
    const refusal = decideLogin({ registry: scope.facts(login.server), run: scope.run, login, ...options });
    if (refusal) {
      // docker's output ends with a newline, so acb's `: exit status 1` lands on a line of its own.
      tl.out([refusal.logLine, ': exit status 1'], 0);
      return fail({ kind: 'login', server: login.server, decision: refusal });
    }
    tl.acb(line.loggedIn(login.server), 0);
  }

  const local = new Set<string>();
  const pushed: OutputImage[] = [];
  const stepSeconds: { id: string; seconds: number }[] = [];
  for (const step of program.program.steps) {
    tl.acb(line.executingStep(step.id));
    const began = tl.offset;
    const failure = runStep(step, { tl, state, subject, scope, runId, local, pushed });
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
  scope: DecisionScope;
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
  // Docker's classic builder pulls each base image at its FROM step: the same decision as any pull.
  const bases = (step.bases ?? []).filter((b) => !c.local.has(imageKey(b)));
  for (const [i, base] of bases.entries()) {
    tl.out(`Step ${i + 1}/${bases.length + 1} : FROM ${base.text}`);
    tl.pass(T.pull / 2);
    const decision = decideAccess(c.state, c.subject, base, 'pull', tl.now, c.scope);
    if (!decision.allowed) {
      tl.out(pullRefusal(decision, base));
      return { error: 'exit status 1', cause: { kind: 'access', stepId: step.id, image: base.text, access: 'pull', decision } };
    }
    tl.out([`${base.tag}: Pulling from ${base.repository}`, `${hex(base.repository).slice(0, 12)}: Pull complete`, `Digest: sha256:${hex(`${base.registry}|${base.repository}|${base.tag}`)}`, `Status: Downloaded newer image for ${withTag(base)}`, ` ---> ${hex(base.text).slice(0, 12)}`]);
  }
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
      const decision = decideAccess(c.state, c.subject, image, 'push', tl.now, c.scope);
      if (!decision.allowed) {
        tl.out(decision.logLine);
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
    const decision = decideAccess(c.state, c.subject, image, 'pull', tl.now, c.scope);
    if (!decision.allowed) {
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

/** What the daemon answers `docker run` when it cannot pull the image (after "Error response from daemon: "). */
function pullRefusal(d: Refusal, image: ImageRef): string {
  switch (d.cause) {
    case 'no-credential':
    case 'identity-missing':
    case 'role-missing':
    case 'role-not-yet-effective':
      return `Head "https://${image.registry}/v2/${image.repository}/manifests/${image.digest ?? image.tag}": ${UNAUTHORIZED}`;
    case 'public-registry-push':
      return `${DENIED}.`;
    case 'unknown-host':
      return `${d.logLine}.`;
    default:
      return d.logLine;
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
