/**
 * The workflow: Microsoft's "allow trusted services" example for ACR Tasks, step by step, in order.
 * Step ids are part of the interface (`--from/--only/--until`, state.json, `--json` events).
 */
import type { Step } from '../src/engine/step.js';
import type { World } from './world.js';
import { preflight } from './preflight.js';
import { createTask } from './create-task.js';
import { assignRole } from './assign-role.js';
import { addCredential } from './add-credential.js';
import { agentPool } from './agent-pool.js';
import { allowTrustedServices } from './allow-trusted-services.js';
import { allowTaskBypass } from './allow-task-bypass.js';
import { disablePublicAccess } from './disable-public-access.js';
import { runTask } from './run-task.js';
import { disableTrustedServices } from './disable-trusted-services.js';
import { confirmDenied } from './confirm-denied.js';

export const workflow: readonly Step<World>[] = [
  preflight,
  createTask,
  assignRole,
  addCredential,
  agentPool,
  allowTrustedServices,
  allowTaskBypass,
  disablePublicAccess,
  runTask,
  disableTrustedServices,
  confirmDenied,
];

const byId = new Map(workflow.map((s) => [s.id, s]));

/** The step with this id, or undefined. */
export function stepById(id: string): Step<World> | undefined {
  return byId.get(id);
}

export const stepIds: readonly string[] = workflow.map((s) => s.id);

export type { World, Answers, RoleName, Timing } from './world.js';
export { loginServerFor, onAgentPool, timings } from './world.js';
