/**
 * Issue 13 §3: ABAC registries and `credentials.sourceRegistry.identity` (api-version
 * 2025-03-01-preview). Raw ARM requests against the sim over HTTPS: a task with the source
 * identity and Container Registry Repository Writer pushes to its own ABAC registry; without it
 * the push is refused; a quick build without `--source-acr-auth-id` fails right after the source,
 * with acb's own line; with `[caller]` and a repository role for the caller it pushes.
 */
import { describe, expect, it } from 'vitest';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';
import { DEMO_REGISTRY, DEMO_RESOURCE_GROUP, SIM_CALLER_ID } from '../../src/sim/scenarios.js';
import { rawRequest, withSim } from '../helpers/sim.js';
import type { RunningSim } from '../../src/sim/index.js';

const API = '2025-03-01-preview';
const YAML = 'version: v1.1.0\nsteps:\n  - build: -t $Registry/app:{{.Run.ID}} .\n  - push: ["$Registry/app:{{.Run.ID}}"]\n';

function paths(sim: RunningSim) {
  const registry = `/subscriptions/${sim.subscriptionId}/resourceGroups/${DEMO_RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/${DEMO_REGISTRY}`;
  return { registry, task: (name: string) => `${registry}/tasks/${name}?api-version=${API}`, schedule: `${registry}/scheduleRun?api-version=${API}` };
}

async function ok(p: Promise<{ status: number; body: any; text: string }>): Promise<any> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${r.status}: ${r.text}`);
  return r.body;
}

async function assign(sim: RunningSim, principalId: string, role: string, scope: string) {
  const name = crypto.randomUUID();
  await ok(rawRequest(sim, 'PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`, { body: { properties: { roleDefinitionId: roleDefinitionId(sim.subscriptionId, role), principalId, principalType: 'ServicePrincipal' } } }));
}

async function runLog(sim: RunningSim, registry: string, runId: string): Promise<string> {
  const { logLink } = await ok(rawRequest(sim, 'POST', `${registry}/runs/${runId}/listLogSasUrl?api-version=${API}`));
  const url = new URL(logLink);
  return (await rawRequest(sim, 'GET', `${url.pathname}${url.search}`, { auth: false })).text;
}

describe('ABAC registries: the source registry identity', () => {
  it('a task with sourceRegistry.identity [system] and Repository Writer pushes to its own registry; without the identity it cannot', async () => {
    await withSim({ scenario: 'abac' }, async (sim) => {
      const p = paths(sim);
      const body = (credentials: unknown) => ({
        location: 'eastus',
        identity: { type: 'SystemAssigned' },
        properties: { platform: { os: 'linux' }, step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(YAML).toString('base64') }, credentials },
      });
      const withIdentity = await ok(rawRequest(sim, 'PUT', p.task('abac-task'), { body: body({ sourceRegistry: { loginMode: 'Default', identity: '[system]' } }) }));
      expect(withIdentity.properties.credentials.sourceRegistry).toEqual({ loginMode: 'Default', identity: '[system]' });
      const without = await ok(rawRequest(sim, 'PUT', p.task('plain-task'), { body: body({ sourceRegistry: { loginMode: 'Default' } }) }));
      // AcrPush does nothing on an ABAC registry; the repository role does.
      await assign(sim, withIdentity.identity.principalId, ROLE_GUIDS.RepositoryWriter, p.registry);
      await assign(sim, without.identity.principalId, ROLE_GUIDS.RepositoryWriter, p.registry);

      const good = await ok(rawRequest(sim, 'POST', p.schedule, { body: { type: 'TaskRunRequest', taskId: withIdentity.id } }));
      const goodLog = await runLog(sim, p.registry, good.properties.runId);
      expect(goodLog).toContain(`Successfully logged into ${DEMO_REGISTRY}.azurecr.io`);
      expect(goodLog).toMatch(/Successfully pushed image: acrtrustdemo\.azurecr\.io\/app:c\w+/);

      const bad = await ok(rawRequest(sim, 'POST', p.schedule, { body: { type: 'TaskRunRequest', taskId: without.id } }));
      const badLog = await runLog(sim, p.registry, bad.properties.runId);
      expect(badLog).not.toContain('Logging in to registry');
      expect(badLog).toContain('unauthorized: authentication required');
      expect(badLog).toContain('Failed to push images successfully');
    });
  });

  it('a quick build without a source identity fails right after the source, with acb’s line; with [caller] and a repository role it pushes', async () => {
    await withSim({ scenario: 'abac' }, async (sim) => {
      const p = paths(sim);
      const build = (credentials?: unknown) => ({ type: 'DockerBuildRequest', imageNames: ['img:v1'], isPushEnabled: true, dockerFilePath: 'Dockerfile', sourceLocation: 'https://github.com/Azure-Samples/acr-build-helloworld-node.git', platform: { os: 'linux' }, ...(credentials ? { credentials } : {}) });
      const refused = await ok(rawRequest(sim, 'POST', p.schedule, { body: build() }));
      const log = await runLog(sim, p.registry, refused.properties.runId);
      expect(log.split('\r\n').map((l) => l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, ''))).toEqual(
        expect.arrayContaining(['Downloading source code...', 'Finished downloading source code', 'when specifying push, at least one credential is required']),
      );
      expect(log).not.toContain('Pushing image');

      await assign(sim, SIM_CALLER_ID, ROLE_GUIDS.RepositoryWriter, p.registry);
      const pushed = await ok(rawRequest(sim, 'POST', p.schedule, { body: build({ sourceRegistry: { identity: '[caller]' } }) }));
      expect(await runLog(sim, p.registry, pushed.properties.runId)).toContain('Successfully pushed image: acrtrustdemo.azurecr.io/img:v1');
    });
  });
});
