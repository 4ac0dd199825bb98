/**
 * Step 5 — allow-trusted-services: the target registry lets trusted Azure services bypass its
 * network rules.
 */
import { setsRegistryProperty } from './lib/registry-network.js';
import { bypassSwitch } from './lib/agent-pool.js';

export const allowTrustedServices = bypassSwitch(setsRegistryProperty(
  {
    id: 'allow-trusted-services',
    title: 'Allow trusted Microsoft services to bypass the target registry\'s network rules',

    why:
      'A network-restricted registry refuses every client outside its private endpoints and allowed IP ranges — including ' +
      'multi-tenant Azure services such as ACR Tasks, whose agents run on no network you can list. "Allow trusted services" ' +
      '(networkRuleBypassOptions = AzureServices) lets instances of a few named services through; they must still ' +
      'authenticate and hold a role. It is on by default for new registries, so this step often finds it done.',

    portal: 'Target registry → Settings → Networking → Firewall exception: "Allow trusted Microsoft services to access this container registry" → Save',

    az: ({ answers: a }) => [`az acr update -n ${a.targetRegistry} --allow-trusted-services true`],

    // The negative test turns it off again on purpose; from then on this step not holding is expected.
    supersededBy: 'disable-trusted-services',
  },
  'networkRuleBypassOptions',
  'AzureServices',
));
