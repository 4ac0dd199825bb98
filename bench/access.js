/**
 * Benchmark of the run decision (src/model/access.ts via src/sim/rules.ts): microseconds per
 * registry access, measured two ways on the default scenario's cloud with 200 role assignments —
 * the model's `decideAccess` alone (what `doctor` calls), and a whole planned run (task YAML with
 * a build, a push and a pull: four accesses with the logins) divided by its accesses.
 * Needs a build: `npm run build`.
 *
 *   node bench/access.js      prints {"decideAccessUs":…,"plannedRunUsPerAccess":…}
 */
import { pathToFileURL } from 'node:url';
import { decideAccess, registryFactsFromWire } from '../dist/src/model/access.js';
import { planRun, roleAssignmentFacts, runFacts } from '../dist/src/sim/rules.js';
import { seedScenario } from '../dist/src/sim/scenarios.js';
import { programForYaml } from '../dist/src/model/task-yaml.js';
import { ROLE_GUIDS } from '../dist/src/model/roles.js';

const T0 = Date.parse('2025-07-01T10:00:00Z');
const PRINCIPAL = '11111111-1111-4111-8111-111111111111';

function cloud() {
  const state = seedScenario('default', 'instant', T0);
  const registry = Object.values(state.registries)[0];
  registry.properties.publicNetworkAccess = 'Disabled';
  registry.properties.networkRuleBypassAllowedForTasks = true;
  for (let i = 0; i < 200; i++) {
    const principalId = i === 199 ? PRINCIPAL : `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
    const id = `${registry.id}/providers/Microsoft.Authorization/roleAssignments/${String(i).padStart(8, '0')}-1111-4000-8000-000000000000`;
    state.roleAssignments[id.toLowerCase()] = { id, name: id.split('/').pop(), type: 'Microsoft.Authorization/roleAssignments', properties: { principalId, scope: registry.id, roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ROLE_GUIDS.AcrPush}`, createdOn: new Date(T0 - 60_000).toISOString() } };
  }
  const subject = {
    runType: 'AutoRun',
    home: registry,
    identity: { type: 'SystemAssigned', principalId: PRINCIPAL },
    credentials: { sourceRegistry: { loginMode: 'None' }, customRegistries: { [registry.properties.loginServer]: { identity: '[system]' } } },
  };
  return { state, registry, subject };
}

function perCall(fn, n) {
  for (let i = 0; i < Math.min(n, 1000); i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

export function benchAccess() {
  const { state, registry, subject } = cloud();
  const input = {
    registry: registryFactsFromWire(registry),
    run: runFacts(subject),
    roleAssignments: roleAssignmentFacts(state),
    request: { access: 'push', loginServer: registry.properties.loginServer, repository: 'app', at: T0 },
  };
  const verdict = decideAccess(input);
  if (!verdict.allowed) throw new Error(`bench cloud refused: ${verdict.cause}`);
  const decideAccessUs = perCall(() => decideAccess(input), 20_000);

  const yaml = 'version: v1.1.0\nsteps:\n  - build: -t $Registry/app:{{.Run.ID}} .\n  - push: ["$Registry/app:{{.Run.ID}}"]\n  - cmd: $Registry/app:{{.Run.ID}} echo ok\n';
  const vars = { runId: 'ca1', registry: registry.properties.loginServer, registryName: registry.name, os: 'linux', architecture: 'amd64', date: T0, values: {} };
  const program = programForYaml(yaml, vars);
  const plan = () => planRun({ state, subject, program, runId: 'ca1', scheduledAt: T0, speed: 'instant' });
  if (plan().outcome.status !== 'Succeeded') throw new Error('bench run did not succeed');
  // Accesses per run: the exchange and login of the one credential, the push, the pull (local, none).
  const runUs = perCall(plan, 2000);
  const round = (x) => Math.round(x * 100) / 100;
  return { decideAccessUs: round(decideAccessUs), plannedRunUs: round(runUs), plannedRunUsPerAccess: round(runUs / 3), roleAssignments: 200 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(JSON.stringify(benchAccess()));
