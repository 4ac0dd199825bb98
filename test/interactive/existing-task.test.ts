/**
 * Issue 11 §3 in a real terminal (tmux): before changing a task the user already had, the wizard
 * says what it will change and why and asks, default no; declining changes nothing on the task.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { withServedSim } from '../cli/helpers.js';
import { sdkClients } from '../helpers/sim.js';
import { binaryInTmux, type BinaryInTerminal } from './helpers.js';

let term: BinaryInTerminal | undefined;
afterEach(async () => {
  await term?.kill();
  term = undefined;
});

describe('a task you already have, in a terminal', () => {
  it('asks before changing it, saying what and why; the default (no) stops the run with the task untouched, exit 1', () =>
    withServedSim(async ({ endpoint, caCertFile, subscriptionId }) => {
      const { registries } = sdkClients({ endpoint, caCert: readFileSync(caCertFile, 'utf8'), subscriptionId });
      // As `az acr task create -n legacy -r acrtrustdemo --cmd … -c /dev/null` makes it: no identity, default credentials.
      await registries.tasks.beginCreateAndWait('acr-trust-demo', 'acrtrustdemo', 'legacy', {
        location: 'eastus',
        platform: { os: 'Linux' },
        step: { type: 'EncodedTask', encodedTaskContent: Buffer.from('steps:\n  - cmd: $Registry/hello-world\n').toString('base64') },
      });
      const before = await registries.tasks.get('acr-trust-demo', 'acrtrustdemo', 'legacy');

      const t = (term = await binaryInTmux([
        'run', '--target', 'sim', '--endpoint', endpoint, '--ca', caCertFile, '--goal', 'demo',
        '--subscription', subscriptionId, '--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo', '--target-registry', 'acrtrustdemo', '--task', 'legacy', '--role', 'AcrPush', '--workdir', 'wd', '--sim-speed', 'instant',
      ]));
      const screen = await t.waitForText(/\? create-task is about to change your existing task legacy[\s\S]*Go ahead with this change\? \(y\/N\)/, 30_000);
      expect(screen).toContain('give it a system-assigned identity (now None); set loginMode None (now Default)');
      expect(screen).toContain('Why: Task legacy is yours (acr-trust did not create it).');
      await t.sendKeys('Enter'); // the default is no
      expect(await t.waitForExit()).toBe(1);
      expect(await t.screen()).toContain('acr-trust: stopped at create-task (blocked): not confirmed, so nothing was changed: change your existing task legacy');

      const after = await registries.tasks.get('acr-trust-demo', 'acrtrustdemo', 'legacy');
      expect(after.identity?.type ?? 'None').toBe(before.identity?.type ?? 'None');
      expect(after.credentials).toEqual(before.credentials);
    }), 90_000);
});
