/**
 * `npm run bench`: measures what the README promises and writes bench/results.json.
 *
 *   - start-up: `acr-trust --help` and `acr-trust steps` beside a bare `node -e 0` (ratio)
 *   - the sim: start-up (certificates included) and request latency (bench/sim.js)
 *   - a full unattended run on the embedded sim at instant speed: wall time, peak memory,
 *     ARM requests (all, and writes); a no-op re-run: its requests and writes
 *
 * `--short` (CI) takes fewer samples and fails only on gross regressions, judged by ratios.
 * Needs a build (`npm run build`, done by `npm ci`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSim } from './sim.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/acr-trust.js');
const short = process.argv.includes('--short');
const SAMPLES = short ? 3 : 9;

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
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr, rssMb: rss ? Number(rss) / 1024 : undefined };
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

function requestsOf(workdir) {
  const log = JSON.parse(readFileSync(join(workdir, 'sim-cloud.requests.json'), 'utf8'));
  return Array.isArray(log) ? log : log.requests;
}

function fullRun() {
  const walls = [], rss = [];
  let first, rerun;
  for (let i = 0; i < SAMPLES; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'acr-trust-bench-run-'));
    try {
      const workdir = join(dir, 'w');
      const args = [bin, 'run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', workdir, '--json'];
      const r = timeNode(args, dir);
      if (r.status !== 0) throw new Error(`full run failed (exit ${r.status}): ${r.stderr}`);
      walls.push(r.ms);
      if (r.rssMb) rss.push(r.rssMb);
      if (i === 0) {
        const reqs = requestsOf(workdir);
        first = { requests: reqs.length, writes: reqs.filter((q) => q.write).length, byRoute: countBy(reqs) };
        const again = timeNode(args, dir);
        if (again.status !== 0) throw new Error(`re-run failed: ${again.stderr}`);
        const all = requestsOf(workdir);
        const extra = all.slice(reqs.length);
        rerun = { requests: extra.length, writes: extra.filter((q) => q.write).length, ms: round(again.ms) };
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { wallMs: round(median(walls)), peakRssMb: rss.length ? round(Math.max(...rss)) : undefined, requests: first, rerun };
}

function countBy(reqs) {
  const out = {};
  for (const q of reqs) out[q.name] = (out[q.name] ?? 0) + 1;
  return out;
}

/**
 * The fewest writes the workflow allows on the default scenario: the task (PUT), the role
 * assignment (PUT), the credential (task PATCH), three registry PATCHes (task bypass on, public
 * access off, trusted services off — trusted services are already on for a new registry) and two
 * scheduled runs.
 */
const FLOOR = { writes: 1 + 1 + 1 + 3 + 2 };

const results = { when: new Date().toISOString(), node: process.version, short };
results.startup = startup();
results.sim = await benchSim();
results.fullRun = fullRun();
results.fullRun.floorWrites = FLOOR.writes;

const rows = [
  ['acr-trust --help', `${results.startup.helpMs} ms`, `${results.startup.helpRatio}× node -e 0 (${results.startup.nodeMs} ms)`, 'within 2×'],
  ['acr-trust steps', `${results.startup.stepsMs} ms`, `${results.startup.stepsRatio}× node -e 0`, 'within 2×'],
  ['sim start-up (with certificate)', `${results.sim.startupMs} ms`, '', '< 300 ms'],
  ['sim request latency', `median ${results.sim.medianRequestMs} ms`, `p99 ${results.sim.p99RequestMs} ms`, 'median < 2 ms'],
  ['full run on the sim (instant)', `${results.fullRun.wallMs} ms`, `peak RSS ${results.fullRun.peakRssMb} MB`, '< 1500 ms, < 150 MB'],
  ['ARM requests, full run', `${results.fullRun.requests.requests}`, `writes ${results.fullRun.requests.writes} (floor ${FLOOR.writes})`, ''],
  ['ARM requests, no-op re-run', `${results.fullRun.rerun.requests}`, `writes ${results.fullRun.rerun.writes}`, 'writes 0'],
];
const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));

writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

// Gross regressions only: CI machines are noisy, so these are generous ratios, not the targets.
const gross = [];
if (results.startup.helpRatio > 6) gross.push(`--help takes ${results.startup.helpRatio}× node -e 0`);
if (results.fullRun.rerun.writes > 0) gross.push(`a no-op re-run wrote ${results.fullRun.rerun.writes} times`);
if (results.fullRun.requests.writes > FLOOR.writes * 2) gross.push(`a full run wrote ${results.fullRun.requests.writes} times (floor ${FLOOR.writes})`);
if (gross.length) {
  console.error(`bench: gross regression: ${gross.join('; ')}`);
  process.exitCode = 1;
}
