/**
 * Task runs (Microsoft.ContainerRegistry/registries/taskRuns, `az acr taskrun`): a named resource
 * that holds one run request and the run it started. create (PUT), get, list, delete.
 *
 * Shape as recorded (Azure/azure-cli recording test_acr_taskrun, commit 021cd50b, api-version
 * 2025-03-01-preview): `{type, properties: {provisioningState, runRequest, runResult}, location,
 * id, name, systemData}`; `runResult` is the run (`{type, properties, id, name}`, no systemData)
 * as its own GET shows it; `runRequest` is the request as sent, without empty lists and maps,
 * with the DockerBuildRequest defaults (`isPushEnabled: true`, `noCache: false`). DELETE answers
 * 200 with no body. PUT answers 200 with the task run (the service's LRO answer for create was not
 * recorded — the recording creates it through a deployment — so the sim answers at once).
 */
import { ArmError, type SimRequest } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import { requirePermission, scopeOf } from '../caller.js';
import type { ArmResource } from '../store.js';
import { key } from '../store.js';
import { TASK_RUN_API_VERSIONS } from '../api-versions.js';
import { stampSystemData } from '../system-data.js';
import { page } from './common.js';
import { runView, schedule } from './runs.js';
import { notFound, REGISTRY_PATH, requireRegistry } from './tasks.js';

export const TASK_RUN_TYPE = 'Microsoft.ContainerRegistry/registries/taskRuns';
const NAME = /^[a-zA-Z0-9-_]{5,50}$/;

/** The request as the service echoes it: empty lists and maps dropped, Docker build defaults filled. */
function echoRequest(request: any): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request ?? {})) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    // Secrets in values and credentials are not echoed (as task answers hide them).
    if (k === 'credentials') continue;
    out[k] = v;
  }
  if (request?.type === 'DockerBuildRequest') {
    out.isPushEnabled ??= true;
    out.noCache ??= false;
  }
  return out;
}

/** The task run as an answer shows it, with its run as the run's GET shows it now. */
export function taskRunView(sim: SimContext, taskRun: ArmResource): ArmResource {
  const runKey = taskRun.properties.runKey as string | undefined;
  const record = runKey ? sim.state.runs[runKey] : undefined;
  const { runKey: _k, ...properties } = taskRun.properties;
  if (record) {
    const run = runView(record, sim.now());
    properties.runResult = { type: run.type, properties: run.properties, id: run.id, name: run.name };
  }
  return { ...taskRun, properties };
}

export const taskRunsRoutes: RouteModule = (router, sim) => {
  const apiVersions = TASK_RUN_API_VERSIONS;
  const list = `${REGISTRY_PATH}/taskRuns`;
  const one = `${list}/{taskRunName}`;
  const all = () => (sim.state.taskRuns ??= {});

  const find = (req: SimRequest) => {
    const registry = requireRegistry(sim, req);
    return { registry, taskRun: all()[key(`${registry.id}/taskRuns/${req.params.taskRunName}`)] };
  };

  router.on('GET', list, { apiVersions, name: 'taskRuns.list' }, (req) => {
    const registry = requireRegistry(sim, req);
    const prefix = `${key(registry.id)}/taskruns/`;
    return { status: 200, body: page(Object.entries(all()).filter(([k]) => k.startsWith(prefix)).map(([, t]) => taskRunView(sim, t))) };
  });

  router.on('GET', one, { apiVersions, name: 'taskRuns.get' }, (req) => {
    const { registry, taskRun } = find(req);
    if (!taskRun) throw notFound(`Microsoft.ContainerRegistry/registries/${registry.name}/taskRuns/${req.params.taskRunName}`, req.params.resourceGroupName!);
    return { status: 200, body: taskRunView(sim, taskRun) };
  });

  router.on('PUT', one, { apiVersions, name: 'taskRuns.create', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/taskRuns/write', scopeOf(req));
    const { registry, taskRun: existing } = find(req);
    const name = req.params.taskRunName!;
    if (!NAME.test(name)) {
      throw new ArmError(400, 'InvalidResourceName', `Resource name '${name}' is invalid. The name must be between 5 and 50 characters long and may contain only letters, numbers, hyphens and underscores.`);
    }
    const runRequest = req.body?.properties?.runRequest;
    if (!runRequest || typeof runRequest !== 'object') {
      throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'Required property 'runRequest' not found in JSON. Path 'properties''.");
    }
    const record = schedule(sim, { ...req, body: runRequest });
    const id = existing?.id ?? `${registry.id}/taskRuns/${name}`;
    const taskRun: ArmResource = {
      type: TASK_RUN_TYPE,
      id,
      name: existing?.name ?? name,
      location: String(req.body?.location ?? registry.location),
      ...(req.body?.identity ? { identity: req.body.identity } : {}),
      properties: { provisioningState: 'Succeeded', runRequest: echoRequest(runRequest), runKey: key(record.resource.id) },
      systemData: stampSystemData(sim, existing?.systemData),
    };
    all()[key(id)] = taskRun;
    sim.changed();
    return { status: 200, body: taskRunView(sim, taskRun) };
  });

  router.on('DELETE', one, { apiVersions, name: 'taskRuns.delete', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/taskRuns/delete', scopeOf(req));
    const { taskRun } = find(req);
    if (!taskRun) return { status: 204 };
    delete all()[key(taskRun.id)];
    sim.changed();
    return { status: 200 };
  });
};
