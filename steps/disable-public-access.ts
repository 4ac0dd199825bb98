/**
 * Step 7 — disable-public-access: the target registry is closed to the public network, so only the
 * bypass can let the task in.
 */
import { setsRegistryProperty } from './lib/registry-network.js';

export const disablePublicAccess = setsRegistryProperty(
  {
    id: 'disable-public-access',
    title: 'Disable public network access to the target registry',

    why:
      'The article closes the registry to the public network so that the next run can succeed only through the ' +
      'trusted-services bypass — proof that the bypass, and not an open network, let the task in. Disabling the public ' +
      'endpoint overrides every firewall (IP) rule and needs the Premium SKU.',

    portal: 'Target registry → Settings → Networking → Public access: "Disabled" → Save',

    // azure-cli's `acr update` also replaces the network rule set with defaultAction Deny when it
    // disables public access (_configure_public_network_access); acr-trust PATCHes only the switch.
    az: ({ answers: a }) => [
      `az acr update -n ${a.targetRegistry} --public-network-enabled false`,
      `# The CLI also sets the firewall's default action to Deny (acr-trust changes only public access); with public access disabled the firewall no longer applies either way`,
    ],

    risky:
      'Every client that is not on a private endpoint or a trusted service loses access to the registry: developers\' docker ' +
      'push/pull, CI pipelines, and clusters outside its virtual network. `acr-trust reset` re-enables it.',
  },
  'publicNetworkAccess',
  'Disabled',
);
