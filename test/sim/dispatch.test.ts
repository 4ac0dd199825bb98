/**
 * `RunningSim.dispatch`: a request made in the sim's own process (the room board's checks) goes
 * through the same routes, the same access check as the principal it names, the same list filter
 * and the same save as one over HTTPS — only the socket, TLS and token are not there. So the
 * board's in-process reads can never see more than the trainer may, and a learner named there is
 * refused another learner's group exactly as over the network; and the SDK's real clients work
 * over it (the adapter's in-process HTTP client).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, simCredential } from '../../src/azure/index.js';
import { startSim, type RunningSim } from '../../src/sim/index.js';
import { tmp } from '../az/helpers.js';

let sim: RunningSim;
let state: string;
const api = '2023-07-01';
const as = (n?: string) => ({ principalId: sim.state.room!.identities.find((i) => (n ? i.learner === n : !i.learner))!.principalId });
const registry = (n: string) => `/subscriptions/${sim.subscriptionId}/resourceGroups/learner${n}/providers/Microsoft.ContainerRegistry/registries/acrtrustlearner${n}`;

beforeAll(async () => {
  state = join(tmp('acr-trust-dispatch-'), 'room.json');
  sim = await startSim({ stateFile: state, scenario: 'classroom', learners: 2 });
});
afterAll(() => sim?.stop());

describe('in-process requests (dispatch)', () => {
  it("are refused another learner's group, as over HTTPS, and lists show only what the principal may read", async () => {
    const own = await sim.dispatch({ method: 'GET', url: `${registry('01')}?api-version=${api}` }, as('01'));
    expect(own.status).toBe(200);
    const other = await sim.dispatch({ method: 'GET', url: `${registry('02')}?api-version=${api}` }, as('01'));
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body).error.code).toBe('AuthorizationFailed');
    const listed = await sim.dispatch({ method: 'GET', url: `/subscriptions/${sim.subscriptionId}/providers/Microsoft.ContainerRegistry/registries?api-version=${api}` }, as('01'));
    expect(JSON.parse(listed.body).value.map((r: { name: string }) => r.name)).toEqual(['acrtrustlearner01']);
    const trainer = await sim.dispatch({ method: 'GET', url: `/subscriptions/${sim.subscriptionId}/providers/Microsoft.ContainerRegistry/registries?api-version=${api}` }, as());
    expect(JSON.parse(trainer.body).value.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['acrtrustlearner01', 'acrtrustlearner02']));
    // Not a client's request: the request log does not hold them.
    expect(sim.requests.filter((r) => r.path.includes('registries'))).toEqual([]);
  });

  it('saves a change before answering it, and serves the real SDK clients through the adapter', async () => {
    const patched = await sim.dispatch(
      { method: 'PATCH', url: `${registry('01')}?api-version=${api}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties: { networkRuleBypassOptions: 'None' } }) },
      as('01'),
    );
    expect(patched.status).toBeLessThan(300);
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    expect(Object.values(saved.registries).find((r: any) => r.name === 'acrtrustlearner01')).toMatchObject({ properties: { networkRuleBypassOptions: 'None' } });

    const cloud = connect({ subscriptionId: sim.subscriptionId, credential: simCredential(), endpoint: sim.endpoint, readCacheMs: 0, transport: (r) => sim.dispatch(r, as('02')) });
    expect((await cloud.getRegistry('learner02', 'acrtrustlearner02'))?.name).toBe('acrtrustlearner02');
    await expect(cloud.getRegistry('learner01', 'acrtrustlearner01')).rejects.toThrow(/AuthorizationFailed/);
  });
});
