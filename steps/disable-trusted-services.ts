/**
 * Step 9 — disable-trusted-services: the article's negative test begins — take the bypass away.
 */
import type { Step } from '../src/engine/step.js';
import type { World } from './world.js';
import { setsRegistryProperty } from './lib/registry-network.js';
import { NEGATIVE_TEST_NOT_ON_POOL_PATH } from './lib/agent-pool.js';

export const disableTrustedServices: Step<World> = {
  ...setsRegistryProperty(
    {
      id: 'disable-trusted-services',
      title: 'Stop allowing trusted services on the target registry, to prove the bypass was what let the task in',

      why:
        'The article\'s negative test: with "allow trusted services" turned off (networkRuleBypassOptions = None) the ' +
        'registry must refuse the same task that just succeeded. If the next run then fails because of the network rule, ' +
        'the bypass — not anything else — was what let it in.',

      portal: 'Target registry → Settings → Networking → Firewall exception: clear "Allow trusted Microsoft services to access this container registry" → Save',

      az: ({ answers: a }) => [`az acr update -n ${a.targetRegistry} --allow-trusted-services false`],

      risky:
        'Every trusted service loses access to the registry, not only this task: Microsoft Defender for Cloud scanning, ' +
        'image import, Machine Learning, other tasks. `acr-trust reset` turns it back on.',
    },
    'networkRuleBypassOptions',
    'None',
  ),
  skipReason: NEGATIVE_TEST_NOT_ON_POOL_PATH,
};
