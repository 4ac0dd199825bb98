/**
 * The simulated Azure's public surface: start it, and the names other modules and tests use.
 *
 * Importing this module is cheap: the server — TLS, the routes, the run rules, the YAML parser —
 * is loaded by the first `startSim`, so a command that only might start a sim (the CLI's session,
 * before the first question) does not pay for it up front.
 */
import type { RunningSim, StartSimOptions } from './server.js';

export type { RunningSim, StartSimOptions, RequestRecord } from './server.js';
export { REQUEST_LOG_LIMIT } from './state-file.js';

/** Starts a simulated Azure (see server.ts). */
export async function startSim(opts: StartSimOptions = {}): Promise<RunningSim> {
  const server = await import('./server.js');
  return server.startSim(opts);
}

export { DEFAULT_LEARNERS, MAX_LEARNERS, learnerNames, checkLearners } from './scenarios.js';
export { SCENARIOS, SIM_SUBSCRIPTION_ID, SIM_TENANT_ID, SIM_CALLER_ID, DEMO_RESOURCE_GROUP, DEMO_LOCATION, DEMO_REGISTRY, TARGET_REGISTRY, type ScenarioName } from './scenarios.js';
export { BUILT_IN_ROLES, ROLE_GUIDS, roleByGuid, roleByName, roleDefinitionId, type BuiltInRole } from './roles.js';
export { parseFaultSpec, type FaultSpec } from './faults.js';
export { readStateFile, readRequestLog, requestLogFileFor, endpointFileFor, readEndpointFile, writeEndpointFile, removeEndpointFile, type EndpointRecord } from './state-file.js';
export type { CloudState, ArmResource } from './store.js';
export type { BoardHub, BoardRow, BoardRowsUpdate, BoardSnapshot } from './board/hub.js';
