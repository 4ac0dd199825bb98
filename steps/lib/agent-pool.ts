/**
 * The agent-pool path: what the wizard says about a dedicated agent pool as the alternative to the
 * bypass, and what it does when the bypass cannot be used.
 *
 * Facts (Microsoft Learn, "Run an ACR task on a dedicated agent pool",
 * https://learn.microsoft.com/azure/container-registry/tasks-agent-pools, and `az acr agentpool
 * create --help` in azure-cli 2.45): pools are a Premium-tier feature in preview; billing is based
 * on the pool's allocation (instances × hours, on top of the registry); tiers S1 (2 vCPUs, 3 GiB),
 * S2 (4, 8), S3 (8, 16), I6 (64, 216, isolated); Linux nodes only; available in preview in some
 * regions only (the page lists West US 2, South Central US, East US 2, East US, Central US, West
 * Europe, North Europe, Canada Central, East Asia and the US Gov regions Arizona, Texas, Virginia);
 * a pool in a virtual network needs the outbound rules the page lists (TCP 443 to the service
 * tags AzureKeyVault, Storage, EventHub, AzureActiveDirectory and AzureMonitor) in the subnet's
 * network security groups and routes; a run on a pool cannot be cancelled.
 */
import { isAcrTrustError, AcrTrustError } from '../../src/errors.js';
import type { Step } from '../../src/engine/step.js';
import type { World } from '../world.js';
import { sh } from './context.js';

/** The docs page every pool text points at. */
export const AGENT_POOL_DOCS = 'https://learn.microsoft.com/azure/container-registry/tasks-agent-pools';

/** Regions where the docs page lists task agent pools (preview). */
export const AGENT_POOL_REGIONS = ['westus2', 'southcentralus', 'eastus2', 'eastus', 'centralus', 'westeurope', 'northeurope', 'canadacentral', 'eastasia', 'usgovarizona', 'usgovtexas', 'usgovvirginia'];

/** The pool name the wizard suggests when the user has none. */
export const DEFAULT_AGENT_POOL = 'acrtrustpool';

/** ARM codes that mean the bypass switch cannot be turned on by this caller: its role, a linked scope, or a policy. */
export const BYPASS_REFUSALS: readonly string[] = ['AuthorizationFailed', 'LinkedAuthorizationFailed', 'RequestDisallowedByPolicy'];

/** The trade-off of a dedicated agent pool, in a few sentences (the sources: this module's docstring). */
export function agentPoolTradeOff(): string {
  return (
    'A dedicated agent pool runs the task on VMs in your own virtual network, so the closed registry is reached through its ' +
    'private endpoint and no bypass is turned on. The trade-off: the pool is billed per instance hour on top of the registry ' +
    '(scale it to 0 when idle: `az acr agentpool update --count 0`); it needs the Premium SKU; it is in preview, Linux only, in ' +
    'some regions only (East US, East US 2, West US 2, Central US, South Central US, West Europe, North Europe, Canada Central, ' +
    'East Asia, US Gov); and its subnet needs a network that reaches the registry\'s private endpoint plus outbound TCP 443 to the ' +
    `service tags AzureKeyVault, Storage, EventHub, AzureActiveDirectory and AzureMonitor (${AGENT_POOL_DOCS}).`
  );
}

/** What turning the bypass on opens, in one sentence (asked before it happens, in a terminal). */
export const BYPASS_OPENS =
  'The bypass lets any ACR task whose system identity holds a role on the registry past its network rules, from Azure\'s shared task agents, not from a network you control.';

/** The subnet to suggest: the one given, else the first private endpoint's subnet (its network reaches the endpoint), else a placeholder. */
export function suggestedSubnet(w: Pick<World, 'answers'>, endpointSubnets: readonly string[] = []): string {
  return w.answers.agentPoolSubnet ?? endpointSubnets[0] ?? '<SUBNET_RESOURCE_ID>';
}

/** The acr-trust command that switches this workflow to the agent-pool path. */
export function agentPoolCommand(w: Pick<World, 'answers'>, endpointSubnets: readonly string[] = []): string {
  return `acr-trust run --agent-pool ${sh(w.answers.agentPool ?? DEFAULT_AGENT_POOL)} --agent-pool-subnet ${sh(suggestedSubnet(w, endpointSubnets))}`;
}

/** The az lines of the agent-pool path: create the pool, put the task on it. */
export function agentPoolAzLines(w: Pick<World, 'answers'>, endpointSubnets: readonly string[] = []): string[] {
  const a = w.answers;
  const pool = a.agentPool ?? DEFAULT_AGENT_POOL;
  return [
    `az acr agentpool create -r ${a.registry} -n ${sh(pool)} --tier ${a.agentPoolTier ?? 'S1'} --subnet-id ${sh(suggestedSubnet(w, endpointSubnets))}`,
    `az acr task update -n ${a.task} -r ${a.registry} --agent-pool ${sh(pool)}`,
  ];
}

/**
 * A bypass switch's write refused for a reason the user cannot wait out — their role, a linked
 * scope, an Azure Policy: the same error, its hint completed with the agent-pool alternative (the
 * exact acr-trust command and az lines, the subnets of the registry's private endpoints when they
 * can be read). Any other error is returned as it is.
 */
export function withPoolAlternative(e: unknown, w: Pick<World, 'answers'>, endpointSubnets: readonly string[]): unknown {
  if (!isAcrTrustError(e) || !e.code || !BYPASS_REFUSALS.includes(e.code)) return e;
  const where = endpointSubnets.length
    ? ` The registry's private endpoints are in ${endpointSubnets.map((s) => s.replace(/\/subnets\/[^/]+$/i, '')).join(', ')}: a pool in a subnet of that network reaches it.`
    : ' The registry has no approved private endpoint that acr-trust can read: a pool\'s subnet must reach one.';
  const alternative =
    `Or do without the bypass: run the task on a dedicated agent pool in the registry's network — \`${agentPoolCommand(w, endpointSubnets)}\` ` +
    `(az: \`${agentPoolAzLines(w, endpointSubnets).join('` then `')}\`).${where} Pools cost per instance hour and need Premium (${AGENT_POOL_DOCS}).`;
  return new AcrTrustError(e.message, { ...e.options, hint: e.hint ? `${e.hint} ${alternative}` : alternative });
}

/** On the agent-pool path: why a step of the bypass path does not apply. */
export const NOT_ON_POOL_PATH = (w: Pick<World, 'answers'>): string | undefined =>
  w.answers.agentPool === undefined ? undefined : `not on the agent-pool path: the task reaches the registry through agent pool ${w.answers.agentPool}'s network, so no bypass switch is turned on`;

/** On the agent-pool path: why the negative test (which takes the bypass away) does not apply. */
export const NEGATIVE_TEST_NOT_ON_POOL_PATH = (w: Pick<World, 'answers'>): string | undefined =>
  w.answers.agentPool === undefined
    ? undefined
    : `not on the agent-pool path: the negative test takes the bypass away, and the task never used it — run-task already reached the registry with the task bypass off, through agent pool ${w.answers.agentPool}'s network`;

/**
 * A step that turns a bypass switch on, for the bypass path only: on the agent-pool path it does
 * not apply; a write refused for a reason waiting will not cure (role, linked scope, policy)
 * names the agent-pool alternative in its hint.
 */
export function bypassSwitch(step: Step<World>): Step<World> {
  return {
    ...step,
    skipReason: NOT_ON_POOL_PATH,
    async apply(ctx) {
      try {
        return await step.apply(ctx);
      } catch (e) {
        const { answers: a, cloud } = ctx.world;
        const subnets = await cloud.privateEndpointSubnets(a.resourceGroup, a.targetRegistry).catch(() => []);
        throw withPoolAlternative(e, ctx.world, subnets);
      }
    },
  };
}
