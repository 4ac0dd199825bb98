/**
 * The doctor's test bench: one simulated Azure per test file (in this process, over HTTPS), each
 * case building its own registries and task through the sim's ARM API with the real SDK (raw ARM
 * requests where the SDK's api-version lacks a field), then running the real binary
 * `acr-trust doctor --target sim --endpoint … --ca …` against it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Task } from '@azure/arm-containerregistry';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';
import { DEMO_RESOURCE_GROUP } from '../../src/sim/scenarios.js';
import { cliAsync, jsonLines, tempDir, type Result } from '../cli/helpers.js';
import { rawRequest, useSim } from '../helpers/sim.js';

export const RG = DEMO_RESOURCE_GROUP;

export interface DoctorBench {
  readonly sim: ReturnType<typeof useSim>['sim'];
  readonly clients: ReturnType<typeof useSim>['clients'];
  /** A new Premium (or other) registry with these properties, through ARM (2025-11-01). */
  registry(name: string, properties?: Record<string, unknown>, sku?: string): Promise<{ id: string; loginServer: string; name: string }>;
  /** A task in `registry` (ARM 2025-03-01-preview, so every credential field is accepted). */
  task(registry: string, name: string, spec: TaskSpec): Promise<Task & { principalId?: string }>;
  /** A role assignment for `principalId` on `scope` (ARM, principalType ServicePrincipal). */
  role(scope: string, role: keyof typeof ROLE_GUIDS, principalId: string): Promise<void>;
  /** `acr-trust doctor … --json` against this sim: the exit code, the objects and the raw streams. */
  doctor(args: string[]): Promise<DoctorResult>;
  schedule(registry: string, taskId: string): Promise<string>;
  /** The sim's CA certificate, as a file (for other commands pointed at it). */
  readonly caFile: string;
}

export interface TaskSpec {
  yaml: string;
  identity?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  status?: 'Enabled' | 'Disabled';
  agentPoolName?: string;
}

export interface DoctorResult extends Result {
  objects: any[];
  accesses: any[];
  summary: any;
  workdir: string;
}

export function useDoctorBench(opts: { scenario?: string } = {}): DoctorBench {
  const ctx = useSim({ speed: 'instant', scenario: opts.scenario ?? 'default' });
  let caFile: string | undefined;
  const ca = () =>
    (caFile ??= (() => {
      const f = join(tempDir('acr-trust-doctor-ca-'), 'ca.pem');
      writeFileSync(f, ctx.sim.caCert);
      return f;
    })());
  const arm = async (method: string, path: string, apiVersion: string, body?: unknown) => {
    const r = await rawRequest(ctx.sim, method, `${path}?api-version=${apiVersion}`, body === undefined ? {} : { body });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const registryPath = (name: string) => `/subscriptions/${ctx.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${name}`;
  return {
    get sim() {
      return ctx.sim;
    },
    get clients() {
      return ctx.clients;
    },
    get caFile() {
      return ca();
    },
    async registry(name, properties = {}, sku = 'Premium') {
      await arm('PUT', registryPath(name), '2025-11-01', { location: 'eastus', sku: { name: sku }, properties });
      // A create answers before it is done: read until it shows.
      const r = await arm('GET', registryPath(name), '2025-11-01');
      return { id: r.id, loginServer: r.properties.loginServer, name: r.name };
    },
    async task(registry, name, spec) {
      const body = {
        location: 'eastus',
        identity: spec.identity ?? { type: 'SystemAssigned' },
        properties: {
          status: spec.status ?? 'Enabled',
          platform: { os: 'Linux', architecture: 'amd64' },
          agentConfiguration: { cpu: 2 },
          timeout: 3600,
          step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(spec.yaml).toString('base64'), values: [] },
          ...(spec.credentials ? { credentials: spec.credentials } : {}),
          ...(spec.agentPoolName ? { agentPoolName: spec.agentPoolName } : {}),
        },
      };
      const t = await arm('PUT', `${registryPath(registry)}/tasks/${name}`, '2025-03-01-preview', body);
      return { ...t, principalId: t.identity?.principalId };
    },
    async role(scope, role, principalId) {
      const { randomUUID } = await import('node:crypto');
      await ctx.clients.authorization.roleAssignments.create(scope.replace(/^\/+/, ''), randomUUID(), {
        roleDefinitionId: roleDefinitionId(ctx.sim.subscriptionId, ROLE_GUIDS[role]),
        principalId,
        principalType: 'ServicePrincipal',
      });
    },
    async schedule(registry, taskId) {
      const run = await ctx.clients.registries.registries.beginScheduleRunAndWait(RG, registry, { type: 'TaskRunRequest', taskId }, { updateIntervalInMs: 10 });
      return run.runId!;
    },
    async doctor(args) {
      const workdir = tempDir('acr-trust-doctor-');
      const r = await cliAsync(['doctor', '--target', 'sim', '--endpoint', ctx.sim.endpoint, '--ca', ca(), '--resource-group', RG, '--workdir', workdir, ...(args.includes('--sim-speed') ? [] : ['--sim-speed', 'instant']), ...args]);
      let objects: any[] = [];
      try {
        objects = args.includes('--json') ? jsonLines(r.stdout) : [];
      } catch {
        objects = [];
      }
      return {
        ...r,
        workdir,
        objects,
        accesses: objects.filter((o) => o.type === 'access'),
        summary: objects.find((o) => o.type === 'summary'),
      };
    },
  };
}

/** A task file that builds and pushes to `server`. */
export function pushYaml(server: string, repository = 'app'): string {
  return ['version: v1.1.0', 'steps:', `  - build: -t ${server}/${repository}:{{.Run.ID}} -f Dockerfile .`, `  - push: ["${server}/${repository}:{{.Run.ID}}"]`, ''].join('\n');
}

/** A task file that runs an image pulled from `server`. */
export function pullYaml(server: string, repository = 'base'): string {
  return ['version: v1.1.0', 'steps:', `  - cmd: ${server}/${repository}:1.0 echo hi`, ''].join('\n');
}

/** A `[system]` credential for each server, loginMode None (the article's setup). */
export function systemCredential(...servers: string[]): Record<string, unknown> {
  return { sourceRegistry: { loginMode: 'None' }, customRegistries: Object.fromEntries(servers.map((s) => [s, { identity: '[system]' }])) };
}

/** A registry closed to the public with both bypass switches on (the workflow's end state). */
export const CLOSED_WITH_BYPASS = { publicNetworkAccess: 'Disabled', networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: true };
