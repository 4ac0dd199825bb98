/**
 * The run decision, end to end: one row per combination of network rules, bypass switches,
 * identity kind, credential, role and registry mode. Each row is set up the way a client would —
 * registry PATCH, task PUT and credential PATCH through ContainerRegistryManagementClient, role
 * assignments through AuthorizationManagementClient — then runs the task and asserts the run's
 * status AND the cause line in its log (and that no other cause's line is there).
 *
 * Only one thing is written to the sim's state directly: `roleDelayMs`, to hold a role back
 * ("not yet in effect") without waiting in real time.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RegistryUpdateParameters, Run, Task } from '@azure/arm-containerregistry';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';
import { rawRequest, sdkClients, withSim } from '../helpers/sim.js';

const RG = 'acr-trust-demo';
const HOME_REG = 'acrtrustdemo';
const HOME = 'acrtrustdemo.azurecr.io';
const TARGET_REG = 'acrtrusttarget';
const UAMI = '/subscriptions/6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c/resourceGroups/acr-trust-demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder';

/** The lines that tell a run's causes apart, as a client reading the log would look for them. */
const CAUSE = {
  success: /^Run ID: ca\d+ was successful after \d+s$/m,
  /** A refused bypass: the identity-token exchange meets the network rules. */
  exchange: 'failed to get ACR refresh token, exchange API response code: 403 Forbidden',
  /** The firewall itself, for a run without an identity credential. */
  firewall: "denied: client with IP '20.42.0.17' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.",
  /** The registry's 401: no credential, or no (effective) permission. */
  unauthorized: 'unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.',
  /** A [system] credential on a task without a system identity. */
  'no-identity': "failed to get a token for managed identity '[system]': the task has no such identity",
} as const;
type Cause = keyof typeof CAUSE;

interface Network {
  publicNetworkAccess?: 'Enabled' | 'Disabled';
  defaultAction?: 'Allow' | 'Deny';
  ipRules?: string[];
  /** networkRuleBypassOptions AzureServices (true) / None (false). */
  trusted?: boolean;
  /** networkRuleBypassAllowedForTasks. */
  tasks?: boolean;
}

interface Row {
  name: string;
  /** Network settings of the registry the task pushes to (unchanged: open, trusted services on, Tasks switch off). */
  network?: Network;
  abac?: boolean;
  /** Push to a second registry instead of the task's own. */
  crossRegistry?: boolean;
  identity?: 'system' | 'user' | 'none';
  loginMode?: 'None' | 'Default';
  /** The customRegistries entry: for the pushed registry by default; `home-only` names the task's own registry. */
  credential?: 'system' | 'user' | 'none' | 'home-only';
  /** The role for the task's identity; default AcrPush on the pushed registry. */
  role?: { guid: string; scope?: 'registry' | 'resource-group' | 'home' } | null;
  /** The role exists but has not taken effect yet. */
  pending?: boolean;
  /** The task's YAML; `TARGET` stands for the pushed registry's login server. */
  yaml?: string;
  quick?: boolean;
  status: 'Succeeded' | 'Failed';
  cause: Cause;
  /** Whether the log shows a login to the pushed registry (tells "no credential" from "no permission"). */
  loggedIn?: boolean;
  /** A line that must also appear. */
  also?: string;
}

const CLOSED_WITH_BYPASS: Network = { publicNetworkAccess: 'Disabled', trusted: true, tasks: true };
const PUSH = 'version: v1.1.0\nsteps:\n  - build: -t TARGET/hello:{{.Run.ID}} .\n  - push: ["TARGET/hello:{{.Run.ID}}"]\n';

const rows: Row[] = [
  // Network × the two bypass switches (system identity, [system] credential, AcrPush).
  { name: 'public access enabled, no firewall', status: 'Succeeded', cause: 'success' },
  { name: 'public access disabled, both switches on', network: CLOSED_WITH_BYPASS, status: 'Succeeded', cause: 'success' },
  { name: 'public access disabled, trusted services on, Tasks switch off (June 2025 policy)', network: { publicNetworkAccess: 'Disabled', trusted: true, tasks: false }, status: 'Failed', cause: 'exchange' },
  { name: "public access disabled, Tasks switch on, trusted services off (the article's negative test)", network: { publicNetworkAccess: 'Disabled', trusted: false, tasks: true }, status: 'Failed', cause: 'exchange' },
  { name: 'public access disabled, both switches off', network: { publicNetworkAccess: 'Disabled', trusted: false, tasks: false }, status: 'Failed', cause: 'exchange' },
  { name: 'firewall Deny without a matching IP rule, both switches on', network: { defaultAction: 'Deny', ipRules: ['52.0.0.0/8'], trusted: true, tasks: true }, status: 'Succeeded', cause: 'success' },
  { name: 'firewall Deny without a matching IP rule, switches off', network: { defaultAction: 'Deny', ipRules: ['52.0.0.0/8'], trusted: false, tasks: false }, status: 'Failed', cause: 'exchange' },
  { name: 'firewall Deny with an IP rule matching the agent, switches off', network: { defaultAction: 'Deny', ipRules: ['20.42.0.0/16'], trusted: false, tasks: false }, status: 'Succeeded', cause: 'success' },
  { name: 'public access disabled overrides a matching IP rule', network: { publicNetworkAccess: 'Disabled', defaultAction: 'Deny', ipRules: ['20.42.0.17'], trusted: false, tasks: false }, status: 'Failed', cause: 'exchange' },

  // Identity kind.
  { name: 'user-assigned identity credential on a closed registry, both switches on', network: CLOSED_WITH_BYPASS, identity: 'user', credential: 'user', status: 'Failed', cause: 'exchange' },
  { name: 'user-assigned identity credential on an open registry', identity: 'user', credential: 'user', status: 'Succeeded', cause: 'success' },
  { name: 'a [system] credential on a task without a system identity', identity: 'none', credential: 'system', role: null, status: 'Failed', cause: 'no-identity' },

  // Credential present or missing.
  { name: 'no credential (auth mode None) on a closed registry, both switches on', network: CLOSED_WITH_BYPASS, credential: 'none', status: 'Failed', cause: 'firewall', loggedIn: false },
  {
    name: 'only the run token (auth mode Default) on a closed registry, both switches on',
    network: CLOSED_WITH_BYPASS,
    loginMode: 'Default',
    credential: 'none',
    status: 'Failed',
    cause: 'firewall',
    also: `failed to login, ran out of retries: failed to set docker credentials: Error response from daemon: Get "https://${HOME}/v2/": denied`,
  },
  { name: 'no credential on an open registry', credential: 'none', status: 'Failed', cause: 'unauthorized', loggedIn: false },
  { name: 'auth mode Default and a [system] credential on an open registry', loginMode: 'Default', status: 'Succeeded', cause: 'success' },

  // Roles.
  { name: 'no role', role: null, status: 'Failed', cause: 'unauthorized', loggedIn: true },
  { name: 'AcrPush not yet in effect (succeeds when run later)', pending: true, status: 'Failed', cause: 'unauthorized', loggedIn: true },
  { name: 'AcrPull only: the push is refused', role: { guid: ROLE_GUIDS.AcrPull }, status: 'Failed', cause: 'unauthorized', loggedIn: true },
  { name: 'AcrPull only: a pull is allowed', role: { guid: ROLE_GUIDS.AcrPull }, yaml: 'version: v1.1.0\nsteps:\n  - cmd: TARGET/tools:1 echo hi\n', status: 'Succeeded', cause: 'success' },
  { name: 'AcrPush on the resource group', role: { guid: ROLE_GUIDS.AcrPush, scope: 'resource-group' }, status: 'Succeeded', cause: 'success' },
  { name: 'Reader: no data-plane access', role: { guid: ROLE_GUIDS.Reader }, status: 'Failed', cause: 'unauthorized', loggedIn: true },

  // ABAC registries.
  { name: 'ABAC registry with AcrPush', abac: true, status: 'Failed', cause: 'unauthorized', loggedIn: true },
  { name: 'ABAC registry with Container Registry Repository Writer', abac: true, role: { guid: ROLE_GUIDS.RepositoryWriter }, status: 'Succeeded', cause: 'success' },
  { name: 'ABAC registry, closed with both switches on, Repository Writer', abac: true, network: CLOSED_WITH_BYPASS, role: { guid: ROLE_GUIDS.RepositoryWriter }, status: 'Succeeded', cause: 'success' },
  { name: 'ABAC registry, auth mode Default and no credential: no implicit access', abac: true, loginMode: 'Default', credential: 'none', role: null, status: 'Failed', cause: 'unauthorized', loggedIn: false },

  // Two registries: the task lives in acrtrustdemo and pushes to acrtrusttarget.
  { name: 'two registries: closed target, both switches on, [system] credential and AcrPush on the target', crossRegistry: true, network: CLOSED_WITH_BYPASS, status: 'Succeeded', cause: 'success' },
  { name: 'two registries: AcrPush on the home registry only', crossRegistry: true, network: CLOSED_WITH_BYPASS, role: { guid: ROLE_GUIDS.AcrPush, scope: 'home' }, status: 'Failed', cause: 'unauthorized', loggedIn: true },
  { name: 'two registries: the credential names the home registry only', crossRegistry: true, network: CLOSED_WITH_BYPASS, credential: 'home-only', status: 'Failed', cause: 'firewall', loggedIn: false },

  // Quick runs are never trusted.
  { name: 'quick run on a closed registry with both switches on', quick: true, network: CLOSED_WITH_BYPASS, status: 'Failed', cause: 'firewall', also: `Logging in to registry: ${HOME}` },
];

function networkUpdate(n: Network): RegistryUpdateParameters {
  const update: RegistryUpdateParameters = {};
  if (n.publicNetworkAccess) update.publicNetworkAccess = n.publicNetworkAccess;
  if (n.defaultAction) update.networkRuleSet = { defaultAction: n.defaultAction, ipRules: (n.ipRules ?? []).map((iPAddressOrRange) => ({ iPAddressOrRange, action: 'Allow' })) };
  if (n.trusted !== undefined) update.networkRuleBypassOptions = n.trusted ? 'AzureServices' : 'None';
  if (n.tasks !== undefined) update.networkRuleBypassAllowedForTasks = n.tasks;
  return update;
}

describe('run outcomes', () => {
  it.each(rows)('$name → $status ($cause)', (row) =>
    withSim({ scenario: row.crossRegistry ? 'two-registries' : row.abac ? 'abac' : 'default' }, async (sim) => {
      const { registries, authorization } = sdkClients(sim);
      const targetReg = row.crossRegistry ? TARGET_REG : HOME_REG;
      const target = `${targetReg}.azurecr.io`;
      const yaml = (row.yaml ?? PUSH).replace(/TARGET/g, target);
      const scopes = {
        registry: `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${targetReg}`,
        home: `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${HOME_REG}`,
        'resource-group': `/subscriptions/${sim.subscriptionId}/resourceGroups/${RG}`,
      };

      if (row.network) await registries.registries.beginUpdateAndWait(RG, targetReg, networkUpdate(row.network));
      if (row.pending) sim.state.roleDelayMs = 3_600_000;

      let schedule: () => Promise<Run>;
      if (row.quick) {
        schedule = () =>
          registries.registries.beginScheduleRunAndWait(RG, HOME_REG, { type: 'EncodedTaskRunRequest', encodedTaskContent: Buffer.from(yaml).toString('base64'), platform: { os: 'Linux' } } as any);
      } else {
        const identityKind = row.identity ?? 'system';
        const identity: Task['identity'] =
          identityKind === 'system' ? { type: 'SystemAssigned' } : identityKind === 'user' ? { type: 'UserAssigned', userAssignedIdentities: { [UAMI]: {} } } : undefined;
        const task = await registries.tasks.beginCreateAndWait(RG, HOME_REG, 'outcome-task', {
          location: 'eastus',
          identity,
          platform: { os: 'linux', architecture: 'amd64' },
          step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(yaml).toString('base64') },
          credentials: { sourceRegistry: { loginMode: row.loginMode ?? 'None' } },
        });
        const user = task.identity?.userAssignedIdentities?.[UAMI];
        const principalId = identityKind === 'user' ? user?.principalId : task.identity?.principalId;

        // The workflow's "add the credential" step: a PATCH of customRegistries.
        const credential = row.credential ?? 'system';
        if (credential !== 'none') {
          const server = credential === 'home-only' ? HOME : target;
          await registries.tasks.beginUpdateAndWait(RG, HOME_REG, 'outcome-task', {
            credentials: { customRegistries: { [server]: { identity: credential === 'user' ? user!.clientId! : '[system]' } } },
          });
        }
        const role = row.role === undefined ? { guid: ROLE_GUIDS.AcrPush } : row.role;
        if (role && principalId) {
          await authorization.roleAssignments.create(scopes[role.scope ?? 'registry'], randomUUID(), {
            roleDefinitionId: roleDefinitionId(sim.subscriptionId, role.guid),
            principalId,
            principalType: 'ServicePrincipal',
          });
        }
        schedule = () => registries.registries.beginScheduleRunAndWait(RG, HOME_REG, { type: 'TaskRunRequest', taskId: task.id! } as any);
      }

      // scheduleRun answers Queued (as the service does); the run's GET has its outcome.
      const run = await registries.runs.get(RG, HOME_REG, (await schedule()).runId!);
      const { logLink } = await registries.runs.getLogSasUrl(RG, HOME_REG, run.runId!);
      const blob = await rawRequest(sim, 'GET', logLink!.slice(sim.endpoint.length), { auth: false });
      expect(blob.status).toBe(200);
      const log = blob.text;

      expect(run.status, log).toBe(row.status);
      expect(blob.headers['x-ms-meta-complete']).toBe(row.status.toLowerCase());
      const expected = CAUSE[row.cause];
      if (typeof expected === 'string') expect(log).toContain(expected);
      else expect(log).toMatch(expected);
      for (const [other, text] of Object.entries(CAUSE)) {
        if (other === row.cause || typeof text !== 'string') continue;
        expect(log, `unexpected '${other}' line`).not.toContain(text);
      }
      if (row.also) expect(log).toContain(row.also);
      if (row.loggedIn !== undefined) expect(log.includes(`Successfully logged into ${target}`)).toBe(row.loggedIn);

      if (row.status === 'Failed') {
        expect(run.runErrorMessage).toBe('failed during run, err: exit status 1');
        expect(log).toMatch(new RegExp(`\\r\\nRun ID: ${run.runId} failed after \\d+s\\. Error: failed during run, err: exit status 1\\r\\n$`));
        expect(run.outputImages).toBeUndefined(); // no images: no outputImages key
      } else if (!row.yaml) {
        expect(run.outputImages).toEqual([expect.objectContaining({ registry: target, repository: 'hello', tag: run.runId })]);
      }

      if (row.pending) {
        // The same task scheduled again once the role has propagated succeeds: the only difference
        // a client can observe is time.
        sim.state.roleDelayMs = 0;
        const later = await registries.runs.get(RG, HOME_REG, (await schedule()).runId!);
        expect(later.status).toBe('Succeeded');
      }
    }),
  );
});
