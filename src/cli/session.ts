/**
 * What every command that touches the cloud does first: resolve the answers, take the workdir,
 * and connect to the target — the embedded sim, a sim served elsewhere, or Azure — and what it
 * does last: stop the sim, release the workdir. Loaded only by those commands (it pulls in the
 * Azure SDK through the adapter).
 */
import { readFileSync } from 'node:fs';
import { timings, type Timing, type World } from '../../steps/world.js';
import { connect, azureCredential, defaultSubscriptionFromAzCli, matchArmRule, readFailure, simCredential } from '../azure/index.js';
import type { Explanation } from '../engine/events.js';
import { completeAnswers, readInputs, saveAnswers, simDefaults, workflowAnswers, type Inputs, type ResolvedAnswers } from '../engine/answers.js';
import type { StateStore } from '../engine/state.js';
import { openWorkdir, workdirPaths, type WorkdirPaths } from '../engine/workdir.js';
import { isAcrTrustError, usageError } from '../errors.js';
import { readStateFile, SIM_SUBSCRIPTION_ID, startSim, type RunningSim } from '../sim/index.js';
import type { OutputEvent } from './render/index.js';
import type { Terminal } from './terminal.js';

/** The options every command shares, as commander parses them. */
export interface CommonOptions {
  workdir?: string;
  yes?: boolean;
  answers?: string;
  endpoint?: string;
  ca?: string;
  json?: boolean;
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
 * Without --yes nothing that changes anything starts: there is no interactive mode yet, and
 * without a terminal there is nobody to ask.
 */
export function requireYes(command: string, opts: CommonOptions, term: Terminal): void {
  if (opts.yes) return;
  const how = `Run \`acr-trust ${command} --yes\` with every answer given as flags or in a file (--answers FILE).`;
  if (!term.interactive) throw usageError(`no terminal to ask questions in, and --yes was not given.`, how);
  throw usageError('interactive mode is coming; for now use --yes.', how);
}

export async function openSession(req: SessionRequest): Promise<Session> {
  const { opts, term } = req;
  const paths = workdirPaths(opts.workdir);
  const { inputs } = readInputs({ flags: req.flags, file: opts.answers, saved: paths.answers, env: process.env });
  const target = inputs.target ?? 'azure';
  checkEndpointFlags(target, opts);

  // Azure's answers are complete before anything starts; the sim's defaults come from the sim.
  let answers =
    target === 'azure' ? completeAnswers(inputs, { subscription: inputs.subscription ?? defaultSubscriptionFromAzCli() }) : undefined;

  const workdir = openWorkdir(paths.dir, { command: req.command, persist: !req.dryRun });
  let sim: RunningSim | undefined;
  try {
    let endpoint: string | undefined;
    let ca: string | undefined;
    let speed: 'instant' | 'realistic' | undefined;
    let credential;
    if (target === 'sim' && !opts.endpoint) {
      speed = (inputs.simSpeed as typeof speed) ?? (term.tty ? 'realistic' : 'instant');
      checkSimScenario(paths.simCloud, inputs.simScenario);
      sim = await startSim({ stateFile: paths.simCloud, scenario: inputs.simScenario, speed });
      answers = completeAnswers(inputs, simDefaults(sim.state.scenario, sim.subscriptionId));
      answers.simScenario = sim.state.scenario;
      ({ endpoint, caCert: ca } = sim);
      credential = simCredential();
    } else if (target === 'sim') {
      speed = inputs.simSpeed as typeof speed;
      ca = readCa(opts.ca!);
      answers = completeAnswers(inputs, simDefaults(inputs.simScenario ?? 'default', SIM_SUBSCRIPTION_ID));
      endpoint = opts.endpoint;
      credential = simCredential();
    } else {
      credential = azureCredential();
    }
    if (!answers) throw new Error('unreachable: answers not resolved');

    checkSameTarget(workdir.store, answers, paths.dir);
    if (req.saveAnswers) saveAnswers(paths.answers, answers);
    const timing: Timing = target === 'azure' ? timings.azure : timings[speed ?? 'realistic'];
    const cloud = connect({ subscriptionId: answers.subscription, credential, endpoint, ca, pollIntervalMs: speed === 'instant' ? 10 : undefined });
    const targetLabel =
      target === 'azure'
        ? 'Azure'
        : `${sim ? 'embedded sim' : `sim at ${endpoint}`}${answers.simScenario && sim ? ` (scenario ${answers.simScenario}, ${speed})` : ''}`;

    return {
      paths,
      store: workdir.store,
      answers,
      world: { answers: workflowAnswers(answers), cloud, timing },
      targetLabel,
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
    await sim?.stop();
    workdir.close();
    throw e;
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

function checkEndpointFlags(target: string, opts: CommonOptions): void {
  if ((opts.endpoint || opts.ca) && target !== 'sim') {
    throw usageError('--endpoint and --ca point at a simulated Azure; they need --target sim.', 'Add --target sim, or drop --endpoint/--ca for real Azure.');
  }
  if (Boolean(opts.endpoint) !== Boolean(opts.ca)) {
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
function checkSimScenario(stateFile: string, scenario: string | undefined): void {
  if (!scenario) return;
  const existing = readStateFile(stateFile);
  if (existing && existing.scenario !== scenario) {
    throw usageError(
      `the workdir's simulated cloud was seeded with scenario ${existing.scenario}, not ${scenario}.`,
      `Drop --sim-scenario to continue that cloud, or use another --workdir for a ${scenario} cloud.`,
    );
  }
}

/** A raw cloud error explained by the adapter's rules (AcrTrustErrors are already explained). */
function explain(e: unknown): Explanation | undefined {
  if (isAcrTrustError(e)) return undefined;
  const f = readFailure(e);
  const rule = matchArmRule(f);
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
      subscription: a.subscription,
      resourceGroup: a.resourceGroup,
      registry: a.registry,
      targetRegistry: a.targetRegistry === a.registry ? undefined : a.targetRegistry,
      task: a.task,
      role: a.role,
      taskFile: a.taskFile,
    },
    ...(dryRun ? { dryRun } : {}),
  };
}
