/**
 * The workflow's request floor, measured against by `npm run bench` (bench/run.js) and asserted by
 * the classroom test (test/sim/classroom.test.ts): one source for both.
 */

/**
 * The fewest ARM requests a full run on the default scenario can make, per route, derived from the
 * steps (the sim at instant speed: every long-running operation and run is finished when first
 * polled, so each needs one poll):
 *
 *   reads — each resource the workflow inspects, once: the subscription, the resource group, the
 *     registry, the caller's permissions on it, the task (404: not there yet), the task identity's
 *     role assignments on the registry; each of the two runs once finished (run, log link, log);
 *   verification — after each write a step's check reads the resource again, fresh (the task after
 *     its PUT and its credential PATCH, the assignments after the PUT, the registry after each of
 *     its three PATCHes); a run's verification is following it (above);
 *   long-running operations — none: a registry PATCH answers 200 with the final registry, as real
 *     Azure does (recordings test_acr_with_public_network_access*, test/sim/replay/);
 *   the task — read through POST listDetails (src/azure/cloud.ts): a GET shows a credential entry
 *     as null (as Azure's does) and listDetails answers all the GET does plus the entries, so one
 *     read serves the task's checks, the credential step's and the runs' freshness;
 *   writes — the task (PUT), the role assignment (PUT), the credential (task PATCH), three registry
 *     PATCHes (task bypass on, public access off, trusted services off — trusted services are already
 *     on for a new registry) and two scheduled runs.
 */
export const FULL_RUN_FLOOR: Readonly<Record<string, number>> = {
  'subscriptions.get': 1,
  'resourceGroups.get': 1,
  'registries.get': 1 + 3,
  'permissions.list': 1,
  'roleAssignments.list': 1 + 1,
  'tasks.listDetails': 1 + 2,
  'runs.get': 2,
  'runs.getLogSasUrl': 2,
  'logs.rawtext': 2,
  'tasks.create': 1,
  'roleAssignments.create': 1,
  'tasks.update': 1,
  'registries.update': 3,
  'registries.scheduleRun': 2,
};
export const WRITE_ROUTES: ReadonlySet<string> = new Set(['tasks.create', 'roleAssignments.create', 'tasks.update', 'registries.update', 'registries.scheduleRun']);
