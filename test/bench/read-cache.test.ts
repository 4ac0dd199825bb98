/**
 * The adapter's read cache (src/azure/read-cache.ts), and the adapter's round trips through it:
 * a resource is read once, our own write makes the next read fresh, and a read that does not yet
 * show the write (Azure settling) is never kept — so the engine's settle loop keeps reading. The
 * task is read once per command, through listDetails, for getTask, getTaskDetails and getTaskJson.
 */
import { describe, expect, it } from 'vitest';
import { ReadCache } from '../../src/azure/read-cache.js';
import { withSim } from '../helpers/sim.js';
import { REGISTRY, RG, rejection, simCloud } from '../azure/sim-cloud.js';

/** A fake resource behind a counter of wire reads. */
function resource<T>(initial: T) {
  let value = initial;
  let reads = 0;
  return {
    set: (v: T) => (value = v),
    load: async () => {
      reads++;
      return structuredClone(value);
    },
    get reads() {
      return reads;
    },
  };
}

describe('ReadCache', () => {
  it('reads a resource once and hands out copies', async () => {
    const cache = new ReadCache({ maxAgeMs: 60_000 });
    const r = resource({ n: 1 });
    const a = await cache.read('k', r.load);
    a.n = 99;
    expect(await cache.read('k', r.load)).toEqual({ n: 1 });
    expect(r.reads).toBe(1);
  });

  it('forgets a resource on write; until a read shows the write, reads go to the wire', async () => {
    const cache = new ReadCache({ maxAgeMs: 60_000 });
    const r = resource({ open: true });
    await cache.read('k', r.load);
    // The write succeeds but Azure still reports the old value for a while.
    await cache.write(['k'], async () => undefined, { k: (v: { open: boolean }) => v.open === false });
    expect(await cache.read('k', r.load)).toEqual({ open: true });
    expect(await cache.read('k', r.load)).toEqual({ open: true });
    expect(r.reads).toBe(3);
    r.set({ open: false });
    expect(await cache.read('k', r.load)).toEqual({ open: false });
    expect(await cache.read('k', r.load)).toEqual({ open: false });
    expect(r.reads).toBe(4); // kept once it showed the write
  });

  it('does not keep a read that was in flight across a write', async () => {
    const cache = new ReadCache({ maxAgeMs: 60_000 });
    const r = resource('old');
    let release!: () => void;
    const slow = cache.read('k', async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return r.load();
    });
    await cache.write(['k'], async () => r.set('new'));
    release();
    expect(await slow).toBe('new');
    await cache.read('k', r.load);
    expect(r.reads).toBe(2);
  });

  it('after a failed write reads fresh, and keeps an earlier expectation', async () => {
    const cache = new ReadCache({ maxAgeMs: 60_000 });
    const r = resource(1);
    await cache.write(['k'], async () => r.set(2), { k: (v: number) => v === 2 });
    await expect(cache.write(['k'], async () => Promise.reject(new Error('503')))).rejects.toThrow('503');
    r.set(1); // as if Azure had not applied the first write yet
    await cache.read('k', r.load);
    await cache.read('k', r.load);
    expect(r.reads).toBe(2);
  });

  it('keeps only what `keep` accepts, for at most maxAgeMs; 0 turns it off', async () => {
    let now = 0;
    const cache = new ReadCache({ maxAgeMs: 1000, now: () => now });
    const run = resource({ status: 'Running' });
    const finished = (v: { status: string }) => v.status === 'Succeeded';
    await cache.read('run', run.load, finished);
    await cache.read('run', run.load, finished);
    expect(run.reads).toBe(2);
    run.set({ status: 'Succeeded' });
    await cache.read('run', run.load, finished);
    await cache.read('run', run.load, finished);
    expect(run.reads).toBe(3);
    now = 1001;
    await cache.read('run', run.load, finished);
    expect(run.reads).toBe(4);

    const off = new ReadCache({ maxAgeMs: 0 });
    const r = resource(1);
    await off.read('k', r.load);
    await off.read('k', r.load);
    expect(r.reads).toBe(2);
  });
});

describe('the adapter through the cache, on the sim', () => {
  it('reads the registry once; its own PATCH makes the next read fresh, and that one is kept', () =>
    withSim({}, async (sim) => {
      const cloud = simCloud(sim);
      const gets = () => sim.requests.filter((q) => q.name === 'registries.get').length;
      await cloud.getRegistry(RG, REGISTRY);
      await cloud.getRegistry(RG, REGISTRY);
      expect(gets()).toBe(1);
      await cloud.updateRegistryNetwork(RG, REGISTRY, { networkRuleBypassAllowedForTasks: true });
      const afterPatch = gets(); // includes the SDK's final GET of the long-running operation
      expect((await cloud.getRegistry(RG, REGISTRY))?.networkRuleBypassAllowedForTasks).toBe(true);
      expect(gets()).toBe(afterPatch + 1);
      await cloud.getRegistry(RG, REGISTRY);
      expect(gets()).toBe(afterPatch + 1);
    }));

  it('a change made behind its back (another client) is seen after a write of ours, not before', () =>
    withSim({}, async (sim) => {
      const cloud = simCloud(sim);
      await cloud.getRegistry(RG, REGISTRY);
      const reg = Object.values(sim.state.registries)[0]!;
      reg.properties.publicNetworkAccess = 'Disabled';
      // Within the cache's lifetime a read is reused (documented trade-off: one read per resource per run) …
      expect((await cloud.getRegistry(RG, REGISTRY))?.publicNetworkAccess).toBe('Enabled');
      // … and our own write of the registry makes the next read fresh.
      await cloud.updateRegistryNetwork(RG, REGISTRY, { networkRuleBypassOptions: 'None' });
      expect(await cloud.getRegistry(RG, REGISTRY)).toMatchObject({ publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'None' });
    }));

  it('keeps a finished run and its log, and never a run still going', async () => {
    const yaml = 'version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n';
    const count = (sim: { requests: { name: string }[] }, name: string) => sim.requests.filter((q) => q.name === name).length;
    await withSim({ speed: 'realistic' }, async (sim) => {
      const cloud = simCloud(sim);
      const task = await cloud.createTask(RG, REGISTRY, 'task-going', { location: 'eastus', taskYaml: yaml });
      const runId = await cloud.scheduleRun(RG, REGISTRY, task.id);
      expect((await cloud.getRun(RG, REGISTRY, runId))?.status).not.toBe('Succeeded');
      await cloud.getRun(RG, REGISTRY, runId);
      expect(count(sim, 'runs.get')).toBe(2);
    });
    await withSim({}, async (sim) => {
      const cloud = simCloud(sim);
      const task = await cloud.createTask(RG, REGISTRY, 'task-done', { location: 'eastus', taskYaml: yaml });
      const runId = await cloud.scheduleRun(RG, REGISTRY, task.id);
      expect((await cloud.getRun(RG, REGISTRY, runId))?.status).toBe('Succeeded');
      const log = await cloud.readRunLog(RG, REGISTRY, runId);
      expect(log).toMatch(/was successful/);
      expect(await cloud.getRun(RG, REGISTRY, runId)).toMatchObject({ status: 'Succeeded' });
      expect(await cloud.readRunLog(RG, REGISTRY, runId)).toBe(log);
      expect([count(sim, 'runs.get'), count(sim, 'runs.getLogSasUrl'), count(sim, 'logs.rawtext')]).toEqual([1, 1, 1]);
    });
  });

  it('reads the task once, through listDetails: the task, its credentials, its last change and its JSON from one request', () =>
    withSim({}, async (sim) => {
      const setup = simCloud(sim);
      await setup.createTask(RG, REGISTRY, TASK, { location: 'eastus', taskYaml: YAML });
      await setup.addTaskCredential(RG, REGISTRY, TASK, LOGIN_SERVER);
      const since = sim.requests.length;
      const cloud = simCloud(sim); // a new command: nothing cached
      const task = await cloud.getTask(RG, REGISTRY, TASK);
      // A GET shows the credential entry as null; the task read here shows it, and its last change.
      expect(task?.customRegistries[LOGIN_SERVER]).toEqual({ identity: '[system]', hasUserName: false });
      expect(task?.lastModifiedAt).toBe((Object.values(sim.state.tasks).find((t) => t.name === TASK) as any).systemData.lastModifiedAt);
      expect(await cloud.getTaskDetails(RG, REGISTRY, TASK)).toEqual(task);
      const json = await cloud.getTaskJson(RG, REGISTRY, TASK);
      expect((json?.systemData as { lastModifiedAt?: string } | undefined)?.lastModifiedAt).toBe(task?.lastModifiedAt);
      expect(json?.properties?.credentials?.customRegistries?.[LOGIN_SERVER]).toMatchObject({ identity: '[system]' });
      await cloud.getTask(RG, REGISTRY, TASK);
      expect(routes(sim, since)).toEqual({ 'tasks.listDetails': 1 });
    }));

  it('a write to the task makes the next read fresh, the JSON too, and that read is kept', () =>
    withSim({}, async (sim) => {
      const cloud = simCloud(sim);
      await cloud.createTask(RG, REGISTRY, TASK, { location: 'eastus', taskYaml: YAML });
      const before = await cloud.getTaskJson(RG, REGISTRY, TASK);
      expect(before?.properties?.credentials?.customRegistries).toBeUndefined();
      await cloud.addTaskCredential(RG, REGISTRY, TASK, LOGIN_SERVER);
      const since = sim.requests.length;
      expect((await cloud.getTaskJson(RG, REGISTRY, TASK))?.properties?.credentials?.customRegistries?.[LOGIN_SERVER]).toMatchObject({ identity: '[system]' });
      expect((await cloud.getTask(RG, REGISTRY, TASK))?.customRegistries[LOGIN_SERVER]).toMatchObject({ identity: '[system]' });
      expect(routes(sim, since)).toEqual({ 'tasks.listDetails': 1 });
      await cloud.deleteTask(RG, REGISTRY, TASK);
      expect(await cloud.getTask(RG, REGISTRY, TASK)).toBeUndefined();
    }));

  it('a caller without the listDetails action (Reader) reads the task with GET, after one refusal; the details stay refused', () =>
    withSim({}, async (sim) => {
      await simCloud(sim).createTask(RG, REGISTRY, TASK, { location: 'eastus', taskYaml: YAML });
      Object.assign(sim.state.caller, { canWriteRoleAssignments: false, canWriteResources: false });
      const since = sim.requests.length;
      const cloud = simCloud(sim);
      expect((await cloud.getTask(RG, REGISTRY, TASK))?.name).toBe(TASK);
      expect(await cloud.getTask(RG, REGISTRY, 'no-such-task')).toBeUndefined();
      expect(routes(sim, since)).toEqual({ 'tasks.listDetails': 1, 'tasks.get': 2 });
      const e = await rejection(cloud.getTaskDetails(RG, REGISTRY, TASK));
      expect(e).toMatchObject({ name: 'AcrTrustError', code: 'AuthorizationFailed' });
      // ARM refuses before it looks: a task the GET did not find is refused too, not "missing".
      expect(await rejection(cloud.getTaskJson(RG, REGISTRY, 'no-such-task'))).toMatchObject({ code: 'AuthorizationFailed' });
    }));
});

const TASK = 'task-read-once';
const YAML = 'version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n';
const LOGIN_SERVER = 'acrtrustdemo.azurecr.io';

/** The sim's requests from `since` on, counted per route. */
function routes(sim: { requests: { name: string }[] }, since: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const q of sim.requests.slice(since)) out[q.name] = (out[q.name] ?? 0) + 1;
  return out;
}
