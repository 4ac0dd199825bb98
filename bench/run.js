/**
 * `npm run bench`: measures what the README promises and writes bench/results.json.
 *
 *   - start-up: `acr-trust --help` and `acr-trust steps` beside a bare `node -e 0`, sampled side by
 *     side (ratios; every process is started the same way, with the peak-memory preload);
 *   - time to the first question of an interactive session: `acr-trust` in a pseudo-terminal
 *     (`script`), from spawn until the question's text appears on the terminal — process start
 *     included — beside the same for bench/min-prompt.js (commander and one inquirer question: the
 *     floor for any interactive Node CLI); and `acr-trust run --target sim`, whose first question
 *     (the subscription picker) needs the embedded sim started and the SDK loaded to list them;
 *   - the sim: start-up (certificates included) and request latency (bench/sim.js);
 *   - a full unattended run on the embedded sim at instant speed: wall time, peak memory, ARM
 *     requests per route beside the floor the workflow needs (derived below); a no-op re-run and
 *     `verify` — both check every step live — side by side, each beside its floor;
 *   - full mode only: a training room of 30 learners on one sim (bench/classroom.js).
 *
 * `--short` (CI) takes fewer samples, skips the classroom and fails only on gross regressions,
 * judged by ratios and request counts, never by absolute times. `--readme` also writes the table
 * into README.md's Performance section (between its `bench:start`/`bench:end` markers).
 * Needs a build (`npm run build`, done by `npm ci`: tsc, then the SDK bundle).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAccess } from './access.js';
import { benchClassroom } from './classroom.js';
import { benchDoctor } from './doctor.js';
import { benchSim } from './sim.js';
import { benchCert } from './cert.js';
import { benchRoom } from './room.js';
import { benchFidelity } from './fidelity.js';
import { benchPackage } from './package.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/acr-trust.js');
const short = process.argv.includes('--short');
const SAMPLES = short ? 3 : 9;
const LEARNERS = 30;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Runs `node args…` and returns wall ms, exit status and peak resident memory (MB). */
function timeNode(args, cwd = root) {
  const t0 = performance.now();
  // `--max-rss` is read back from the child through a preload that reports on exit.
  const r = spawnSync(process.execPath, ['--import', join(root, 'bench/report-rss.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', CI: 'true' },
  });
  const ms = performance.now() - t0;
  const rss = /acr-trust-bench-maxrss=(\d+)/.exec(r.stderr)?.[1];
  const cpu = /acr-trust-bench-cpu-us=(\d+)/.exec(r.stderr)?.[1];
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr, rssMb: rss ? Number(rss) / 1024 : undefined, cpuMs: cpu ? Number(cpu) / 1000 : undefined };
}

function startup() {
  const bare = [], help = [], steps = [];
  for (let i = 0; i < SAMPLES; i++) {
    bare.push(timeNode(['-e', '0']).ms);
    help.push(timeNode([bin, '--help']).ms);
    steps.push(timeNode([bin, 'steps']).ms);
  }
  const b = median(bare);
  return { nodeMs: round(b), helpMs: round(median(help)), stepsMs: round(median(steps)), helpRatio: round(median(help) / b, 2), stepsRatio: round(median(steps) / b, 2) };
}

// ---- time to the first question ------------------------------------------------------------------

/**
 * Spawns `acr-trust args…` in a pseudo-terminal (util-linux `script`) and resolves with the ms from
 * spawn until `question` appears in what the terminal shows; the process is then killed.
 */
function firstQuestion(args, question, { program = bin, timeoutMs = 20_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'acr-trust-bench-tty-'));
  const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const line = [process.execPath, program, ...args, '--workdir', join(dir, 'w')].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const env = { ...process.env, TERM: 'xterm-256color', COLUMNS: '120', LINES: '40' };
    delete env.CI;
    delete env.NO_COLOR;
    const child = spawn('script', ['-qfec', line, '/dev/null'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    let seen = '';
    const done = (fn) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      child.once('close', () => rmSync(dir, { recursive: true, force: true }));
      fn();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`no "${question}" within ${timeoutMs} ms; the terminal showed: ${seen.slice(-400)}`))), timeoutMs);
    child.stdout.on('data', (c) => {
      seen += c.toString('utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      if (seen.includes(question)) {
        const ms = performance.now() - t0;
        done(() => resolve(ms));
      }
    });
    child.on('error', (e) => done(() => reject(e)));
  });
}

async function interactive() {
  const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (probe.error) return { skipped: 'no `script` (util-linux) to make a pseudo-terminal' };
  const n = short ? 3 : 7;
  const question = 'Where should acr-trust run the workflow?';
  const first = [], floor = [], sim = [];
  for (let i = 0; i < n; i++) {
    floor.push(await firstQuestion([], question, { program: join(root, 'bench/min-prompt.js') }));
    first.push(await firstQuestion([], question));
  }
  for (let i = 0; i < Math.min(n, 5); i++) sim.push(await firstQuestion(['run', '--target', 'sim', '--goal', 'demo'], 'Subscription'));
  const f = median(first);
  const m = median(floor);
  return { firstQuestionMs: round(f, 0), minimalPromptMs: round(m, 0), firstQuestionRatio: round(f / m, 2), simFirstQuestionMs: round(median(sim), 0) };
}

// ---- round trips ---------------------------------------------------------------------------------

const { FULL_RUN_FLOOR: FLOOR_FULL_RUN, WRITE_ROUTES } = await import(join(root, 'dist/steps/floor.js'));
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const FLOOR = {
  requests: sum(FLOOR_FULL_RUN),
  writes: sum(Object.fromEntries(Object.entries(FLOOR_FULL_RUN).filter(([k]) => WRITE_ROUTES.has(k)))),
  // verify checks every step live: each resource once (subscription, group, registry, permissions,
  // task, assignments) and each run with its log (3 requests each). The task is read once, through
  // listDetails: its credentials (a GET blanks them) and its last change (systemData), against which
  // a run counts only if newer.
  verify: 6 + 2 * 3,
};
// A no-op re-run checks every step live too, with the same reads (report.md's registry read is
// served by the read cache): the floor is verify's.
FLOOR.rerun = FLOOR.verify;

/** The requests a sim answered from `since` on (the log file may hold an earlier process's too). */
function requestsOf(workdir, since) {
  const log = JSON.parse(readFileSync(join(workdir, 'sim-cloud.requests.json'), 'utf8'));
  return (Array.isArray(log) ? log : log.requests).filter((q) => Date.parse(q.at) >= since);
}

function countBy(reqs) {
  const out = {};
  for (const q of reqs) out[q.name] = (out[q.name] ?? 0) + 1;
  return out;
}

function fullRun() {
  const walls = [], rss = [], cpu = [];
  let first, rerun, verify;
  for (let i = 0; i < SAMPLES; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'acr-trust-bench-run-'));
    try {
      const workdir = join(dir, 'w');
      const args = [bin, 'run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', workdir, '--json'];
      const since = Date.now() - 1;
      const r = timeNode(args, dir);
      if (r.status !== 0) throw new Error(`full run failed (exit ${r.status}): ${r.stderr}`);
      walls.push(r.ms);
      if (r.rssMb) rss.push(r.rssMb);
      if (r.cpuMs) cpu.push(r.cpuMs);
      if (i === 0) {
        const reqs = requestsOf(workdir, since);
        first = { requests: reqs.length, writes: reqs.filter((q) => q.write).length, byRoute: countBy(reqs) };
        const rerunSince = Date.now() - 1;
        const again = timeNode(args, dir);
        if (again.status !== 0) throw new Error(`re-run failed: ${again.stderr}`);
        const extra = requestsOf(workdir, rerunSince);
        rerun = { requests: extra.length, writes: extra.filter((q) => q.write).length, byRoute: countBy(extra), ms: round(again.ms) };
        const verifySince = Date.now() - 1;
        const v = timeNode([bin, 'verify', '--workdir', workdir, '--json'], dir);
        if (v.status !== 0) throw new Error(`verify failed (exit ${v.status}): ${v.stderr}`);
        const checked = requestsOf(workdir, verifySince);
        verify = { requests: checked.length, writes: checked.filter((q) => q.write).length, byRoute: countBy(checked), ms: round(v.ms) };
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    wallMs: round(median(walls)),
    minWallMs: round(Math.min(...walls)),
    cpuMs: cpu.length ? round(median(cpu)) : undefined,
    peakRssMb: rss.length ? round(Math.max(...rss)) : undefined,
    requests: first,
    rerun,
    verify,
  };
}

function cpuPressure() {
  try {
    return Number(/some avg10=[\d.]+ avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

// ---- the bench -----------------------------------------------------------------------------------

const t0 = performance.now();
const results = {
  when: new Date().toISOString(),
  node: process.version,
  short,
  cpus: cpus().length,
  loadAverage: loadavg().map((x) => round(x, 2)),
  // Linux's CPU pressure: the share of the last minute in which some runnable task waited for a CPU.
  cpuPressure: cpuPressure(),
  // The one-file SDK bundle the build makes (src/azure/bundle-sdk.ts); without it the packages load one by one.
  sdkBundle: existsSync(join(root, 'dist/azure-sdk.mjs')),
};
results.startup = startup();
// A terminal that misbehaves (no pty in a container, a prompt that never comes) skips this measure
// with the reason; the interactive tests judge whether the prompts work.
results.interactive = await interactive().catch((e) => ({ skipped: `could not measure: ${e.message.slice(0, 200)}` }));
results.sim = await benchSim();
results.cert = benchCert();
results.access = benchAccess();
results.fidelity = await benchFidelity();
results.fullRun = fullRun();
// The packed package installed with npm install -g, beside the clone (needs npm; skipped with the reason otherwise).
try {
  results.package = benchPackage({ samples: short ? 3 : 7 });
} catch (e) {
  results.package = { skipped: `could not measure: ${String(e.message).slice(0, 200)}` };
}
results.fullRun.floor = { ...FLOOR, byRoute: FLOOR_FULL_RUN };
results.doctor = await benchDoctor({ samples: short ? 1 : 3 });
if (!short) results.classroom = await benchClassroom({ learners: LEARNERS });
// Full mode only: 100 learners in processes of their own on one room with its live board (issue 16).
if (!short) results.room = await benchRoom({ learners: 100 });
results.benchSeconds = round((performance.now() - t0) / 1000);

const fr = results.fullRun;
const byRoute = Object.keys({ ...FLOOR_FULL_RUN, ...fr.requests.byRoute })
  .map((k) => `${k} ${fr.requests.byRoute[k] ?? 0}/${FLOOR_FULL_RUN[k] ?? 0}`)
  .join(', ');
const it = results.interactive;
const room = results.classroom;
const rows = [
  ['acr-trust --help', `${results.startup.helpMs} ms`, `${results.startup.helpRatio}× node -e 0 (${results.startup.nodeMs} ms)`, 'within 2×'],
  ['acr-trust steps', `${results.startup.stepsMs} ms`, `${results.startup.stepsRatio}× node -e 0`, 'within 2×'],
  ...(it.skipped
    ? [['first question (interactive)', 'skipped', it.skipped, '< 300 ms']]
    : [
        ['first question (interactive)', `${it.firstQuestionMs} ms`, `spawn → "Where should acr-trust run…" on a pty; ${it.firstQuestionRatio}× a bare commander + inquirer prompt (${it.minimalPromptMs} ms)`, '< 300 ms'],
        ['first question, run --target sim', `${it.simFirstQuestionMs} ms`, 'spawn → subscription picker (sim up, SDK loaded)', ''],
      ]),
  ...(results.package.skipped
    ? [['installed package (npm install -g)', 'skipped', results.package.skipped, '']]
    : [
        ['installed package: acr-trust --help', `${results.package.globalHelpMs} ms`, `${results.package.helpRatio}× the clone's node bin/acr-trust.js (${results.package.cloneHelpMs} ms); npm install -g of the packed tarball took ${round(results.package.installMs / 1000)} s`, 'as fast as the clone'],
        ['installed package: full run on the sim', `${results.package.globalRunMs} ms`, `${results.package.runRatio}× the clone's (${results.package.cloneRunMs} ms), spawn to exit`, 'as fast as the clone'],
      ]),
  ['sim start-up (with certificate)', `${results.sim.startupMs} ms`, '', '< 300 ms'],
  ['sim certificate (@peculiar/x509)', `first mint ${results.cert.firstMintMs} ms`, `in a fresh process (library load: ${results.cert.x509LoadBundleMs} ms from the build's bundle, ${results.cert.x509LoadPackagesMs} ms from the packages); again ${results.cert.mintAgainMs} ms; restart reusing the files ${results.cert.reuseStartMs} ms (first start of a process ${results.cert.firstReuseStartMs} ms)`, 'once per room'],
  ['run decision per registry access', `${results.access.decideAccessUs} µs`, `planned run ${results.access.plannedRunUsPerAccess} µs per access (${results.access.roleAssignments} role assignments)`, '< 1000 µs'],
  ...results.fidelity.recordings.map((f) => [`replay ${f.recording}`, `${f.inScope} in scope`, `status ${f.status}, LRO ${f.lro}, shape ${f.shape}; ${f.outOfScope} out of scope skipped; ${f.unexplained} unexplained (${f.client})`, '0 unexplained']),
  ['sim request latency', `median ${results.sim.medianRequestMs} ms`, `p99 ${results.sim.p99RequestMs} ms`, 'median < 2 ms'],
  ['full run on the sim (instant)', `${fr.wallMs} ms`, `fastest ${fr.minWallMs} ms; CPU ${fr.cpuMs} ms; peak RSS ${fr.peakRssMb} MB; SDK ${results.sdkBundle ? 'bundle' : 'packages (no bundle built)'}`, '< 1500 ms, < 150 MB'],
  ['ARM requests, full run', `${fr.requests.requests}`, `floor ${FLOOR.requests}; writes ${fr.requests.writes} (floor ${FLOOR.writes})`, 'at the floor'],
  ['ARM requests, no-op re-run (10 steps checked live)', `${fr.rerun.requests}`, `floor ${FLOOR.rerun}; writes ${fr.rerun.writes}; ${fr.rerun.ms} ms`, 'writes 0, ≤ 1 read per resource'],
  ['ARM requests, verify (10 steps checked live)', `${fr.verify.requests}`, `floor ${FLOOR.verify}; writes ${fr.verify.writes}; ${fr.verify.ms} ms`, '1 read per resource'],
  ['ARM requests, cold doctor (2 registries)', `${results.doctor.requests}`, `floor ${results.doctor.floor} (5 reads + a failed run's log: link, blob); writes ${results.doctor.writes}`, '1 read per resource + 1 per run log'],
  ['cold doctor on the sim', `${results.doctor.wallMs} ms`, `fastest ${results.doctor.fastestMs} ms; spawn → verdicts, a new process`, '< 1000 ms'],
  ...(room
    ? [
        [`classroom: ${room.learners} learners at once`, `${room.completed}/${room.learners} complete`, `in ${round(room.wallMs / 1000)} s; end states ok ${room.endStateOk}/${room.learners}; ${room.mode === 'cli' ? 'one CLI process each' : `in ${room.workers} processes (engine + steps)`}`, 'all complete'],
        ['classroom: sim request latency', `median ${room.medianRequestMs} ms`, `p99 ${room.p99RequestMs} ms over ${room.requests} requests (${room.requestsPerLearner}/learner)`, ''],
      ]
    : []),
];
const rm = results.room;
if (rm) {
  rows.push(
    [`room: ${rm.learners} learners, own processes`, `${rm.completed}/${rm.learners} complete`, `${rm.wizard} wizard + ${rm.az} az CLI, ${rm.concurrency} at a time, in ${round(rm.wallMs / 1000)} s; each signed in as itself`, 'all complete'],
    ['room: sim request latency', `p50 ${rm.p50RequestMs} ms`, `p99 ${rm.p99RequestMs} ms over ${rm.requests} requests; sim + board process RSS ${rm.simRssMb} MB with the learners' spawning thread (sim heap ${rm.simHeapMb} MB); the board's own reads go in process and are not counted`, ''],
    ['room: board behind a learner', `p50 ${rm.boardLagP50Ms} ms`, `p99 ${rm.boardLagP99Ms} ms, max ${rm.boardLagMaxMs} ms; ${rm.boardWithinOneSecond}/${rm.boardLagMeasured} within 1 s (SSE client, from the learner's last accepted write; waiting ${rm.boardWaitP50Ms} ms + checking ${rm.boardCheckP50Ms} ms at p50)`, 'within 1 s'],
  );
}
const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
const table = rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
console.log(table);
console.log(`\nrequests per route, actual/floor: ${byRoute}`);
const pressure = results.cpuPressure === undefined ? '' : `, CPU pressure ${results.cpuPressure}% at the start`;
console.log(`(${results.cpus} CPUs, load average ${results.loadAverage.join(' ')}${pressure}; bench took ${results.benchSeconds} s)`);
if (!results.sdkBundle) console.log('note: no SDK bundle in dist/ (`npm run build` makes it); the Azure SDK loaded package by package');

writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

// Gross regressions only: CI machines are noisy, so these are generous ratios and counts, not the targets.
const gross = [];
if (results.startup.helpRatio > 6) gross.push(`--help takes ${results.startup.helpRatio}× node -e 0`);
if (results.startup.stepsRatio > 6) gross.push(`steps takes ${results.startup.stepsRatio}× node -e 0`);
if (results.access.decideAccessUs > 1000) gross.push(`the run decision takes ${results.access.decideAccessUs} µs per access (more than a millisecond)`);
if (it.firstQuestionRatio > 6) gross.push(`the first question takes ${it.firstQuestionRatio}× a bare prompt`);
if (results.package.helpRatio > 2) gross.push(`the installed package starts ${results.package.helpRatio}× slower than the clone`);
if (fr.rerun.writes > 0) gross.push(`a no-op re-run wrote ${fr.rerun.writes} times`);
if (fr.verify.writes > 0) gross.push(`verify wrote ${fr.verify.writes} times`);
if (fr.requests.writes > FLOOR.writes * 2) gross.push(`a full run wrote ${fr.requests.writes} times (floor ${FLOOR.writes})`);
if (fr.requests.requests > FLOOR.requests * 2) gross.push(`a full run made ${fr.requests.requests} ARM requests (floor ${FLOOR.requests})`);
if (fr.rerun.requests > FLOOR.rerun * 2) gross.push(`a no-op re-run made ${fr.rerun.requests} requests (floor ${FLOOR.rerun})`);
if (fr.rerun.requests < FLOOR.verify) gross.push(`a no-op re-run made ${fr.rerun.requests} requests, fewer than checking every step live takes (${FLOOR.verify}): it skipped checks`);
if (fr.verify.requests > FLOOR.verify * 2) gross.push(`verify made ${fr.verify.requests} requests (floor ${FLOOR.verify})`);
if (results.doctor.writes > 0 || results.doctor.requests > results.doctor.floor) gross.push(`a cold doctor made ${results.doctor.requests} requests, ${results.doctor.writes} writes (floor ${results.doctor.floor}, no writes)`);
if (results.fidelity.total.unexplained > 0) gross.push(`the sim differs from recorded Azure traffic in ${results.fidelity.total.unexplained} unexplained ways (test/sim/replay)`);
if (room && room.completed < room.learners) gross.push(`only ${room.completed} of ${room.learners} learners completed`);
if (rm && rm.completed < rm.learners) gross.push(`room: only ${rm.completed} of ${rm.learners} learners completed`);
if (gross.length) {
  console.error(`bench: gross regression: ${gross.join('; ')}`);
  process.exitCode = 1;
}

// `--readme`: put this table into README.md's Performance section (between its bench markers).
if (process.argv.includes('--readme')) {
  const readme = join(root, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) {
    console.error(`bench: README.md has no ${start} … ${end} markers; table not written`);
  } else {
    const md = [
      '| measure | result | detail | target |',
      '|---|---|---|---|',
      ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
    ].join('\n');
    const busy = results.cpuPressure === undefined ? '' : `; other processes kept a task waiting for a CPU ${results.cpuPressure}% of the minute before`;
    const when = `Measured ${results.when.slice(0, 10)} with Node ${results.node} on ${results.cpus} CPUs (load average ${results.loadAverage[0]}${busy}).`;
    writeFileSync(readme, `${text.slice(0, i + start.length)}\n${md}\n\n${when}\n${text.slice(j)}`);
  }
}
