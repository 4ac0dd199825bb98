/**
 * Load on one training room (issue 16 §4): N learners (default 100), each in processes of their
 * own, on one classroom sim with its live board running — most with the wizard (`acr-trust run
 * --target azure --endpoint …`, signed in as the learner), every seventh with the real az CLI
 * (`sim az-env --join`, then the article's commands on their own registry). A pool keeps a few
 * learners going at once (`--concurrency`, default 12) so a 2-core machine is loaded, not
 * thrashed; they run at nice 10, since in a room they would be on their own laptops. Reports: how many completed, the sim's p50/p99 request latency, the memory of the
 * process holding the sim and its board, and how soon the board showed each learner's last
 * change (its last write the cloud accepted) — measured by an SSE client that reads /room/events as
 * a browser would.
 *
 *   node bench/room.js [learners] [--concurrency N]     prints the result as JSON
 *
 * Needs a build (`npm run build`) and, for the az learners, `az` on PATH (without it every
 * learner uses the wizard, and the result says so). The learner processes are started from a worker
 * thread, so the process holding the sim and its board does only what `sim serve` does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startSim } from '../dist/src/sim/index.js';
import { startRoomBoard } from '../dist/src/cli/commands/room-board.js';
import { writeJoinFiles } from '../dist/src/cli/commands/room-join.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/acr-trust.js');
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : undefined;
};
const hasAz = spawnSync('sh', ['-c', 'command -v az'], { encoding: 'utf8' }).status === 0;

function run(cmd, args, opts) {
  return new Promise((resolve) => {
    // Learners work on laptops of their own, not on the trainer's: here they share one machine with
    // the sim, so they run at a lower priority (nice 10, inherited by az's own processes) and the
    // sim gets the CPU first, as on a machine of its own.
    const child = spawn('nice', ['-n', '10', cmd, ...args], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** A learner with the wizard: one `acr-trust run` process, signed in as the learner. */
async function wizardLearner(sim, join1, n, dir) {
  const j = JSON.parse(readFileSync(join1, 'utf8'));
  const env = { ...process.env, AZURE_CLIENT_ID: j.clientId, AZURE_CLIENT_SECRET: j.clientSecret, AZURE_TENANT_ID: 'adfs', AZURE_AUTHORITY_HOST: sim.endpoint, NO_COLOR: '1', CI: 'true' };
  const r = await run(process.execPath, [bin, 'run', '--target', 'azure', '--endpoint', sim.endpoint, '--ca', sim.caCertFile, '--subscription', sim.subscriptionId,
    '--resource-group', j.resourceGroup, '--registry', j.registry, '--goal', 'demo', '--yes', '--json', '--workdir', join(dir, `wd-${n}`)], { cwd: dir, env });
  return { how: 'wizard', ok: r.code === 0, ...(r.code === 0 ? {} : { why: r.err.slice(-300) }) };
}

/** A learner with the az CLI: `sim az-env --join`, then the article's first commands on their registry. */
async function azLearner(sim, join1, n, dir) {
  const j = JSON.parse(readFileSync(join1, 'utf8'));
  const envOut = await run(process.execPath, [bin, 'sim', 'az-env', '--join', join1, '--dir', join(dir, `az-${n}`), '--json'], { cwd: dir });
  if (envOut.code !== 0) return { how: 'az', ok: false, why: envOut.err.slice(-300) };
  const env = { ...process.env, ...JSON.parse(envOut.out).env };
  const commands = [
    ['acr', 'task', 'create', '-n', 'acr-trust-task', '-r', j.registry, '--cmd', '$Registry/hello-world', '--context', '/dev/null', '--assign-identity', '--auth-mode', 'None'],
    ['acr', 'update', '-n', j.registry, '--allow-trusted-services', 'true'],
    ['acr', 'update', '-n', j.registry, '--public-network-enabled', 'false'],
    ['acr', 'task', 'list', '-r', j.registry, '-o', 'none'],
  ];
  for (const c of commands) {
    const r = await run('az', c, { cwd: dir, env });
    if (r.code !== 0) return { how: 'az', ok: false, why: `az ${c.slice(0, 3).join(' ')}: ${r.err.slice(-300)}` };
  }
  return { how: 'az', ok: true };
}

/** Reads /room/events like a browser; calls `onSnapshot(event, receivedAt)` for each board or rows event (both have `rows`). */
function watchBoard(sim, onSnapshot) {
  const u = new URL(sim.endpoint);
  const req = request({ host: u.hostname, port: u.port, path: '/room/events', ca: sim.caCert, headers: { authorization: `Bearer ${sim.state.room.boardToken}` } }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        // The whole room, then only the rows that changed (as the page merges them).
        if (/^event: (board|rows)$/m.test(block) && data) onSnapshot(JSON.parse(data), Date.now());
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return () => req.destroy();
}

export async function benchRoom({ learners = 100, concurrency = 12 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'acr-trust-room-bench-'));
  const stateFile = join(dir, 'room.json');
  const sim = await startSim({ stateFile, scenario: 'classroom', learners, speed: 'instant' });
  const joinDir = writeJoinFiles(stateFile, sim.state, sim.endpoint, sim.endpoints, sim.caCert);
  const board = await startRoomBoard(sim);
  await board.ready;
  // Each learner's last change (a write the cloud accepted), and when the board (as an SSE client
  // sees it) first showed a check begun after it. Reads change nothing the board shows but the last
  // error, which needs no check.
  const lastRequest = new Map();
  const seenAfter = new Map();
  const off = sim.onRequest((r) => {
    // From the request's arrival (the sim's own clock), not from when this listener hears of it:
    // the board's listener may already have begun the check in between.
    if (r.learner && r.write && r.status < 400) lastRequest.set(r.learner, Date.parse(r.at));
  });
  let snapshots = 0;
  const stopWatching = watchBoard(sim, (s, at) => {
    snapshots++;
    for (const row of s.rows) {
      const last = lastRequest.get(row.learner);
      // The first snapshot that shows a check begun after the learner's latest request.
      if (last !== undefined && row.checkedAt >= last && seenAfter.get(row.learner)?.last !== last) seenAfter.set(row.learner, { at, last, began: row.checkedAt });
    }
  });
  const seeded = sim.requests.length;
  const t0 = performance.now();
  const ids = sim.state.room.identities.filter((i) => i.learner).map((i) => i.learner);
  try {
    mkdirSync(dir, { recursive: true });
    // The learners are started and watched from a worker thread: spawning processes and reading
    // their output would otherwise run on the event loop of the sim and its board (which `sim
    // serve` has to itself), and be measured as theirs.
    const results = await new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { sim: { endpoint: sim.endpoint, caCertFile: sim.caCertFile, subscriptionId: sim.subscriptionId }, joinDir, dir, ids, concurrency } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    const wallMs = performance.now() - t0;
    // Let the board catch up with the last learners, then read the lags.
    await new Promise((r) => setTimeout(r, 3000));
    const lags = ids.map((id) => {
      const s = seenAfter.get(id);
      return s && s.last === lastRequest.get(id) ? s.at - s.last : undefined;
    });
    const measured = lags.filter((x) => x !== undefined);
    // The lag in two parts: waiting for the check to begin, and the check itself until the page has it.
    const parts = ids.map((id) => seenAfter.get(id)).filter((s, i) => s && lags[i] !== undefined);
    const waits = parts.map((s) => s.began - s.last);
    const checks = parts.map((s) => s.at - s.began);
    const reqs = sim.requests.slice(seeded);
    const times = reqs.map((r) => r.ms);
    const mem = process.memoryUsage();
    const failures = results.filter((r) => !r.ok).slice(0, 3);
    return {
      learners,
      concurrency,
      wizard: results.filter((r) => r.how === 'wizard').length,
      az: results.filter((r) => r.how === 'az').length,
      ...(hasAz ? {} : { note: 'az not on PATH: every learner used the wizard' }),
      completed: results.filter((r) => r.ok).length,
      wallMs: round(wallMs, 0),
      requests: reqs.length,
      p50RequestMs: round(pct(times, 50)),
      p99RequestMs: round(pct(times, 99)),
      refused: reqs.filter((r) => r.status === 401 || r.status === 403).length,
      simRssMb: round(mem.rss / 2 ** 20, 1),
      simHeapMb: round(mem.heapUsed / 2 ** 20, 1),
      boardSnapshots: snapshots,
      boardLagMeasured: measured.length,
      boardLagP50Ms: round(pct(measured, 50) ?? NaN, 0),
      boardLagP99Ms: round(pct(measured, 99) ?? NaN, 0),
      boardLagMaxMs: round(Math.max(...measured), 0),
      boardWithinOneSecond: measured.filter((x) => x <= 1000).length,
      boardWaitP50Ms: round(pct(waits, 50) ?? NaN, 0),
      boardCheckP50Ms: round(pct(checks, 50) ?? NaN, 0),
      ...(failures.length ? { failures } : {}),
    };
  } finally {
    off();
    stopWatching();
    await board.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In the worker: every learner, `concurrency` at a time; posts their results in order. */
async function learnersInWorker({ sim, joinDir, dir, ids, concurrency }) {
  const results = new Array(ids.length);
  let next = 0;
  const pool = async () => {
    while (next < ids.length) {
      const k = next++;
      const n = ids[k];
      const file = join(joinDir, `learner${n}.json`);
      results[k] = hasAz && k % 7 === 6 ? await azLearner(sim, file, n, dir) : await wizardLearner(sim, file, n, dir);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, pool));
  parentPort.postMessage(results);
}

if (!isMainThread && workerData?.ids) await learnersInWorker(workerData);

if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const c = args.indexOf('--concurrency');
  const learners = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--concurrency') ?? 100);
  process.stdout.write(`${JSON.stringify(await benchRoom({ learners, ...(c >= 0 ? { concurrency: Number(args[c + 1]) } : {}) }), null, 2)}\n`);
}
