/**
 * Runs through the REAL ContainerRegistryManagementClient: scheduleRun (task and quick runs),
 * runs.get / list / update / getLogSasUrl / cancel, and the log blob fetched over HTTPS trusting
 * only the sim's CA — its signature, metadata, ranges, and the run's progress at realistic speed.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ContainerRegistryManagementClient, Run, Task } from '@azure/arm-containerregistry';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';
import type { RunningSim } from '../../src/sim/index.js';
import { all, rejection, sdkClients, useSim, withSim } from '../helpers/sim.js';

const RG = 'acr-trust-demo';
const REG = 'acrtrustdemo';
const SERVER = 'acrtrustdemo.azurecr.io';
const BUILD_AND_PUSH = 'version: v1.1.0\nsteps:\n  - build: -t $Registry/hello:{{.Run.ID}} .\n  - push: ["$Registry/hello:{{.Run.ID}}"]\n';

function encodedTask(yaml: string, over: Partial<Task> = {}): Task {
  return {
    location: 'eastus',
    identity: { type: 'SystemAssigned' },
    platform: { os: 'linux', architecture: 'amd64' },
    step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(yaml).toString('base64') },
    credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { [SERVER]: { identity: '[system]' } } },
    ...over,
  };
}

/** A task that can push to the demo registry: system identity, [system] credential, AcrPush. */
async function pushingTask(sim: RunningSim, clients: ReturnType<typeof sdkClients>, name: string): Promise<Task> {
  const task = await clients.registries.tasks.beginCreateAndWait(RG, REG, name, encodedTask(BUILD_AND_PUSH));
  const scope = `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}`;
  await clients.authorization.roleAssignments.create(scope, randomUUID(), {
    roleDefinitionId: roleDefinitionId(sim.subscriptionId, ROLE_GUIDS.AcrPush),
    principalId: task.identity!.principalId!,
    principalType: 'ServicePrincipal',
  });
  return task;
}

function runTask(registries: ContainerRegistryManagementClient, taskId: string, registry = REG): Promise<Run> {
  return registries.registries.beginScheduleRunAndWait(RG, registry, { type: 'TaskRunRequest', taskId, overrideTaskStepProperties: { arguments: [], values: [] } } as any);
}

interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** GET/HEAD a URL over HTTPS, trusting only `ca`. */
function fetchUrl(url: string, ca: string | undefined, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function logOf(sim: RunningSim, registries: ContainerRegistryManagementClient, runId: string, registry = REG): Promise<Fetched> {
  const { logLink } = await registries.runs.getLogSasUrl(RG, registry, runId);
  return fetchUrl(logLink!, sim.caCert);
}

describe('runs at instant speed', () => {
  const ctx = useSim();

  it('schedules a task run by its full id: Queued at once (as recorded), final on its first GET', async () => {
    const { registries } = ctx.clients;
    const task = await pushingTask(ctx.sim, ctx.clients, 'push-task');
    const queued = await runTask(registries, task.id!);
    // scheduleRun answers only what the service shows then (recording test_acr_task).
    expect(queued).toMatchObject({ runId: 'ca1', status: 'Queued', provisioningState: 'Succeeded', isArchiveEnabled: false });
    expect(queued.runType).toBeUndefined();
    const run = await registries.runs.get(RG, REG, 'ca1');
    expect(run).toMatchObject({
      id: `/subscriptions/${ctx.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${REG}/runs/ca1`,
      name: 'ca1',
      type: 'Microsoft.ContainerRegistry/registries/runs',
      runId: 'ca1',
      status: 'Succeeded',
      runType: 'QuickRun',
      task: 'push-task',
      platform: { os: expect.stringMatching(/^linux$/i), architecture: 'amd64' },
      provisioningState: 'Succeeded',
      isArchiveEnabled: false,
      outputImages: [{ registry: SERVER, repository: 'hello', tag: 'ca1', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }],
    });
    expect(run.createTime).toBeInstanceOf(Date);
    expect(run.finishTime).toBeInstanceOf(Date);
    expect(run.runErrorMessage).toBeUndefined();
    // Only the keys the service shows: no sourceRegistryAuth / customRegistries on a run.
    expect(run).not.toHaveProperty('sourceRegistryAuth');
    expect(run).not.toHaveProperty('customRegistries');
    expect(ctx.sim.requests.find((r) => r.name === 'registries.scheduleRun')).toMatchObject({ method: 'POST', status: 200 });
  });

  it('numbers runs per registry and accepts a bare task name', async () => {
    const { registries } = ctx.clients;
    await pushingTask(ctx.sim, ctx.clients, 'bare-name');
    const second = await runTask(registries, 'bare-name');
    expect(second.runId).toBe('ca2');
    const third = await runTask(registries, 'bare-name');
    expect(third.runId).toBe('ca3');
  });

  it('lists runs newest first, with $top and $filter', async () => {
    const { registries } = ctx.clients;
    const task = await registries.tasks.beginCreateAndWait(RG, REG, 'failing-task', encodedTask(BUILD_AND_PUSH)); // no role: fails
    const failed = await runTask(registries, task.id!);
    expect((await registries.runs.get(RG, REG, failed.runId!)).status).toBe('Failed');
    const ids = (await all(registries.runs.list(RG, REG))).map((r) => r.runId);
    expect(ids.slice(0, 2)).toEqual([failed.runId, 'ca3']);
    expect((await all(registries.runs.list(RG, REG, { top: 2 })))).toHaveLength(2);
    const byTask = await all(registries.runs.list(RG, REG, { filter: "TaskName eq 'bare-name'" }));
    expect(byTask.map((r) => r.runId)).toEqual(['ca3', 'ca2']);
    const failedOnly = await all(registries.runs.list(RG, REG, { filter: "Status eq 'Failed' and TaskName eq 'failing-task'", top: 10 }));
    expect(failedOnly.map((r) => r.runId)).toEqual([failed.runId]);
    const unsupported = await rejection(all(registries.runs.list(RG, REG, { filter: "contains(OutputImageManifests, 'hello')" })));
    expect(unsupported).toMatchObject({ statusCode: 400, code: 'InvalidFilter' });
  });

  it('serves the log over HTTPS with the CA, ending with the Complete metadata', async () => {
    const { registries } = ctx.clients;
    const { logLink } = await registries.runs.getLogSasUrl(RG, REG, 'ca1');
    // Path-style storage account (`<account>.blob.<suffix>`) after the sim's origin: the az CLI's
    // log-link parser finds account, container and blob in it and streams from the sim.
    expect(logLink).toMatch(new RegExp(`^${ctx.sim.endpoint}/acrtasklogs\\.blob\\.core\\.windows\\.net/logs/${REG}/ca1/rawtext\\.log\\?sv=2024-11-04&se=[^&]+&sr=b&sp=r&sig=`));
    const parsed = /http(s)?:\/\/(?<account>.*?)\.blob\.(?<suffix>.*?)\/(?<container>.*?)\/(?<blob>.*?)\?(?<sas>.*)/.exec(logLink!)!.groups!;
    expect({ container: parsed.container, blob: parsed.blob, suffix: parsed.suffix }).toEqual({ container: 'logs', blob: `${REG}/ca1/rawtext.log`, suffix: 'core.windows.net' });
    expect(`https://${parsed.account}.blob.${parsed.suffix}/${parsed.container}/${parsed.blob}?${parsed.sas}`).toBe(logLink);
    const log = await fetchUrl(logLink!, ctx.sim.caCert);
    expect(log.status).toBe(200);
    expect(log.headers['x-ms-meta-complete']).toBe('succeeded');
    expect(log.headers['x-ms-blob-type']).toBe('AppendBlob');
    expect(log.text.endsWith('\r\n')).toBe(true);
    const lines = log.text.split('\r\n');
    expect(lines.some((l) => /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} Logging in to registry: acrtrustdemo\.azurecr\.io$/.test(l))).toBe(true);
    expect(lines.some((l) => / Successfully pushed image: acrtrustdemo\.azurecr\.io\/hello:ca1$/.test(l))).toBe(true);
    expect(lines.at(-2)).toBe('Run ID: ca1 was successful after 0s');

    // HEAD: the properties without the body (how the az CLI polls the append blob).
    const head = await fetchUrl(logLink!, ctx.sim.caCert, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(log.text));
    expect(head.headers['x-ms-meta-complete']).toBe('succeeded');

    // Ranged reads, as the CLI's streamer makes them.
    const part = await fetchUrl(logLink!, ctx.sim.caCert, { headers: { 'x-ms-range': 'bytes=0-9' } });
    expect(part.status).toBe(206);
    expect(part.text).toBe(log.text.slice(0, 10));
    expect(part.headers['content-range']).toBe(`bytes 0-9/${Buffer.byteLength(log.text)}`);

    // A failed run's log ends with the failure line and `failed`.
    const failedLog = await logOf(ctx.sim, registries, 'ca4');
    expect(failedLog.headers['x-ms-meta-complete']).toBe('failed');
    expect(failedLog.text).toContain('unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.\r\n');
    expect(failedLog.text.split('\r\n').at(-2)).toMatch(/^Run ID: ca4 failed after \d+s\. Error: failed during run, err: exit status 1$/);
    const failedRun = await registries.runs.get(RG, REG, 'ca4');
    expect(failedRun.runErrorMessage).toBe('failed during run, err: exit status 1');
    expect(failedRun.outputImages).toBeUndefined(); // a run that pushed nothing has no outputImages key
  });

  it('refuses a bad or missing signature like Azure Storage (403 AuthenticationFailed), and untrusted TLS', async () => {
    const { registries } = ctx.clients;
    const { logLink } = await registries.runs.getLogSasUrl(RG, REG, 'ca1');
    const url = new URL(logLink!);
    const sig = url.searchParams.get('sig')!;
    url.searchParams.set('sig', sig.slice(0, -4) + (sig.endsWith('AAA=') ? 'BBB=' : 'AAA='));
    const bad = await fetchUrl(url.toString(), ctx.sim.caCert);
    expect(bad.status).toBe(403);
    expect(bad.headers['x-ms-error-code']).toBe('AuthenticationFailed');
    expect(bad.text).toContain('<Code>AuthenticationFailed</Code>');
    url.searchParams.delete('sig');
    expect((await fetchUrl(url.toString(), ctx.sim.caCert)).status).toBe(403);
    // Another run's link does not open this run's log.
    const other = new URL((await registries.runs.getLogSasUrl(RG, REG, 'ca2')).logLink!);
    other.pathname = other.pathname.replace('/ca2/', '/ca1/');
    expect((await fetchUrl(other.toString(), ctx.sim.caCert)).status).toBe(403);
    // Without the sim's CA the TLS handshake fails: nothing is verified away.
    await expect(fetchUrl(logLink!, undefined)).rejects.toThrow(/certificate|self-signed|issuer/i);
  });

  it('keeps the log link secret: never in the Run, the run list or the request log', async () => {
    const { registries } = ctx.clients;
    const { logLink } = await registries.runs.getLogSasUrl(RG, REG, 'ca1');
    const sig = new URL(logLink!).searchParams.get('sig')!;
    expect(JSON.stringify(await registries.runs.get(RG, REG, 'ca1'))).not.toContain(sig);
    expect(JSON.stringify(await all(registries.runs.list(RG, REG)))).not.toContain(sig);
    expect(JSON.stringify(ctx.sim.requests)).not.toContain(sig);
    expect(JSON.stringify(ctx.sim.requests)).not.toContain('sig=');
  });

  it('archives a run by PATCH, and answers 404 for unknown runs and tasks', async () => {
    const { registries } = ctx.clients;
    const patched = await registries.runs.beginUpdateAndWait(RG, REG, 'ca1', { isArchiveEnabled: true });
    expect(patched).toMatchObject({ runId: 'ca1', isArchiveEnabled: true, status: 'Succeeded' });
    expect(await rejection(registries.runs.get(RG, REG, 'zz9'))).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    expect(await rejection(runTask(registries, 'no-such-task'))).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('runs quick runs with no identity (runType QuickRun, a Docker build too — as recorded)', async () => {
    const { registries } = ctx.clients;
    const quick = await registries.registries.beginScheduleRunAndWait(RG, REG, {
      type: 'EncodedTaskRunRequest',
      encodedTaskContent: Buffer.from('version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n').toString('base64'),
      platform: { os: 'Linux' },
    } as any);
    expect(quick).toMatchObject({ status: 'Queued' });
    expect(await registries.runs.get(RG, REG, quick.runId!)).toMatchObject({ runType: 'QuickRun', status: 'Succeeded' });
    expect(quick.task).toBeUndefined();
    const log = await logOf(ctx.sim, registries, quick.runId!);
    expect(log.text).toContain('Hello from Docker!');

    const build = await registries.registries.beginScheduleRunAndWait(RG, REG, {
      type: 'DockerBuildRequest',
      imageNames: ['quick:{{.Run.ID}}'],
      isPushEnabled: true,
      dockerFilePath: 'Dockerfile',
      sourceLocation: 'https://example.invalid/src.tar.gz',
      platform: { os: 'Linux' },
    } as any);
    // The run token (loginMode Default) may push to its own, open registry.
    expect(await registries.runs.get(RG, REG, build.runId!)).toMatchObject({ runType: 'QuickRun', status: 'Succeeded', outputImages: [{ registry: SERVER, repository: 'quick', tag: build.runId }] });
  });
});

describe('runs at realistic speed', () => {
  it('go Queued → Running → Succeeded, the log growing line by line until Complete', () =>
    withSim({ speed: 'realistic' }, async (sim) => {
      const clients = sdkClients(sim);
      const task = await pushingTask(sim, clients, 'slow-task');
      sim.state.roleDelayMs = 0; // this test watches the run, not role propagation
      const queued = await runTask(clients.registries, task.id!);
      expect(queued.status).toBe('Queued');
      expect(queued.startTime).toBeUndefined();
      const { logLink } = await clients.registries.runs.getLogSasUrl(RG, REG, queued.runId!);
      expect((await fetchUrl(logLink!, sim.caCert)).status).toBe(404); // no agent yet: no blob

      await sleep(2500);
      const running = await clients.registries.runs.get(RG, REG, queued.runId!);
      expect(running.status).toBe('Running');
      expect(running.startTime).toBeInstanceOf(Date);
      expect(running.finishTime).toBeUndefined();
      const partial = await fetchUrl(logLink!, sim.caCert);
      expect(partial.status).toBe(200);
      expect(partial.headers['x-ms-meta-complete']).toBeUndefined();
      const partialLines = partial.text.split('\r\n').length;
      expect(partialLines).toBeGreaterThan(2);

      let done = running;
      for (let i = 0; i < 40 && !['Succeeded', 'Failed'].includes(String(done.status)); i++) {
        await sleep(500);
        done = await clients.registries.runs.get(RG, REG, queued.runId!);
      }
      expect(done.status).toBe('Succeeded');
      const seconds = (done.finishTime!.getTime() - done.createTime!.getTime()) / 1000;
      expect(seconds).toBeGreaterThanOrEqual(6);
      expect(seconds).toBeLessThanOrEqual(10);
      const full = await fetchUrl(logLink!, sim.caCert);
      expect(full.headers['x-ms-meta-complete']).toBe('succeeded');
      expect(full.text.split('\r\n').length).toBeGreaterThan(partialLines);
      expect(full.text.startsWith(partial.text)).toBe(true);
    }));

  it('cancel ends a running run Canceled, keeping the log it had', () =>
    withSim({ speed: 'realistic' }, async (sim) => {
      const clients = sdkClients(sim);
      const task = await pushingTask(sim, clients, 'cancel-task');
      const run = await runTask(clients.registries, task.id!);
      await sleep(2000);
      await clients.registries.runs.beginCancelAndWait(RG, REG, run.runId!);
      const canceled = await clients.registries.runs.get(RG, REG, run.runId!);
      expect(canceled.status).toBe('Canceled');
      expect(canceled.finishTime).toBeInstanceOf(Date);
      expect(canceled.outputImages).toBeUndefined();
      const log = await logOf(sim, clients.registries, run.runId!);
      expect(log.headers['x-ms-meta-complete']).toBe('canceled');
      expect(log.text).toContain('Setting up Docker configuration...');
      expect(log.text).not.toContain('was successful');
      await sleep(500);
      expect((await clients.registries.runs.get(RG, REG, run.runId!)).status).toBe('Canceled');
    }));
});
