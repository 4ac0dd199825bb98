/**
 * The answers that parameterise the workflow, resolved from layers, first one wins:
 *
 *   1. command-line flags              (--registry …)
 *   2. the --answers FILE              (YAML or JSON; the keys below)
 *   3. the workdir's answers.yaml      (what an earlier run resolved, so a plain re-run resumes)
 *   4. the environment                 (AZURE_SUBSCRIPTION_ID, ACR_TRUST_REGISTRY …)
 *   5. defaults                        (documented per key; on --target azure nothing that would
 *                                       change Azure is guessed: a missing one is exit 2)
 *
 * Every value is checked the way ARM checks it, with a message that says how to fix it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Answers, RoleName } from '../../steps/world.js';
import { TASK_FILE_HINT, taskFileProblem } from '../../steps/lib/task-yaml.js';
import { usageError } from '../errors.js';
import { writeFileAtomic, yaml } from '../files.js';

export const ROLES: readonly RoleName[] = ['AcrPush', 'AcrPull', 'Container Registry Repository Writer', 'Container Registry Repository Reader'];
export const TARGETS = ['sim', 'azure'] as const;
export const SIM_SPEEDS = ['instant', 'realistic'] as const;
export const SIM_SCENARIOS = ['default', 'basic-sku', 'abac', 'two-registries', 'no-role-write', 'read-only', 'task-switch-only', 'tasks-not-allowed', 'private-endpoint'] as const;
/**
 * What a run is for: `setup` walks the steps up to `run-task` and leaves the task reaching the
 * restricted registry through the bypass; `demo` is the article's whole workflow, ending with the
 * negative test (trusted services off, the task refused).
 */
export const GOALS = ['setup', 'demo'] as const;
/** The last step of each goal. */
export const GOAL_LAST_STEP: Record<Goal, string> = { setup: 'run-task', demo: 'confirm-denied' };
export const DEFAULT_TASK = 'acr-trust-task';
/**
 * Dedicated agent pool tiers (`az acr agentpool create --tier`): S1 2 vCPUs/3 GiB, S2 4/8, S3 8/16,
 * I6 64/216 isolated (az acr agentpool create --help; learn.microsoft.com/azure/container-registry/tasks-agent-pools).
 */
export const AGENT_POOL_TIERS = ['S1', 'S2', 'S3', 'I6'] as const;
export const DEFAULT_AGENT_POOL_TIER = 'S1';
/** A subnet's ARM id: `/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/V/subnets/S`. */
export const SUBNET_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i;
export const DEFAULT_ROLE: RoleName = 'AcrPush';

export type TargetKind = (typeof TARGETS)[number];
export type SimSpeed = (typeof SIM_SPEEDS)[number];
export type Goal = (typeof GOALS)[number];

/** Everything the wizard asks: the workflow's Answers plus where to run it. */
export interface ResolvedAnswers extends Answers {
  target: TargetKind;
  /** setup or demo; always set for the sim (default demo), and for Azure once `run` resolved it. */
  goal?: Goal;
  simScenario?: string;
  simSpeed?: SimSpeed;
}

export type AnswerKey = keyof ResolvedAnswers;
export type Inputs = Partial<Record<AnswerKey, string>>;

interface KeySpec {
  flag: string;
  env: string;
  /** What the value is, for messages. */
  what: string;
  choices?: readonly string[];
  /** Returns why the value is invalid, or undefined. */
  invalid?: (v: string) => string | undefined;
  /** A deeper check of a valid value (a whole sentence), with `hint` to fix it. */
  problem?: (v: string) => string | undefined;
  hint?: string;
}

const REGISTRY_RULE = (v: string) =>
  /^[a-zA-Z0-9]{5,50}$/.test(v) ? undefined : 'ARM requires 5–50 letters and digits (no hyphens, dots or underscores), e.g. myregistry01';

export const KEYS: Record<AnswerKey, KeySpec> = {
  subscription: {
    flag: '--subscription',
    env: 'AZURE_SUBSCRIPTION_ID',
    what: 'subscription id',
    invalid: (v) =>
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)
        ? undefined
        : 'a subscription id is a GUID such as 00000000-0000-0000-0000-000000000000 (`az account list -o table` lists yours)',
  },
  resourceGroup: {
    flag: '--resource-group',
    env: 'ACR_TRUST_RESOURCE_GROUP',
    what: 'resource group name',
    invalid: (v) =>
      !/^[-\p{L}\p{N}_.()]{1,90}$/u.test(v)
        ? 'ARM requires 1–90 letters, digits, underscores, hyphens, periods or parentheses'
        : v.endsWith('.')
          ? 'ARM does not allow a resource group name to end with a period'
          : undefined,
  },
  registry: { flag: '--registry', env: 'ACR_TRUST_REGISTRY', what: 'registry name', invalid: REGISTRY_RULE },
  targetRegistry: { flag: '--target-registry', env: 'ACR_TRUST_TARGET_REGISTRY', what: 'target registry name', invalid: REGISTRY_RULE },
  task: {
    flag: '--task',
    env: 'ACR_TRUST_TASK',
    what: 'task name',
    invalid: (v) => (/^[a-zA-Z0-9_-]{5,50}$/.test(v) ? undefined : 'ARM requires 5–50 letters, digits, hyphens or underscores, e.g. acr-trust-task'),
  },
  role: { flag: '--role', env: 'ACR_TRUST_ROLE', what: 'role', choices: ROLES },
  taskFile: {
    flag: '--task-file',
    env: 'ACR_TRUST_TASK_FILE',
    what: 'task file',
    invalid: (v) => (existsSync(v) ? undefined : 'the file does not exist'),
    // Read before anything changes: a broken task file is an input error, not a failed step.
    problem: taskFileProblem,
    hint: TASK_FILE_HINT,
  },
  target: { flag: '--target', env: 'ACR_TRUST_TARGET', what: 'target', choices: TARGETS },
  goal: { flag: '--goal', env: 'ACR_TRUST_GOAL', what: 'goal', choices: GOALS },
  agentPool: {
    flag: '--agent-pool',
    env: 'ACR_TRUST_AGENT_POOL',
    what: 'agent pool name',
    // The sim and ARM: 3–20 letters, digits or hyphens (arm-reference.md; src/sim/routes/agent-pools.ts).
    invalid: (v) => (/^[a-zA-Z0-9-]{3,20}$/.test(v) ? undefined : 'ARM requires 3–20 letters, digits or hyphens, e.g. acrtrustpool'),
  },
  agentPoolSubnet: {
    flag: '--agent-pool-subnet',
    env: 'ACR_TRUST_AGENT_POOL_SUBNET',
    what: 'agent pool subnet',
    invalid: (v) =>
      SUBNET_ID.test(v)
        ? undefined
        : "a subnet is given by its resource id, /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/VNET/subnets/SUBNET (`az network vnet subnet show -g RG --vnet-name VNET -n SUBNET --query id -o tsv`)",
  },
  agentPoolTier: { flag: '--agent-pool-tier', env: 'ACR_TRUST_AGENT_POOL_TIER', what: 'agent pool tier', choices: AGENT_POOL_TIERS },
  simScenario: { flag: '--sim-scenario', env: 'ACR_TRUST_SIM_SCENARIO', what: 'sim scenario', choices: SIM_SCENARIOS },
  simSpeed: { flag: '--sim-speed', env: 'ACR_TRUST_SIM_SPEED', what: 'sim speed', choices: SIM_SPEEDS },
};

const KEY_NAMES = Object.keys(KEYS) as AnswerKey[];

export interface AnswerSources {
  flags: Inputs;
  /** `--answers FILE`. */
  file?: string;
  /** The workdir's answers.yaml, if an earlier run saved one. */
  saved?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where each answer came from, for messages ("--registry", "answers.yaml", "ACR_TRUST_TASK"). */
export type Provenance = Partial<Record<AnswerKey, string>>;

/**
 * Merges the given layers (flags > file > saved > env) and validates every value present.
 * Defaults are not applied here: they depend on the target (see `completeAnswers`).
 */
export function readInputs(src: AnswerSources): { inputs: Inputs; from: Provenance } {
  const env = src.env ?? {};
  const envLayer: Inputs = Object.fromEntries(KEY_NAMES.filter((k) => env[KEYS[k].env]).map((k) => [k, env[KEYS[k].env]]));
  const layers: [string, Inputs][] = [['flags', src.flags]];
  if (src.file) layers.push([src.file, readAnswersFile(src.file)]);
  if (src.saved && existsSync(src.saved)) {
    // An earlier run's answers apply only to the same target: sim names never leak into Azure.
    const saved = readAnswersFile(src.saved, { saved: true });
    const target = layers.map(([, l]) => l.target).find(Boolean) ?? envLayer.target;
    // A saved target registry that is the saved registry itself was the default, not an answer of
    // its own: it follows the registry, so a corrected --registry is not trapped by a typo.
    const registryGiven = layers.some(([, l]) => l.registry) || envLayer.registry;
    if (registryGiven && saved.targetRegistry !== undefined && saved.targetRegistry === saved.registry) delete saved.targetRegistry;
    if (!target || !saved.target || saved.target === target) layers.push([src.saved, saved]);
  }
  layers.push(['env', envLayer]);

  const inputs: Inputs = {};
  const from: Provenance = {};
  for (const key of KEY_NAMES) {
    for (const [name, layer] of layers) {
      const v = layer[key];
      if (v === undefined || v === '') continue;
      inputs[key] = v;
      from[key] = name === 'flags' ? KEYS[key].flag : name === 'env' ? KEYS[key].env : name;
      break;
    }
  }
  if (inputs.taskFile) inputs.taskFile = resolve(inputs.taskFile);
  for (const key of KEY_NAMES) if (inputs[key] !== undefined) checkValue(key, inputs[key]!, from[key]!);
  return { inputs, from };
}

/** Reads an answers file (YAML or JSON). Bad syntax, unknown keys and wrong types are exit 2. */
export function readAnswersFile(file: string, { saved = false } = {}): Inputs {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(
      `cannot read the ${saved ? 'saved answers' : 'answers file'} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
      saved ? 'It is the workdir\'s own copy: make it readable to you, or use another --workdir.' : 'Check the path given to --answers.',
    );
  }
  // Aliases are YAML, but an answers file has no use for them: a bounded count stops alias bombs.
  const doc = yaml().parseDocument(text, { uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const at = err.linePos?.[0];
    throw usageError(
      `${file} is not valid YAML${at ? ` (line ${at.line}, column ${at.col})` : ''}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      'Fix the file; JSON is accepted too.',
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 20 });
  } catch (e) {
    // An alias to an anchor that does not exist (`registry: *x`), or one that expands too far.
    throw usageError(`${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}.`, 'Fix the file: write each answer as a plain value (no `*alias` or `&anchor`); JSON is accepted too.');
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw usageError(`${file} must be a mapping of answer keys to values.`, `Valid keys: ${KEY_NAMES.join(', ')}.`);
  }
  const out: Inputs = {};
  for (const [k, v] of Object.entries(data)) {
    if (!(KEY_NAMES as string[]).includes(k)) {
      throw usageError(`unknown key "${k}" in ${file}.`, `Valid keys: ${KEY_NAMES.join(', ')}.`);
    }
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string') {
      throw usageError(
        `"${k}" in ${file} must be a string, not ${Array.isArray(v) ? 'a list' : typeof v} (${JSON.stringify(v)}).`,
        `Quote the value, e.g. ${k}: "${String(v)}".`,
      );
    }
    out[k as AnswerKey] = v;
  }
  return out;
}

function checkValue(key: AnswerKey, v: string, from: string): void {
  const spec = KEYS[key];
  const fix = `Fix ${spec.flag} or the "${key}:" key${from.startsWith('--') ? '' : ` (it came from ${from})`}.`;
  if (spec.choices && !spec.choices.includes(v)) {
    throw usageError(`"${v}" is not a valid ${spec.what}; choose one of: ${spec.choices.map((c) => (c.includes(' ') ? `"${c}"` : c)).join(', ')}.`, fix);
  }
  const why = spec.invalid?.(v);
  if (why) throw usageError(`"${v}" is not a valid ${spec.what}: ${why}.`, fix);
  const problem = spec.problem?.(v);
  if (problem) throw usageError(problem, spec.hint ?? fix);
}

/** Defaults that apply on the given target (the sim's scenario names, the subscription it serves). */
export interface Defaults {
  subscription?: string;
  resourceGroup?: string;
  registry?: string;
  targetRegistry?: string;
}

/** The sim's defaults for a scenario: its demo resource group and registries, and its subscription. */
export function simDefaults(scenario: string, subscription: string): Defaults {
  return {
    subscription,
    resourceGroup: 'acr-trust-demo',
    registry: 'acrtrustdemo',
    targetRegistry: scenario === 'two-registries' ? 'acrtrusttarget' : undefined,
  };
}

/**
 * Fills the remaining answers from `defaults` and the documented defaults (task acr-trust-task,
 * role AcrPush, target registry = registry). Anything still missing is exit 2 naming its flag and
 * file key.
 */
export function completeAnswers(inputs: Inputs, defaults: Defaults, { requireGoal = false } = {}): ResolvedAnswers {
  const target = (inputs.target ?? 'azure') as TargetKind;
  const pick = (k: keyof Defaults) => inputs[k] ?? defaults[k];
  const missing = (['subscription', 'resourceGroup', 'registry'] as const).filter((k) => !pick(k));
  if (missing.length) {
    throw usageError(
      `missing ${missing.length === 1 ? 'answer' : 'answers'}: ${missing.map((k) => `${KEYS[k].what} (${KEYS[k].flag}, or "${k}:" in the --answers file)`).join('; ')}.`,
      missing.includes('subscription')
        ? 'The subscription may also come from AZURE_SUBSCRIPTION_ID or `az account set`. Nothing that changes Azure is guessed.'
        : 'Nothing that changes Azure is guessed: give every answer, or use --target sim to practise.',
    );
  }
  if (requireGoal && target === 'azure' && !inputs.goal) {
    throw usageError(
      'missing answer: goal (--goal setup|demo, or "goal:" in the --answers file, or ACR_TRUST_GOAL).',
      '--goal setup stops after run-task and leaves the task reaching the registry through the bypass; --goal demo goes on to the negative test, which turns trusted services off. On a registry others use, --goal setup.',
    );
  }
  const registry = pick('registry')!;
  const answers: ResolvedAnswers = {
    target,
    subscription: pick('subscription')!,
    resourceGroup: pick('resourceGroup')!,
    registry,
    targetRegistry: pick('targetRegistry') ?? registry,
    task: inputs.task ?? DEFAULT_TASK,
    role: (inputs.role ?? DEFAULT_ROLE) as RoleName,
  };
  if (inputs.taskFile) answers.taskFile = inputs.taskFile;
  // The way the task reaches the closed registry: the bypass (the article), or a dedicated agent pool.
  if (inputs.agentPool) {
    answers.agentPool = inputs.agentPool;
    answers.agentPoolTier = inputs.agentPoolTier ?? DEFAULT_AGENT_POOL_TIER;
    if (inputs.agentPoolSubnet) answers.agentPoolSubnet = inputs.agentPoolSubnet;
  } else {
    const stray = (['agentPoolSubnet', 'agentPoolTier'] as const).filter((k) => inputs[k]);
    if (stray.length) {
      throw usageError(
        `${stray.map((k) => KEYS[k].flag).join(' and ')} ${stray.length === 1 ? 'says' : 'say'} how to build an agent pool, but no agent pool was named.`,
        'Add --agent-pool NAME (or "agentPool:" in the --answers file) to run the task on a dedicated agent pool; drop them to use the bypass.',
      );
    }
  }
  // On the sim the article's whole workflow stays the default; on Azure nothing is guessed.
  const goal = (inputs.goal as Goal | undefined) ?? (target === 'sim' ? 'demo' : undefined);
  if (goal) answers.goal = goal;
  if (answers.target === 'sim') {
    answers.simScenario = inputs.simScenario ?? 'default';
    if (inputs.simSpeed) answers.simSpeed = inputs.simSpeed as SimSpeed;
  }
  // Defaults come from the program, but check them too (a sim subscription, a registry default).
  for (const key of ['subscription', 'resourceGroup', 'registry', 'targetRegistry'] as const) checkValue(key, answers[key], 'defaults');
  return answers;
}

/** Writes the resolved answers as YAML that `--answers` replays. */
export function saveAnswers(file: string, answers: ResolvedAnswers): void {
  const body = Object.fromEntries(KEY_NAMES.filter((k) => answers[k] !== undefined).map((k) => [k, answers[k]]));
  writeFileAtomic(file, `# acr-trust answers — replay with: acr-trust run --answers ${file} --yes\n${yaml().stringify(body)}`);
}

/** The Answers the workflow's steps get (without the wizard's own keys). */
export function workflowAnswers(a: ResolvedAnswers): Answers {
  const { target: _t, goal: _g, simScenario: _s, simSpeed: _p, ...rest } = a;
  return rest;
}
