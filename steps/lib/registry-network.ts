/**
 * The three (four, with `disable-trusted-services`) steps that each set one network property of the
 * target registry share their check, apply, settle and undo here; each step file says only which
 * property, which value and why.
 */
import type { CheckResult, Outputs, SettleRule, Step, UndoOutcome } from '../../src/engine/step.js';
import type { NetworkPatch, NetworkSettings, Registry } from '../../src/azure/index.js';
import type { World } from '../world.js';
import { outputsOf, readTargetRegistry, registryMissing, type Ctx } from './context.js';

/** The one-value network properties a step may set. */
export type NetworkProperty = 'publicNetworkAccess' | 'networkRuleBypassOptions' | 'networkRuleBypassAllowedForTasks';

type StepText = Pick<Step<World>, 'id' | 'title' | 'why' | 'portal' | 'risky' | 'supersededBy' | 'az'>;

/**
 * A step that sets `property` to `value` on the target registry:
 * - check reads the registry (read-only);
 * - apply PATCHes that one property (idempotent: the same PATCH twice is harmless);
 * - settle re-reads briefly until the registry reports it;
 * - undo puts the property back to the value preflight recorded before anything changed (and does
 *   nothing without a record). preflight's own undo restores every network setting as well, so a
 *   full `reset` is correct either way; this lets `reset --only <step>` undo just this step.
 */
export function setsRegistryProperty<P extends NetworkProperty>(
  text: StepText,
  property: P,
  value: NetworkSettings[P],
): Step<World> {
  const target = `${property} = ${String(value)}`;
  const settle: SettleRule = { timeoutMs: 2 * 60_000, firstDelayMs: 1_000, maxDelayMs: 10_000, waitingFor: `the registry to report ${target}` };

  return {
    ...text,
    async check(ctx): Promise<CheckResult> {
      const registry = await readTargetRegistry(ctx);
      if (!registry) return registryMissing(ctx, ctx.world.answers.targetRegistry);
      if (registry[property] === value) return { status: 'done', evidence: `${target} on ${registry.name}` };
      return { status: 'pending', change: `set ${property} to ${String(value)} on ${registry.name} (now ${String(registry[property])})` };
    },
    async apply(ctx): Promise<Outputs | void> {
      await patchTarget(ctx, { [property]: value } as NetworkPatch);
    },
    settle,
    async undo(ctx): Promise<UndoOutcome> {
      const original = outputsOf(ctx, 'preflight').original;
      const name = ctx.world.answers.targetRegistry;
      if (!original) return { changed: false, evidence: `no original settings recorded: nothing to undo` };
      const registry = await readTargetRegistry(ctx);
      if (!registry) return { changed: false, evidence: `registry ${name} not found: nothing to undo` };
      if (registry[property] === original[property]) return { changed: false, evidence: `${property} = ${String(original[property])} on ${name}, as before (checked now)` };
      await patchTarget(ctx, { [property]: original[property] } as NetworkPatch);
      return { changed: true, evidence: `${property} back to ${String(original[property])} on ${name} (was ${String(registry[property])})` };
    },
  };
}

export async function patchTarget(ctx: Ctx, patch: NetworkPatch): Promise<Registry> {
  const { answers, cloud } = ctx.world;
  return cloud.updateRegistryNetwork(answers.resourceGroup, answers.targetRegistry, patch);
}

/** The network settings of a registry, as preflight records them. */
export function networkSettingsOf(registry: Registry): NetworkSettings {
  const s: NetworkSettings = {
    publicNetworkAccess: registry.publicNetworkAccess,
    networkRuleBypassOptions: registry.networkRuleBypassOptions,
    networkRuleBypassAllowedForTasks: registry.networkRuleBypassAllowedForTasks,
  };
  if (registry.networkRuleSet) s.networkRuleSet = registry.networkRuleSet;
  return s;
}

/** What to PATCH to bring `current` back to `original`: only the fields that differ. */
export function networkDiff(current: NetworkSettings, original: NetworkSettings): NetworkPatch {
  const patch: NetworkPatch = {};
  if (current.publicNetworkAccess !== original.publicNetworkAccess) patch.publicNetworkAccess = original.publicNetworkAccess;
  if (current.networkRuleBypassOptions !== original.networkRuleBypassOptions) patch.networkRuleBypassOptions = original.networkRuleBypassOptions;
  if (current.networkRuleBypassAllowedForTasks !== original.networkRuleBypassAllowedForTasks) {
    patch.networkRuleBypassAllowedForTasks = original.networkRuleBypassAllowedForTasks;
  }
  if (original.networkRuleSet && !sameRuleSet(current.networkRuleSet, original.networkRuleSet)) patch.networkRuleSet = original.networkRuleSet;
  return patch;
}

function sameRuleSet(a: NetworkSettings['networkRuleSet'], b: NetworkSettings['networkRuleSet']): boolean {
  const norm = (s: NetworkSettings['networkRuleSet']) =>
    s ? JSON.stringify([s.defaultAction, s.ipRules.map((r) => `${r.action}:${r.value}`).sort()]) : '';
  return norm(a) === norm(b);
}
