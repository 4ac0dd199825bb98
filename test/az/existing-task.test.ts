/**
 * Issue 11 §3 and issue 13 §1 (Azure/acr#859) through the real binaries: a task the user already
 * had, made with Microsoft's Azure CLI against `acr-trust sim serve`, is adopted by the wizard —
 * which says what it changes on it and why (`--dry-run` too) — and `reset` puts back exactly its
 * identity, its login mode and every custom registry credential. When the task's target is another
 * registry, its login to its own registry is never touched.
 *
 * Skipped only when `az` is not installed (CI installs Debian's azure-cli).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrTrust, cleanEnv, findAz, serve, tmp, type Served } from './helpers.js';

const AZ = findAz();
const SKIP_REASON = 'az (the Azure CLI) is not installed; CI installs it with `apt-get install azure-cli`';

describe.skipIf(!AZ)(`a task the user already had${AZ ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  let dir: string;
  let sim: Served;
  let env: NodeJS.ProcessEnv;
  let cloudFlags: string[];

  const azJson = (...args: string[]): any => {
    const r = spawnSync(AZ!, [...args, '-o', 'json'], { env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`az ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  };
  /** What reset must restore: identity, source-registry login, and every credential (listDetails). */
  const taskState = (task: string, registry: string) => {
    const t = azJson('acr', 'task', 'show', '-n', task, '-r', registry);
    const creds = azJson('acr', 'task', 'credential', 'list', '-n', task, '-r', registry) ?? {};
    return {
      identity: t.identity?.type ?? 'None',
      loginMode: t.credentials?.sourceRegistry?.loginMode ?? 'Default',
      credentials: Object.fromEntries(Object.entries(creds).map(([server, c]: [string, any]) => [server, { identity: c.identity ?? null, userName: c.userName?.value ?? null }])),
      step: t.step,
    };
  };

  beforeAll(async () => {
    dir = tmp();
    const state = join(dir, 'sim-cloud.json');
    sim = await serve(['--state', state, '--speed', 'instant']);
    const prepared = acrTrust(['sim', 'az-env', '--state', state, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
    if (prepared.status !== 0) throw new Error(`sim az-env exited ${prepared.status}: ${prepared.stderr}`);
    env = cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: dir });
    cloudFlags = ['--target', 'sim', '--endpoint', sim.line.endpoint, '--ca', sim.line.caCertFile];
  }, 30_000);

  afterAll(async () => {
    await sim?.stop();
  });

  it('§3: --task legacy (no identity, default credentials, a password credential for another registry): says what it changes and why; reset puts back exactly what it had', () => {
    // As many users already have one: no identity, default credentials.
    azJson('acr', 'task', 'create', '-n', 'legacy', '-r', 'acrtrustdemo', '--cmd', '$Registry/hello-world', '-c', '/dev/null');
    // …and a user name and password for another registry (az rest: the same PATCH `az acr task credential add -u -p` sends).
    const id = azJson('acr', 'task', 'show', '-n', 'legacy', '-r', 'acrtrustdemo').id;
    const body = { properties: { credentials: { customRegistries: { 'other.azurecr.io': { userName: { type: 'Opaque', value: 'bob' }, password: { type: 'Opaque', value: 's3cret' } } } } } };
    azJson('rest', '--method', 'patch', '--url', `${id}?api-version=2019-06-01-preview`, '--body', JSON.stringify(body));
    const before = taskState('legacy', 'acrtrustdemo');
    expect(before).toMatchObject({ identity: 'None', loginMode: 'Default', credentials: { 'other.azurecr.io': { identity: null, userName: 'bob' } } });

    const wd = join(dir, 'wd-legacy');
    const flags = [...cloudFlags, '--task', 'legacy', '--workdir', wd, '--until', 'add-credential'];
    const dry = acrTrust(['run', '--dry-run', ...flags], cleanEnv());
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('change your existing task legacy: give it a system-assigned identity (now None); set loginMode None (now Default)');
    expect(dry.stdout).toContain('change your existing task legacy: add credential acrtrustdemo.azurecr.io → [system]');
    expect(dry.stdout).toContain('Task legacy is yours (acr-trust did not create it).');
    expect(taskState('legacy', 'acrtrustdemo')).toEqual(before);

    const run = acrTrust(['run', '--yes', ...flags], cleanEnv());
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('| Task legacy is yours (acr-trust did not create it).');
    const changed = taskState('legacy', 'acrtrustdemo');
    expect(changed).toMatchObject({ identity: 'SystemAssigned', loginMode: 'None' });
    expect(changed.credentials).toEqual({ ...before.credentials, 'acrtrustdemo.azurecr.io': { identity: '[system]', userName: null } });
    expect(changed.step).toEqual(before.step); // the task's own steps are the user's

    const reset = acrTrust(['reset', '--yes', '--workdir', wd], cleanEnv());
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stdout).toContain('task legacy (yours, kept): identity back to None, loginMode back to Default');
    expect(taskState('legacy', 'acrtrustdemo')).toEqual(before);

    // Nothing left to put back: a second reset says so and changes nothing.
    const again = acrTrust(['reset', '--yes', '--workdir', wd], cleanEnv());
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('task legacy has its identity (None) and loginMode (Default) as before (checked now)');
    expect(taskState('legacy', 'acrtrustdemo')).toEqual(before);
  }, 120_000);

  it('issue 13 §1 (Azure/acr#859): a task in Basic acrbuild whose target is acrtrustdemo keeps its login to acrbuild; reset restores the rest', () => {
    azJson('acr', 'create', '-n', 'acrbuild', '-g', 'acr-trust-demo', '--sku', 'Basic');
    azJson('acr', 'task', 'create', '-n', 'buildtask', '-r', 'acrbuild', '--cmd', '$Registry/hello-world', '-c', '/dev/null');
    const before = taskState('buildtask', 'acrbuild');

    const wd = join(dir, 'wd-acrbuild');
    const flags = [...cloudFlags, '--registry', 'acrbuild', '--target-registry', 'acrtrustdemo', '--role', 'AcrPull', '--task', 'buildtask', '--workdir', wd];
    const run = acrTrust(['run', '--yes', ...flags], cleanEnv());
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Its login to its own registry acrbuild is left as it is (the target is acrtrustdemo).');
    const changed = taskState('buildtask', 'acrbuild');
    expect(changed).toMatchObject({ identity: 'SystemAssigned', loginMode: before.loginMode });
    expect(changed.credentials['acrtrustdemo.azurecr.io']).toEqual({ identity: '[system]', userName: null });

    const reset = acrTrust(['reset', '--yes', '--workdir', wd], cleanEnv());
    expect(reset.status, reset.stderr).toBe(0);
    expect(taskState('buildtask', 'acrbuild')).toEqual(before);
  }, 120_000);
});
