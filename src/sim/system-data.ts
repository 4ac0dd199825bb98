/**
 * ARM's `systemData` on every resource the sim answers with: who created and last changed it, and
 * when. Real answers carry it on registries, tasks, runs, taskRuns and the generic resource list
 * (Azure/azure-cli recordings test_acr_task, test_acr_taskrun). The creator is the signed-in caller
 * (its user principal name, as Graph shows it).
 *
 * Shape: `{createdBy, createdByType: "User", createdAt, lastModifiedBy, lastModifiedByType,
 * lastModifiedAt}` with ISO times. A run created by scheduleRun shows only the `lastModified*`
 * half until it is changed (recorded), which `runSystemData` mirrors.
 */
import type { SimContext } from './context.js';
import { graphObject } from './routes/graph.js';

export interface SystemData {
  createdBy?: string;
  createdByType?: string;
  createdAt?: string;
  lastModifiedBy: string;
  lastModifiedByType: string;
  lastModifiedAt: string;
}

/** The caller as systemData names it: a user's principal name, else its object id. */
export function callerName(sim: SimContext): string {
  const p = sim.state.principals[sim.state.caller.principalId];
  if (!p) return sim.state.caller.principalId;
  const upn = graphObject(sim, p).userPrincipalName;
  return typeof upn === 'string' ? upn : p.principalId;
}

function callerType(sim: SimContext): string {
  return sim.state.principals[sim.state.caller.principalId]?.kind === 'ServicePrincipal' ? 'Application' : 'User';
}

/** systemData for a change now: keeps the creation half of `previous`, or starts one. */
export function stampSystemData(sim: SimContext, previous?: SystemData, createdHalf = true): SystemData {
  const by = callerName(sim);
  const type = callerType(sim);
  const at = new Date(sim.now()).toISOString();
  const created = previous?.createdAt
    ? { createdBy: previous.createdBy, createdByType: previous.createdByType, createdAt: previous.createdAt }
    : createdHalf
      ? { createdBy: by, createdByType: type, createdAt: at }
      : {};
  return { ...created, lastModifiedBy: by, lastModifiedByType: type, lastModifiedAt: at };
}
