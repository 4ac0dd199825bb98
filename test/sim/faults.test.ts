import { describe, expect, it } from 'vitest';
import { FaultInjector, mulberry32, parseFaultSpec } from '../../src/sim/faults.js';
import { rawRequest, sdkClients, withSim } from '../helpers/sim.js';

const RG = 'acr-trust-demo';
const REG = 'acrtrustdemo';

describe('fault spec', () => {
  it('parses every key', () => {
    expect(parseFaultSpec('429=0.2,500=0.1,503=0.1,drop=0.05,latency=20,retryAfter=0,seed=7,routes=registries.*|roleAssignments.create')).toEqual({
      rates: { '429': 0.2, '500': 0.1, '503': 0.1, drop: 0.05 },
      latencyMs: 20,
      retryAfterSeconds: 0,
      seed: 7,
      routes: ['registries.*', 'roleAssignments.create'],
    });
    expect(parseFaultSpec('latency=5', 99).seed).toBe(99);
  });

  it.each([
    ['', 'it is empty'],
    ['429', "'429' is not key=value"],
    ['429=2', 'a rate must be a number from 0 to 1'],
    ['500=abc', 'a rate must be a number from 0 to 1'],
    ['429=0.6,500=0.6', 'add up to 1.2'],
    ['latency=-1', 'non-negative integer'],
    ['seed=1.5', 'must be an integer'],
    ['teapot=0.1', "unknown key 'teapot'"],
    ['429=0.1,429=0.2', "'429' is given twice"],
    ['routes=a b', 'route-name globs'],
    ['AADSTS700082=1', 'AADSTS700082 is an answer of the sign-in\'s token endpoint: add routes=signin.token'],
    ['AADSTS50076=1,routes=registries.*', 'add routes=signin.token'],
  ])('refuses %j with exit 2 and an example', (spec, what) => {
    try {
      parseFaultSpec(spec);
      throw new Error('expected a refusal');
    } catch (e: any) {
      expect(e.name).toBe('AcrTrustError');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(what);
      expect(e.hint).toContain('example: --faults');
    }
  });

  it('after=N answers the first N matched requests normally', () => {
    const f = new FaultInjector(parseFaultSpec('AADSTS700082=1,after=2,routes=signin.token'));
    expect([1, 2, 3, 4].map(() => f.decide('signin.token', true).kind)).toEqual([undefined, undefined, 'AADSTS700082', 'AADSTS700082']);
    expect(f.decide('registries.get', false).kind).toBeUndefined();
  });

  it('is reproducible for a seed', () => {
    const a = new FaultInjector(parseFaultSpec('429=0.3,500=0.3,seed=5'));
    const b = new FaultInjector(parseFaultSpec('429=0.3,500=0.3,seed=5'));
    const seq = (f: FaultInjector) => Array.from({ length: 50 }, () => f.decide('registries.get', false).kind ?? '-').join(',');
    expect(seq(a)).toBe(seq(b));
    expect(mulberry32(1)()).not.toBe(mulberry32(2)());
  });

  it('spares unauthenticated routes unless a glob names them', () => {
    expect(new FaultInjector(parseFaultSpec('500=1')).decide('signin.token', true).kind).toBeUndefined();
    expect(new FaultInjector(parseFaultSpec('500=1,routes=*')).decide('logs.get', true).kind).toBeUndefined();
    expect(new FaultInjector(parseFaultSpec('500=1,routes=signin.*')).decide('signin.token', true).kind).toBe('500');
    expect(new FaultInjector(parseFaultSpec('500=1,routes=registries.*')).decide('roleAssignments.create', false).kind).toBeUndefined();
  });
});

describe('fault injection against the SDK', () => {
  it.each([
    ['429 with Retry-After 0', '429=0.4,retryAfter=0,seed=3,routes=registries.get', '429'],
    ['503', '503=0.4,seed=3,routes=registries.get', '503'],
    ['500', '500=0.4,seed=3,routes=registries.get', '500'],
    ['dropped connections', 'drop=0.3,seed=3,routes=registries.get', 'drop'],
  ])('the SDK retries %s and completes', (_label, faults, kind) =>
    withSim({ faults }, async (sim) => {
      const { registries } = sdkClients(sim);
      for (let i = 0; i < 15; i++) expect((await registries.registries.get(RG, REG)).name).toBe(REG);
      const faulted = sim.requests.filter((r) => r.fault === kind);
      expect(faulted.length).toBeGreaterThan(0);
      expect(sim.requests.filter((r) => !r.fault)).toHaveLength(15);
    }));

  it('a long-running create completes through throttled and failing polls', () =>
    withSim({ faults: '429=0.25,500=0.15,503=0.15,seed=1,routes=registries.*|operations.*' }, async (sim) => {
      const { registries } = sdkClients(sim);
      // A registry create at 2025-11-01 is asynchronous (201 + Azure-AsyncOperation).
      const r = await registries.registries.beginCreateAndWait(RG, 'faultreg01', { location: 'eastus', sku: { name: 'Basic' } });
      expect(r.provisioningState).toBe('Succeeded');
      expect(sim.requests.map((q) => `${q.name} ${q.fault ?? q.status}`)).toEqual(['registries.create 201', 'operations.status 429', 'operations.status 503', 'operations.status 200', 'registries.get 200']);
    }));

  it('adds latency', () =>
    withSim({ faults: 'latency=60' }, async (sim) => {
      await sdkClients(sim).registries.registries.get(RG, REG);
      expect(sim.requests[0]!.ms).toBeGreaterThanOrEqual(55);
    }));

  it('never faults sign-in unless named', () =>
    withSim({ faults: '500=1' }, async (sim) => {
      expect((await rawRequest(sim, 'GET', '/adfs/.well-known/openid-configuration', { auth: false })).status).toBe(200);
      expect((await rawRequest(sim, 'GET', `/subscriptions?api-version=2022-12-01`)).status).toBe(500);
    }));

  it('refuses a bad spec at start-up', () =>
    withSim({}, async () => {
      const { startSim } = await import('../../src/sim/index.js');
      await expect(startSim({ faults: '429=lots' })).rejects.toMatchObject({ name: 'AcrTrustError', exitCode: 2 });
    }));
});
