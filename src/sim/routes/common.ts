/** Lookups every ARM route needs: the subscription and resource group a path names, with ARM's
 *  404s when they do not exist. */
import { ArmError } from '../http.js';
import type { SimContext } from '../context.js';
import type { ResourceGroup, Subscription } from '../store.js';

export function requireSubscription(sim: SimContext, subscriptionId: string): Subscription {
  const sub = sim.state.subscriptions.find((s) => s.subscriptionId.toLowerCase() === subscriptionId.toLowerCase());
  if (!sub) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);
  return sub;
}

export function resourceGroupKey(subscriptionId: string, name: string): string {
  return `${subscriptionId}/${name}`.toLowerCase();
}

export function findResourceGroup(sim: SimContext, subscriptionId: string, name: string): ResourceGroup | undefined {
  return sim.state.resourceGroups[resourceGroupKey(subscriptionId, name)];
}

export function requireResourceGroup(sim: SimContext, subscriptionId: string, name: string): ResourceGroup {
  requireSubscription(sim, subscriptionId);
  const rg = findResourceGroup(sim, subscriptionId, name);
  if (!rg) {
    throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`, { 'x-ms-failure-cause': 'gateway' });
  }
  return rg;
}

export function resourceGroupId(rg: ResourceGroup): string {
  return `/subscriptions/${rg.subscriptionId}/resourceGroups/${rg.name}`;
}

/** The parsed parts of a resource id under a resource group (`…/providers/NS/type/name…`). */
export interface ParsedScope {
  subscriptionId?: string;
  resourceGroup?: string;
  /** The rest after the resource group (`providers/Microsoft.ContainerRegistry/registries/r`). */
  resourcePath?: string;
}

export function parseScope(scope: string): ParsedScope {
  const m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+)(?:\/(.+))?)?\/?$/i.exec(scope.replace(/\/{2,}/g, '/'));
  if (!m) return {};
  return { subscriptionId: m[1], resourceGroup: m[2], resourcePath: m[3] };
}

/** An ARM list page. The sim never pages: everything fits in one. */
export function page<T>(value: T[]): { value: T[] } {
  return { value };
}
