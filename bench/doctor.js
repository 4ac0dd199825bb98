/**
 * Benchmark of `acr-trust doctor`, cold (a new process each time, nothing cached): the wall time
 * of the binary against a sim, and the ARM requests it makes, per route, beside the floor — one
 * read per resource plus one per run log.
 *
 * The cloud: the default scenario's registry `acrtrustdemo` and a second closed registry, a task
 * in the first that pulls its base image from the second and pushes to the first, with `[system]`
 * credentials for both and its roles; the second registry's task bypass is off, so the task's
 * last run failed and the doctor reads that run's log.
 *
 * Floor: DOCTOR_FLOOR (src/doctor/read.ts, also asserted by test/doctor/runs.test.ts) — 5 reads
 * + 1 log (2 requests).
 * Needs a build: `npm run build`.
 *
 *   node bench/doctor.js      prints {"wallMs":…,"requests":…,"byRoute":{…},"floor":…}
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startSim } from '../dist/src/sim/index.js';
import { ROLE_GUIDS, roleDefinitionId } from '../dist/src/model/roles.js';
import { DOCTOR_FLOOR } from '../dist/src/doctor/read.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/acr-trust.js');
const RG = 'acr-trust-demo';

function arm(sim, method, path, body) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, sim.endpoint);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, ca: sim.caCert, headers: { authorization: 'Bearer bench', ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode >= 300 ? reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)) : resolve(text ? JSON.parse(text) : undefined)));
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

async function cloud(sim) {
  const sub = `/subscriptions/${sim.subscriptionId}`;
  const registry = (name) => `${sub}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${name}`;
  const closed = { publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: true };
  await arm(sim, 'PATCH', `${registry('acrtrustdemo')}?api-version=2025-11-01`, { properties: closed });
  await arm(sim, 'PUT', `${registry('acrbenchbase')}?api-version=2025-11-01`, { location: 'eastus', sku: { name: 'Premium' }, properties: { ...closed, networkRuleBypassAllowedForTasks: false } });
  const yaml = 'version: v1.1.0\nsteps:\n  - cmd: acrbenchbase.azurecr.io/base:1.0 echo ready\n  - build: -t $Registry/app:{{.Run.ID}} .\n  - push: ["$Registry/app:{{.Run.ID}}"]\n';
  const task = await arm(sim, 'PUT', `${registry('acrtrustdemo')}/tasks/bench-task?api-version=2025-03-01-preview`, {
    location: 'eastus',
    identity: { type: 'SystemAssigned' },
    properties: {
      status: 'Enabled',
      platform: { os: 'Linux', architecture: 'amd64' },
      step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(yaml).toString('base64') },
      credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { 'acrtrustdemo.azurecr.io': { identity: '[system]' }, 'acrbenchbase.azurecr.io': { identity: '[system]' } } },
    },
  });
  const principalId = task.identity.principalId;
  for (const [name, role] of [['acrtrustdemo', ROLE_GUIDS.AcrPush], ['acrbenchbase', ROLE_GUIDS.AcrPull]]) {
    await arm(sim, 'PUT', `${registry(name)}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: roleDefinitionId(sim.subscriptionId, role), principalId, principalType: 'ServicePrincipal' },
    });
  }
  await arm(sim, 'POST', `${registry('acrtrustdemo')}/scheduleRun?api-version=2019-06-01-preview`, { type: 'TaskRunRequest', taskId: task.id });
}

export async function benchDoctor({ samples = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'acr-trust-bench-doctor-'));
  const sim = await startSim({ speed: 'instant' });
  try {
    await cloud(sim);
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, sim.caCert);
    const args = [bin, 'doctor', '--target', 'sim', '--endpoint', sim.endpoint, '--ca', ca, '--sim-speed', 'instant', '--resource-group', RG, '--registry', 'acrtrustdemo', '--task', 'bench-task', '--json', '--workdir', join(dir, 'w')];
    const walls = [];
    let first;
    for (let i = 0; i < samples; i++) {
      const since = sim.requests.length;
      const t0 = performance.now();
      // The sim answers in this process: the doctor runs in a child without blocking it.
      const r = await new Promise((resolve) => {
        import('node:child_process').then(({ spawn }) => {
          const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (status) => resolve({ status, stdout, stderr }));
        });
      });
      walls.push(performance.now() - t0);
      if (r.status !== 3) throw new Error(`doctor: expected exit 3 (the bypass is off on acrbenchbase), got ${r.status}: ${r.stderr}`);
      const reqs = sim.requests.slice(since);
      if (i === 0) {
        const byRoute = {};
        for (const q of reqs) byRoute[q.name] = (byRoute[q.name] ?? 0) + 1;
        first = { requests: reqs.length, writes: reqs.filter((q) => q.write).length, byRoute };
      }
    }
    walls.sort((a, b) => a - b);
    const floor = Object.values(DOCTOR_FLOOR).reduce((a, b) => a + b, 0);
    return { wallMs: Math.round(walls[Math.floor(walls.length / 2)]), fastestMs: Math.round(walls[0]), ...first, floor, floorByRoute: DOCTOR_FLOOR };
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchDoctor()));
}
