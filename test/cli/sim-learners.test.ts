/**
 * `acr-trust sim serve --scenario classroom --learners N` as the real binary: the room it seeds is
 * there through the sim's HTTPS API (the real SDK, trusting only the sim's CA) and in `sim show`;
 * a bad count, or --learners with another scenario, is exit 2 with one clear message and no cloud.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientSecretCredential } from '@azure/identity';
import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { ResourceManagementClient } from '@azure/arm-resources';
import { simClientOptions } from '../helpers/sim.js';
import { cli, expectNoStack, startCli, tempDir } from './helpers.js';

describe('acr-trust sim serve --learners', () => {
  it('seeds one resource group and one Premium registry per learner, served over HTTPS and shown by `sim show`', async () => {
    const state = join(tempDir(), 'room.json');
    const served = startCli(['sim', 'serve', '--scenario', 'classroom', '--learners', '3', '--state', state]);
    try {
      await served.afterLines(1);
      expect(served.lines.length, served.stderr).toBe(1);
      const line = JSON.parse(served.lines[0]!);
      // Signed in as the trainer (Owner of the subscription): a classroom refuses anonymous tokens.
      const caCert = readFileSync(line.caCertFile, 'utf8');
      const trainer = JSON.parse(readFileSync(join(line.joinDir, 'trainer.json'), 'utf8'));
      const credential = new ClientSecretCredential('adfs', trainer.clientId, trainer.clientSecret, { authorityHost: line.endpoint, tlsOptions: { ca: caCert } } as any);
      const options = simClientOptions({ endpoint: line.endpoint, caCert });
      const resources = new ResourceManagementClient(credential, line.subscriptionId, options);
      const registries = new ContainerRegistryManagementClient(credential, line.subscriptionId, options);

      const groups: string[] = [];
      for await (const g of resources.resourceGroups.list()) groups.push(g.name!);
      expect(groups.filter((g) => g.startsWith('learner')).sort()).toEqual(['learner01', 'learner02', 'learner03']);
      for (const n of ['01', '02', '03']) {
        const r = await registries.registries.get(`learner${n}`, `acrtrustlearner${n}`);
        expect(r).toMatchObject({ name: `acrtrustlearner${n}`, sku: { name: 'Premium' }, loginServer: `acrtrustlearner${n}.azurecr.io` });
      }
      await expect(registries.registries.get('learner04', 'acrtrustlearner04')).rejects.toMatchObject({ statusCode: 404 });

      const shown = cli(['sim', 'show', '--state', state, '--json']);
      expect(shown.status, shown.stderr).toBe(0);
      const doc = JSON.parse(shown.stdout);
      expect(doc).toMatchObject({ scenario: 'classroom', learners: 3 });
      expect(doc.registries.map((r: any) => r.name).filter((n: string) => n.startsWith('acrtrustlearner')).sort()).toEqual([
        'acrtrustlearner01',
        'acrtrustlearner02',
        'acrtrustlearner03',
      ]);
      const text = cli(['sim', 'show', '--state', state]);
      expect(text.stdout).toContain('scenario classroom (3 learners)');
    } finally {
      served.child.kill('SIGTERM');
    }
    expect((await served.exit).code).toBe(0);

    // The same room continues with the same count, and refuses another one.
    const other = cli(['sim', 'serve', '--scenario', 'classroom', '--learners', '4', '--state', state]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/classroom for 3 learners, not 4/);
    expectNoStack(other);
  });

  it('refuses a count that is not a whole number from 1 to 500 with exit 2, before seeding anything', () => {
    for (const bad of ['0', '501', '-3', 'abc', '1.5', '1e2', '']) {
      const state = join(tempDir(), 'room.json');
      const r = cli(['sim', 'serve', '--scenario', 'classroom', '--learners', bad, '--state', state]);
      expect(r.status, `--learners '${bad}': ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`Invalid --learners '${bad}': expected a whole number from 1 to 500.`);
      expect(r.stdout).toBe('');
      expectNoStack(r);
      expect(existsSync(state)).toBe(false);
    }
  });

  it('refuses --learners with another scenario, or with none on a new cloud, with exit 2', () => {
    const state = join(tempDir(), 'room.json');
    const abac = cli(['sim', 'serve', '--scenario', 'abac', '--learners', '3', '--state', state]);
    expect(abac.status).toBe(2);
    expect(abac.stderr).toContain("--learners applies only to --scenario classroom, not 'abac'.");
    expect(abac.stderr).toContain('--scenario classroom --learners N');
    expectNoStack(abac);

    const none = cli(['sim', 'serve', '--learners', '3', '--state', state]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--learners applies to the classroom scenario/);
    expectNoStack(none);
    expect(existsSync(state)).toBe(false);
  });

  it('is in the help, with the classroom scenario', () => {
    const help = cli(['sim', 'serve', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--learners <n>/);
    expect(help.stdout).toMatch(/classroom/);
  });
});
