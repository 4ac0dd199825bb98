/**
 * The workflow's world: the answers that parameterise every step, and the cloud they act on.
 * The engine passes it through to each step untouched.
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
}

export interface World {
  answers: Answers;
  cloud: Cloud;
}
