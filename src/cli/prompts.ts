/**
 * Every question acr-trust asks, behind one module, so tests script the answers and a question
 * nobody expected fails the test instead of hanging it.
 *
 * - `askAnswers` asks, before any step starts, what the flags, the answers file, the saved answers
 *   and the environment left open: where to run, the goal (set up, or demonstrate), then subscription, resource group and registries
 *   picked from live lists (searchable, with SKU and network settings), the task name, the role.
 * - `confirmRiskyChange` asks before a step that can cut other clients off (default: no).
 * - `confirmNextStep` is `--pause`: Enter runs the next step.
 *
 * A question is asked through an `Asker`: straight in the terminal (`askInTerminal`), or inside the
 * live step list (`LiveRenderer.asker`), which listr2 needs to keep the screen intact.
 * Ctrl-C at a prompt (inquirer's `ExitPromptError`, matched by name) becomes exit 130 with one line.
 */
// The prompts acr-trust uses, each from its own package (`@inquirer/prompts` would load every prompt
// inquirer has, the editor's charset detection and encodings too): select for the first question,
// the others when a question needs them.
import type confirmPrompt from '@inquirer/confirm';
import type inputPrompt from '@inquirer/input';
import type searchPrompt from '@inquirer/search';
import select from '@inquirer/select';
import type { NetworkSettings, Registry, ResourceGroup, Subscription } from '../azure/types.js';
import { DEFAULT_ROLE, DEFAULT_TASK, KEYS, ROLES, type AnswerKey, type Goal, type Inputs, type TargetKind } from '../engine/answers.js';
import type { Step } from '../engine/step.js';
import { AcrTrustError, isAcrTrustError } from '../errors.js';
import type { RoleName } from '../../steps/world.js';
import { describeNetwork, wrap } from './explain.js';

/** Where a prompt reads keys and draws (inquirer's context): the terminal unless a test says otherwise. */
export type PromptContext = NonNullable<Parameters<typeof select>[1]>;

async function input(config: Parameters<typeof inputPrompt>[0], context?: PromptContext): Promise<string> {
  return (await import('@inquirer/input')).default(config, context);
}

async function search<V>(config: Parameters<typeof searchPrompt<V>>[0], context?: PromptContext): Promise<V> {
  return (await import('@inquirer/search')).default(config, context);
}

async function confirm(config: Parameters<typeof confirmPrompt>[0], context?: PromptContext): Promise<boolean> {
  return (await import('@inquirer/confirm')).default(config, context);
}

/** Asks one question: runs `question` with the context to draw in, and returns its answer. */
export type Asker = <V>(question: (context: PromptContext) => Promise<V>) => Promise<V>;

/** Questions asked straight in the terminal (or in the streams a test passes). */
export function askInTerminal(context: PromptContext = {}): Asker {
  return (question) => question(context);
}

/** The live lists the pickers show; the same calls serve the simulated Azure and Azure. */
export interface AnswerLists {
  subscriptions(): Promise<Subscription[]>;
  resourceGroups(subscriptionId: string): Promise<ResourceGroup[]>;
  registries(subscriptionId: string, resourceGroup: string): Promise<Registry[]>;
}

/** The cloud verbs the lists need (a `Cloud` from src/azure has them). */
export interface ListingCloud {
  listSubscriptions(): Promise<Subscription[]>;
  listResourceGroups(): Promise<ResourceGroup[]>;
  listRegistries(resourceGroup?: string): Promise<Registry[]>;
}

/** Lists through the cloud adapter: subscriptions from `home`, the rest from `connectTo(subscription)`. */
export function cloudLists(home: ListingCloud, connectTo: (subscriptionId: string) => ListingCloud): AnswerLists {
  return {
    subscriptions: () => home.listSubscriptions(),
    resourceGroups: (sub) => connectTo(sub).listResourceGroups(),
    registries: (sub, rg) => connectTo(sub).listRegistries(rg),
  };
}

export interface AskDeps {
  /** The live lists for the chosen target (for `sim`, the caller starts or reaches the sim here). */
  lists(target: TargetKind): Promise<AnswerLists>;
  /** How questions are asked; default: in the terminal. */
  ask?: Asker;
}

/** An answer's rule from answers.ts (the one place names are checked), as inquirer wants it. */
const ruleOf =
  (key: AnswerKey) =>
  (value: string): true | string =>
    KEYS[key].invalid?.(value) ?? true;

/** Registry names as ARM takes them: true, or the reason shown under the prompt. */
export const validateRegistryName = ruleOf('registry');

/** Task names as ARM takes them: true, or the reason shown under the prompt. */
export const validateTaskName = ruleOf('task');

/**
 * Asks for every answer `partial` leaves open and returns the inputs with them filled in, ready for
 * `completeAnswers`. Nothing is asked for a key that already has a value.
 */
export async function askAnswers(partial: Inputs, deps: AskDeps): Promise<Inputs> {
  const ask = deps.ask ?? askInTerminal();
  const a: Inputs = { ...partial };
  return cancellable(async () => {
    const target = (a.target ??= await ask((ctx) =>
      select<TargetKind>(
        {
          message: 'Where should acr-trust run the workflow?',
          choices: [
            { value: 'sim', name: 'The simulated Azure', description: 'No account needed: a simulated Azure on this machine. Nothing real changes.' },
            { value: 'azure', name: 'Your Azure subscription', description: 'Changes real resources: a task, a role assignment and the registry\'s network settings.' },
          ],
        },
        ctx,
      ),
    )) as TargetKind;
    // The target's lists load (the embedded sim starts) while the goal is asked.
    const loading = deps.lists(target);
    loading.catch(() => {});
    a.goal ??= await ask((ctx) =>
      select<Goal>(
        {
          message: 'What should the run leave behind?',
          choices: [
            { value: 'setup', name: 'Set up: stop once the task reaches the registry through the bypass, and leave it working.' },
            { value: 'demo', name: "Demonstrate: the article's whole workflow, ending with the negative test that turns trusted services off." },
          ],
          default: target === 'sim' ? 'demo' : 'setup',
        },
        ctx,
      ),
    );
    const lists = await loading;

    const subscription = (a.subscription ??= await pick(ask, {
      message: 'Subscription',
      load: () => lists.subscriptions(),
      choice: (s) => ({ value: s.subscriptionId, name: `${s.displayName}  ${s.subscriptionId}`, description: `state ${s.state}${s.tenantId ? ` · tenant ${s.tenantId}` : ''}` }),
      typed: { what: 'subscription id', validate: ruleOf('subscription') },
    }));

    const resourceGroup = (a.resourceGroup ??= await pick(ask, {
      message: 'Resource group of the registries',
      load: () => lists.resourceGroups(subscription),
      choice: (g) => ({ value: g.name, name: `${g.name}  ${g.location}` }),
      typed: { what: 'resource group name', validate: ruleOf('resourceGroup') },
    }));

    let registries: Registry[] | undefined;
    const loadRegistries = async () => (registries ??= await lists.registries(subscription, resourceGroup));

    const registry = (a.registry ??= await pick(ask, {
      message: 'Registry that owns the task',
      load: loadRegistries,
      choice: registryChoice,
      typed: { what: 'registry name', validate: validateRegistryName },
    }));

    a.targetRegistry ??= await pick(ask, {
      message: 'Network-restricted registry the task must reach',
      // The task's own registry first: the article's example uses one registry.
      load: async () => [...(await loadRegistries())].sort((x, y) => Number(y.name === registry) - Number(x.name === registry)),
      choice: (r) => {
        const c = registryChoice(r);
        return r.name === registry ? { ...c, name: `${c.name}  (the task's own registry)` } : c;
      },
      typed: { what: 'registry name', validate: validateRegistryName, default: registry },
    });

    a.task ??= await ask((ctx) =>
      input(
        {
          message: 'Task name',
          default: DEFAULT_TASK,
          validate: validateTaskName,
          transformer: liveReason(validateTaskName),
        },
        ctx,
      ),
    );

    const abac = registries?.find((r) => r.name === a.targetRegistry)?.roleAssignmentMode === 'AbacRepositoryPermissions';
    a.role ??= await ask((ctx) =>
      select<RoleName>(
        {
          message: `Role for the task's identity on ${a.targetRegistry}`,
          choices: ROLES.map((role) => ({ value: role, name: role, description: ROLE_NOTES[role](abac) })),
          default: abac ? 'Container Registry Repository Writer' : DEFAULT_ROLE,
        },
        ctx,
      ),
    );
    return a;
  });
}

const ROLE_NOTES: Record<RoleName, (abac: boolean) => string> = {
  AcrPush: (abac) => `pull and push — the article's choice${abac ? '. This registry uses ABAC repository permissions and ignores it: acr-trust assigns Container Registry Repository Writer instead.' : ''}`,
  AcrPull: (abac) => `pull only${abac ? '. This registry uses ABAC repository permissions and ignores it: acr-trust assigns Container Registry Repository Reader instead.' : ''}`,
  'Container Registry Repository Writer': () => 'pull and push, for registries with ABAC repository permissions',
  'Container Registry Repository Reader': () => 'pull only, for registries with ABAC repository permissions',
};

/**
 * Asks before a step that can cut other clients off: shows the registry's current network settings
 * and who may lose access. Default: no.
 */
export async function confirmRiskyChange(
  step: Pick<Step<unknown>, 'id' | 'title' | 'risky'>,
  registry: Pick<Registry, 'name'> & NetworkSettings,
  ask: Asker = askInTerminal(),
): Promise<boolean> {
  const message = (width: number) =>
    [
      ...wrap(`${step.id} is about to change registry ${registry.name}: ${step.title}.`, width - 2),
      ...wrap(describeNetwork(registry), width, '  Now: ', '       '),
      ...(step.risky ? wrap(step.risky, width, '  Who may lose access: ', '    ') : []),
      'Go ahead with this change?',
    ].join('\n');
  return cancellable(() => ask((ctx) => confirm({ message: message(columnsOf(ctx)), default: false }, ctx)));
}

/**
 * Before a step changes something the user already had (their own task): what it changes and why
 * (the check's `change` and `confirm` texts), default no — declining stops the run there.
 */
export async function confirmExistingChange(step: Pick<Step<unknown>, 'id'>, change: string, why: string, ask: Asker = askInTerminal()): Promise<boolean> {
  const message = (width: number) =>
    [...wrap(`${step.id} is about to ${change}.`, width - 2), ...wrap(why, width, '  Why: ', '       '), 'Go ahead with this change?'].join('\n');
  return cancellable(() => ask((ctx) => confirm({ message: message(columnsOf(ctx)), default: false }, ctx)));
}

/** `--pause`: waits for Enter before the next step; `n` stops the run here (resumable). */
export async function confirmNextStep(step: Pick<Step<unknown>, 'id' | 'title'>, ask: Asker = askInTerminal()): Promise<boolean> {
  return cancellable(() => ask((ctx) => confirm({ message: `Next: ${step.id} — ${step.title}. Run it?`, default: true }, ctx)));
}

/** The width a question may use: its stream's, else the terminal's (listr2's prompt area has none). */
function columnsOf(ctx: PromptContext): number {
  const columns = (ctx.output as { columns?: number } | undefined)?.columns;
  return columns && Number.isFinite(columns) ? columns : process.stdout.columns || 80;
}

/** Inquirer's errors for Ctrl-C, an aborted signal and a cancelled prompt, matched by name. */
const CANCELLED = new Set(['ExitPromptError', 'AbortPromptError', 'CancelPromptError']);

export function isPromptCancel(e: unknown): boolean {
  return e instanceof Error && CANCELLED.has(e.name);
}

/** Runs questions; Ctrl-C at any of them is exit 130 with one line, never a stack trace. */
async function cancellable<T>(questions: () => Promise<T>): Promise<T> {
  try {
    return await questions();
  } catch (e) {
    if (isPromptCancel(e)) throw new AcrTrustError('cancelled at a question; nothing was changed by it.', { exitCode: 130 });
    throw e;
  }
}

interface Choice {
  value: string;
  name: string;
  description?: string;
}

interface PickSpec<T> {
  message: string;
  load(): Promise<T[]>;
  choice(item: T): Choice;
  /** When the list is empty or cannot be read: type the value instead. */
  typed: { what: string; validate(v: string): true | string; default?: string };
}

/**
 * A searchable picker over a live list: type to filter, arrows to move, Enter to pick. An empty or
 * unreadable list falls back to typing the value, validated as you type.
 */
async function pick<T>(ask: Asker, spec: PickSpec<T>): Promise<string> {
  let choices: Choice[];
  let why: string;
  try {
    choices = (await spec.load()).map((item) => spec.choice(item));
    why = 'none found';
  } catch (e) {
    if (!isAcrTrustError(e)) throw e; // a bug, not a refusal: let it show
    choices = [];
    why = `cannot list them: ${(e as Error).message}`;
  }
  if (choices.length === 0) {
    return ask((ctx) =>
      input(
        {
          message: `${spec.message} (${why}; type the ${spec.typed.what})`,
          default: spec.typed.default,
          validate: spec.typed.validate,
          transformer: liveReason(spec.typed.validate),
        },
        ctx,
      ),
    );
  }
  return ask((ctx) =>
    search<string>(
      {
        message: `${spec.message} (type to filter)`,
        source: (term) => {
          const t = (term ?? '').toLowerCase();
          return choices.filter((c) => c.name.toLowerCase().includes(t));
        },
        pageSize: 10,
      },
      ctx,
    ),
  );
}

function registryChoice(r: Registry): Choice {
  const settings = describeNetwork(r);
  return {
    value: r.name,
    name: `${r.name}  ${r.sku}  ${settings}`,
    description: [
      `${r.loginServer} · ${r.location}`,
      r.sku === 'Premium' ? undefined : `${r.sku}: network rules and disabling public access need Premium`,
      r.roleAssignmentMode === 'AbacRepositoryPermissions' ? 'ABAC repository permissions: AcrPush/AcrPull do nothing here' : undefined,
    ]
      .filter(Boolean)
      .join('\n'),
  };
}

/** Shows, while typing, why the value is not valid yet (the prompt still refuses it on Enter). */
function liveReason(validate: (v: string) => true | string): (value: string, state: { isFinal: boolean }) => string {
  return (value, { isFinal }) => {
    if (isFinal || value === '') return value;
    const verdict = validate(value);
    return verdict === true ? value : `${value}   ✗ ${verdict}`;
  };
}

/**
 * Before a bypass switch is turned on (interactive mode): what the bypass opens, in one sentence,
 * and whether to go ahead. Default yes (it is the article's way); no stops the run there and the
 * agent pool is offered instead.
 */
export async function confirmBypass(step: Pick<Step<unknown>, 'id' | 'title'>, change: string, opens: string, ask: Asker = askInTerminal()): Promise<boolean> {
  const message = (width: number) =>
    [...wrap(`${step.id} is about to ${change}.`, width - 2), ...wrap(opens, width, '  What it opens: ', '    '), 'Turn the bypass on?'].join('\n');
  return cancellable(() => ask((ctx) => confirm({ message: message(columnsOf(ctx)), default: true }, ctx)));
}

/** What the wizard knows when it offers the agent pool. */
export interface AgentPoolOffer {
  /** Why the bypass cannot be used (a refusal, or the user declined it), one sentence. */
  why: string;
  /** The trade-off of a pool (cost, Premium, regions, network), a paragraph. */
  tradeOff: string;
  /** The subnets of the target registry's approved private endpoints (their networks reach it). */
  endpointSubnets: string[];
  /** The pool name to suggest. */
  defaultName: string;
  /** An existing pool of that name: its subnet is used as it is. */
  existing?: (name: string) => Promise<{ subnetId?: string } | undefined>;
}

/**
 * When the bypass cannot be used: offers a dedicated agent pool instead (default no: a pool is
 * billed per instance hour), then asks its name and subnet — picked among the subnets of the
 * registry's private endpoints when acr-trust can read them, or typed (a subnet resource id).
 * Returns the answers to switch to the agent-pool path, or undefined when the user stays.
 */
export async function offerAgentPool(offer: AgentPoolOffer, ask: Asker = askInTerminal()): Promise<{ agentPool: string; agentPoolSubnet?: string } | undefined> {
  return cancellable(async () => {
    const message = (width: number) =>
      [
        ...wrap(offer.why, width - 2),
        ...wrap(offer.tradeOff, width, '  ', '  '),
        'Run the task on a dedicated agent pool instead of the bypass?',
      ].join('\n');
    if (!(await ask((ctx) => confirm({ message: message(columnsOf(ctx)), default: false }, ctx)))) return undefined;
    const validName = ruleOf('agentPool');
    const agentPool = await ask((ctx) => input({ message: 'Agent pool name (created in the task\'s registry if it does not exist)', default: offer.defaultName, validate: validName, transformer: liveReason(validName) }, ctx));
    const existing = await offer.existing?.(agentPool);
    if (existing?.subnetId) return { agentPool };
    const validSubnet = ruleOf('agentPoolSubnet');
    const typed = () =>
      ask((ctx) =>
        input(
          {
            message: `Subnet for the pool (its resource id; its network must reach the registry's private endpoint${offer.endpointSubnets.length ? '' : ' — none found that acr-trust can read'})`,
            validate: validSubnet,
            transformer: liveReason(validSubnet),
          },
          ctx,
        ),
      );
    if (offer.endpointSubnets.length === 0) return { agentPool, agentPoolSubnet: await typed() };
    const OTHER = '\u0000other';
    const picked = await ask((ctx) =>
      select<string>(
        {
          message: 'Subnet for the pool (in the network of the registry\'s private endpoint)',
          choices: [
            ...offer.endpointSubnets.map((s) => ({ value: s, name: s, description: "the private endpoint's own subnet: its network reaches the registry" })),
            { value: OTHER, name: 'Another subnet of that network (type its resource id)' },
          ],
        },
        ctx,
      ),
    );
    return { agentPool, agentPoolSubnet: picked === OTHER ? await typed() : picked };
  });
}
