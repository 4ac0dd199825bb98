/**
 * Issue 13 §3, the wizard's side, through the real binaries against `acr-trust sim serve --scenario
 * abac` (a registry with ABAC repository permissions) and Debian's azure-cli 2.45:
 * - a task the user already had (made with az, with a source registry identity of its own and the
 *   default login mode): the wizard sets its source registry identity to [system] and says why;
 *   `reset` puts back exactly the identity and login mode it had — read back with `az rest` at
 *   api-version 2025-03-01-preview, the version that shows the field;
 * - `acr-trust export`'s lines for an ABAC registry: the commented-out `az rest` calls (the
 *   repository role, the source identity) run with az 2.45 do what the wizard does — its next run
 *   finds assign-role and add-credential holding, the task pushes through the bypass, and
 *   `doctor` finds the task healthy with its source identity.
 *
 * Skipped only when `az` is not installed (CI installs Debian's azure-cli).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_GUIDS } from '../../src/model/roles.js';
import { acrTrust, cleanEnv, findAz, serve, tmp, type Served } from './helpers.js';

const AZ = findAz();
const SKIP_REASON = 'az (the Azure CLI) is not installed; CI installs it with `apt-get install azure-cli`';
const API = '2025-03-01-preview';
const WRITER = ROLE_GUIDS.RepositoryWriter;

describe.skipIf(!AZ)(`ABAC registries: the source registry identity, through az and the wizard${AZ ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  let dir: string;
  let sim: Served;
  let env: NodeJS.ProcessEnv;
  let cloudFlags: string[];

  const az = (...args: string[]) => spawnSync(AZ!, args, { env, encoding: 'utf8', timeout: 60_000 });
  const azJson = (...args: string[]): any => {
    const r = az(...args, '-o', 'json');
    if (r.status !== 0) throw new Error(`az ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  };
  /** The task's identity type and source-registry credentials, as ARM shows them at 2025-03-01-preview. */
  const sourceOf = (task: string) => {
    const id = azJson('acr', 'task', 'show', '-n', task, '-r', 'acrtrustdemo', '--query', 'id');
    const t = azJson('rest', '--method', 'get', '--url', `${id}?api-version=${API}`);
    // A login mode never set is Azure's default (az 2.45's `task create` sends none; reset writes Default back).
    return { identity: t.identity?.type ?? 'None', sourceRegistry: { loginMode: 'Default', ...t.properties.credentials?.sourceRegistry } };
  };

  beforeAll(async () => {
    dir = tmp();
    const state = join(dir, 'sim-cloud.json');
    sim = await serve(['--state', state, '--speed', 'instant', '--scenario', 'abac']);
    const prepared = acrTrust(['sim', 'az-env', '--state', state, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
    if (prepared.status !== 0) throw new Error(`sim az-env exited ${prepared.status}: ${prepared.stderr}`);
    env = cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: dir });
    cloudFlags = ['--target', 'sim', '--endpoint', sim.line.endpoint, '--ca', sim.line.caCertFile, '--sim-speed', 'instant'];
  }, 30_000);

  afterAll(async () => {
    await sim?.stop();
  });

  it("a task the user had: its source registry identity becomes [system], said why; reset puts back the identity it had", () => {
    azJson('acr', 'task', 'create', '-n', 'mytask', '-r', 'acrtrustdemo', '--cmd', '$Registry/hello-world', '-c', '/dev/null');
    const id = azJson('acr', 'task', 'show', '-n', 'mytask', '-r', 'acrtrustdemo', '--query', 'id');
    // The user's own choice before: a client id as the source identity (what --source-acr-auth-id <client id> sets).
    const clientId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    azJson('rest', '--method', 'patch', '--url', `${id}?api-version=${API}`, '--body', JSON.stringify({ properties: { credentials: { sourceRegistry: { identity: clientId } } } }));
    const before = sourceOf('mytask');
    expect(before).toEqual({ identity: 'None', sourceRegistry: { loginMode: 'Default', identity: clientId } });

    const wd = join(dir, 'wd-mytask');
    const flags = [...cloudFlags, '--task', 'mytask', '--workdir', wd, '--until', 'add-credential'];
    const dry = acrTrust(['run', '--dry-run', ...flags], cleanEnv());
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`change your existing task mytask: set its source registry identity to [system] (now ${clientId}) — acrtrustdemo uses ABAC repository permissions, which give a task no implicit access to its own registry`);
    expect(dry.stdout).toContain("$ az acr task update -n mytask -r acrtrustdemo --source-acr-auth-id '[system]'");
    expect(sourceOf('mytask')).toEqual(before);

    const run = acrTrust(['run', '--yes', ...flags], cleanEnv());
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('its source registry identity (credentials.sourceRegistry.identity) is set to [system]');
    expect(run.stdout).toContain('Container Registry Repository Writer (not AcrPush: registry acrtrustdemo uses ABAC repository permissions, which ignore it)');
    expect(sourceOf('mytask')).toEqual({ identity: 'SystemAssigned', sourceRegistry: { loginMode: 'None', identity: '[system]' } });
    // A verify reads it back live (at 2025-03-01-preview) and finds it holding.
    // (exit 3: the steps after add-credential were never run.)
    const verify = acrTrust(['verify', '--workdir', wd, '--json'], cleanEnv());
    expect(verify.status, verify.stderr).toBe(3);
    const checked = verify.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.event === 'check' && e.id === 'add-credential');
    expect(checked).toMatchObject({ holds: true, live: { status: 'done', evidence: expect.stringContaining('logs in to its own registry acrtrustdemo.azurecr.io with its source registry identity [system]') } });

    const reset = acrTrust(['reset', '--yes', '--workdir', wd], cleanEnv());
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stdout).toContain(`task mytask's source registry identity back to ${clientId} (was [system])`);
    expect(sourceOf('mytask')).toEqual(before);
    // Nothing acr-trust added stays: no custom credential, no role.
    expect(azJson('acr', 'task', 'credential', 'list', '-n', 'mytask', '-r', 'acrtrustdemo') ?? {}).toEqual({});
  }, 180_000);

  it("export's az rest lines for an ABAC registry (role and source identity) do with az 2.45 what the wizard does", () => {
    const wd = join(dir, 'wd-export');
    const first = acrTrust(['run', '--yes', ...cloudFlags, '--goal', 'setup', '--workdir', wd, '--until', 'create-task'], cleanEnv());
    expect(first.status, first.stderr).toBe(0);
    const exported = acrTrust(['export', '--workdir', wd], cleanEnv());
    expect(exported.status, exported.stderr).toBe(0);
    const section = (id: string) => exported.stdout.split(/\n(?=# \d+\. )/).find((s) => s.startsWith(`# ${id === 'assign-role' ? 3 : 4}. ${id}:`))!;
    const role = section('assign-role');
    const credential = section('add-credential');
    expect(role).toContain("--role 'Container Registry Repository Writer'");
    expect(role).toContain(`roleDefinitions/${WRITER}`);
    expect(credential).toContain("az acr task update -n acr-trust-task -r acrtrustdemo --source-acr-auth-id '[system]'");
    expect(credential).not.toContain('az acr task credential add');

    // What the comments say to do with Debian's 2.45: the commented-out az rest lines, run as written.
    const rest = (text: string) => text.split('\n').filter((l) => l.startsWith('# az rest ')).map((l) => l.slice(2));
    const principal = role.split('\n').find((l) => l.startsWith('principal=$('))!;
    const script = ['set -eu', principal, ...rest(role), ...rest(credential)].join('\n');
    expect(rest(role)).toHaveLength(1);
    expect(rest(credential)).toHaveLength(1);
    writeFileSync(join(dir, 'abac.sh'), script);
    const ran = spawnSync('bash', [join(dir, 'abac.sh')], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    expect(ran.status, ran.stderr + ran.stdout).toBe(0);
    expect(sourceOf('acr-trust-task').sourceRegistry).toEqual({ loginMode: 'None', identity: '[system]' });

    // The wizard goes on: both steps already hold (checked live), the task pushes through the bypass.
    const rest2 = acrTrust(['run', '--yes', ...cloudFlags, '--goal', 'setup', '--workdir', wd, '--json'], cleanEnv());
    expect(rest2.status, rest2.stderr).toBe(0);
    const steps = rest2.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.event === 'step');
    const byId = Object.fromEntries(steps.map((e) => [e.id, e]));
    expect(byId['assign-role']).toMatchObject({ status: 'done', evidence: expect.stringContaining('Container Registry Repository Writer') });
    expect(byId['add-credential']).toMatchObject({ status: 'done', evidence: expect.stringContaining('source registry identity [system]') });
    expect(byId['run-task']).toMatchObject({ status: 'applied', evidence: expect.stringMatching(/^run ca\d+ Succeeded$/) });

    // The doctor reads the task at 2025-03-01-preview too: the source identity is its credential there.
    const doctor = acrTrust(['doctor', '--workdir', wd, '--yes'], cleanEnv());
    expect(doctor.status, doctor.stderr + doctor.stdout).toBe(0);
    expect(doctor.stdout).toContain('sourceRegistry.identity: [system]');
    expect(doctor.stdout).toContain('Healthy: every access the task makes is allowed.');
  }, 240_000);
});
