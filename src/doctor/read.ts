/**
 * What the doctor reads, all of it live and read-only, each resource once (through the adapter's
 * read cache): the subscription, every registry of the subscription (one paged list — SKU,
 * network rules, bypass switches, role-assignment mode, private endpoints), the task with its
 * credentials (listDetails, secret values removed by the adapter), the role assignments of each of
 * the task's identities (one list per principal: every scope in the subscription), the task's
 * agent pool, its newest runs, and the log of the newest finished run when it failed (one log).
 *
 * A read that fails for want of a permission stops the doctor with exit 1 and ARM's own words,
 * which name the missing action (`…/roleAssignments/read`); a name that does not exist is exit 2.
 */
import type { ArmJson, Cloud, Subscription } from '../azure/index.js';
import { AcrTrustError, isAcrTrustError, usageError } from '../errors.js';

export interface DoctorRequest {
  resourceGroup: string;
  /** The registry that owns the task. */
  registry: string;
  task: string;
  /** The registry the user cares about (default: every registry the task reaches). */
  targetRegistry?: string;
  /** How many of the task's newest runs to list. */
  runs?: number;
  /** One run to explain instead of the task's last (a task run or a quick run: az acr build/run). */
  runId?: string;
}

export interface LastRun {
  runId: string;
  status: string;
  runType?: string;
  createTime?: string;
  finishTime?: string;
  runErrorMessage?: string;
  /** The log, when the doctor read it (the newest finished run, when it failed). Never printed whole. */
  log?: string;
}

export interface DoctorReading {
  subscription?: Subscription;
  /** Every registry in the subscription, as ARM answered. */
  registries: ArmJson[];
  home: ArmJson;
  task: ArmJson;
  /** Role assignments of the task's identities (system and user-assigned), as ARM answered. */
  roleAssignments: ArmJson[];
  agentPool?: ArmJson;
  /** True when the task names an agent pool that does not exist. */
  agentPoolMissing?: boolean;
  /** The task's newest runs, newest first. */
  runs: LastRun[];
  /** When the read happened (ms): the moment the decisions are made for. */
  at: number;
  /** Set when the run asked about (`runId`) is a quick run: there is no task to read. */
  quickRun?: LastRun & { outputRepository?: string };
}

/** Reads everything the diagnosis needs. Throws AcrTrustError (2: a name is wrong; 1: a read was refused). */
export async function readTaskWorld(cloud: Cloud, req: DoctorRequest): Promise<DoctorReading> {
  const at = Date.now();
  if (req.runId) {
    const [run] = await needs(PERMISSIONS.runs, cloud.listRunsJson(req.resourceGroup, req.registry, { runId: req.runId, top: 1 }));
    if (!run) throw usageError(`Registry ${req.registry} has no run ${req.runId}.`, `List its runs: \`az acr task list-runs -r ${req.registry} -o table\`.`);
    const taskName = String(run.properties?.task ?? '').split('/').pop();
    if (!taskName) return readQuickRun(cloud, req, run, at);
    // A task's run: explain that task, with this run as the one to compare.
    const reading = await readTaskWorld(cloud, { ...req, runId: undefined, task: taskName });
    const asked = toLastRun(run);
    if (asked.status === 'Failed') asked.log = await needs(PERMISSIONS.runLog, cloud.readRunLog(req.resourceGroup, req.registry, asked.runId));
    return { ...reading, runs: [asked] };
  }
  const [subscription, registries, task, runs] = await Promise.all([
    cloud.getSubscription().catch(() => undefined),
    needs(PERMISSIONS.registries, cloud.listRegistriesJson()),
    needs(PERMISSIONS.task, cloud.getTaskJson(req.resourceGroup, req.registry, req.task)),
    needs(PERMISSIONS.runs, cloud.listRunsJson(req.resourceGroup, req.registry, { taskName: req.task, top: req.runs ?? 5 })),
  ]);
  const home = registries.find((r) => sameName(r.name, req.registry) && resourceGroupOf(r.id) === req.resourceGroup.toLowerCase());
  if (!home) {
    const names = registries.map((r) => `${r.name} (${resourceGroupOf(r.id)})`).join(', ') || 'none';
    throw usageError(`There is no registry ${req.registry} in resource group ${req.resourceGroup}.`, `Registries in this subscription: ${names}.`);
  }
  if (req.targetRegistry && !registries.some((r) => sameName(r.name, req.targetRegistry!))) {
    throw usageError(`There is no registry ${req.targetRegistry} in this subscription.`, `Registries: ${registries.map((r) => r.name).join(', ') || 'none'}.`);
  }
  if (!task) {
    const known = await cloud.listTasksJson(req.resourceGroup, req.registry).catch(() => []);
    throw usageError(
      `Registry ${req.registry} has no task named ${req.task}.`,
      known.length ? `Its tasks: ${known.map((t) => t.name).join(', ')}.` : `It has no tasks; \`acr-trust run\` creates one.`,
    );
  }
  const principals = identityPrincipals(task);
  const poolName = typeof task.properties?.agentPoolName === 'string' && task.properties.agentPoolName ? task.properties.agentPoolName : undefined;
  const [assignments, agentPool] = await Promise.all([
    Promise.all(principals.map((p) => needs(PERMISSIONS.roleAssignments, cloud.listRoleAssignmentsJson(p)))),
    poolName ? needs(PERMISSIONS.agentPool, cloud.getAgentPoolJson(req.resourceGroup, req.registry, poolName)) : Promise.resolve(undefined),
  ]);
  const lastRuns = (runs ?? []).map(toLastRun);
  const newestFinished = lastRuns.find((r) => FINAL.includes(r.status));
  if (newestFinished?.status === 'Failed') {
    newestFinished.log = await needs(PERMISSIONS.runLog, cloud.readRunLog(req.resourceGroup, req.registry, newestFinished.runId));
  }
  return {
    subscription: subscription as DoctorReading['subscription'],
    registries,
    home,
    task,
    roleAssignments: assignments.flat(),
    agentPool,
    agentPoolMissing: poolName !== undefined && agentPool === undefined,
    runs: lastRuns,
    at,
  };
}

/** A quick run (az acr build / az acr run): no task, no identity; its registry and its log. */
async function readQuickRun(cloud: Cloud, req: DoctorRequest, run: ArmJson, at: number): Promise<DoctorReading> {
  const registries = await needs(PERMISSIONS.registries, cloud.listRegistriesJson());
  const home = registries.find((r) => sameName(r.name, req.registry) && resourceGroupOf(r.id) === req.resourceGroup.toLowerCase());
  if (!home) throw usageError(`There is no registry ${req.registry} in resource group ${req.resourceGroup}.`);
  const quick = { ...toLastRun(run), outputRepository: run.properties?.outputImages?.[0]?.repository };
  if (quick.status === 'Failed') quick.log = await needs(PERMISSIONS.runLog, cloud.readRunLog(req.resourceGroup, req.registry, quick.runId));
  // The run records how it logged in to its registry (`sourceRegistryAuth`; az acr build/run: Default, the run's own token).
  const loginMode = run.properties?.sourceRegistryAuth === 'None' ? 'None' : 'Default';
  const task: ArmJson = { id: run.id, name: `quick run ${quick.runId}`, properties: { status: 'Enabled', credentials: { sourceRegistry: { loginMode } } } };
  return { registries, home, task, roleAssignments: [], runs: [quick], at, quickRun: quick };
}

const FINAL = ['Succeeded', 'Failed', 'Canceled', 'Error', 'Timeout'];

/** The principal ids of a task's identities: the system-assigned one first, then user-assigned ones. */
export function identityPrincipals(task: ArmJson): string[] {
  const identity = task.identity ?? {};
  const out: string[] = [];
  if (/SystemAssigned/i.test(String(identity.type ?? '')) && identity.principalId) out.push(String(identity.principalId));
  for (const u of Object.values(identity.userAssignedIdentities ?? {}) as any[]) if (u?.principalId) out.push(String(u.principalId));
  return [...new Set(out)];
}

function toLastRun(r: ArmJson): LastRun {
  const p = r.properties ?? {};
  return {
    runId: String(p.runId ?? r.name),
    status: String(p.status ?? 'Unknown'),
    runType: p.runType,
    createTime: p.createTime,
    finishTime: p.finishTime,
    runErrorMessage: p.runErrorMessage,
  };
}

export function resourceGroupOf(id: string): string {
  return (/\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '').toLowerCase();
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The floor of a cold doctor (nothing cached) on one task without an agent pool whose newest run
 * failed: ARM requests per route (the sim's route names, as `sim.requests[].name` records them) —
 * the subscription, the registries (one list), the task (listDetails), its runs (one list), the
 * role assignments of its identity (one list: every scope), and the failed run's log (its SAS link,
 * then the blob). bench/doctor.js measures against it; test/doctor/runs.test.ts asserts it.
 */
export const DOCTOR_FLOOR: Readonly<Record<string, number>> = {
  'subscriptions.get': 1,
  'registries.list': 1,
  'tasks.listDetails': 1,
  'runs.list': 1,
  'roleAssignments.list': 1,
  'runs.getLogSasUrl': 1,
  'logs.rawtext': 1,
};

/** The permission each read needs (Azure's action names; Reader holds all but `listDetails`). */
export const PERMISSIONS = {
  registries: 'Microsoft.ContainerRegistry/registries/read',
  task: 'Microsoft.ContainerRegistry/registries/tasks/listDetails/action',
  runs: 'Microsoft.ContainerRegistry/registries/runs/read',
  runLog: 'Microsoft.ContainerRegistry/registries/runs/listLogSasUrl/action',
  roleAssignments: 'Microsoft.Authorization/roleAssignments/read',
  agentPool: 'Microsoft.ContainerRegistry/registries/agentPools/read',
} as const;

/**
 * A read the caller may not make is exit 1, naming the permission it needs: the doctor cannot
 * judge what it could not see, and says so rather than guess.
 */
async function needs<T>(permission: string, read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (e) {
    if (isAcrTrustError(e) && (e.options.statusCode === 403 || e.code === 'AuthorizationFailed')) {
      throw new AcrTrustError(`${e.message.replace(/\.$/, '')} — the doctor needs the permission ${permission}.`, {
        exitCode: 1,
        code: e.code,
        statusCode: e.options.statusCode,
        hint: `Ask for a role that includes ${permission} on the registry (Contributor, or a custom role with it), then run the doctor again.`,
      });
    }
    throw e;
  }
}
