/**
 * What every command that touches the cloud does first: resolve the answers, take the workdir,
 * and connect to the target — the embedded sim, a sim served elsewhere, or Azure — and what it
 * does last: stop the sim, release the workdir. Loaded only by those commands.
 *
 * The Azure adapter (and through it the SDK) and the sim are imported when the target is reached,
 * not with this module: in a terminal the first question ("where should acr-trust run?") comes
 * before either is needed, and appears without waiting for them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { timings, type Timing, type World } from '../../steps/world.js';
import type { Cloud } from '../azure/index.js';
import type { Explanation } from '../engine/events.js';
import { completeAnswers, readInputs, type Defaults, saveAnswers, simDefaults, workflowAnswers, type Inputs, type ResolvedAnswers, type SimSpeed } from '../engine/answers.js';
import type { CloudBinding, StateStore } from '../engine/state.js';
import { boundCloud, openWorkdir, workdirPaths, type WorkdirPaths } from '../engine/workdir.js';
import { isAcrTrustError, usageError } from '../errors.js';
import type { RunningSim } from '../sim/index.js';
import type { JoinFile } from './commands/room-join.js';
import type { OutputEvent } from './render/index.js';
import type { Terminal } from './terminal.js';

type AzureAdapter = typeof import('../azure/index.js');
type Sim = typeof import('../sim/index.js');
/** The adapter, once imported (openSession has it before it returns; `explain` reads it). */
let adapter: AzureAdapter | undefined;
const loadAzure = async (): Promise<AzureAdapter> => (adapter ??= await import('../azure/index.js'));
const loadSim = (): Promise<Sim> => import('../sim/index.js');

/** The options every command shares, as commander parses them. */
export interface CommonOptions {
  workdir?: string;
  yes?: boolean;
  answers?: string;
  endpoint?: string;
  ca?: string;
  json?: boolean;
  /** false with --no-color. */
  color?: boolean;
  /** `--use-device-code`: sign in to Azure with the device-code flow (one line on stderr: URL and code). */
  useDeviceCode?: boolean;
  /** The named Azure cloud (AzureUSGovernment …), when the CLI offers a flag for it. */
  cloud?: string;
  /** `--join FILE`: a training room's join file (endpoint, CA, the learner's service principal). */
  join?: string;
  /** `--learner NN`: sign in as that learner of the room this machine serves (see `learnerAsJoin`). */
  learner?: string;
  /** `--state FILE` with --learner: the room's `sim serve --state` (default ./.acr-trust/sim-cloud.json). */
  state?: string;
  /** `--new-workdir` (run): begin a new workflow in the workdir, whatever cloud it belonged to. */
  newWorkdir?: boolean;
}

export interface SessionRequest {
  command: string;
  opts: CommonOptions;
  /** The answer flags given on the command line. */
  flags: Inputs;
  term: Terminal;
  /** Dry run: nothing is written to the workdir (answers, state) and the state is kept in memory. */
  dryRun?: boolean;
  /** Save the resolved answers to the workdir's answers.yaml (a real `run`). */
  saveAnswers?: boolean;
  /** Interactive mode (see `interactionFor`): ask in the terminal what flags and files left open. */
  ask?: boolean;
  /** `run`: on Azure the goal (setup or demo) must be given; it is never guessed. */
  requireGoal?: boolean;
}

export interface Session {
  paths: WorkdirPaths;
  store: StateStore;
  answers: ResolvedAnswers;
  world: World;
  /** A line that says where the commands go ("sim acrtrustdemo (scenario default, instant)"). */
  targetLabel: string;
  /** Explains a raw cloud error through the adapter's rules table. */
  explain: (e: unknown) => Explanation | undefined;
  close(): Promise<void>;
}

/**
 * How a command that changes things gets its answers and confirmations:
 * - `ask`: a person is at a terminal (stdin and stdout TTYs, not CI), without `--yes` or `--json`:
 *   the questions flags and files left open are asked before the steps start, and risky changes
 *   are confirmed as they come;
 * - `unattended`: `--yes`: every answer comes from flags, files, the environment or defaults, and
 *   nothing is asked.
 * Otherwise (no terminal, or --json, and no --yes) it fails at once, naming --yes and --answers:
 * it never waits for input nobody can give. With `required: false` (a dry run, which changes
 * nothing) it runs unattended instead.
 */
export type Interaction = 'ask' | 'unattended';

export function interactionFor(command: string, opts: CommonOptions, term: Terminal, { required = true } = {}): Interaction {
  if (opts.yes) return 'unattended';
  if (term.interactive && !opts.json) return 'ask';
  if (!required) return 'unattended';
  const how = `Run \`acr-trust ${command} --yes\` with every answer given as flags or in a file (--answers FILE).`;
  if (opts.json) throw usageError('--json asks no questions, and --yes was not given.', how);
  throw usageError(`no terminal to ask questions in, and --yes was not given.`, how);
}

export async function openSession(req: SessionRequest): Promise<Session> {
  const { term } = req;
  const paths = workdirPaths(req.opts.workdir);
  const startOver = Boolean(req.opts.newWorkdir);
  const read = readInputs({ flags: req.flags, file: req.opts.answers, saved: startOver ? undefined : paths.answers, env: process.env });
  let inputs = read.inputs;
  // --learner NN: the room's join file for that learner, as if given with --join.
  const given = await learnerAsJoin(req.opts, inputs, read.from);
  // The workdir's own cloud, unless the user starts over: it fills what is not given and refuses another.
  const bound = startOver ? undefined : boundCloud(paths);
  // Flags that are wrong in themselves (--endpoint over http, --ca alone) are said first, as such.
  if (given.join) checkJoinFlags(given, inputs, read.from);
  const targetKind = inputs.target ?? bound?.target ?? (given.join ? 'sim' : undefined);
  if (targetKind || !req.ask) checkEndpointFlags(targetKind ?? 'azure', bound ? withBoundEndpoint(given, bound) : given);
  const opts = bound ? useBoundCloud(bound, inputs, read.from, given, paths) : given;
  // A training room: where it is and who signs in come from the join file (exit 2 if unusable).
  const joins = opts.join ? await import('./commands/room-join.js') : undefined;
  const room = joins?.readJoinFile(opts.join!);
  if (room) inputs.target ??= 'sim';
  const joined = room && { room, defaults: joins!.roomDefaults(room) };
  // Unattended, Azure's answers are complete before anything starts; the sim's defaults come from the sim.
  const azureAnswers = !req.ask && inputs.target !== 'sim' ? completeAzureAnswers(await loadAzure(), inputs, req.requireGoal) : undefined;

  const workdir = openWorkdir(paths.dir, { command: req.command, persist: !req.dryRun, startOver });
  if (workdir.earlier) process.stderr.write(`acr-trust: starting over — the earlier workflow's files are in ${workdir.earlier} (\`acr-trust reset --workdir ${workdir.earlier}\` undoes what it changed).\n`);
  let target: Target | undefined;
  try {
    if (req.ask) {
      const { askAnswers, cloudLists } = await import('./prompts.js');
      // All questions come before the steps: the live lists come from the chosen target, which
      // (for the embedded sim) is started here and kept for the session.
      inputs = await askAnswers(inputs, {
        lists: async (kind) => {
          checkEndpointFlags(kind, opts);
          const t = (target = await reachTarget({ ...inputs, target: kind }, opts, paths, term, req.requireGoal, joined));
          return cloudLists(t.cloud(inputs.subscription ?? t.defaultSubscription ?? ''), (sub) => t.cloud(sub));
        },
      });
    }
    target ??= await reachTarget(inputs, opts, paths, term, req.requireGoal, joined);
    const answers = azureAnswers ?? target.complete(inputs);
    checkSameTarget(workdir.store, answers, paths.dir);
    workdir.store.bindOnFirstRecord(bindingOf(answers, { ...opts, cloud: opts.cloud ?? target.azureCloud?.name }));
    if (req.saveAnswers) saveAnswers(paths.answers, answers);
    const cloud = target.cloud(answers.subscription);
    const speed = target.speed;
    const timing: Timing = answers.target === 'azure' ? timings.azure : timings[speed ?? 'realistic'];
    const sim = target.sim;
    return {
      paths,
      store: workdir.store,
      answers,
      world: { answers: workflowAnswers(answers), cloud, timing, ...(target.azureCloud ? { loginServerSuffix: target.azureCloud.acrLoginServerSuffix } : {}) },
      targetLabel: target.label,
      explain,
      async close() {
        try {
          await sim?.stop();
        } finally {
          workdir.close();
        }
      },
    };
  } catch (e) {
    await target?.sim?.stop();
    workdir.close();
    throw e;
  }
}

/**
 * Runs `body` with the session open, then closes it (the embedded sim stopped, the workdir freed).
 * When `body` fails, a failure to close — the sim cannot save its cloud on a full disk — does not
 * hide the error the user must see.
 */
export async function closingAfter(session: Session, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    await session.close().catch(() => {});
    throw e;
  }
  await session.close();
}

/** Where the commands go and as whom: the embedded sim, a sim served elsewhere, or Azure. */
interface Target {
  /** The adapter for one subscription of this target. */
  cloud(subscriptionId: string): Cloud;
  /** The answers completed with this target's defaults. */
  complete(inputs: Inputs): ResolvedAnswers;
  /** The subscription to list the others from before one is chosen. */
  defaultSubscription?: string;
  /** The sim's speed (undefined on Azure, or for a served sim without --sim-speed). */
  speed?: SimSpeed;
  /** The embedded sim, stopped when the session closes. */
  sim?: RunningSim;
  label: string;
  /** On Azure: the cloud reached (its name is recorded in the workdir; its registry suffix goes to the steps' az lines). */
  azureCloud?: { name: string; acrLoginServerSuffix: string };
}

async function reachTarget(inputs: Inputs, opts: CommonOptions, paths: WorkdirPaths, term: Terminal, requireGoal = false, room?: { room: JoinFile; defaults: Defaults }): Promise<Target> {
  const az = await loadAzure();
  if (room) return roomSim(az, inputs, room.room, room.defaults);
  if (inputs.target !== 'sim') {
    const { azureCredential, connect, defaultSubscriptionFromAzCli, resolveCloud } = az;
    // The cloud: --cloud, else the Azure CLI's active one (its endpoints, sign-in host and registry
    // suffix). --endpoint (and --ca): another Resource Manager, e.g. a sim that signs in like Azure
    // (`acr-trust sim az-env` prints the variables); the sign-in must trust its CA too.
    const azureCloud = resolveCloud({ cloud: opts.cloud, endpoint: opts.endpoint });
    const endpoint = azureCloud.resourceManager;
    const ca = opts.ca ? readCa(opts.ca) : undefined;
    // The subscription the session works in, for a wrong-tenant hint naming its tenant.
    let working: string | undefined;
    const credential = azureCredential({
      ...(ca ? { ca } : {}),
      authorityHost: azureCloud.authorityHost,
      tenantLookup: { endpoint, subscription: () => working },
      ...(opts.useDeviceCode ? { deviceCode: { show: (line: string) => void process.stderr.write(`acr-trust: ${line}\n`) } } : {}),
    });
    const named = azureCloud.name === 'AzureCloud' ? 'Azure' : `Azure (${azureCloud.name})`;
    return {
      cloud: (subscriptionId) => {
        working = subscriptionId || working;
        return connect({ subscriptionId, credential, endpoint, ca, audience: azureCloud.tokenAudience, loginServerSuffix: azureCloud.acrLoginServerSuffix });
      },
      complete: (i) => completeAzureAnswers(az, i, requireGoal),
      defaultSubscription: defaultSubscriptionFromAzCli(),
      label: opts.endpoint ? `${named} at ${endpoint}` : named,
      azureCloud,
    };
  }
  const sims = await loadSim();
  return opts.endpoint ? servedSim(az, sims, inputs, opts) : embeddedSim(az, sims, inputs, paths, term);
}

function completeAzureAnswers(az: AzureAdapter, inputs: Inputs, requireGoal = false): ResolvedAnswers {
  return completeAnswers(inputs, { subscription: inputs.subscription ?? az.defaultSubscriptionFromAzCli() }, { requireGoal });
}

/** The adapter for a simulated Azure at `endpoint`, trusting its CA. */
function simClouds(az: AzureAdapter, endpoint: string, ca: string, speed: SimSpeed | undefined): Target['cloud'] {
  const credential = az.simCredential();
  return (subscriptionId) => az.connect({ subscriptionId, credential, endpoint, ca, pollIntervalMs: speed === 'instant' ? 10 : undefined });
}

/** The sim inside this process, its cloud kept in the workdir so a resumed run sees the same one. */
async function embeddedSim(az: AzureAdapter, sims: Sim, inputs: Inputs, paths: WorkdirPaths, term: Terminal): Promise<Target> {
  const speed = (inputs.simSpeed as SimSpeed | undefined) ?? (term.tty ? 'realistic' : 'instant');
  checkSimScenario(sims, paths.simCloud, inputs.simScenario);
  const sim = await sims.startSim({ stateFile: paths.simCloud, scenario: inputs.simScenario, speed });
  const scenario = sim.state.scenario;
  return {
    cloud: simClouds(az, sim.endpoint, sim.caCert, speed),
    complete: (i) => ({ ...completeAnswers(i, simDefaults(scenario, sim.subscriptionId)), simScenario: scenario }),
    defaultSubscription: sim.subscriptionId,
    speed,
    sim,
    label: `embedded sim (scenario ${scenario}, ${speed})`,
  };
}

/** A `sim serve` running elsewhere (--endpoint, --ca). */
function servedSim(az: AzureAdapter, sims: Sim, inputs: Inputs, opts: CommonOptions): Target {
  const speed = inputs.simSpeed as SimSpeed | undefined;
  return {
    cloud: simClouds(az, opts.endpoint!, readCa(opts.ca!), speed),
    complete: (i) => completeAnswers(i, simDefaults(i.simScenario ?? 'default', sims.SIM_SUBSCRIPTION_ID)),
    defaultSubscription: sims.SIM_SUBSCRIPTION_ID,
    speed,
    label: `sim at ${opts.endpoint}`,
  };
}

/**
 * A training room's sim (`--join FILE`): its endpoint and CA from the join file, signed in as the
 * file's identity (client credentials at the sim's token endpoint, as `az login
 * --service-principal --tenant adfs`). The learner's own resource group and registry, and the
 * room's subscription, are the defaults for the answers; the sim refuses (403
 * AuthorizationFailed) anything outside the learner's group.
 */
function roomSim(az: AzureAdapter, inputs: Inputs, room: JoinFile, defaults: Defaults): Target {
  const speed = inputs.simSpeed as SimSpeed | undefined;
  const credential = az.clientSecretCredential({ authorityHost: room.endpoint, clientId: room.clientId, clientSecret: room.clientSecret, ca: room.ca });
  return {
    cloud: (subscriptionId) => az.connect({ subscriptionId, credential, endpoint: room.endpoint, ca: room.ca, ...(room.tokenAudience ? { audience: room.tokenAudience } : {}), pollIntervalMs: speed === 'instant' ? 10 : undefined }),
    complete: (i) => completeAnswers(i, defaults),
    defaultSubscription: room.subscriptionId,
    speed,
    label: `training room at ${room.endpoint} as ${room.learner ? `learner ${room.learner}` : 'the trainer'}`,
  };
}

/**
 * `--learner NN [--state FILE]`, on the machine that serves a training room: the options with
 * `join` set to the join file `sim serve` wrote for that learner, so the command signs in as the
 * learner exactly as with `--join` (and the workdir records that join file). The room is found as
 * `sim az-env --learner` finds it: the state file (default ./.acr-trust/sim-cloud.json) and its
 * running `sim serve`. Exit 2, said plainly: --learner with --join or with flags naming another
 * cloud (--endpoint, --ca, --cloud, --use-device-code, target azure); --state without --learner;
 * no room at the state file, the room not running, no such learner (see `learnerJoinFile`).
 * @param from where each input came from (names the answers file that says target azure).
 */
export async function learnerAsJoin(opts: CommonOptions, inputs: Inputs, from: Partial<Record<string, string>>): Promise<CommonOptions> {
  if (opts.learner === undefined) {
    if (opts.state !== undefined) throw usageError('--state names the training room for --learner, and no --learner was given.', 'Add --learner NN (the learner, as in learner07: --learner 07), or drop --state.');
    return opts;
  }
  if (opts.join !== undefined) throw usageError('--learner and --join both say who you are; give one of them.', 'On the machine that serves the room: --learner NN; anywhere else: --join FILE (the file your trainer handed out).');
  const clash = otherCloudFlags(opts, inputs, from);
  if (clash.length) {
    throw usageError(`--learner signs you in to the training room this machine serves (its --state file); it does not go with ${clash.join(', ')}.`, 'Drop those flags to work as the learner in the room; drop --learner to work elsewhere.');
  }
  const { DEFAULT_STATE_FILE } = await import('./commands/sim.js');
  const { learnerJoinFile } = await import('./commands/room-join.js');
  const shown = opts.state ?? DEFAULT_STATE_FILE;
  return { ...opts, join: learnerJoinFile(shown, opts.learner, shown) };
}

/** The flags and answers that name another cloud or sign-in than a training room's (they clash with --join and --learner). */
function otherCloudFlags(opts: CommonOptions, inputs: Inputs, from: Partial<Record<string, string>>): string[] {
  return [
    opts.endpoint !== undefined && '--endpoint',
    opts.ca !== undefined && '--ca',
    opts.cloud !== undefined && '--cloud',
    opts.useDeviceCode && '--use-device-code',
    inputs.target === 'azure' && `target azure (${from.target ?? '--target'})`,
  ].filter((x): x is string => typeof x === 'string');
}

/** --join says where the cloud is and who signs in: flags that say either otherwise are exit 2. */
function checkJoinFlags(opts: CommonOptions, inputs: Inputs, from: Partial<Record<string, string>>): void {
  const clash = otherCloudFlags(opts, inputs, from);
  if (clash.length) {
    throw usageError(`--join says where the training room is and who you are; it does not go with ${clash.join(', ')}.`, 'Give --join FILE (the file your trainer handed out) without them, or drop --join.');
  }
}

/** The workflow's recorded steps belong to one set of resources; other answers need another workdir. */
function checkSameTarget(store: StateStore, a: ResolvedAnswers, dir: string): void {
  const target: Record<string, string> = {
    target: a.target,
    subscription: a.subscription,
    resourceGroup: a.resourceGroup,
    registry: a.registry,
    targetRegistry: a.targetRegistry,
    task: a.task,
  };
  const before = store.state.target;
  const worked = Object.values(store.state.steps).some((s) => s.status === 'done' || s.status === 'applied');
  if (before && worked) {
    const changed = Object.keys(target).filter((k) => before[k] !== undefined && before[k] !== target[k]);
    if (changed.length) {
      throw usageError(
        `the workdir ${dir} holds a workflow for other answers (${changed.map((k) => `${k} ${before[k]}, now ${target[k]}`).join('; ')}).`,
        'Use another --workdir for these answers, or first run `acr-trust reset --yes` with the earlier answers to undo that workflow.',
      );
    }
  }
  store.state.target = target;
}

/** The cloud these answers and options reach, as a workdir records it. */
function bindingOf(a: ResolvedAnswers, opts: CommonOptions): Omit<CloudBinding, 'at'> {
  return {
    target: a.target,
    subscription: a.subscription,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.ca ? { ca: resolve(opts.ca) } : {}),
    ...(opts.cloud ? { cloud: opts.cloud } : {}),
    ...(opts.join ? { join: resolve(opts.join) } : {}),
  };
}

/** The cloud of a binding in a user's words: "the simulated Azure at https://… (CA …)". */
export function describeCloud(c: Partial<CloudBinding>, workdir: string): string {
  const where =
    c.target === 'sim'
      ? c.join
        ? `the training room of the join file ${c.join}`
        : c.endpoint
        ? `the simulated Azure at ${c.endpoint}${c.ca ? ` (CA ${c.ca})` : ''}`
        : `the embedded simulated Azure kept in ${workdir}`
      : `${c.cloud ? `Azure cloud ${c.cloud}` : 'Azure'}${c.endpoint ? ` at ${c.endpoint}${c.ca ? ` (CA ${c.ca})` : ''}` : ''}`;
  return c.subscription ? `${where}, subscription ${c.subscription}` : where;
}

/**
 * A workdir belongs to the cloud its workflow changed (`state.cloud`): what the command does not
 * say is taken from there — target, subscription, endpoint, CA, cloud name — and anything said
 * differently is exit 2 naming both clouds (a later command must never act on another cloud while
 * believing it acts on the workdir's). Fills `inputs` in place; returns the options to use.
 * @param from where each input came from (a value from the workdir's own answers.yaml agrees).
 */
export function useBoundCloud(bound: CloudBinding, inputs: Inputs, from: Partial<Record<string, string>>, opts: CommonOptions, paths: WorkdirPaths): CommonOptions {
  const differs: string[] = [];
  const given = (key: 'target' | 'subscription') => inputs[key] !== undefined && from[key] !== paths.answers;
  if (given('target') && inputs.target !== bound.target) differs.push(`--target ${inputs.target}`);
  if (given('subscription') && inputs.subscription!.toLowerCase() !== bound.subscription.toLowerCase()) differs.push(`subscription ${inputs.subscription} (from ${from.subscription})`);
  if (opts.endpoint !== undefined && (bound.endpoint === undefined || !sameUrl(opts.endpoint, bound.endpoint))) differs.push(`--endpoint ${opts.endpoint}`);
  if (opts.ca !== undefined && bound.ca !== undefined && resolve(opts.ca) !== bound.ca && !sameFile(resolve(opts.ca), bound.ca)) differs.push(`--ca ${resolve(opts.ca)}`);
  if (opts.cloud !== undefined && (bound.cloud ?? 'AzureCloud').toLowerCase() !== opts.cloud.toLowerCase()) differs.push(`--cloud ${opts.cloud}`);
  if (opts.join !== undefined && (bound.join === undefined || (resolve(opts.join) !== bound.join && !sameFile(resolve(opts.join), bound.join)))) differs.push(`--join ${resolve(opts.join)}`);
  if (differs.length > 0) {
    const asked = { ...bound, ...(given('target') ? { target: inputs.target } : {}), ...(given('subscription') ? { subscription: inputs.subscription } : {}) };
    if (opts.endpoint !== undefined) asked.endpoint = opts.endpoint;
    else if (given('target') && inputs.target !== bound.target) delete asked.endpoint;
    asked.ca = opts.ca !== undefined ? resolve(opts.ca) : asked.endpoint === bound.endpoint ? bound.ca : undefined;
    if (opts.cloud !== undefined) asked.cloud = opts.cloud;
    if (opts.join !== undefined) asked.join = resolve(opts.join);
    throw usageError(
      `the workdir ${paths.dir} belongs to ${describeCloud(bound, paths.dir)}; this command names ${describeCloud(asked, paths.dir)} (${differs.join(', ')}).`,
      `Drop those flags to act on the workdir's cloud; use another --workdir for the other cloud; or start this workdir over with \`acr-trust run --new-workdir\` (run \`acr-trust reset\` first if its workflow changed something you want back).`,
    );
  }
  inputs.target ??= bound.target;
  inputs.subscription ??= bound.subscription;
  return { ...opts, endpoint: opts.endpoint ?? bound.endpoint, ca: opts.ca ?? bound.ca, cloud: opts.cloud ?? bound.cloud, join: opts.join ?? bound.join };
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}

/** The options with the bound endpoint and CA filling what is not given (for checking the flags' shape). */
function withBoundEndpoint(opts: CommonOptions, bound: CloudBinding): CommonOptions {
  const endpoint = opts.endpoint ?? bound.endpoint;
  const sameEndpoint = endpoint !== undefined && bound.endpoint !== undefined && sameUrl(endpoint, bound.endpoint);
  return { ...opts, endpoint, ca: opts.ca ?? (sameEndpoint ? bound.ca : undefined) };
}

function sameFile(a: string, b: string): boolean {
  try {
    return readFileSync(a, 'utf8') === readFileSync(b, 'utf8');
  } catch {
    return false;
  }
}

/**
 * --endpoint points at another Resource Manager: with --target sim a `sim serve` (and --ca, its
 * CA, always), with --target azure any ARM endpoint (--ca when its certificate is not publicly
 * trusted). --ca alone means nothing.
 */
function checkEndpointFlags(target: string, opts: CommonOptions): void {
  if (opts.cloud && target === 'sim') {
    throw usageError(`--cloud ${opts.cloud} names an Azure cloud; the simulated Azure is none of them.`, 'Drop --cloud, or use --target azure.');
  }
  // On Azure, --ca may go with --cloud: a registered cloud (az cloud register) whose certificates a private CA signs.
  if (opts.ca && !opts.endpoint && !opts.cloud) {
    throw usageError('--ca is the CA certificate of an --endpoint, and no --endpoint was given.', 'Add --endpoint with the endpoint that `acr-trust sim serve` prints, or drop --ca.');
  }
  if (target === 'sim' && Boolean(opts.endpoint) !== Boolean(opts.ca)) {
    throw usageError('--endpoint and --ca go together.', 'Give both: the endpoint and the caCertFile that `acr-trust sim serve` prints.');
  }
  if (opts.endpoint && !/^https:\/\//.test(opts.endpoint)) {
    throw usageError(`--endpoint ${opts.endpoint} must be an https:// URL.`, 'Use the endpoint that `acr-trust sim serve` prints.');
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(`cannot read the CA certificate ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, 'Pass the caCertFile that `acr-trust sim serve` prints.');
  }
}

/** The embedded sim keeps its cloud in the workdir; a different scenario needs a new workdir. */
function checkSimScenario(sims: Sim, stateFile: string, scenario: string | undefined): void {
  if (!scenario) return;
  const existing = sims.readStateFile(stateFile);
  if (existing && existing.scenario !== scenario) {
    throw usageError(
      `the workdir's simulated cloud was seeded with scenario ${existing.scenario}, not ${scenario}.`,
      `Drop --sim-scenario to continue that cloud, or use another --workdir for a ${scenario} cloud.`,
    );
  }
}

/** A raw cloud error explained by the adapter's rules (AcrTrustErrors are already explained). */
function explain(e: unknown): Explanation | undefined {
  if (isAcrTrustError(e) || !adapter) return undefined;
  const f = adapter.readFailure(e);
  const rule = adapter.matchArmRule(f);
  return rule ? { reason: `${rule.message}: ${f.message}`, hint: rule.hint, code: f.code, link: rule.link } : undefined;
}

/** The header every cloud command shows first: where it runs, with which answers. */
export function startEvent(command: string, session: Session, dryRun?: boolean): OutputEvent {
  const a = session.answers;
  return {
    type: 'start' as const,
    command,
    workdir: session.paths.dir,
    target: session.targetLabel,
    answers: {
      goal: a.goal,
      subscription: a.subscription,
      resourceGroup: a.resourceGroup,
      registry: a.registry,
      targetRegistry: a.targetRegistry === a.registry ? undefined : a.targetRegistry,
      task: a.task,
      role: a.role,
      taskFile: a.taskFile,
      agentPool: a.agentPool && `${a.agentPool} (${a.agentPoolTier ?? 'S1'}${a.agentPoolSubnet ? `, subnet ${a.agentPoolSubnet}` : ''})`,
    },
    ...(dryRun ? { dryRun } : {}),
  };
}
