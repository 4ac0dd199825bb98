/**
 * Benchmark of the sim's certificates (issue 16 §1): minting them with @peculiar/x509 in a fresh
 * process (the library loads on first use), minting again in the same process, and a restart that
 * reuses the files beside the state (no library loaded). Each figure is the median of a few fresh
 * Node processes timing `startSim` inside themselves. Needs a build.
 *
 *   node bench/cert.js     prints {"firstReuseStartMs":…,"firstMintMs":…,"mintAgainMs":…,"reuseStartMs":…,
 *                          "x509LoadBundleMs":…,"x509LoadPackagesMs":…}
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (ms) => Math.round(ms * 10) / 10;

// One process: first a restart of a cloud an earlier process made (loads the sim's modules, reuses
// the certificate files), then a new cloud (the first mint: loads the X.509 library), another new
// one (mints again), and the first cloud again (reuse, everything loaded).
const probe = `
const { startSim } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/sim/index.js')).href)});
const dir = process.argv[1];
const t = async (f) => { const t0 = performance.now(); const s = await startSim({ stateFile: f }); const ms = performance.now() - t0; await s.stop(); return ms; };
if (process.argv[2] === 'seed') { await t(dir + '/old.json'); process.exit(0); }
const loadSim = await t(dir + '/old.json');
const first = await t(dir + '/a.json');
const again = await t(dir + '/b.json');
const reuse = await t(dir + '/a.json');
console.log(JSON.stringify({ loadSim, first, again, reuse }));
`;

// The X.509 library alone, in a fresh process: from the build's one-file bundle (dist/x509.mjs,
// what the sim uses when it is current) or from the packages (some 700 module loads).
const loadProbe = `
const t0 = performance.now();
if (process.argv[1] === 'bundle') {
  const { loadBundle } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/bundles.js')).href)});
  if (!(await loadBundle('x509'))) throw new Error('no current x509 bundle: npm run build');
} else {
  await import('reflect-metadata');
  await import('@peculiar/x509');
}
console.log(JSON.stringify({ ms: performance.now() - t0 }));
`;

function loadMs(how) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', loadProbe, how], { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`x509 load probe failed: ${r.stderr.slice(0, 300)}`);
  return JSON.parse(r.stdout).ms;
}

export function benchCert() {
  const bundleLoads = [];
  const packageLoads = [];
  for (let i = 0; i < RUNS; i++) {
    bundleLoads.push(loadMs('bundle'));
    packageLoads.push(loadMs('packages'));
  }
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'acr-trust-bench-cert-'));
    try {
      spawnSync(process.execPath, ['--input-type=module', '-e', probe, dir, 'seed'], { cwd: root });
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe, dir], { encoding: 'utf8', cwd: root });
      if (r.status !== 0) throw new Error(`cert probe failed: ${r.stderr.slice(0, 300)}`);
      samples.push(JSON.parse(r.stdout));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    // The first start of a process that reuses its files: the sim's own modules loading.
    firstReuseStartMs: round(median(samples.map((s) => s.loadSim))),
    firstMintMs: round(median(samples.map((s) => s.first))),
    mintAgainMs: round(median(samples.map((s) => s.again))),
    reuseStartMs: round(median(samples.map((s) => s.reuse))),
    // The library's load alone in a fresh process, bundled (used) and from the packages (before).
    x509LoadBundleMs: round(median(bundleLoads)),
    x509LoadPackagesMs: round(median(packageLoads)),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(benchCert())}\n`);
}
