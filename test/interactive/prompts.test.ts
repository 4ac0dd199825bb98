/**
 * The questions, answered by scripted keys through @inquirer/testing: the validators' reasons,
 * the searchable pickers (type to filter, arrows, Enter), the confirmations and Ctrl-C.
 */
import { Writable } from 'node:stream';
import { render } from '@inquirer/testing';
import { describe, expect, it } from 'vitest';
import type { Registry } from '../../src/azure/types.js';
import type { Inputs, TargetKind } from '../../src/engine/answers.js';
import { AcrTrustError } from '../../src/errors.js';
import {
  askAnswers,
  cloudLists,
  confirmNextStep,
  confirmRiskyChange,
  validateRegistryName,
  validateTaskName,
  type AnswerLists,
  type Asker,
  type PromptContext,
} from '../../src/cli/prompts.js';
import { startSim } from '../../src/sim/index.js';
import { simCloud } from '../azure/sim-cloud.js';

const SUB_DEV = '11111111-1111-1111-1111-111111111111';
const SUB_PROD = '22222222-2222-2222-2222-222222222222';

function registry(name: string, over: Partial<Registry> = {}): Registry {
  return {
    id: `/subscriptions/${SUB_DEV}/resourceGroups/rg-app/providers/Microsoft.ContainerRegistry/registries/${name}`,
    name,
    resourceGroup: 'rg-app',
    location: 'westeurope',
    loginServer: `${name}.azurecr.io`,
    sku: 'Premium',
    publicNetworkAccess: 'Enabled',
    networkRuleBypassOptions: 'AzureServices',
    networkRuleBypassAllowedForTasks: false,
    ...over,
  };
}

const fixture: AnswerLists = {
  subscriptions: async () => [
    { subscriptionId: SUB_DEV, displayName: 'Contoso Dev', state: 'Enabled' },
    { subscriptionId: SUB_PROD, displayName: 'Contoso Prod', state: 'Enabled' },
  ],
  resourceGroups: async () => [
    { id: 'rg1', name: 'rg-app', location: 'westeurope' },
    { id: 'rg2', name: 'rg-network', location: 'westeurope' },
  ],
  registries: async () => [
    registry('contosobuild'),
    registry('contosoprod', { publicNetworkAccess: 'Disabled', networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '203.0.113.7' }] } }),
    registry('contosobasic', { sku: 'Basic' }),
  ],
};

/**
 * Questions asked in @inquirer/testing's streams. Inquirer ends its output after each prompt, so each
 * question draws through its own stream into the shared one (as every prompt does on process.stdout).
 * 200 columns: lines are not wrapped, so assertions read whole sentences.
 */
function scripted(context: PromptContext = {}): Asker {
  return (question) => {
    const screen = context.output!;
    const output = Object.assign(
      new Writable({ write: (chunk, _enc, done) => void screen.write(chunk, () => done()) }),
      { columns: 200, rows: 40 },
    );
    return question({ ...context, output });
  };
}

/** askAnswers as one inquirer prompt, so @inquirer/testing feeds every question the same keys. */
async function renderAsk(given: Inputs, lists: AnswerLists = fixture, seen: TargetKind[] = []) {
  // The goal is settled unless a test leaves it open (goal: undefined) to see it asked.
  const partial: Inputs = { goal: 'demo', ...given };
  const prompt = (props: { partial: Inputs }, context?: PromptContext) =>
    askAnswers(props.partial, {
      lists: async (target) => {
        seen.push(target);
        return lists;
      },
      ask: scripted(context),
    });
  return render(prompt as never, { partial } as never) as unknown as Promise<Rendered<Inputs>>;
}

interface Rendered<T> {
  answer: Promise<T>;
  events: { keypress(key: string | { name?: string; ctrl?: boolean }): void; type(text: string): void };
  getScreen(): string;
}

/** Waits until the screen shows `text` (questions follow each other asynchronously). */
async function screenWith(r: { getScreen(): string }, text: string | RegExp, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = r.getScreen();
    if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`screen never showed ${String(text)}; it shows:\n${screen}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe('validators', () => {
  it('take registry names of 5–50 letters and digits, and say why otherwise', () => {
    expect(validateRegistryName('contosoprod01')).toBe(true);
    expect(validateRegistryName('acr')).toMatch(/5–50 letters and digits/);
    expect(validateRegistryName('my-registry')).toMatch(/no hyphens/);
  });

  it('take task names of 5–50 letters, digits, hyphens or underscores, and say why otherwise', () => {
    expect(validateTaskName('acr-trust_task1')).toBe(true);
    expect(validateTaskName('abc')).toMatch(/5–50 letters, digits, hyphens or underscores/);
    expect(validateTaskName('bad task!')).toMatch(/5–50/);
  });
});

describe('askAnswers', () => {
  const settled: Inputs = { target: 'sim', subscription: SUB_DEV, resourceGroup: 'rg-app', registry: 'contosobuild', targetRegistry: 'contosoprod', role: 'AcrPush' };

  it('asks nothing that the flags and files settled', async () => {
    const r = await renderAsk({ ...settled, task: 'nightly-build' });
    await expect(r.answer).resolves.toEqual({ ...settled, goal: 'demo', task: 'nightly-build' });
  });

  it('shows why a task name is invalid while it is typed, and refuses it on Enter', async () => {
    const r = await renderAsk(settled);
    await screenWith(r, 'Task name');
    r.events.type('ab');
    expect(await screenWith(r, '✗')).toContain('ab   ✗ ARM requires 5–50 letters, digits, hyphens or underscores');
    r.events.keypress('enter');
    expect(await screenWith(r, '>')).toMatch(/> ARM requires 5–50 letters, digits, hyphens or underscores/);
    r.events.type('c-nightly');
    expect(await screenWith(r, 'abc-nightly')).not.toContain('✗');
    r.events.keypress('enter');
    await expect(r.answer).resolves.toMatchObject({ task: 'abc-nightly' });
  });

  it('offers the default task name on Enter', async () => {
    const r = await renderAsk(settled);
    await screenWith(r, 'Task name');
    r.events.keypress('enter');
    await expect(r.answer).resolves.toMatchObject({ task: 'acr-trust-task' });
  });

  it('picks subscription, resource group and registries from live lists: type to filter, arrows, Enter', async () => {
    const r = await renderAsk({ target: 'azure' });

    let screen = await screenWith(r, 'Contoso Dev');
    expect(screen).toContain(`Subscription (type to filter)`);
    expect(screen).toContain(`Contoso Dev  ${SUB_DEV}`);
    expect(screen).toContain(`Contoso Prod  ${SUB_PROD}`);
    r.events.type('prod');
    screen = await screenWith(r, /❯ Contoso Prod/);
    expect(screen).not.toContain('Contoso Dev');
    r.events.keypress('enter');

    screen = await screenWith(r, 'Resource group of the registries');
    expect(screen).toContain('rg-app  westeurope');
    r.events.keypress('down');
    await screenWith(r, /❯ rg-network/);
    r.events.keypress('up');
    await screenWith(r, /❯ rg-app/);
    r.events.keypress('enter');

    screen = await screenWith(r, 'Registry that owns the task');
    // SKU and the current network settings, on each line
    expect(screen).toContain('contosobuild  Premium  public access Enabled · no firewall rules · trusted services allowed · task bypass off');
    expect(screen).toContain('contosoprod  Premium  public access Disabled · firewall denies all but 1 IP rule · trusted services allowed · task bypass off');
    expect(screen).toContain('contosobasic  Basic');
    expect(screen).toContain('contosobuild.azurecr.io · westeurope'); // the highlighted one's description
    r.events.keypress('enter');

    screen = await screenWith(r, 'Network-restricted registry the task must reach');
    expect(screen).toMatch(/❯ contosobuild .*\(the task's own registry\)/);
    r.events.type('prod');
    await screenWith(r, /❯ contosoprod/);
    r.events.keypress('enter');

    await screenWith(r, 'Task name');
    r.events.keypress('enter');
    screen = await screenWith(r, "Role for the task's identity on contosoprod");
    expect(screen).toContain("pull and push — the article's choice");
    r.events.keypress('enter');

    await expect(r.answer).resolves.toEqual({
      target: 'azure',
      goal: 'demo',
      subscription: SUB_PROD,
      resourceGroup: 'rg-app',
      registry: 'contosobuild',
      targetRegistry: 'contosoprod',
      task: 'acr-trust-task',
      role: 'AcrPush',
    });
  });

  it('asks where to run first and lists what that target holds', async () => {
    const seen: TargetKind[] = [];
    const r = await renderAsk({ subscription: SUB_DEV, resourceGroup: 'rg-app', registry: 'contosobuild', targetRegistry: 'contosobuild', task: 'acr-trust-task', role: 'AcrPush' }, fixture, seen);
    const screen = await screenWith(r, 'Where should acr-trust run the workflow?');
    expect(screen).toContain('❯ The simulated Azure');
    expect(screen).toContain('No account needed');
    r.events.keypress('down');
    await screenWith(r, '❯ Your Azure subscription');
    r.events.keypress('enter');
    await expect(r.answer).resolves.toMatchObject({ target: 'azure' });
    expect(seen).toEqual(['azure']);
  });

  it('asks the goal right after the target, a sentence each: demo preselected on the sim, setup on Azure', async () => {
    const rest = { subscription: SUB_DEV, resourceGroup: 'rg-app', registry: 'contosobuild', targetRegistry: 'contosobuild', task: 'acr-trust-task', role: 'AcrPush' };
    const sim = await renderAsk({ ...rest, goal: undefined });
    await screenWith(sim, 'Where should acr-trust run the workflow?');
    sim.events.keypress('enter');
    let screen = await screenWith(sim, 'What should the run leave behind?');
    expect(screen).toContain('  Set up: stop once the task reaches the registry through the bypass, and leave it working.');
    expect(screen).toContain("❯ Demonstrate: the article's whole workflow, ending with the negative test that turns trusted services off.");
    sim.events.keypress('enter');
    await expect(sim.answer).resolves.toMatchObject({ target: 'sim', goal: 'demo' });

    const azure = await renderAsk({ ...rest, target: 'azure', goal: undefined });
    screen = await screenWith(azure, 'What should the run leave behind?');
    expect(screen).toContain('❯ Set up: stop once the task reaches the registry');
    azure.events.keypress('enter');
    await expect(azure.answer).resolves.toMatchObject({ target: 'azure', goal: 'setup' });
  });

  it('defaults the role to a repository role when the target registry uses ABAC', async () => {
    const lists = { ...fixture, registries: async () => [registry('contosoabac', { roleAssignmentMode: 'AbacRepositoryPermissions' })] };
    const r = await renderAsk({ target: 'sim', subscription: SUB_DEV, resourceGroup: 'rg-app', task: 'acr-trust-task' }, lists);
    await screenWith(r, 'Registry that owns the task');
    r.events.keypress('enter');
    await screenWith(r, 'Network-restricted registry');
    r.events.keypress('enter');
    const screen = await screenWith(r, 'Role for');
    expect(screen).toMatch(/❯ Container Registry Repository Writer/);
    r.events.keypress('enter');
    await expect(r.answer).resolves.toMatchObject({ registry: 'contosoabac', targetRegistry: 'contosoabac', role: 'Container Registry Repository Writer' });
  });

  it('falls back to a typed, validated name when a list cannot be read', async () => {
    const lists = {
      ...fixture,
      registries: async () => {
        throw new AcrTrustError('AuthorizationFailed: you may not list registries in rg-app', { code: 'AuthorizationFailed' });
      },
    };
    const r = await renderAsk({ target: 'azure', subscription: SUB_DEV, resourceGroup: 'rg-app', task: 'acr-trust-task', role: 'AcrPush' }, lists);
    const screen = await screenWith(r, 'Registry that owns the task');
    expect(screen).toContain('cannot list them: AuthorizationFailed');
    r.events.type('my-reg');
    await screenWith(r, 'my-reg   ✗ ARM requires 5–50 letters and digits (no hyphens');
    for (let i = 0; i < '-reg'.length; i++) r.events.keypress('backspace');
    r.events.type('registry');
    await screenWith(r, /myregistry$/m);
    r.events.keypress('enter');
    // the target registry defaults to the typed one
    await screenWith(r, /Network-restricted registry.*\(myregistry\)/);
    r.events.keypress('enter');
    await expect(r.answer).resolves.toMatchObject({ registry: 'myregistry', targetRegistry: 'myregistry' });
  });

  it('lets a bug in a list show instead of hiding it behind a typed fallback', async () => {
    const lists = { ...fixture, subscriptions: async () => Promise.reject(new TypeError('x is undefined')) };
    const r = await renderAsk({ target: 'azure' }, lists);
    await expect(r.answer).rejects.toThrow(TypeError);
  });

  it('turns Ctrl-C at a question into exit 130 with one line', async () => {
    const r = await renderAsk({ target: 'azure' });
    await screenWith(r, 'Subscription');
    r.events.keypress({ name: 'c', ctrl: true });
    const e = await r.answer.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AcrTrustError);
    expect((e as AcrTrustError).exitCode).toBe(130);
    expect((e as AcrTrustError).message).toBe('cancelled at a question; nothing was changed by it.');
  });

  it('works against the simulated Azure through the cloud adapter', async () => {
    const sim = await startSim({ scenario: 'two-registries' });
    try {
      const home = simCloud(sim);
      const lists = cloudLists(home, (sub) => simCloud({ ...sim, subscriptionId: sub }));
      const r = await renderAsk({ target: 'sim', task: 'acr-trust-task', role: 'AcrPush' }, lists);
      await screenWith(r, sim.subscriptionId);
      r.events.keypress('enter');
      await screenWith(r, 'acr-trust-demo');
      r.events.keypress('enter');
      const screen = await screenWith(r, 'acrtrusttarget');
      expect(screen).toContain('acrtrustdemo  Premium  public access Enabled');
      r.events.keypress('enter');
      await screenWith(r, 'Network-restricted registry');
      r.events.type('target');
      await screenWith(r, /❯ acrtrusttarget/);
      r.events.keypress('enter');
      await expect(r.answer).resolves.toMatchObject({
        subscription: sim.subscriptionId,
        resourceGroup: 'acr-trust-demo',
        registry: 'acrtrustdemo',
        targetRegistry: 'acrtrusttarget',
      });
    } finally {
      await sim.stop();
    }
  });
});

describe('confirmations', () => {
  const step = {
    id: 'disable-public-access',
    title: 'Disable public network access to the target registry',
    risky: "Every client that is not on a private endpoint or a trusted service loses access to the registry.",
  };
  const settings = { name: 'contosoprod', publicNetworkAccess: 'Enabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: true } as const;

  const renderConfirm = (fn: (ctx?: PromptContext) => Promise<boolean>) =>
    render(((_: unknown, ctx?: PromptContext) => fn(ctx)) as never, {} as never) as unknown as Promise<Rendered<boolean>>;

  it('shows the current network settings and who may lose access, and defaults to no', async () => {
    const r = await renderConfirm((ctx) => confirmRiskyChange(step, settings, scripted(ctx)));
    const screen = await screenWith(r, 'Go ahead');
    expect(screen).toContain('disable-public-access is about to change registry contosoprod: Disable public network access to the target registry.');
    expect(screen).toContain('Now: public access Enabled · no firewall rules · trusted services allowed · task bypass on');
    expect(screen).toContain('Who may lose access: Every client that is not on a private endpoint');
    expect(screen).toContain('Go ahead with this change? (y/N)');
    r.events.keypress('enter');
    await expect(r.answer).resolves.toBe(false);
  });

  it('goes ahead on y', async () => {
    const r = await renderConfirm((ctx) => confirmRiskyChange(step, settings, scripted(ctx)));
    await screenWith(r, 'Go ahead');
    r.events.type('y');
    r.events.keypress('enter');
    await expect(r.answer).resolves.toBe(true);
  });

  it('turns Ctrl-C at a confirmation into exit 130', async () => {
    const r = await renderConfirm((ctx) => confirmRiskyChange(step, settings, scripted(ctx)));
    await screenWith(r, 'Go ahead');
    r.events.keypress({ name: 'c', ctrl: true });
    await expect(r.answer).rejects.toMatchObject({ name: 'AcrTrustError', exitCode: 130 });
  });

  it('--pause: Enter runs the next step, n stops', async () => {
    const yes = await renderConfirm((ctx) => confirmNextStep(step, scripted(ctx)));
    expect(await screenWith(yes, 'Next:')).toContain('Next: disable-public-access — Disable public network access to the target registry. Run it? (Y/n)');
    yes.events.keypress('enter');
    await expect(yes.answer).resolves.toBe(true);

    const no = await renderConfirm((ctx) => confirmNextStep(step, scripted(ctx)));
    await screenWith(no, 'Next:');
    no.events.type('n');
    no.events.keypress('enter');
    await expect(no.answer).resolves.toBe(false);
  });
});
