/**
 * Issue 13 §8: docs/training.md's two exercises on a seeded cloud (`sim serve --scenario basic-sku`,
 * `--scenario read-only`), run through Microsoft's Azure CLI with the workflow's own commands (read
 * from the doc) and checked against the refusal the doc promises. One sim per scenario (instant
 * speed). Skipped only when `az` is not installed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acrTrust, cleanEnv, findAz, root, serve, tmp, type Served } from './helpers.js';
import { exerciseBullet as bullet, find, numberedSteps, runScript, section, shellBlocks, transcript } from './training-doc.js';

const AZ = findAz();
const doc = readFileSync(join(root, 'docs/training.md'), 'utf8');
const steps = numberedSteps(shellBlocks(section(doc, "The article's workflow"))[0]);

const sims: Served[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
});

/** A `sim serve --scenario <name>` and az's environment pointed at it; returns a runner of doc scripts. */
async function scenario(name: string) {
  const dir = tmp();
  const state = join(dir, 'sim-cloud.json');
  sims.push(await serve(['--port', '0', '--state', state, '--scenario', name]));
  const prepared = acrTrust(['sim', 'az-env', '--state', state, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
  expect(prepared.status, prepared.stderr).toBe(0);
  const env = cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: dir });
  return (script: string) => runScript(script, env, dir);
}

describe.skipIf(!AZ)('docs/training.md exercises on seeded clouds, through az', () => {
  it('--scenario basic-sku: the doc\'s az acr update (step 4) is refused with the CLI\'s own Premium-SKU message', async () => {
    const text = bullet(doc, '`acr-trust sim serve --scenario basic-sku`');
    const message = /refused with `([^`]+)`/.exec(text)![1];
    const run = await scenario('basic-sku');
    const command = /`(az acr update [^`]+)`/.exec(text)![1];
    expect(steps.get(4)).toContain(command);
    const ran = run(`${command}\n${steps.get(4)!.split('\n').filter((l) => l.startsWith('az acr show')).join('\n')}`);
    const update = find(ran, '--public-network-enabled false');
    expect(update.status, transcript(ran)).not.toBe(0);
    expect(update.stderr).toContain(message);
    expect(JSON.parse(find(ran, 'az acr show').stdout)).toMatchObject({ public: 'Enabled' });
  }, 300_000);

  it('--scenario read-only: show/list work; step 1 and step 4 are refused with AuthorizationFailed and nothing changes', async () => {
    const text = bullet(doc, '`acr-trust sim serve --scenario read-only`');
    expect(text).toContain("refused with `AuthorizationFailed` (`… does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/tasks/write' …` / `…/registries/write`) and nothing changes");
    const run = await scenario('read-only');
    const ran = run(`${steps.get(1)!}\n${steps.get(4)!}\naz acr task list -r acrtrustdemo -o tsv --query "[].name"`);
    const create = find(ran, 'az acr task create');
    expect(create.status, transcript(ran)).not.toBe(0);
    expect(create.stderr).toContain('AuthorizationFailed');
    expect(create.stderr).toContain("'Microsoft.ContainerRegistry/registries/tasks/write'");
    const update = find(ran, '--public-network-enabled false');
    expect(update.status, transcript(ran)).not.toBe(0);
    expect(update.stderr).toContain('AuthorizationFailed');
    expect(update.stderr).toContain("'Microsoft.ContainerRegistry/registries/write'");
    const show = find(ran, 'public: publicNetworkAccess');
    expect(show.status, transcript(ran)).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ public: 'Enabled' });
    expect(find(ran, 'az acr task list').stdout.trim()).toBe('');
  }, 300_000);
});
