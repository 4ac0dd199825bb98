/**
 * The workflow's world: the answers that parameterise every step, the cloud they act on, and how
 * patient the steps are. The engine passes it through to each step untouched.
 */
import type { Cloud } from '../src/azure/index.js';

/** The roles the task's identity may be given on the target registry. */
export type RoleName =
  | 'AcrPush'
  | 'AcrPull'
  | 'Container Registry Repository Writer'
  | 'Container Registry Repository Reader';

export interface Answers {
  subscription: string;
  /** The resource group of both registries. */
  resourceGroup: string;
  /** The registry that owns the task. */
  registry: string;
  /** The network-restricted registry the task must reach (default: `registry`). */
  targetRegistry: string;
  /** Task name (default `acr-trust-task`). */
  task: string;
  /** Role for the task's identity on the target registry (default AcrPush; ABAC registries need a repository role). */
  role: RoleName;
  /** The user's own task YAML file instead of the built-in one. */
  taskFile?: string;
  /**
   * How the task reaches the closed registry. Unset: through the bypass (the article's way, the
   * two switches). Set: the name of a dedicated agent pool of the task's registry, joined to a
   * subnet whose network reaches the target registry's private endpoint — no bypass at all.
   */
  agentPool?: string;
  /** The pool's subnet (ARM id); needed to create the pool, read from it when it exists. */
  agentPoolSubnet?: string;
  /** The pool's tier (S1, S2, S3, I6; default S1). */
  agentPoolTier?: string;
}

/** Whether the world takes the agent-pool path (a dedicated pool in the registry's network) instead of the bypass. */
export function onAgentPool(w: Pick<World, 'answers'>): boolean {
  return w.answers.agentPool !== undefined;
}

/** A registry's login server in the world's cloud: `myregistry.azurecr.io` (`.azurecr.cn` in Azure China …). */
export function loginServerFor(w: Pick<World, 'loginServerSuffix'>, registry: string): string {
  return `${registry.toLowerCase()}${w.loginServerSuffix ?? '.azurecr.io'}`;
}

/**
 * How long steps wait for eventually consistent things, and how often they look. All in ms.
 * Pick a preset from `timings`; tests against the instant sim use `timings.instant`.
 */
export interface Timing {
  /** First delay between polls of a running task run; grows by half up to `maxPollMs`. */
  pollMs: number;
  maxPollMs: number;
  /** Give up following one run after this long (its id stays recorded; a resume follows it on). */
  runTimeoutMs: number;
  /** How long `run-task` keeps re-running while a new role is not yet in effect. */
  roleWaitMs: number;
  /** How long `assign-role` retries while the directory does not know a new identity yet. */
  principalWaitMs: number;
  /** How long `confirm-denied` re-runs while the registry still lets the task in. */
  settingWaitMs: number;
  /** Pause between two such retries. */
  retryDelayMs: number;
}

export const timings = {
  /** The simulated Azure at instant speed: everything happens at once. */
  instant: { pollMs: 5, maxPollMs: 20, runTimeoutMs: 30_000, roleWaitMs: 2_000, principalWaitMs: 2_000, settingWaitMs: 2_000, retryDelayMs: 10 },
  /** The simulated Azure at realistic speed (seconds, like a demo). */
  realistic: { pollMs: 500, maxPollMs: 3_000, runTimeoutMs: 5 * 60_000, roleWaitMs: 2 * 60_000, principalWaitMs: 60_000, settingWaitMs: 60_000, retryDelayMs: 2_000 },
  /** Real Azure: roles may take minutes to apply, a run a few minutes to finish. */
  azure: { pollMs: 2_000, maxPollMs: 10_000, runTimeoutMs: 30 * 60_000, roleWaitMs: 5 * 60_000, principalWaitMs: 2 * 60_000, settingWaitMs: 3 * 60_000, retryDelayMs: 20_000 },
} as const satisfies Record<string, Timing>;

export interface World {
  answers: Answers;
  cloud: Cloud;
  timing: Timing;
  /** The cloud's registry login-server suffix (default `.azurecr.io`; `.azurecr.cn`, `.azurecr.us` in the sovereign clouds). */
  loginServerSuffix?: string;
  /**
   * The target registry's `roleAssignmentMode` when known without asking the cloud (what preflight
   * recorded in the workdir): `export` writes the ABAC registry's lines with it. Only for az lines;
   * every step reads the live registry itself.
   */
  targetRoleAssignmentMode?: string;
}

/** The repository roles ("Container Registry Repository …"), which only ABAC registries honour. */
export function isRepositoryRole(role: string): boolean {
  return role.startsWith('Container Registry Repository ');
}

/** Whether az lines are to be written for an ABAC target: the recorded mode says so, or the answer
 *  is a repository role (which only an ABAC registry honours). */
export function abacForAz(w: Pick<World, 'answers' | 'targetRoleAssignmentMode'>): boolean | undefined {
  if (w.targetRoleAssignmentMode) return w.targetRoleAssignmentMode === 'AbacRepositoryPermissions';
  return isRepositoryRole(w.answers.role) ? true : undefined;
}
