/**
 * Issue 13: the failures real users hit, replayed with Microsoft's Azure CLI against `acr-trust
 * sim serve` (setup "S": sim serve, az-env, AcrPush with `az rest` and principalType, "close" =
 * `az acr update --public-network-enabled false`, "switch" = networkRuleBypassAllowedForTasks
 * through `az resource update`), then the wizard on the same cloud.
 *
 * §1 the landing-zone bootstrap's task (Terraform: no sourceRegistry login mode sent, a [system]
 *    credential for its own registry): one login per registry, through the bypass; the wizard's
 *    run-task succeeds on it, and stops at once — one run, the cause and its fix — when the
 *    configuration (not propagation) refuses it.
 * §7 `az acr build -r R -t img:v1 .` from a local folder: the upload URL, the blob PUT, the build.
 * §2 a build's base image (Dockerfile FROM fed by --build-arg) from a closed registry goes through
 *    the network → bypass → credential → role decision, with the build's own log lines.
 *
 * Skipped only when `az` is not installed (CI installs Debian's azure-cli).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from '../cli/helpers.js';
import { acrTrust, cleanEnv, findAz, serve, tmp, type Served } from './helpers.js';
import { ROLE_GUIDS, roleDefinitionId } from '../../src/model/roles.js';

const AZ = findAz();
const SKIP_REASON = 'az (the Azure CLI) is not installed; CI installs it with `apt-get install azure-cli`';

const RG = 'acr-trust-demo';
const REG = 'acrtrustdemo';
const BASE_REG = 'acrtrusttarget';
const LOGIN_SERVER = 'acrtrustdemo.azurecr.io';
const BASE_SERVER = 'acrtrusttarget.azurecr.io';
const BUILD_YAML = ['version: v1.1.0', 'steps:', '  - build: -t $Registry/app:{{.Run.ID}} -f Dockerfile .', '  - push: ["$Registry/app:{{.Run.ID}}"]', ''].join('\n');

describe.skipIf(!AZ)(`issue 13 with the Azure CLI against sim serve${AZ ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  let dir: string;
  let sim: Served;
  let env: NodeJS.ProcessEnv;
  let sub: string;
  let wizardFlags: (task: string, workdir?: string) => string[];

  const az = (...args: string[]) => {
    const r = spawnSync(AZ!, args, { env, encoding: 'utf8', timeout: 120_000, cwd: dir });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const azJson = (...args: string[]): any => {
    const r = az(...args);
    if (r.status !== 0) throw new Error(`az ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  };
  const registryId = (name: string) => `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${name}`;
  /** AcrPush (or another role) with `az rest` and principalType (Debian's az cannot run `az role assignment`). */
  const assign = (principalId: string, role: string, registry = REG) =>
    azJson('rest', '--method', 'put', '--url', `${registryId(registry)}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, '--body', JSON.stringify({ properties: { roleDefinitionId: roleDefinitionId(sub, role), principalId, principalType: 'ServicePrincipal' } }));
  const close = (registry = REG) => azJson('acr', 'update', '-n', registry, '--public-network-enabled', 'false');
  // Public access on, and the firewall's default action back to Allow (closing set it to Deny).
  const open = (registry = REG) => azJson('acr', 'update', '-n', registry, '--public-network-enabled', 'true', '--default-action', 'Allow');
  const taskSwitch = (on: boolean, registry = REG) =>
    azJson('resource', 'update', '--namespace', 'Microsoft.ContainerRegistry', '--resource-type', 'registries', '-n', registry, '-g', RG, '--api-version', '2025-06-01-preview', '--set', `properties.networkRuleBypassAllowedForTasks=${on}`);
  const runsOf = (task: string) => azJson('acr', 'task', 'list-runs', '-r', REG, '--name', task, '--query', '[].runId') as string[];

  beforeAll(async () => {
    dir = tmp();
    const state = join(dir, 'sim.json');
    sim = await serve(['--state', state, '--scenario', 'two-registries']);
    const prepared = acrTrust(['sim', 'az-env', '--state', state, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
    if (prepared.status !== 0) throw new Error(`sim az-env exited ${prepared.status}: ${prepared.stderr}`);
    env = cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: join(dir, 'home') });
    mkdirSync(join(dir, 'home'));
    sub = sim.line.subscriptionId;
    wizardFlags = (task, workdir = `wizard-${task}`) => ['--target', 'sim', '--endpoint', sim.line.endpoint, '--ca', sim.line.caCertFile, '--resource-group', RG, '--registry', REG, '--task', task, '--workdir', join(dir, workdir), '--json'];
    writeFileSync(join(dir, 'build.yaml'), BUILD_YAML.replace('version: v1.1.0\n', ''));
  }, 60_000);

  afterAll(async () => {
    expect(await sim?.stop()).toBe(0);
  });

  describe('§1 the landing-zone bootstrap task (acr-builder: one credential per login server)', () => {
    let principalId: string;

    it('deployed as Terraform does (no sourceRegistry sent, [system] for its own registry), closed, switch on: the run succeeds through the bypass, logging in once', () => {
      const body = {
        location: 'eastus',
        identity: { type: 'SystemAssigned' },
        properties: {
          platform: { os: 'linux', architecture: 'amd64' },
          step: { type: 'EncodedTask', encodedTaskContent: Buffer.from(BUILD_YAML).toString('base64') },
          credentials: { customRegistries: { [LOGIN_SERVER]: { identity: '[system]' } } },
        },
      };
      const task = azJson('rest', '--method', 'put', '--url', `${registryId(REG)}/tasks/alz-task?api-version=2019-06-01-preview`, '--body', JSON.stringify(body));
      principalId = task.identity.principalId;
      expect(task.properties.credentials.sourceRegistry?.loginMode ?? 'Default').toBe('Default');
      assign(principalId, ROLE_GUIDS.AcrPush);
      close();
      taskSwitch(true);

      const run = az('acr', 'task', 'run', '-n', 'alz-task', '-r', REG);
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout.match(/Logging in to registry: /g)).toHaveLength(1);
      expect(run.stdout).toContain(`Successfully logged into ${LOGIN_SERVER}`);
      expect(run.stdout).not.toContain('is not allowed access');
      expect(run.stdout).toMatch(/Successfully pushed image: acrtrustdemo\.azurecr\.io\/app:c\w+/);
    });

    it('with public access on, it still logs in to its registry once', () => {
      open();
      const run = az('acr', 'task', 'run', '-n', 'alz-task', '-r', REG);
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout.match(/Logging in to registry: /g)).toHaveLength(1);
      close();
    });

    it('the wizard’s run-task on that cloud succeeds at the first run', () => {
      const before = runsOf('alz-task').length;
      const r = acrTrust(['run', '--yes', '--only', 'run-task', ...wizardFlags('alz-task')], cleanEnv());
      expect(r.status, r.stderr).toBe(0);
      expect(jsonLines(r.stdout).find((e) => e.event === 'step' && e.id === 'run-task')).toMatchObject({ status: 'applied' });
      expect(runsOf('alz-task').length).toBe(before + 1);
    });

    it('switch off: the wizard stops after one run, names the real cause and its fix, and never says "may not be in effect yet"', () => {
      taskSwitch(false);
      const before = runsOf('alz-task').length;
      const r = acrTrust(['run', '--yes', '--only', 'run-task', ...wizardFlags('alz-task', 'wizard-switch-off')], cleanEnv());
      expect(r.status, r.stdout).toBe(1);
      expect(runsOf('alz-task').length).toBe(before + 1);
      expect(r.stdout).not.toContain('may not be in effect yet');
      expect(r.stderr).toContain('exchange API response code: 403 Forbidden');
      expect(r.stderr).toContain('its bypass for tasks is off');
      expect(r.stderr).toMatch(/Fix: .*networkRuleBypassAllowedForTasks=true/);
      taskSwitch(true);
    });
  });

  describe('§7 source upload and §2 what a build pulls', () => {
    let app: string;

    beforeAll(() => {
      app = join(dir, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'Dockerfile'), 'ARG BASE=mcr.microsoft.com/hello-world\nFROM ${BASE}\nCOPY . /app\n');
      writeFileSync(join(app, 'README.md'), 'hello\n');
      open();
    });

    it('az acr build -r R -t img:v1 . from a local folder: uploads the source and builds it', () => {
      const r = az('acr', 'build', '-r', REG, '-t', 'img:v1', app);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      // The Dockerfile's FROM (its ARG default) comes from the uploaded tarball: the sim read the upload.
      expect(r.stdout).toContain('Step 1/2 : FROM mcr.microsoft.com/hello-world');
      expect(azJson('acr', 'task', 'list-runs', '-r', REG, '--top', '1', '--query', '[0].{status: status, outputImages: outputImages[].tag}')).toEqual({ status: 'Succeeded', outputImages: ['v1'] });
      expect(r.stdout).toContain(`Successfully pushed image: ${LOGIN_SERVER}/img:v1`);
    });

    it('a base image (FROM fed by --build-arg) in a closed registry with the switch on and no role at all there: the build fails at FROM with the registry’s 401', () => {
      close(BASE_REG);
      taskSwitch(true, BASE_REG);
      const task = azJson('acr', 'task', 'create', '-n', 'from-base', '-r', REG, '-f', 'build.yaml', '--context', '/dev/null', '--assign-identity', '--auth-mode', 'Default');
      azJson('acr', 'task', 'credential', 'add', '-n', 'from-base', '-r', REG, '--login-server', BASE_SERVER, '--use-identity', '[system]');
      writeFileSync(join(app, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY . /app\n');
      // az acr task create/update -f FILE --context /dev/null puts `version: v1.1.0` in front itself.
      const yaml = ['steps:', `  - build: -t $Registry/app:{{.Run.ID}} -f Dockerfile --build-arg BASE=${BASE_SERVER}/base:1 .`, '  - push: ["$Registry/app:{{.Run.ID}}"]', ''].join('\n');
      writeFileSync(join(dir, 'build.yaml'), yaml);
      azJson('acr', 'task', 'update', '-n', 'from-base', '-r', REG, '-f', 'build.yaml');

      const refused = az('acr', 'task', 'run', '-n', 'from-base', '-r', REG, '-c', app);
      expect(refused.status, refused.stdout).toBe(1);
      expect(refused.stdout).toContain(`Step 1/2 : FROM ${BASE_SERVER}/base:1`);
      expect(refused.stdout).toContain(`Successfully logged into ${BASE_SERVER}`);
      expect(refused.stdout).toContain(`Head "https://${BASE_SERVER}/v2/base/manifests/1": unauthorized: authentication required`);
      expect(refused.stdout).toContain('failed to run step ID: acb_step_0: exit status 1');

      assign(task.identity.principalId, ROLE_GUIDS.AcrPull, BASE_REG);
      const pulled = az('acr', 'task', 'run', '-n', 'from-base', '-r', REG, '-c', app);
      expect(pulled.status, pulled.stdout).toBe(0);
      expect(pulled.stdout).toContain(`Status: Downloaded newer image for ${BASE_SERVER}/base:1`);

      // Trusted services off on the base registry: the pull is refused before the build, at the exchange.
      azJson('acr', 'update', '-n', BASE_REG, '--allow-trusted-services', 'false');
      const closed = az('acr', 'task', 'run', '-n', 'from-base', '-r', REG, '-c', app);
      expect(closed.status).toBe(1);
      expect(closed.stdout).toContain('exchange API response code: 403 Forbidden');

      // The same pull written the other ways Dockerfiles name a base: a `${VAR:-default}` default, a
      // platform flag, a later stage built FROM the first, and the backtick escape directive.
      writeFileSync(join(app, 'Dockerfile'), ['# escape=`', 'ARG REG', 'ARG TAG=1', `FROM --platform=$BUILDPLATFORM \${REG:-${BASE_SERVER}}/base:\${TAG} AS build`, 'RUN echo `', '  built', 'FROM build', ''].join('\n'));
      azJson('acr', 'task', 'update', '-n', 'from-base', '-r', REG, '-f', 'build.yaml');
      const defaulted = az('acr', 'task', 'run', '-n', 'from-base', '-r', REG, '-c', app);
      expect(defaulted.status).toBe(1);
      expect(defaulted.stdout).toContain('exchange API response code: 403 Forbidden');
      expect(defaulted.stdout).not.toContain('Downloaded newer image');
    });
  });
});
