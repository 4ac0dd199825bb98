/**
 * The adapter's read cache (src/azure/read-cache.ts), and the adapter's round trips through it:
 * a resource is read once, our own write makes the next read fresh, and a read that does not yet
 * show the write (Azure settling) is never kept — so the engine's settle loop keeps reading.
 */
import { describe, expect, it } from 'vitest';
import { ReadCache } from '../../src/azure/read-cache.js';
import { withSim } from '../helpers/sim.js';
import { REGISTRY, RG, simCloud } from '../azure/sim-cloud.js';

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
});
