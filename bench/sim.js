/**
 * Benchmark of the simulated Azure: start-up time (median of several cold starts, each minting
 * or loading its certificates and seeding a cloud) and per-request latency of a GET-registry loop
 * over HTTPS on loopback (keep-alive, like the SDK). Needs a build: `npm run build`.
 *
 *   node bench/sim.js            prints {"startupMs":…,"medianRequestMs":…,"p99RequestMs":…}
 */
import { Agent, request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSim } from '../dist/src/sim/index.js';

const STARTS = 7;
const REQUESTS = 500;
const WARMUP = 100;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const round = (ms) => Math.round(ms * 100) / 100;

function get(agent, sim, path) {
  return new Promise((resolve, reject) => {
    const url = new URL(sim.endpoint);
    const req = request({ host: url.hostname, port: url.port, path, agent, ca: sim.caCert, headers: { authorization: 'Bearer bench' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function benchSim() {
  const dir = mkdtempSync(join(tmpdir(), 'acr-trust-bench-'));
  try {
    const starts = [];
    for (let i = 0; i < STARTS; i++) {
      // A new state file each time: every start mints certificates and seeds a cloud.
      const t0 = performance.now();
      const sim = await startSim({ stateFile: join(dir, `cloud-${i}.json`) });
      starts.push(performance.now() - t0);
      await sim.stop();
    }

    const sim = await startSim({});
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: sim.caCert });
    try {
      const path = `/subscriptions/${sim.subscriptionId}/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/registries/acrtrustdemo?api-version=2025-11-01`;
      for (let i = 0; i < WARMUP; i++) await get(agent, sim, path);
      const times = [];
      for (let i = 0; i < REQUESTS; i++) {
        const t0 = performance.now();
        await get(agent, sim, path);
        times.push(performance.now() - t0);
      }
      return { startupMs: round(median(starts)), medianRequestMs: round(median(times)), p99RequestMs: round(percentile(times, 99)) };
    } finally {
      agent.destroy();
      await sim.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(await benchSim())}\n`);
}
