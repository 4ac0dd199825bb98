/**
 * The simulated cloud's state: one plain JSON document. Resources are kept in the wire shape ARM
 * returns (what a GET answers), keyed by their lower-cased ARM id, so a route handler reads and
 * writes them without translation and `sim show` prints them as Azure would.
 *
 * The whole document is persisted after every change with an atomic write (temp file + rename), so
 * another process — a resumed wizard, `sim show`, a restarted sim — sees the same cloud, and a sim
 * killed mid-write leaves the old or the new file, never a torn one.
 */

export type Speed = 'instant' | 'realistic';

/** Any ARM resource as returned on the wire. */
export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location?: string;
  tags?: Record<string, string>;
  properties: Record<string, any>;
  [key: string]: any;
}

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  state: 'Enabled' | 'Disabled';
}

export interface ResourceGroup {
  subscriptionId: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
}

/** A principal the sim's directory knows (task identities, the signed-in caller). */
export interface Principal {
  principalId: string;
  kind: 'ServicePrincipal' | 'User';
  displayName: string;
  /** Sim ms timestamp when the directory (Graph) starts to know it; before it, role assignments
   *  without `principalType` fail with PrincipalNotFound. */
  visibleAt: number;
}

/** A run as the sim keeps it: the wire Run plus the plan that drives its progress and log. */
export interface RunRecord {
  resource: ArmResource;
  /** ARM id of the task it ran (lower-cased key into `tasks`). */
  taskKey: string;
  /** Sim ms timestamp of scheduling. */
  scheduledAt: number;
  /** The log lines and the sim-time offset (ms after scheduling) at which each appears. */
  log: { at: number; line: string }[];
  /** Final status and when it is reached (ms after scheduling). */
  outcome: { status: 'Succeeded' | 'Failed' | 'Canceled'; at: number; runErrorMessage?: string };
  /** The secret the log link's signature is derived from (never printed). */
  logKey: string;
  /** When it leaves Queued (ms after scheduling; 0 at instant speed). */
  startAt?: number;
  /** The images it pushed, shown in the Run once it has succeeded. */
  outputImages?: { registry: string; repository: string; tag: string; digest: string }[];
}

/** A long-running operation the sim answers at an `Azure-AsyncOperation` or `Location` URL. */
export interface Operation {
  id: string;
  /** Sim ms timestamp when it reaches its final status. */
  doneAt: number;
  status: 'Succeeded' | 'Failed' | 'Canceled';
  error?: { code: string; message: string };
  /** Who started it (object id): only that principal may poll it (room identities; absent = anyone). */
  principalId?: string;
  /** For Location-style operations: the body the final 200 carries. */
  result?: unknown;
  startTime: string;
}

export interface CloudState {
  version: 1;
  tenantId: string;
  /** The signed-in caller (any bearer token is this principal). Its role follows from the two
   *  switches (caller.ts): Owner, Contributor, or Reader when `canWriteResources` is false (absent
   *  in older state files: true). */
  caller: { principalId: string; canWriteRoleAssignments: boolean; canWriteResources?: boolean };
  speed: Speed;
  /** How long after its creation a role assignment takes effect for runs (sim ms). */
  roleDelayMs: number;
  subscriptions: Subscription[];
  /** Key: `${subscriptionId}/${rg}` lower-cased. */
  resourceGroups: Record<string, ResourceGroup>;
  /** Key: lower-cased ARM id. */
  registries: Record<string, ArmResource>;
  tasks: Record<string, ArmResource>;
  runs: Record<string, RunRecord>;
  /** registries/taskRuns (`az acr taskrun`), wire shape without `runResult` (read from the run).
   *  Key: lower-cased ARM id. Absent in older state files. */
  taskRuns?: Record<string, ArmResource>;
  roleAssignments: Record<string, ArmResource>;
  principals: Record<string, Principal>;
  operations: Record<string, Operation>;
  /** Per-registry run counter for the short run ids (`ca1`, `ca2` …). Key: registry key. */
  runCounters: Record<string, number>;
  /** Which scenario seeded this cloud. */
  scenario: string;
  /**
   * Sources uploaded for runs (`listBuildSourceUploadUrl` + the blob PUT of the tarball), by
   * relative path (`source/20250701/<uuid>.tar.gz`). Only the files that decide registry access
   * are kept: Dockerfiles and task YAML (text, ≤ 64 KiB each). `key` signs the upload URL.
   */
  sourceUploads?: Record<string, { key: string; registryKey: string; createdAt: number; uploaded?: boolean; files?: Record<string, string> }>;
  /** Dedicated agent pools (`…/registries/{r}/agentPools/{name}`), wire shape, by lower-cased id. */
  agentPools?: Record<string, ArmResource>;
  /** The scenario's own fault spec (faults.ts), used when `sim serve` is given no `--faults`:
   *  how a scenario makes a route answer a real ARM error (a free trial's scheduleRun). */
  faults?: string;
  /** The classroom scenario: how many learners it was seeded for. */
  learners?: number;
  /** How many ids `SimContext.uuid()` has handed out; with a seed, ids derive from (seed, counter),
   *  so a restarted sim continues the sequence instead of repeating it. */
  uuidCounter?: number;
  /** The training room's identities and board secret (classroom scenario; src/sim/room.ts). */
  room?: import('./room.js').RoomState;
  /** The private JWK (P-256) the sim signs access tokens with; created on first use. */
  signingKey?: JsonWebKey;
  /**
   * The Azure cloud this sim stands for (`sim serve --cloud NAME`): registries' login servers get
   * its suffix, and ARM routes accept only tokens for its Resource Manager audiences. Absent: the
   * sim's own cloud (AcrTrustSim) — the public suffix, the public audiences and the sim's own origins.
   */
  cloud?: import('../model/clouds.js').CloudFacts;
}

export function key(id: string): string {
  return id.replace(/\/{2,}/g, '/').replace(/\/$/, '').toLowerCase();
}

