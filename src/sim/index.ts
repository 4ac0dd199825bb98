/** The simulated Azure's public surface: start it, and the names other modules and tests use. */
export { startSim, REQUEST_LOG_LIMIT, type RunningSim, type StartSimOptions, type RequestRecord } from './server.js';
export { SCENARIOS, SIM_SUBSCRIPTION_ID, SIM_TENANT_ID, SIM_CALLER_ID, DEMO_RESOURCE_GROUP, DEMO_LOCATION, DEMO_REGISTRY, TARGET_REGISTRY, type ScenarioName } from './scenarios.js';
export { BUILT_IN_ROLES, ROLE_GUIDS, roleByGuid, roleByName, roleDefinitionId, type BuiltInRole } from './roles.js';
export { parseFaultSpec, type FaultSpec } from './faults.js';
export { readStateFile, readRequestLog, requestLogFileFor, endpointFileFor, readEndpointFile, writeEndpointFile, removeEndpointFile, type EndpointRecord } from './state-file.js';
export type { CloudState, ArmResource } from './store.js';
