/**
 * Step 3 — assign-role: the task's identity gets a role (AcrPush by default) on the target registry,
 * and nowhere else. On a registry with ABAC repository permissions the role is the answer's
 * repository equivalent (AcrPush → Container Registry Repository Writer, AcrPull → … Reader):
 * such a registry does not honour the legacy roles (see `roleFor`).
 */
import type { CheckResult, Step } from '../src/engine/step.js';
import { AcrTrustError } from '../src/errors.js';
import { BUILT_IN_ROLE_GUIDS, roleAssignmentName, roleDefinitionIdFor, roleGuid, sameId, type RoleAssignment } from '../src/azure/index.js';
import { abacForAz, type RoleName, type World } from './world.js';
import { isAbacRegistry, outputsOf, readTargetRegistry, readTask, registryMissing, roleFor, sh, taskMissing, type Blocked, type Ctx } from './lib/context.js';

export const assignRole: Step<World> = {
  id: 'assign-role',
  title: "Give the task's identity a role on the target registry",

  why:
    'Trusted services bypass the network rules, not authentication or authorisation: the identity still needs an Azure role ' +
    'on the registry — AcrPush to pull and push (AcrPull to pull only; an ABAC registry needs a "Container Registry ' +
    'Repository" role). A registry with ABAC repository permissions (roleAssignmentMode AbacRepositoryPermissions) does not ' +
    'honour AcrPush or AcrPull at all, so there acr-trust assigns the repository role with the same rights instead: Container ' +
    'Registry Repository Writer for AcrPush, Container Registry Repository Reader for AcrPull. The role is scoped to the target registry only. A just-created identity may be unknown to the ' +
    'directory for a while, so the assignment says principalType ServicePrincipal, which skips that lookup; the role itself ' +
    'can still take a few minutes to take effect.',

  portal: 'Target registry → Access control (IAM) → Add role assignment → the role → Managed identity → the task',

  az: (world) => {
    const a = world.answers;
    const abac = abacForAz(world);
    const role = roleFor(a.role, abac === true);
    return [
      ...(abac === true && role !== a.role
        ? [`# Registry ${a.targetRegistry} uses ABAC repository permissions, which ignore ${a.role}: the task's identity gets ${sh(role)} (the same rights on its repositories) instead`]
        : []),
      ...roleLines(a.subscription, a.task, a.registry, a.targetRegistry, role),
      // Written without knowing the registry (export without a workdir): what changes on an ABAC one.
      ...(abac === undefined && roleFor(a.role, true) !== a.role
        ? [`# On a registry with ABAC repository permissions (roleAssignmentMode AbacRepositoryPermissions) ${a.role} does nothing: acr-trust assigns ${sh(roleFor(a.role, true))} there instead`]
        : []),
    ];
  },

  async check(ctx): Promise<CheckResult> {
    const found = await findAssignment(ctx);
    if ('blocked' in found) return found.blocked;
    const { answers: a } = ctx.world;
    const role = found.role;
    const instead = role !== a.role ? ` (not ${a.role}: registry ${a.targetRegistry} uses ABAC repository permissions, which ignore it)` : '';
    if (!found.assignment) {
      return {
        status: 'pending',
        change: `assign ${role}${instead} to principal ${found.principalId} on registry ${a.targetRegistry}`,
        az: roleLines(a.subscription, a.task, a.registry, a.targetRegistry, role),
      };
    }
    // `created` stays only for the assignment acr-trust sent: undo deletes nothing it did not create.
    const prev = outputsOf(ctx, 'assign-role');
    const ours = prev.created === true && sameId(prev.roleAssignmentId, found.assignment.id);
    return {
      status: 'done',
      evidence: `${role}${instead} for principal ${found.principalId} on ${a.targetRegistry} (assignment ${found.assignment.name})`,
      outputs: { roleAssignmentId: found.assignment.id, role, ...(prev.created !== undefined ? { created: ours } : {}) },
    };
  },

  async apply(ctx) {
    const found = await findAssignment(ctx);
    if ('blocked' in found) throw new AcrTrustError(found.blocked.reason, { hint: found.blocked.hint, code: found.blocked.code });
    if (found.assignment) return { roleAssignmentId: found.assignment.id, role: found.role };
    const { cloud, timing } = ctx.world;
    const { scope, roleDefinitionId, principalId, role } = found;
    const name = roleAssignmentName(scope, roleDefinitionId, principalId);
    // Recorded before the request, so a crash while it is in flight (it may land after we are gone)
    // still lets `reset` delete the assignment. The name is deterministic: a retry re-sends the same
    // PUT, and deleting it when the PUT never landed is a harmless 404.
    ctx.record({ roleAssignmentId: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, created: true, role });
    const deadline = Date.now() + timing.principalWaitMs;
    for (;;) {
      try {
        const created = await cloud.createRoleAssignment(scope, roleDefinitionId, principalId, name);
        return { roleAssignmentId: created.id, created: true, role };
      } catch (e) {
        const code = (e as AcrTrustError).code;
        if (code === 'RoleAssignmentExists') {
          // Granted already under another name: that assignment serves (and is not ours to undo).
          const again = await findAssignment(ctx);
          if (!('blocked' in again) && again.assignment) return { roleAssignmentId: again.assignment.id, created: false, role };
        }
        if (code === 'PrincipalNotFound' && Date.now() + timing.retryDelayMs < deadline) {
          ctx.progress(`the directory does not know principal ${principalId} yet; retrying`);
          await ctx.sleep(timing.retryDelayMs);
          continue;
        }
        throw e;
      }
    }
  },

  // Deletes the assignment only if acr-trust created it (an existing grant stays), and only when it is still there.
  async undo(ctx) {
    const { roleAssignmentId, created, role: recorded } = outputsOf(ctx, 'assign-role');
    const { answers: a } = ctx.world;
    if (!roleAssignmentId || !created) return { changed: false, evidence: `acr-trust created no role assignment (as recorded): nothing to undo` };
    const found = await findAssignment(ctx);
    const live = 'blocked' in found ? undefined : found.assignment;
    const role = recorded ?? ('blocked' in found ? a.role : found.role);
    if (!live || !sameId(live.id, roleAssignmentId)) {
      return { changed: false, evidence: `role assignment ${roleAssignmentId.split('/').pop()} (${role} on ${a.targetRegistry}) not found: nothing to undo` };
    }
    await ctx.world.cloud.deleteRoleAssignment(roleAssignmentId);
    return { changed: true, evidence: `deleted the ${role} assignment on ${a.targetRegistry} (created by acr-trust)` };
  },
};

export type Lookup =
  | { blocked: Blocked }
  | { scope: string; role: RoleName; roleDefinitionId: string; principalId: string; assignment?: RoleAssignment };

/** The role's az lines: the CLI command, and for Debian's azure-cli 2.45 the same call as `az rest`. */
function roleLines(subscription: string, task: string, registry: string, targetRegistry: string, role: string): string[] {
  return [
    `principal=$(az acr task show -n ${task} -r ${registry} --query identity.principalId -o tsv)`,
    `az role assignment create --assignee-object-id "$principal" --assignee-principal-type ServicePrincipal --role ${sh(role)} --scope "$(az acr show -n ${targetRegistry} --query id -o tsv)"`,
    // Debian's azure-cli 2.45 package pairs the CLI with a newer azure-mgmt-authorization: every
    // `az role assignment` command fails before sending a request (Azure/azure-cli#24959).
    `# Debian's azure-cli 2.45 fails above with "'RoleAssignmentsOperations' object has no attribute 'config'" (Azure/azure-cli#24959). With that CLI, send the same ARM call with the commented-out az rest line that acr-trust export writes next:`,
    `# ${roleAssignmentRest(subscription, targetRegistry, role)}`,
  ];
}

/**
 * `az role assignment create` as `az rest`: a PUT of the assignment under a new GUID name. The body
 * is in the Python-dict notation the CLI also accepts for JSON arguments (single quotes, so the
 * shell's double quotes can still expand $principal).
 */
function roleAssignmentRest(subscription: string, targetRegistry: string, role: string): string {
  const roleDefinitionId = roleDefinitionIdFor(subscription, BUILT_IN_ROLE_GUIDS[role]!);
  const body = `{'properties': {'roleDefinitionId': '${roleDefinitionId}', 'principalId': '$principal', 'principalType': 'ServicePrincipal'}}`;
  return `az rest --method put --url "$(az acr show -n ${targetRegistry} --query id -o tsv)/providers/Microsoft.Authorization/roleAssignments/$(cat /proc/sys/kernel/random/uuid)?api-version=2022-04-01" --body "${body}"`;
}

/** The task's principal, the role (`roleFor` the target's mode), the scope, and the assignment that grants it there (if any). */
export async function findAssignment(ctx: Ctx): Promise<Lookup> {
  const { answers: a, cloud } = ctx.world;
  const task = await readTask(ctx);
  if (!task?.principalId) return { blocked: taskMissing(ctx, task) };
  const target = await readTargetRegistry(ctx);
  if (!target) return { blocked: registryMissing(ctx, a.targetRegistry) };
  const role = roleFor(a.role, isAbacRegistry(target));
  const roleDefinitionId = await cloud.roleDefinitionId(role);
  const assignments = await cloud.listRoleAssignments(target.id, task.principalId);
  const assignment = assignments.find((r) => sameId(r.scope, target.id) && roleGuid(r.roleDefinitionId) === roleGuid(roleDefinitionId));
  return { scope: target.id, role, roleDefinitionId, principalId: task.principalId, assignment };
}
