/**
 * Runs: POST scheduleRun on a registry, and the run resources (`…/registries/{reg}/runs/{runId}`):
 * get, list, update (isArchiveEnabled), listLogSasUrl, cancel — plus the run's log blob, which
 * real ACR keeps in Azure Storage and the sim serves itself at
 * `/acrtasklogs.blob.core.windows.net/logs/{registry}/{runId}/rawtext.log` (see LOG_ACCOUNT_SEGMENT).
 *
 * A run is decided when it is scheduled (`rules.ts` planRun, against the state at that moment)
 * and then only *revealed* as sim time passes: its status, times and visible log lines are a pure
 * function of (now − scheduledAt). At instant speed every offset is 0, so a run is final on its
 * first read; at realistic speed it is Queued for a second, Running while its log grows line by
 * line, and final after several seconds.
 *
 * - scheduleRun answers 200 with the new run, Queued, showing only runId, status, lastUpdatedTime,
 *   provisioningState and isArchiveEnabled — at every speed (recording test_acr_task). The run's
 *   GET shows the rest; on the wire every scheduled run is a QuickRun (a task's run too).
 * - Run ids are short and per registry, as on Azure: `ca1`, `ca2` … `ca9`, `caa` … (`c` + base 36
 *   of 360 + n, which reproduces the ids seen in real logs: ca1, cad, cbx, cf10).
 * - Quick runs (EncodedTaskRunRequest, FileTaskRunRequest, DockerBuildRequest) have no task and no
 *   identity, so they are never trusted by a restricted registry (rules.ts tells them apart by the
 *   subject's own run type, which is not the wire's).
 * - A missing run is 404 `ResourceNotFound` in ARM's words (emulator choice, like tasks).
 * - The log link's SAS signature is an HMAC of the blob path, version and expiry with the run's
 *   `logKey`. It is a secret: it appears only in the listLogSasUrl answer, never in the Run.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ArmError, type SimRequest, type SimResponse } from '../http.js';
import type { RouteModule, SimContext } from '../context.js';
import { requirePermission, scopeOf } from '../caller.js';
import type { ArmResource, RunRecord } from '../store.js';
import { key } from '../store.js';
import { customEntries, sourceLoginMode } from '../../model/access.js';
import { planRun, runFacts, type RunSubject } from '../rules.js';
import { collectValues, programForDockerBuild, programForStep, type ProgramResult, type RunVariables } from '../../model/task-yaml.js';
import { page } from './common.js';
import { uploadedFiles } from './source-upload.js';
import { agentPoolOf } from './agent-pools.js';
import { stampSystemData } from '../system-data.js';
import { forVersion, RUN_PROPERTIES_SINCE } from '../api-versions.js';
import { notFound, REGISTRY_PATH, requireRegistry, TASK_API_VERSIONS } from './tasks.js';

export const RUN_TYPE = 'Microsoft.ContainerRegistry/registries/runs';

/** Storage service version the log link names (what real links carry today). */
const SAS_VERSION = '2024-11-04';
/** How long a log link stays valid (sim time). Real links last about an hour. */
const SAS_LIFETIME_MS = 3600_000;

export function runIdFor(n: number): string {
  return `c${(360 + n).toString(36)}`;
}

// ---------------------------------------------------------------------------------------------
// What clients see
// ---------------------------------------------------------------------------------------------

/** The Run as ARM returns it at sim time `now`. */
export function runView(record: RunRecord, now: number, apiVersion?: string | null): ArmResource {
  const elapsed = now - record.scheduledAt;
  const { outcome } = record;
  const startAt = record.startAt ?? 0;
  const final = elapsed >= outcome.at;
  // A run canceled while queued never starts.
  const started = startAt <= Math.min(elapsed, outcome.at);
  const status = final ? outcome.status : started ? 'Running' : 'Queued';
  const iso = (offset: number) => new Date(record.scheduledAt + offset).toISOString();
  const { sourceRegistryAuth: _auth, customRegistries: _custom, outputImages: _images, ...stored } = record.resource.properties;
  const properties: Record<string, any> = { ...stored, status, lastUpdatedTime: iso(final ? outcome.at : started ? startAt : 0) };
  if (started) properties.startTime = iso(startAt);
  if (final) properties.finishTime = iso(outcome.at);
  // Only a run that pushed images shows `outputImages` (recording test_acr_task: a `cmd` run
  // finishes without the key, a Docker build with its image).
  const images = final && outcome.status === 'Succeeded' ? (record.outputImages ?? []) : [];
  if (images.length > 0) properties.outputImages = images;
  if (final && outcome.runErrorMessage) properties.runErrorMessage = outcome.runErrorMessage;
  return forVersion({ ...record.resource, properties: order(properties) }, apiVersion, RUN_PROPERTIES_SINCE);
}

/** Run properties in the order the service writes them (cosmetic: `az` prints them this way). */
function order(p: Record<string, any>): Record<string, any> {
  const first = ['runId', 'status', 'lastUpdatedTime', 'runType', 'agentPoolName', 'createTime', 'startTime', 'finishTime', 'outputImages', 'task'];
  const out: Record<string, any> = {};
  for (const k of first) if (k in p) out[k] = p[k];
  for (const [k, v] of Object.entries(p)) if (!(k in out)) out[k] = v;
  return out;
}

/**
 * What scheduleRun answers: the new run, Queued, with only the keys the service shows at that
 * moment (recording test_acr_task: runId, status, lastUpdatedTime, provisioningState,
 * isArchiveEnabled) — whatever the sim's speed; the run's own GET shows the rest.
 */
export function scheduledView(record: RunRecord, apiVersion?: string | null): ArmResource {
  const p = record.resource.properties;
  return forVersion({
    ...record.resource,
    properties: { runId: p.runId, status: 'Queued', lastUpdatedTime: p.createTime, provisioningState: 'Succeeded', isArchiveEnabled: p.isArchiveEnabled },
  }, apiVersion, RUN_PROPERTIES_SINCE);
}

/** The log lines visible at sim time `now`, and whether the log is complete. */
export function visibleLog(record: RunRecord, now: number): { lines: string[]; complete?: string; exists: boolean } {
  const elapsed = now - record.scheduledAt;
  const final = elapsed >= record.outcome.at;
  const lines = record.log.filter((l) => l.at <= elapsed).map((l) => l.line);
  // The blob appears when an agent picks the run up (the az CLI prints "Waiting for an agent..." until then).
  const exists = final || elapsed >= (record.startAt ?? 0);
  return { lines, exists, ...(final ? { complete: record.outcome.status.toLowerCase() } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------------------------

interface Scheduled {
  subject: RunSubject;
  program: ProgramResult;
  task?: ArmResource;
  platform: any;
  agentConfiguration?: any;
}

function invalid(message: string): ArmError {
  return new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${message}'.`);
}

/** The task a TaskRunRequest names: its full ARM id (what the CLI sends) or its bare name (the spec's example). */
function taskOfRequest(sim: SimContext, req: SimRequest, registry: ArmResource, taskId: unknown): ArmResource {
  if (typeof taskId !== 'string' || !taskId) throw invalid("Required property 'taskId' not found in JSON. Path ''");
  const isId = taskId.includes('/');
  const wanted = isId ? key(taskId) : key(`${registry.id}/tasks/${taskId}`);
  const task = sim.state.tasks[wanted];
  // A task id naming another registry's task is not this registry's to run.
  if (!task || !wanted.startsWith(`${key(registry.id)}/tasks/`)) {
    const name = isId ? taskId.split('/').pop() : taskId;
    throw notFound(`Microsoft.ContainerRegistry/registries/${registry.name}/tasks/${name}`, req.params.resourceGroupName!);
  }
  return task;
}

/** The agent pool a run asks for, as the access model sees it; a pool that does not exist is ARM's 404. */
function poolFor(sim: SimContext, req: SimRequest, registry: ArmResource, name: unknown): RunSubject['agentPool'] {
  if (typeof name !== 'string' || !name) return undefined;
  const pool = agentPoolOf(sim, registry, name);
  if (!pool) throw notFound(`Microsoft.ContainerRegistry/registries/${registry.name}/agentPools/${name}`, req.params.resourceGroupName!);
  return { name, exists: true, subnetId: pool.properties.virtualNetworkSubnetResourceId, provisioningState: pool.properties.provisioningState };
}

function prepare(sim: SimContext, req: SimRequest, registry: ArmResource, vars: Omit<RunVariables, 'values' | 'os' | 'architecture'>): Scheduled {
  const body = req.body ?? {};
  const platformVars = (platform: any) => ({ os: String(platform?.os ?? 'linux'), architecture: String(platform?.architecture ?? 'amd64') });
  switch (body.type) {
    case 'TaskRunRequest': {
      const task = taskOfRequest(sim, req, registry, body.taskId);
      if (task.properties.status === 'Disabled') {
        // Emulator code: the service's answer for a disabled task is not documented.
        throw new ArmError(400, 'TaskDisabled', `The task '${task.name}' is disabled. Enable it before scheduling a run.`);
      }
      const step = task.properties.step;
      const values = collectValues(step, body.overrideTaskStepProperties?.values);
      // `az acr task run -c .` uploads the folder and names it as the context path.
      const source = uploadedFiles(sim, body.overrideTaskStepProperties?.contextPath ?? step?.contextPath);
      if (body.agentPoolName) throw new ArmError(400, 'InvalidRequestContent', 'You cannot set the agent pool name in the task run request. Please set the name on the task.');
      return {
        subject: { runType: 'AutoRun', home: registry, credentials: task.properties.credentials, identity: task.identity, agentPool: poolFor(sim, req, registry, task.properties.agentPoolName) },
        program: programForStep(step, { ...vars, ...platformVars(task.properties.platform), values, source }, task.name),
        task,
        platform: task.properties.platform,
        agentConfiguration: task.properties.agentConfiguration,
      };
    }
    case 'EncodedTaskRunRequest':
    case 'FileTaskRunRequest': {
      if (!body.platform?.os) throw invalid("Required property 'platform' not found in JSON. Path ''");
      const step = body.type === 'EncodedTaskRunRequest' ? { ...body, type: 'EncodedTask' } : { ...body, type: 'FileTask' };
      if (body.type === 'EncodedTaskRunRequest' && typeof body.encodedTaskContent !== 'string') throw invalid("Required property 'encodedTaskContent' not found in JSON. Path ''");
      return {
        subject: { runType: 'QuickRun', home: registry, credentials: body.credentials, callerPrincipalId: sim.state.caller.principalId, agentPool: poolFor(sim, req, registry, body.agentPoolName) },
        program: programForStep(step, { ...vars, ...platformVars(body.platform), values: collectValues(step), source: uploadedFiles(sim, body.sourceLocation) }, 'image'),
        platform: body.platform,
        agentConfiguration: body.agentConfiguration,
      };
    }
    case 'DockerBuildRequest': {
      if (!body.platform?.os) throw invalid("Required property 'platform' not found in JSON. Path ''");
      return {
        subject: { runType: 'QuickBuild', home: registry, credentials: body.credentials, callerPrincipalId: sim.state.caller.principalId, agentPool: poolFor(sim, req, registry, body.agentPoolName) },
        program: programForDockerBuild(body.imageNames ?? [], body.isPushEnabled !== false, { ...vars, ...platformVars(body.platform), values: collectValues(body), source: uploadedFiles(sim, body.sourceLocation) }, {
          dockerFilePath: body.dockerFilePath,
          arguments: body.arguments,
        }),
        platform: body.platform,
        agentConfiguration: body.agentConfiguration,
      };
    }
    default:
      throw invalid(`Unknown run request type '${body.type ?? ''}'. Path 'type'`);
  }
}

/** Schedules the run `req.body` asks for (a RunRequest) on the registry the path names. */
export function schedule(sim: SimContext, req: SimRequest): RunRecord {
  const registry = requireRegistry(sim, req);
  const counterKey = key(registry.id);
  const n = (sim.state.runCounters[counterKey] ?? 0) + 1;
  const runId = runIdFor(n);
  const scheduledAt = sim.now();
  const loginServer = String(registry.properties.loginServer);
  const s = prepare(sim, req, registry, { runId, registry: loginServer, registryName: registry.name, date: scheduledAt });
  const plan = planRun({ state: sim.state, subject: s.subject, program: s.program, runId, scheduledAt, speed: sim.speed });

  const id = `${registry.id}/runs/${runId}`;
  const properties: Record<string, any> = {
    runId,
    status: 'Queued',
    lastUpdatedTime: new Date(scheduledAt).toISOString(),
    // Every run scheduled through scheduleRun is a QuickRun on the wire — a task's run too
    // (recordings test_acr_task, test_acr_taskrun); AutoRun is for trigger-started runs.
    runType: 'QuickRun',
    createTime: new Date(scheduledAt).toISOString(),
    ...(s.task ? { task: s.task.name } : {}),
    ...(s.task?.properties.agentPoolName ? { agentPoolName: s.task.properties.agentPoolName } : {}),
    platform: s.platform,
    // A run without a given agent configuration runs on the default agent (2 CPUs), and its
    // answers say so (recording test_acr_taskrun: a DockerBuildRequest without one).
    agentConfiguration: s.agentConfiguration ?? { cpu: 2 },
    sourceRegistryAuth: sourceLoginMode(runFacts(s.subject)),
    customRegistries: customEntries(runFacts(s.subject)).map((c) => c.server),
    outputImages: [],
    provisioningState: 'Succeeded',
    isArchiveEnabled: req.body?.isArchiveEnabled === true,
  };
  const record: RunRecord = {
    resource: { id, name: runId, type: RUN_TYPE, properties, systemData: stampSystemData(sim, undefined, false) },
    taskKey: s.task ? key(s.task.id) : '',
    scheduledAt,
    startAt: plan.startAt,
    log: plan.log,
    outcome: plan.outcome,
    outputImages: plan.outputImages,
    logKey: randomBytes(32).toString('base64'),
  };
  sim.state.runCounters[counterKey] = n;
  sim.state.runs[key(id)] = record;
  sim.changed();
  return record;
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

const FILTER_FIELDS: Record<string, (r: ArmResource) => unknown> = {
  runid: (r) => r.properties.runId,
  taskname: (r) => r.properties.task,
  status: (r) => r.properties.status,
  runtype: (r) => r.properties.runType,
};

/**
 * `$filter` as the az CLI builds it: `Field eq 'value'` clauses joined by `and`, over RunId,
 * TaskName, Status and RunType (case-insensitive). Anything else (the CLI's
 * `contains(OutputImageManifests, …)`, `CreateTime ge …`) is refused rather than ignored, so a
 * client never mistakes an unfiltered list for a filtered one.
 */
export function parseRunFilter(filter: string): (run: ArmResource) => boolean {
  const clauses = filter.trim() === '' ? [] : filter.split(/\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)/i);
  const tests = clauses.map((clause) => {
    const m = /^\s*\(?\s*([A-Za-z]+)\s+eq\s+'((?:[^']|'')*)'\s*\)?\s*$/i.exec(clause);
    const field = m ? FILTER_FIELDS[m[1]!.toLowerCase()] : undefined;
    if (!m || !field) {
      throw new ArmError(400, 'InvalidFilter', `The filter clause '${clause.trim()}' is not supported. The simulated Azure supports: RunId, TaskName, Status, RunType eq '…', joined by 'and'.`);
    }
    const value = m[2]!.replace(/''/g, "'").toLowerCase();
    return (r: ArmResource) => String(field(r) ?? '').toLowerCase() === value;
  });
  return (run) => tests.every((t) => t(run));
}

// ---------------------------------------------------------------------------------------------
// The log blob
// ---------------------------------------------------------------------------------------------

function blobPath(registryName: string, runId: string): string {
  return `/logs/${registryName.toLowerCase()}/${runId.toLowerCase()}/rawtext.log`;
}

function signature(record: RunRecord, path: string, se: string): string {
  return createHmac('sha256', Buffer.from(record.logKey, 'base64')).update(['r', path, se, SAS_VERSION, 'b'].join('\n')).digest('base64');
}

/**
 * The storage account the log link names, path-style after the sim's origin (as storage emulators
 * address accounts): `https://127.0.0.1:PORT/acrtasklogs.blob.core.windows.net/logs/…`. A link on a
 * real `<account>.blob.<suffix>` host could not reach loopback without DNS; this one does, and it
 * still parses the way the az CLI parses a log link (`<account>.blob.<suffix>/<container>/<blob>?<sas>`
 * — `acr/_azure_utils.py` get_blob_info), whose storage client then joins the pieces back into
 * this same URL, so `az acr task run` and `az acr task logs` stream the log from the sim.
 */
export const LOG_ACCOUNT_SEGMENT = 'acrtasklogs.blob.core.windows.net';

function logLink(origin: string, registry: ArmResource, record: RunRecord, now: number): string {
  const path = blobPath(registry.name, record.resource.name);
  const se = new Date(now + SAS_LIFETIME_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const query = new URLSearchParams({ sv: SAS_VERSION, se, sr: 'b', sp: 'r', sig: signature(record, path, se) });
  return `${origin}/${LOG_ACCOUNT_SEGMENT}${path}?${query.toString()}`;
}

/** Azure Storage's refusal of a bad or missing SAS, as XML like the real service sends. */
function storageError(status: number, code: string, message: string, detail?: string): SimResponse {
  const xml =
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message>` +
    (detail ? `<AuthenticationErrorDetail>${detail}</AuthenticationErrorDetail>` : '') +
    '</Error>';
  return { status, text: xml, contentType: 'application/xml', headers: { 'x-ms-error-code': code, 'x-ms-version': SAS_VERSION } };
}

const AUTH_FAILED = 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.';

function findRunByBlob(sim: SimContext, registryName: string, runId: string): RunRecord | undefined {
  const suffix = `/providers/microsoft.containerregistry/registries/${registryName.toLowerCase()}/runs/${runId.toLowerCase()}`;
  return Object.entries(sim.state.runs).find(([k]) => k.endsWith(suffix))?.[1];
}

function serveLog(sim: SimContext, req: SimRequest): SimResponse {
  const record = findRunByBlob(sim, req.params.registry!, req.params.runId!);
  const sig = req.query.get('sig');
  const se = req.query.get('se');
  // Storage checks the signature before it looks for the blob: an unknown run is refused the same way.
  if (!record || !sig || !se || req.query.get('sv') !== SAS_VERSION) {
    return storageError(403, 'AuthenticationFailed', AUTH_FAILED, 'Signature fields not well formed.');
  }
  const expected = Buffer.from(signature(record, blobPath(req.params.registry!, req.params.runId!), se));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return storageError(403, 'AuthenticationFailed', AUTH_FAILED, 'Signature did not match.');
  }
  const now = sim.now();
  const expiry = Date.parse(se);
  if (Number.isNaN(expiry) || expiry < now) {
    return storageError(403, 'AuthenticationFailed', AUTH_FAILED, `Signed expiry time [${se}] must be after the current time [${new Date(now).toISOString()}].`);
  }

  const log = visibleLog(record, now);
  if (!log.exists) return storageError(404, 'BlobNotFound', 'The specified blob does not exist.');
  // Every line ends with CRLF: the az CLI's streamer prints up to the last CRLF it has read.
  const full = Buffer.from(log.lines.map((l) => `${l}\r\n`).join(''), 'utf8');
  const headers: Record<string, string> = {
    'x-ms-blob-type': 'AppendBlob',
    'x-ms-version': SAS_VERSION,
    'accept-ranges': 'bytes',
    'last-modified': new Date(record.scheduledAt + Math.min(now - record.scheduledAt, record.outcome.at)).toUTCString(),
  };
  // The end of the log is the blob metadata `Complete` (= the final status), not the content.
  if (log.complete) headers['x-ms-meta-Complete'] = log.complete;

  // Ranged reads (the CLI reads the append blob in 4 KiB chunks). The log is ASCII, so byte and
  // character offsets agree.
  const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers['x-ms-range'] ?? req.headers['range'] ?? ''));
  if (range && req.method === 'GET') {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : full.length - 1, full.length - 1);
    if (start >= full.length) {
      return { ...storageError(416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.'), headers: { ...headers, 'content-range': `bytes */${full.length}`, 'x-ms-error-code': 'InvalidRange' } };
    }
    return { status: 206, text: full.subarray(start, end + 1).toString('utf8'), headers: { ...headers, 'content-range': `bytes ${start}-${end}/${full.length}` } };
  }
  return { status: 200, text: full.toString('utf8'), headers };
}

// ---------------------------------------------------------------------------------------------

export const runsRoutes: RouteModule = (router, sim) => {
  const apiVersions = TASK_API_VERSIONS;
  const runs = `${REGISTRY_PATH}/runs`;
  const one = `${runs}/{runId}`;

  const requireRun = (req: SimRequest): { registry: ArmResource; record: RunRecord } => {
    const registry = requireRegistry(sim, req);
    const record = sim.state.runs[key(`${registry.id}/runs/${req.params.runId}`)];
    if (!record) throw notFound(`Microsoft.ContainerRegistry/registries/${registry.name}/runs/${req.params.runId}`, req.params.resourceGroupName!);
    return { registry, record };
  };

  router.on('POST', `${REGISTRY_PATH}/scheduleRun`, { apiVersions, name: 'registries.scheduleRun', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/scheduleRun/action', scopeOf(req, 'scheduleRun'));
    const record = schedule(sim, req);
    return { status: 200, body: scheduledView(record, req.query.get('api-version')) };
  });

  router.on('GET', runs, { apiVersions, name: 'runs.list' }, (req) => {
    const registry = requireRegistry(sim, req);
    const now = sim.now();
    const topText = req.query.get('$top');
    const top = topText === null ? undefined : Number(topText);
    if (top !== undefined && (!Number.isInteger(top) || top < 1)) {
      throw new ArmError(400, 'InvalidQueryParameterValue', `The value '${topText}' of the query parameter '$top' is invalid: a positive integer is expected.`);
    }
    const matches = parseRunFilter(req.query.get('$filter') ?? '');
    const prefix = `${key(registry.id)}/runs/`;
    const value = Object.entries(sim.state.runs)
      .filter(([k]) => k.startsWith(prefix))
      .map(([, r]) => r)
      // Newest first; runs scheduled in the same millisecond by their sequence.
      .sort((a, b) => b.scheduledAt - a.scheduledAt || parseInt(b.resource.name.slice(1), 36) - parseInt(a.resource.name.slice(1), 36))
      .map((r) => runView(r, now, req.query.get('api-version')))
      .filter(matches)
      .slice(0, top);
    return { status: 200, body: page(value) };
  });

  router.on('GET', one, { apiVersions, name: 'runs.get' }, (req) => {
    const { record } = requireRun(req);
    return { status: 200, body: runView(record, sim.now(), req.query.get('api-version')) };
  });

  router.on('PATCH', one, { apiVersions, name: 'runs.update', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/runs/write', scopeOf(req));
    const { record } = requireRun(req);
    const archive = req.body?.isArchiveEnabled;
    if (archive !== undefined && typeof archive !== 'boolean') throw invalid("Error converting value to type 'Boolean'. Path 'isArchiveEnabled'");
    if (archive !== undefined) {
      record.resource.properties.isArchiveEnabled = archive;
      // A changed run shows the whole systemData (recording test_acr_task, update-run).
      record.resource.systemData = stampSystemData(sim, record.resource.systemData?.createdAt ? record.resource.systemData : undefined);
      sim.changed();
    }
    return { status: 200, body: runView(record, sim.now(), req.query.get('api-version')) };
  });

  router.on('POST', `${one}/listLogSasUrl`, { apiVersions, name: 'runs.getLogSasUrl' }, (req) => {
    const { registry, record } = requireRun(req);
    return { status: 200, body: { logLink: logLink(req.origin, registry, record, sim.now()) } };
  });

  router.on('POST', `${one}/cancel`, { apiVersions, name: 'runs.cancel', write: true }, (req) => {
    requirePermission(sim, 'Microsoft.ContainerRegistry/registries/runs/cancel/action', scopeOf(req, 'cancel'));
    const { record } = requireRun(req);
    const elapsed = sim.now() - record.scheduledAt;
    // Canceling a finished run changes nothing (emulator choice: the service's answer is undocumented).
    if (elapsed < record.outcome.at) {
      const at = Math.max(0, elapsed);
      record.log = record.log.filter((l) => l.at <= at);
      record.outcome = { status: 'Canceled', at };
      record.outputImages = [];
      sim.changed();
    }
    return { status: 200 };
  });

  for (const method of ['GET', 'HEAD']) {
    router.on(method, `/${LOG_ACCOUNT_SEGMENT}/logs/{registry}/{runId}/rawtext.log`, { auth: false, name: 'logs.rawtext' }, (req) => serveLog(sim, req));
    // The links of earlier sim versions, without the account segment.
    router.on(method, '/logs/{registry}/{runId}/rawtext.log', { auth: false, name: 'logs.rawtext' }, (req) => serveLog(sim, req));
  }
};
