/** Subscriptions and tenants (Microsoft.Resources, subscription-level): what `az login` and the
 *  subscriptions SDK read to find where they are. */
import type { RouteModule, SimContext } from '../context.js';
import type { Subscription } from '../store.js';
import { page, requireSubscription } from './common.js';

/** 2022-12-01: @azure/arm-resources-subscriptions 2.x. 2019-11-01: az CLI 2.45 sign-in. Others: published versions. */
export const SUBSCRIPTION_API_VERSIONS = ['2022-12-01', '2021-01-01', '2020-01-01', '2019-11-01', '2019-06-01', '2018-06-01', '2016-06-01'] as const;

export function subscriptionResource(sim: SimContext, s: Subscription) {
  return {
    id: `/subscriptions/${s.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.subscriptionId,
    tenantId: sim.state.tenantId,
    displayName: s.displayName,
    state: s.state,
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
  };
}

export const subscriptionsRoutes: RouteModule = (router, sim) => {
  const apiVersions = SUBSCRIPTION_API_VERSIONS;
  router.on('GET', '/subscriptions', { name: 'subscriptions.list', apiVersions }, () => ({
    status: 200,
    body: page(sim.state.subscriptions.map((s) => subscriptionResource(sim, s))),
  }));
  router.on('GET', '/subscriptions/{subscriptionId}', { name: 'subscriptions.get', apiVersions }, (req) => ({
    status: 200,
    body: subscriptionResource(sim, requireSubscription(sim, req.params.subscriptionId!)),
  }));
  router.on('GET', '/tenants', { name: 'tenants.list', apiVersions }, () => ({
    status: 200,
    body: page([{ id: `/tenants/${sim.state.tenantId}`, tenantId: sim.state.tenantId, tenantCategory: 'Home', displayName: 'Simulated tenant', domains: ['sim.onmicrosoft.com'] }]),
  }));
};
