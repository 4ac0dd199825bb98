/**
 * agent-pool (the agent-pool path only): the task runs on a dedicated agent pool of its registry,
 * joined to a subnet whose network reaches the target registry's private endpoint — the documented
 * alternative to the bypass (Microsoft's bypass-policy page; "Run an ACR task on a dedicated agent
 * pool", https://learn.microsoft.com/azure/container-registry/tasks-agent-pools). On this path no
 * bypass switch is turned on: the run reaches the closed registry over the private network.
 *
 * The pool is created when it does not exist (a long-running operation: minutes on Azure) and
 * adopted when it does (its subnet must be the one asked for: a pool's subnet cannot be changed).
 * `undo` puts the task back on the agents it used before and deletes the pool only when acr-trust
 * created it.
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import type { AgentPool, Registry } from '../src/azure/index.js';
import { vnetOf } from '../src/model/access.js';
import { onAgentPool, type World } from './world.js';
import { outputsOf, readTask, registryMissing, sh, type Blocked, type Ctx } from './lib/context.js';
import { agentPoolAzLines, agentPoolTradeOff, AGENT_POOL_DOCS, AGENT_POOL_REGIONS } from './lib/agent-pool.js';

export const agentPool: Step<World> = {
  id: 'agent-pool',
  title: 'Run the task on a dedicated agent pool in the target registry\'s network (instead of the bypass)',

  why:
    'The bypass is one way into a closed registry; a dedicated agent pool is the other. The task\'s runs go to VMs joined to ' +
    'a subnet of your virtual network, which reaches the registry through its private endpoint — so no network rule needs ' +
    'an exception and neither bypass switch is turned on. ' +
    agentPoolTradeOff(),

  portal: 'Not in the portal: agent pools are managed with the Azure CLI (az acr agentpool) or the REST API',

  az: (w) => agentPoolAzLines(w),

  skipReason: (w) =>
    onAgentPool(w) ? undefined : 'not used: the task reaches the registry through the bypass (no --agent-pool given); a pool is the alternative where the bypass cannot be used',

  // Creating a pool takes minutes on Azure; the task's PATCH follows at once.
  settle: { timeoutMs: 15 * 60_000, firstDelayMs: 5_000, maxDelayMs: 30_000, waitingFor: 'the agent pool to be provisioned' },

  async check(ctx): Promise<CheckResult> {
    const { answers: a } = ctx.world;
    const name = a.agentPool!;
    const found = await agentPoolRefusal(ctx, { warn: true });
    if ('status' in found) return found;
    const { pool, subnet } = found;

    // Without the task yet (a dry run before create-task), the pool is still what would change.
    const task = await readTask(ctx);
    const ready = pool?.provisioningState === undefined || pool.provisioningState === 'Succeeded';
    const onPool = task !== undefined && (task.agentPoolName ?? '').toLowerCase() === name.toLowerCase();
    if (task && pool && ready && onPool) {
      return {
        status: 'done',
        evidence: `task ${task.name} runs on agent pool ${pool.name} (${pool.tier ?? 'S1'}, ${pool.count ?? 1} instance(s), subnet ${subnet}), in the network of ${a.targetRegistry}'s private endpoint`,
      };
    }
    const changes = [
      !pool ? `create agent pool ${name} (${a.agentPoolTier ?? 'S1'}) in subnet ${subnet} — a long-running operation` : !ready ? `wait for agent pool ${name} (${pool.provisioningState})` : undefined,
      onPool ? undefined : !task ? `run task ${a.task} on it (once create-task has created the task)` : `run task ${task.name} on it (now: ${task.agentPoolName ? `agent pool ${task.agentPoolName}` : "Azure's shared agents"})`,
    ].filter(Boolean);
    return { status: 'pending', change: changes.join('; ') };
  },

  async apply(ctx) {
    const { answers: a, cloud } = ctx.world;
    const name = a.agentPool!;
    const home = await cloud.getRegistry(a.resourceGroup, a.registry);
    if (!home) throw new AcrTrustError(`Registry ${a.registry} was not found in resource group ${a.resourceGroup}.`, { code: 'ResourceNotFound', hint: 'Run the preflight step again.' });
    const task = await readTask(ctx);
    if (!task) throw new AcrTrustError(`Task ${a.task} does not exist in registry ${a.registry}.`, { hint: 'Run the create-task step first.' });
    // The agents the task used before, recorded once (before the first change) for `reset`.
    if (outputsOf(ctx, 'agent-pool').taskPoolBefore === undefined) ctx.record({ taskPoolBefore: task.agentPoolName ?? '' });
    const pool = await cloud.getAgentPool(a.resourceGroup, a.registry, name);
    if (!pool) {
      if (!AGENT_POOL_REGIONS.includes(home.location.toLowerCase().replace(/\s+/g, ''))) {
        ctx.detail(`${home.location} is not among the regions Microsoft lists for task agent pools (${AGENT_POOL_DOCS}); Azure may refuse the pool.`);
      }
      // Recorded before the create so a crash right after it still lets `reset` delete the pool.
      ctx.record({ created: true });
      ctx.progress(`creating agent pool ${name} (${a.agentPoolTier ?? 'S1'}) — minutes on Azure`);
      await cloud.createAgentPool(a.resourceGroup, a.registry, name, { location: home.location, tier: a.agentPoolTier ?? 'S1', subnetId: a.agentPoolSubnet! });
    }
    if ((task.agentPoolName ?? '').toLowerCase() !== name.toLowerCase()) await cloud.setTaskAgentPool(a.resourceGroup, a.registry, a.task, name);
    return { pool: name };
  },

  // The task goes back to the agents it used before; the pool is deleted only if acr-trust created it.
  async undo(ctx) {
    const { answers: a, cloud } = ctx.world;
    const recorded = outputsOf(ctx, 'agent-pool');
    const name = recorded.pool ?? a.agentPool;
    if (!name) return { changed: false, evidence: 'no agent pool was used: nothing to undo' };
    const did: string[] = [];
    const task = await readTask(ctx);
    if (task && recorded.taskPoolBefore !== undefined && (task.agentPoolName ?? '').toLowerCase() === name.toLowerCase() && recorded.taskPoolBefore.toLowerCase() !== name.toLowerCase()) {
      await cloud.setTaskAgentPool(a.resourceGroup, a.registry, a.task, recorded.taskPoolBefore || undefined);
      did.push(`task ${a.task} back on ${recorded.taskPoolBefore ? `agent pool ${recorded.taskPoolBefore}` : "Azure's shared agents"}`);
    }
    const pool = await cloud.getAgentPool(a.resourceGroup, a.registry, name);
    if (pool && recorded.created) {
      await cloud.deleteAgentPool(a.resourceGroup, a.registry, name);
      did.push(`deleted agent pool ${name} (created by acr-trust)`);
    }
    if (did.length) return { changed: true, evidence: did.join('; ') };
    if (pool) return { changed: false, evidence: `agent pool ${name} was not created by acr-trust: left as it is` };
    return { changed: false, evidence: `agent pool ${name} not found in ${a.registry}: nothing to undo` };
  },
};

/**
 * Every refusal of the agent-pool path that the live cloud decides before anything changes: the
 * task's registry missing or not Premium, an existing pool that cannot be adopted (no subnet,
 * another subnet, Failed/Canceled), a new pool without a subnet, a target registry without an
 * approved private endpoint. Called by preflight (so nothing changes before a refusal) and by the
 * agent-pool step itself. Returns the refusal, or the pool (undefined: to be created) and the
 * subnet it is (or will be) in. `warn`: say, as a detail, that the subnet is outside the endpoints'
 * networks (the step says it; preflight does not repeat it).
 */
export async function agentPoolRefusal(ctx: Ctx, { warn }: { warn: boolean }): Promise<Blocked | { pool: AgentPool | undefined; subnet: string }> {
  const { answers: a, cloud } = ctx.world;
  const home = await cloud.getRegistry(a.resourceGroup, a.registry);
  if (!home) return registryMissing(ctx, a.registry);
  if (home.sku !== 'Premium') return notPremium(home);
  const pool = await cloud.getAgentPool(a.resourceGroup, a.registry, a.agentPool!);
  const poolProblem = pool ? adoptProblem(ctx, pool) : a.agentPoolSubnet ? undefined : await subnetMissing(ctx);
  if (poolProblem) return poolProblem;
  const subnet = pool?.subnetId ?? a.agentPoolSubnet!;
  const reach = await reachProblem(ctx, subnet, warn);
  return reach ?? { pool, subnet };
}

/** Agent pools are a Premium feature: a refusal before anything changes. */
export function notPremium(home: Registry): Blocked {
  return {
    status: 'blocked',
    code: 'SkuNotPremium',
    reason: `Registry ${home.name} is ${home.sku}: dedicated agent pools need the Premium SKU (the pool belongs to the task's registry).`,
    hint: `Upgrade it (\`az acr update -n ${home.name} --sku Premium\`), or drop --agent-pool and reach the registry through the bypass.`,
    link: AGENT_POOL_DOCS,
  };
}

/** Why an existing pool cannot be adopted as asked, or undefined. */
function adoptProblem(ctx: Ctx, pool: AgentPool): Blocked | undefined {
  const { answers: a } = ctx.world;
  if (!pool.subnetId) {
    return {
      status: 'blocked',
      code: 'AgentPoolWithoutSubnet',
      reason: `Agent pool ${pool.name} of ${a.registry} is in no virtual network: its agents cannot reach a registry that is closed to the public.`,
      hint: `A pool's subnet cannot be changed: choose another pool name (--agent-pool) with --agent-pool-subnet, or delete this pool (\`az acr agentpool delete -r ${a.registry} -n ${pool.name}\`).`,
      link: AGENT_POOL_DOCS,
    };
  }
  if (a.agentPoolSubnet && a.agentPoolSubnet.toLowerCase() !== pool.subnetId.toLowerCase()) {
    return {
      status: 'blocked',
      code: 'AgentPoolSubnetDiffers',
      reason: `Agent pool ${pool.name} exists in subnet ${pool.subnetId}, not in ${a.agentPoolSubnet} as asked; a pool's subnet cannot be changed.`,
      hint: `Use the pool as it is (--agent-pool-subnet ${sh(pool.subnetId)}), or choose another pool name with --agent-pool.`,
      addArgs: ['--agent-pool-subnet', pool.subnetId],
    };
  }
  if (pool.provisioningState === 'Failed' || pool.provisioningState === 'Canceled') {
    return {
      status: 'blocked',
      code: 'AgentPoolNotReady',
      reason: `Agent pool ${pool.name} is ${pool.provisioningState}.`,
      hint: `Delete it (\`az acr agentpool delete -r ${a.registry} -n ${pool.name}\`) and run again to create it anew, or choose another name.`,
    };
  }
  return undefined;
}

/** The pool must be created and no subnet was given: the subnets the registry's endpoints are in, as a hint. */
async function subnetMissing(ctx: Ctx): Promise<Blocked> {
  const { answers: a, cloud } = ctx.world;
  const subnets = await cloud.privateEndpointSubnets(a.resourceGroup, a.targetRegistry).catch(() => []);
  return {
    status: 'blocked',
    code: 'AgentPoolSubnetMissing',
    reason: `Agent pool ${a.agentPool} does not exist yet, and no subnet was given to create it in.`,
    hint: subnets.length
      ? `Give --agent-pool-subnet with a subnet in the network of ${a.targetRegistry}'s private endpoint, e.g. ${subnets.map((s) => sh(s)).join(' or ')}.`
      : `Give --agent-pool-subnet with a subnet whose network reaches ${a.targetRegistry}'s private endpoint.`,
    // The command to run again needs the subnet: the first endpoint's (its network reaches the registry).
    addArgs: ['--agent-pool-subnet', subnets[0] ?? '<SUBNET_RESOURCE_ID>'],
    link: AGENT_POOL_DOCS,
  };
}

/**
 * Whether a pool in `subnet` can reach the target registry: the registry must have an approved
 * private endpoint, and (as the simulated Azure models it) one of them in the subnet's virtual
 * network. Peered networks with the registry's private DNS zone linked reach it too on Azure; acr-trust
 * cannot read peering, so a subnet elsewhere is refused only when the registry has no endpoint at all.
 */
async function reachProblem(ctx: Ctx, subnet: string, warn: boolean): Promise<Blocked | undefined> {
  const { answers: a, cloud } = ctx.world;
  const endpoints = await cloud.privateEndpointSubnets(a.resourceGroup, a.targetRegistry);
  if (endpoints.length === 0) {
    return {
      status: 'blocked',
      code: 'NoPrivateEndpoint',
      reason: `Registry ${a.targetRegistry} has no approved private endpoint: an agent pool's network has no way into it once it is closed.`,
      hint: `Create a private endpoint for ${a.targetRegistry} in the pool's virtual network (\`az network private-endpoint create -g ${a.resourceGroup} -n ${a.targetRegistry}-pe --vnet-name <VNET> --subnet <SUBNET> --private-connection-resource-id <registry id> --group-id registry --connection-name ${a.targetRegistry}\`, plus the privatelink.azurecr.io DNS zone), or drop --agent-pool and use the bypass.`,
      link: 'https://learn.microsoft.com/azure/container-registry/container-registry-private-link',
    };
  }
  const vnet = vnetOf(subnet);
  if (warn && !endpoints.some((e) => vnetOf(e) === vnet)) {
    ctx.detail(`subnet ${subnet} is not in the virtual network of ${a.targetRegistry}'s private endpoints (${endpoints.join(', ')}): the pool reaches the registry only if that network is peered with theirs and links the registry's private DNS zone.`);
  }
  return undefined;
}
