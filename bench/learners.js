/**
 * Worker for bench/classroom.js: learners `from`…`to` of a classroom run the whole workflow at the
 * same time in this process — each with the engine's runner, the ten steps, their own adapter
 * (`connect`, as the CLI builds it for a served sim at instant speed) and their own state file —
 * against the sim at `endpoint`. Prints one JSON array: per learner, exit-code-like `code`, the
 * run's `outcome`, and the problem if it stopped.
 *
 *   node bench/learners.js <endpoint> <caCertFile> <from> <to> <learners> <dir> <room state file>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../dist/src/azure/index.js';
import { runSteps } from '../dist/src/engine/runner.js';
import { StateStore } from '../dist/src/engine/state.js';
import { learnerNames, SIM_SUBSCRIPTION_ID } from '../dist/src/sim/index.js';
import { timings, workflow } from '../dist/steps/index.js';

const [endpoint, caFile, from, to, learners, dir, stateFile] = process.argv.slice(2);
const ca = readFileSync(caFile, 'utf8');
// Each learner signs in as its own service principal (the room's identities are in its state).
const { ClientSecretCredential } = await import('@azure/identity');
const identities = JSON.parse(readFileSync(stateFile, 'utf8')).room.identities;
const credentialOf = (n) => {
  const id = identities.find((i) => Number(i.learner) === n);
  return new ClientSecretCredential('adfs', id.clientId, id.secret, { authorityHost: endpoint, tlsOptions: { ca } });
};

async function learner(n) {
  const { resourceGroup, registry } = learnerNames(n, Number(learners));
  const world = {
    answers: { subscription: SIM_SUBSCRIPTION_ID, resourceGroup, registry, targetRegistry: registry, task: 'acr-trust-task', role: 'AcrPush' },
    cloud: connect({ subscriptionId: SIM_SUBSCRIPTION_ID, credential: credentialOf(n), endpoint, ca, pollIntervalMs: 10 }),
    timing: timings.instant,
  };
  try {
    const report = await runSteps(workflow, world, StateStore.load(join(dir, `${resourceGroup}.state.json`)), { emit: () => {} });
    return { code: report.outcome === 'complete' ? 0 : 1, outcome: report.outcome, ...(report.stoppedAt ? { stderr: JSON.stringify(report.stoppedAt.problem) } : {}) };
  } catch (e) {
    return { code: 1, outcome: 'error', stderr: String(e?.stack ?? e) };
  }
}

const ns = [];
for (let n = Number(from); n <= Number(to); n++) ns.push(n);
process.stdout.write(JSON.stringify(await Promise.all(ns.map(learner))));
