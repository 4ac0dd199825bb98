/**
 * `acr-trust sim serve` and `acr-trust sim show`.
 *
 * serve prints exactly one JSON line on stdout once the sim accepts connections — the contract a
 * parent process (a test, a script exporting REQUESTS_CA_BUNDLE) waits for — and runs until
 * SIGINT/SIGTERM, then saves and exits 0. While it runs, the same facts and its pid are in
 * `<state>.endpoint.json` (removed on exit), which `sim az-env --state` reads. show reads the
 * state file without changing it.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';
import { processAlive } from '../../files.js';
import { usageError } from '../../errors.js';
import {
  DEFAULT_LEARNERS,
  endpointFileFor,
  MAX_LEARNERS,
  readEndpointFile,
  readRequestLog,
  readStateFile,
  removeEndpointFile,
  requestLogFileFor,
  roleByGuid,
  startSim,
  writeEndpointFile,
  type ArmResource,
  type CloudState,
  type RequestRecord,
} from '../../sim/index.js';
import { runView } from '../../sim/routes/runs.js';
import { roomEndpoint, writeJoinFiles } from './room-join.js';
import { startRoomBoard } from './room-board.js';
import { taskInspectView } from '../../sim/routes/tasks.js';
import { resolveCloud } from '../../azure/clouds.js';
import type { CloudFacts } from '../../model/clouds.js';

export const DEFAULT_STATE_FILE = './.acr-trust/sim-cloud.json';

export interface ServeOptions {
  port?: string;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** More certificate names (`--san`, repeatable). */
  san?: string[];
  state?: string;
  scenario?: string;
  speed?: 'instant' | 'realistic';
  faults?: string;
  /** With --scenario classroom: how many learners to seed. */
  learners?: string;
  /** The Azure cloud the sim stands for (a name the Azure CLI knows). */
  cloud?: string;
}

export interface ShowOptions {
  state?: string;
  json?: boolean;
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) {
    throw usageError(`Invalid --port '${value}': expected an integer from 0 to 65535.`, 'Omit --port to use a free ephemeral port.');
  }
  return Number(value);
}

/**
 * --learners: an integer from 1 to MAX_LEARNERS, and only with the classroom scenario. Without
 * --scenario the sim decides: a classroom state file checks the count against its own, a new cloud
 * (seeded `default`) refuses it.
 */
function parseLearners(value: string | undefined, scenario: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > MAX_LEARNERS) {
    throw usageError(
      `Invalid --learners '${value}': expected a whole number from 1 to ${MAX_LEARNERS}.`,
      `One resource group and registry are seeded per learner; omit --learners for ${DEFAULT_LEARNERS}.`,
    );
  }
  if (scenario !== undefined && scenario !== 'classroom') {
    throw usageError(
      `--learners applies only to --scenario classroom, not '${scenario}'.`,
      'Use --scenario classroom --learners N for a training room, or drop --learners.',
    );
  }
  return Number(value);
}

/**
 * --cloud NAME: the cloud's facts as the Azure CLI knows them (built in, or registered in
 * $AZURE_CONFIG_DIR/clouds.config); exit 2 naming the clouds known here otherwise.
 */
function simCloud(name: string): CloudFacts {
  const c = resolveCloud({ cloud: name });
  return { name: c.name, resourceManager: c.resourceManager, authorityHost: c.authorityHost, activeDirectoryResourceId: c.tokenAudience, acrLoginServerSuffix: c.acrLoginServerSuffix };
}

export async function serve(opts: ServeOptions): Promise<void> {
  const port = parsePort(opts.port);
  const learners = parseLearners(opts.learners, opts.scenario);
  const stateFile = resolve(opts.state ?? DEFAULT_STATE_FILE);
  const cloud = opts.cloud === undefined ? undefined : simCloud(opts.cloud);
  const sim = await startSim({
    ...(cloud ? { cloud } : {}),
    stateFile,
    ...(port !== undefined ? { port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.san?.length ? { subjectAltNames: opts.san } : {}),
    ...(opts.scenario ? { scenario: opts.scenario } : {}),
    ...(learners !== undefined ? { learners } : {}),
    ...(opts.speed ? { speed: opts.speed } : {}),
    ...(opts.faults ? { faults: opts.faults } : {}),
  });
  // Listen for the stop signals before announcing the endpoint: whoever reads the line may
  // signal at once.
  const stopped = new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const announced: Record<string, unknown> = { endpoint: sim.endpoint, endpoints: sim.endpoints, caCertFile: sim.caCertFile, subscriptionId: sim.subscriptionId, tenantId: sim.tenantId, ...(sim.state.cloud ? { cloud: sim.state.cloud.name } : {}) };
  // A classroom: one join file per identity for the trainer to hand out, and the board's address
  // with its token (the trainer's only; printed here once, never logged).
  const joinDir = writeJoinFiles(stateFile, sim.state, sim.endpoint, sim.endpoints, sim.caCert);
  if (joinDir && sim.state.room) {
    announced.joinDir = joinDir;
    announced.board = `${roomEndpoint(sim.endpoint, sim.endpoints)}/room?token=${sim.state.room.boardToken}`;
  }
  // Beside the state file, for `sim az-env --state` and other clients that know only the state.
  const endpointFile = endpointFileFor(stateFile);
  writeEndpointFile(endpointFile, { endpoint: sim.endpoint, endpoints: sim.endpoints, caCertFile: sim.caCertFile, subscriptionId: sim.subscriptionId, tenantId: sim.tenantId, pid: process.pid });
  // The live board's rows: the wizard's step checks per learner, run here (room-board.ts).
  const board = await startRoomBoard(sim);
  process.stdout.write(`${JSON.stringify(announced)}\n`);
  try {
    await stopped;
    await board?.stop();
    await sim.stop();
  } finally {
    removeEndpointFile(endpointFile, process.pid);
  }
}

export async function show(opts: ShowOptions): Promise<void> {
  const file = resolve(opts.state ?? DEFAULT_STATE_FILE);
  const state = readStateFile(file);
  if (!state) throw usageError(`No simulated cloud at ${file}.`, 'Start one with `acr-trust sim serve` (or pass --state).');
  const requests = readRequestLog(requestLogFileFor(file));
  const view = cloudView(state);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ stateFile: file, ...view, requests }, null, 2)}\n`);
    return;
  }
  process.stdout.write(textListing(file, state, view, requests));
}

/** The resources as ARM's GET returns them now: runs at their current status, without the log's
 *  signing secret or the sim's run plan; tasks without credential secrets. */
function cloudView(state: CloudState) {
  return {
    scenario: state.scenario,
    ...(state.learners !== undefined ? { learners: state.learners } : {}),
    speed: state.speed,
    tenantId: state.tenantId,
    subscriptions: state.subscriptions.map((s) => ({ id: `/subscriptions/${s.subscriptionId}`, subscriptionId: s.subscriptionId, tenantId: state.tenantId, displayName: s.displayName, state: s.state })),
    resourceGroups: Object.values(state.resourceGroups).map((rg) => ({
      id: `/subscriptions/${rg.subscriptionId}/resourceGroups/${rg.name}`,
      name: rg.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: rg.location,
      properties: { provisioningState: 'Succeeded' },
    })),
    registries: Object.values(state.registries),
    tasks: Object.values(state.tasks).map((t) => taskInspectView(t)),
    agentPools: Object.values(state.agentPools ?? {}),
    runs: Object.values(state.runs).map((r) => runView(r, Date.now())),
    roleAssignments: Object.values(state.roleAssignments),
  };
}

const TEXT_REQUESTS = 40;

function textListing(file: string, state: CloudState, view: ReturnType<typeof cloudView>, requests: RequestRecord[]): string {
  const out: string[] = [];
  const section = (title: string, items: unknown[], line: (x: any) => string) => {
    out.push('', `${title} (${items.length})`);
    for (const item of items) out.push(`  ${line(item)}`);
  };
  const room = state.learners !== undefined ? ` (${state.learners} learners)` : '';
  out.push(`Simulated cloud: ${file}`, `  scenario ${state.scenario}${room}, speed ${state.speed}, tenant ${state.tenantId}`);
  section('Subscriptions', view.subscriptions, (s) => `${s.displayName}  ${s.subscriptionId}  ${s.state}`);
  section('Resource groups', view.resourceGroups, (g) => `${g.name}  ${g.location}`);
  section('Registries', view.registries, (r: ArmResource) => {
    const p = r.properties;
    return [
      `${r.name}  ${r.sku?.name}  ${r.location}  ${p.loginServer}`,
      `      publicNetworkAccess=${p.publicNetworkAccess}  networkRuleBypassOptions=${p.networkRuleBypassOptions}  networkRuleBypassAllowedForTasks=${p.networkRuleBypassAllowedForTasks}`,
      `      networkRuleSet.defaultAction=${p.networkRuleSet?.defaultAction ?? '-'}  ipRules=${p.networkRuleSet?.ipRules?.length ?? 0}  roleAssignmentMode=${p.roleAssignmentMode}`,
      `      ${r.id}`,
    ].join('\n');
  });
  section('Tasks', view.tasks, (t: ArmResource) => `${t.name}  identity=${t.identity?.type ?? 'None'}${t.identity?.principalId ? ` (${t.identity.principalId})` : ''}  ${t.id}`);
  section('Agent pools', view.agentPools, (p: ArmResource) => `${p.name}  ${p.properties.tier}  count=${p.properties.count}  ${p.properties.provisioningState}  subnet=${p.properties.virtualNetworkSubnetResourceId ?? '-'}`);
  section('Runs', view.runs, (r: ArmResource) => `${r.name}  ${r.properties?.status}  ${r.properties?.task ?? ''}  ${r.properties?.runErrorMessage ?? ''}`.trimEnd());
  section('Role assignments', view.roleAssignments, (a: ArmResource) => {
    const role = roleByGuid(a.properties.roleDefinitionId)?.roleName ?? a.properties.roleDefinitionId;
    return `${role}  ${a.properties.principalType} ${a.properties.principalId}  at ${a.properties.scope}`;
  });
  const shown = requests.slice(-TEXT_REQUESTS);
  out.push('', `Requests (last ${shown.length} of ${requests.length} logged)`);
  for (const r of shown) {
    const v = r.apiVersion ? `?api-version=${r.apiVersion}` : '';
    out.push(`  ${r.at}  ${r.method.padEnd(6)} ${String(r.status).padEnd(3)} ${String(r.ms).padStart(7)}ms  ${r.name}${r.fault ? ` [fault ${r.fault}]` : ''}  ${r.path}${v}`);
  }
  return `${out.join('\n')}\n`;
}

export interface ResetLearnerOptions {
  learner: string;
  state?: string;
}

/**
 * `sim reset-learner --learner 07`: asks the running room (its endpoint file beside the state)
 * to put learner 07's group back as seeded, with the board token from the room's state. Prints
 * what was removed. Exit 2 for a room that is not running, not a classroom, or has no such learner.
 */
export async function resetLearnerCommand(opts: ResetLearnerOptions): Promise<void> {
  const stateFile = resolve(opts.state ?? DEFAULT_STATE_FILE);
  const state = readStateFile(stateFile);
  if (!state) throw usageError(`No simulated cloud at ${stateFile}.`, 'Pass the --state the room was started with.');
  if (!state.room) throw usageError(`The sim at ${stateFile} is not a classroom: it has no learners to reset.`, 'Start a room with `acr-trust sim serve --scenario classroom`.');
  const record = readEndpointFile(endpointFileFor(stateFile));
  if (!record || !processAlive(record.pid)) throw usageError(`The room ${stateFile} is not running.`, `Start it again with \`acr-trust sim serve --state ${opts.state ?? DEFAULT_STATE_FILE}\`, then reset.`);
  const ca = readFileSync(record.caCertFile, 'utf8');
  const answer = await new Promise<{ status: number; body: any }>((done, reject) => {
    const req = httpsRequest(`${record.endpoint}/room/api/learners/${encodeURIComponent(opts.learner.trim())}/reset`, { method: 'POST', ca, headers: { authorization: `Bearer ${state.room!.boardToken}` }, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        try {
          done({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          done({ status: res.statusCode ?? 0, body: undefined });
        }
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => reject(usageError(`Cannot reach the room at ${record.endpoint} (${e.code ?? e.message}).`, 'Is `acr-trust sim serve` still running?')));
    req.end();
  });
  if (answer.status !== 200) throw usageError(answer.body?.error?.message ?? `The room answered HTTP ${answer.status}.`, 'Give the learner\'s number, as in learner07: --learner 07.');
  const r = answer.body.removed;
  process.stdout.write(`Learner ${opts.learner.trim()}: resource group back as seeded (removed ${r.tasks} task(s), ${r.runs} run(s), ${r.roleAssignments} role assignment(s)); the other learners were not touched.\n`);
}
