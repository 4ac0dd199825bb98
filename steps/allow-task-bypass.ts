/**
 * Step 6 — allow-task-bypass: the target registry lets ACR Tasks' system identities through — the
 * second switch that Microsoft added after the article was written.
 */
import { setsRegistryProperty } from './lib/registry-network.js';
import { bypassSwitch } from './lib/agent-pool.js';

export const allowTaskBypass = bypassSwitch(setsRegistryProperty(
  {
    id: 'allow-task-bypass',
    title: 'Allow ACR Tasks to bypass the target registry\'s network rules (the 2025 task bypass policy)',

    why:
      'ACR Tasks left the trusted-services list: since 1 June 2025 a task that reaches a network-restricted registry with ' +
      'its system-assigned identity is refused (403) unless the registry sets networkRuleBypassAllowedForTasks = true ' +
      '("Manage network bypass policy for tasks"). Followed literally, the article\'s first run now fails without it. How ' +
      'this switch combines with "allow trusted services" is not documented; the safe model, which acr-trust and its ' +
      'simulator follow, is that a task needs both.',

    portal: 'Not in the portal yet: set it with the Azure CLI (az resource update, api-version 2025-06-01-preview or later)',

    az: ({ answers: a }) => [
      `az resource update --namespace Microsoft.ContainerRegistry --resource-type registries -n ${a.targetRegistry} -g ${a.resourceGroup} --api-version 2025-06-01-preview --set properties.networkRuleBypassAllowedForTasks=true`,
    ],
  },
  'networkRuleBypassAllowedForTasks',
  true,
));
