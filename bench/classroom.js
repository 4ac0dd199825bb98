/**
 * A training room on one simulated Azure: the classroom scenario seeds one resource group and one
 * Premium registry per learner (`learner01`/`acrtrustlearner01` …), and every learner runs the
 * whole workflow at the same time, all against one sim. Needs a build: `npm run build`.
 *
 * Two ways to run the learners:
 *   - `in-process` (default): the learners are split over a handful of worker processes
 *     (bench/learners.js); in each, every learner runs the engine's runner and the ten steps with
 *     their own adapter and state file, concurrently — what `acr-trust run` does after start-up.
 *     Thirty full Node processes would spend most of a small machine's CPU loading modules.
 *   - `cli`: each learner is its own `acr-trust run` process — exactly the command a learner types.
 *
 * The sim runs in this process (as `sim serve` would in its own); the learners share the machine's
 * cores with it, so on a small machine the latencies include that contention.
 * Reported: how many learners completed, the wall time until the last one finished, the sim's
 * median and 99th-percentile request latency (server-side, arrival to end of answer, over every
 * request of the room), requests per learner, and whether each learner's resources — and only
 * theirs — ended as the workflow leaves them.
 *
 *   node bench/classroom.js [learners] [--cli]     prints the result as JSON (default 30 learners)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { learnerNames, startSim } from '../dist/src/sim/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/acr-trust.js');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** The command learner `n` types (the sim's endpoint and CA, their own group and registry). */
export function learnerArgs(sim, n, learners, workdir) {
  const { resourceGroup, registry } = learnerNames(n, learners);
  // Signed in as the learner's own identity (the variables `sim az-env --join` sets), at the sim.
  return ['run', '--target', 'azure', '--endpoint', sim.endpoint, '--ca', sim.caCertFile, '--subscription', sim.subscriptionId,
    '--resource-group', resourceGroup, '--registry', registry, '--goal', 'demo', '--yes', '--json', '--workdir', workdir];
}

/** The environment that signs `acr-trust run --target azure` in as learner `n` at the sim. */
export function learnerEnv(sim, n) {
  const id = sim.state.room.identities.find((i) => Number(i.learner) === n);
  return { AZURE_CLIENT_ID: id.clientId, AZURE_CLIENT_SECRET: id.secret, AZURE_TENANT_ID: 'adfs', AZURE_AUTHORITY_HOST: sim.endpoint };
}

/** Learners `from`…`to` in one worker process (bench/learners.js), concurrently. */
function runWorker(sim, from, to, learners, dir) {
  return new Promise((resolve) => {
    const args = [join(root, 'bench/learners.js'), sim.endpoint, sim.caCertFile, String(from), String(to), String(learners), dir, join(dir, 'room.json')];
    const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      let results;
      try {
        results = JSON.parse(out);
      } catch {
        results = Array.from({ length: to - from + 1 }, () => ({ code: code || 1, outcome: undefined, stderr: err.slice(-2000) }));
      }
      resolve(results);
    });
  });
}

function runLearner(args, cwd, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const summary = out.trim().split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((e) => e.event === 'summary');
      resolve({ code, outcome: summary?.outcome, stderr: err.slice(-2000) });
    });
  });
}

/** What the workflow leaves in a learner's group: one task, one AcrPush assignment on their registry, two runs, the registry closed. */
function learnerEndState(state, n, learners) {
  const { resourceGroup, registry } = learnerNames(n, learners);
  const inGroup = (id) => id.toLowerCase().includes(`/resourcegroups/${resourceGroup.toLowerCase()}/`);
  const reg = Object.values(state.registries).find((r) => r.name === registry);
  const tasks = Object.values(state.tasks).filter((t) => inGroup(t.id));
  const runs = Object.values(state.runs).filter((r) => inGroup(r.resource.id));
  // The task identity's grants (the learner's own Owner assignment on the group is the room's).
  const grants = Object.values(state.roleAssignments).filter((a) => inGroup(a.properties.scope + '/') && a.properties.principalId === tasks[0]?.identity?.principalId);
  const p = reg?.properties ?? {};
  return tasks.length === 1 && runs.length === 2 && grants.length === 1 && grants[0].properties.scope.endsWith(`/registries/${registry}`) &&
    p.publicNetworkAccess === 'Disabled' && p.networkRuleBypassOptions === 'None' && p.networkRuleBypassAllowedForTasks === true;
}

export async function benchClassroom({ learners = 30, mode = 'in-process', workers = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'acr-trust-classroom-'));
  const sim = await startSim({ stateFile: join(dir, 'room.json'), scenario: 'classroom', learners, speed: 'instant' });
  try {
    const seeded = sim.requests.length;
    const t0 = performance.now();
    let results;
    if (mode === 'cli') {
      results = await Promise.all(
        Array.from({ length: learners }, (_, i) => runLearner(learnerArgs(sim, i + 1, learners, join(dir, `learner${i + 1}`)), dir, learnerEnv(sim, i + 1))),
      );
    } else {
      workers = Math.max(1, Math.min(workers, learners));
      const per = Math.ceil(learners / workers);
      const batches = [];
      for (let from = 1; from <= learners; from += per) batches.push(runWorker(sim, from, Math.min(learners, from + per - 1), learners, dir));
      results = (await Promise.all(batches)).flat();
    }
    const wallMs = performance.now() - t0;
    const reqs = sim.requests.slice(seeded);
    const times = reqs.map((r) => r.ms);
    const completed = results.filter((r) => r.code === 0 && r.outcome === 'complete').length;
    const isolated = Array.from({ length: learners }, (_, i) => learnerEndState(sim.state, i + 1, learners)).filter(Boolean).length;
    const failures = results.map((r, i) => ({ learner: i + 1, ...r })).filter((r) => r.code !== 0).slice(0, 3);
    return {
      learners,
      mode,
      ...(mode === 'cli' ? {} : { workers: Math.min(workers, learners) }),
      how:
        mode === 'cli'
          ? `${learners} concurrent \`acr-trust run\` processes against one sim`
          : `${learners} concurrent workflows (engine + steps, each with its own adapter and state) in ${Math.min(workers, learners)} processes, against one sim`,
      completed,
      endStateOk: isolated,
      wallMs: round(wallMs, 0),
      requests: reqs.length,
      requestsPerLearner: round(reqs.length / learners, 1),
      writes: reqs.filter((r) => r.write).length,
      errors5xx: reqs.filter((r) => r.status >= 500).length,
      medianRequestMs: round(median(times)),
      p99RequestMs: round(percentile(times, 99)),
      byRoute: Object.fromEntries(
        [...new Set(reqs.map((r) => r.name))].map((name) => {
          const ms = reqs.filter((r) => r.name === name).map((r) => r.ms);
          return [name, { n: ms.length, medianMs: round(median(ms)), p99Ms: round(percentile(ms, 99)) }];
        }),
      ),
      ...(failures.length ? { failures } : {}),
    };
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 30);
  const mode = process.argv.includes('--cli') ? 'cli' : 'in-process';
  process.stdout.write(`${JSON.stringify(await benchClassroom({ learners: n, mode }), null, 2)}\n`);
}
