/**
 * Issue 11 §1–3 through the binary: a workdir belongs to one cloud; a re-run checks every step
 * live and repairs drift; reset puts back exactly what was there before, also on a task the user
 * already had.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sdkClients } from '../helpers/sim.js';
import { cli, cliAsync, expectNoStack, jsonLines, registryNamed, tempDir, withServedSim, type ServedSim } from './helpers.js';

/** The served sim persists its cloud a moment after each change. */
const flushed = () => new Promise((resolve) => setTimeout(resolve, 600));
const servedCloud = (stateFile: string) => JSON.parse(readFileSync(stateFile, 'utf8'));

describe('§1 a workdir belongs to one cloud', () => {
  it('reset, status and verify without --endpoint act on the served sim the run changed; another cloud is exit 2 naming both; --new-workdir starts over', () =>
    withServedSim(async ({ dir, stateFile, endpoint, caCertFile, subscriptionId }) => {
      const wd = join(dir, 'wd');
      const run = cli(['run', '--target', 'sim', '--endpoint', endpoint, '--ca', caCertFile, '--sim-speed', 'instant', '--yes', '--workdir', wd]);
      expect(run.status, run.stderr).toBe(0);
      const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
      expect(state.cloud).toMatchObject({ target: 'sim', endpoint, ca: caCertFile, subscription: subscriptionId });
      await flushed();
      expect(registryNamed(servedCloud(stateFile), 'acrtrustdemo').properties.publicNetworkAccess).toBe('Disabled');

      // status and verify with no cloud flags: the served sim, not a fresh embedded one.
      const status = cli(['status', '--workdir', wd]);
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toContain(`target sim at ${endpoint}`);
      const verify = cli(['verify', '--workdir', wd, '--target', 'sim']);
      expect(verify.status, verify.stderr).toBe(0);
      expect(verify.stdout).toContain('All 10 steps hold.');
      expect(existsSync(join(wd, 'sim-cloud.json'))).toBe(false);

      // Another cloud named explicitly: exit 2, both clouds named, nothing started.
      const other = cli(['verify', '--workdir', wd, '--target', 'sim', '--endpoint', 'https://127.0.0.1:1', '--ca', caCertFile]);
      expect(other.status).toBe(2);
      expectNoStack(other);
      expect(other.stderr).toContain(`belongs to the simulated Azure at ${endpoint}`);
      expect(other.stderr).toContain('names the simulated Azure at https://127.0.0.1:1');
      expect(other.stderr).toContain('--new-workdir');
      const azure = cli(['reset', '--yes', '--workdir', wd, '--target', 'azure']);
      expect(azure.status).toBe(2);
      expect(azure.stderr).toContain(`belongs to the simulated Azure at ${endpoint}`);
      expect(azure.stderr).toContain('names Azure');
      const embedded = cli(['status', '--workdir', wd, '--subscription', '00000000-0000-0000-0000-00000000beef']);
      expect(embedded.status).toBe(2);
      expect(embedded.stderr).toContain('subscription 00000000-0000-0000-0000-00000000beef');
      const exported = cli(['export', '--workdir', wd, '--target', 'azure']);
      expect(exported.status).toBe(2);
      expect(exported.stderr).toContain(`belongs to the simulated Azure at ${endpoint}`);

      // reset with no cloud flags undoes the run on the served sim.
      const reset = cli(['reset', '--yes', '--workdir', wd]);
      expect(reset.status, reset.stderr).toBe(0);
      expect(reset.stdout).toContain(`target sim at ${endpoint}`);
      expect(reset.stdout).toContain('deleted task acr-trust-task (created by acr-trust)');
      await flushed();
      const cloud = servedCloud(stateFile);
      expect(registryNamed(cloud, 'acrtrustdemo').properties.publicNetworkAccess).toBe('Enabled');
      expect(Object.values(cloud.tasks)).toEqual([]);
      expect(existsSync(join(wd, 'sim-cloud.json'))).toBe(false);

      // A second reset finds nothing to put back and says so, step by step; it reports no "undone".
      const again = cli(['reset', '--yes', '--workdir', wd]);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toContain('task acr-trust-task not found in acrtrustdemo: nothing to undo');
      expect(again.stdout).toContain('registry acrtrustdemo has its original network settings (checked now)');
      expect(again.stdout).not.toMatch(/✓ undone/);
      expect(again.stdout).toContain('Reset: 0 step(s) undone, 10 had nothing to undo (checked now)');

      // Starting over deliberately: the earlier files move aside, the new cloud is recorded.
      const fresh = cli(['run', '--target', 'sim', '--yes', '--workdir', wd, '--new-workdir', '--until', 'preflight']);
      expect(fresh.status, fresh.stderr).toBe(0);
      expect(fresh.stderr).toContain('starting over');
      expect(fresh.stdout).toContain('target embedded sim');
      const earlier = readdirSync(wd).filter((f) => f.startsWith('earlier-'));
      expect(earlier).toHaveLength(1);
      expect(JSON.parse(readFileSync(join(wd, earlier[0]!, 'state.json'), 'utf8')).cloud.endpoint).toBe(endpoint);
      expect(JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8')).cloud).toMatchObject({ target: 'sim' });
      expect(JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8')).cloud.endpoint).toBeUndefined();
    }));

  it('a run that never reached its cloud binds nothing; a dry run binds nothing', async () => {
    const wd = join(tempDir(), 'wd');
    const dry = await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd, '--dry-run', '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(existsSync(join(wd, 'state.json'))).toBe(false);
    const unreachable = await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd, '--endpoint', 'https://127.0.0.1:1', '--ca', caOf(wd)]);
    expect(unreachable.status).not.toBe(0);
    const state = existsSync(join(wd, 'state.json')) ? JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8')) : {};
    expect(state.cloud).toBeUndefined();
    // So the embedded sim may still be chosen for this workdir.
    const ok = await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd, '--until', 'preflight', '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(jsonLines(ok.stdout)[0].target).toContain('embedded sim');
  });
});

describe('§2 a re-run checks every step live', () => {
  it('repairs drift made behind its back (public access re-enabled), says which steps it checked now, and a no-op re-run costs what verify costs', () =>
    withServedSim(async (served) => {
      const { dir, stateFile, endpoint, caCertFile } = served;
      const wd = join(dir, 'wd');
      const args = ['run', '--target', 'sim', '--endpoint', endpoint, '--ca', caCertFile, '--sim-speed', 'instant', '--yes', '--workdir', wd, '--json'];
      expect(cli(args).status).toBe(0);

      // Any ARM client, not the wizard: the real SDK turns public access back on.
      const { registries } = armClients(served);
      await registries.registries.beginUpdateAndWait('acr-trust-demo', 'acrtrustdemo', { publicNetworkAccess: 'Enabled' });

      const again = cli(['run', '--yes', '--workdir', wd, '--json']);
      expect(again.status, again.stderr).toBe(0);
      const steps = Object.fromEntries(jsonLines(again.stdout).filter((e) => e.event === 'step').map((e) => [e.id, e]));
      expect(steps['disable-public-access']).toMatchObject({ status: 'applied', evidence: 'publicNetworkAccess = Disabled on acrtrustdemo' });
      expect(steps['allow-trusted-services'].evidence).toBe(
        'reversed on purpose by disable-trusted-services, which holds (checked now: networkRuleBypassOptions = None on acrtrustdemo)',
      );
      // The registry changed after the negative test's run, so that run proves nothing any more:
      // confirm-denied runs the task again (run-task's success is reversed on purpose, as before).
      expect(steps['confirm-denied']).toMatchObject({ status: 'applied' });
      expect(Object.values(steps).map((e: any) => e.status).sort()).toEqual([...Array(8).fill('done'), 'applied', 'applied', 'skipped'].sort()); // skipped: agent-pool, the other path's
      await flushed();
      expect(registryNamed(servedCloud(stateFile), 'acrtrustdemo').properties.publicNetworkAccess).toBe('Disabled');
      const plain = cli(['run', '--yes', '--workdir', wd]);
      expect(plain.stdout).toContain('Finished: 10 step(s) hold (checked now), nothing changed.');

      // A no-op re-run: every resource read at most once, no write — the requests verify makes.
      await flushed();
      const before = requestsOf(stateFile).length;
      expect(cli(['run', '--yes', '--workdir', wd, '--json']).status).toBe(0);
      await flushed();
      const rerun = requestsOf(stateFile).slice(before);
      expect(rerun.filter((q) => q.write)).toEqual([]);
      const paths = rerun.map((q) => `${q.method} ${q.path.split('?')[0]}`);
      expect(paths.filter((p, i) => paths.indexOf(p) !== i)).toEqual([]);
      const beforeVerify = requestsOf(stateFile).length;
      expect(cli(['verify', '--workdir', wd, '--json']).status).toBe(0);
      await flushed();
      const verify = requestsOf(stateFile).slice(beforeVerify).map((q) => `${q.method} ${q.path.split('?')[0]}`);
      expect([...paths].sort()).toEqual([...verify].sort());
      // The task is read once, through listDetails: its credentials and its last change (for the
      // runs' freshness) are in the one answer.
      expect(verify.filter((p) => /\/tasks\/[^/]+/.test(p))).toEqual([expect.stringMatching(/^POST .*\/tasks\/[^/]+\/listDetails$/)]);
    }));
});

describe('§2 a check that cannot be made says so', () => {
  it('the served sim stopped after the run: status and verify exit 1, "could not be checked", the advice once — never "does not hold" or "drifted"', async () => {
    let wd = '';
    await withServedSim(async ({ dir, endpoint, caCertFile }) => {
      wd = join(dir, 'wd');
      expect(cli(['run', '--target', 'sim', '--endpoint', endpoint, '--ca', caCertFile, '--goal', 'setup', '--yes', '--workdir', wd]).status).toBe(0);
    });
    for (const command of ['status', 'verify']) {
      const r = cli([command, '--workdir', wd, '--no-color']);
      expect(r.status, `${command}: ${r.stdout}${r.stderr}`).toBe(1);
      expectNoStack(r);
      expect(r.stdout).toContain('8 of 8 steps could not be checked: preflight, create-task');
      expect(r.stdout).not.toMatch(/steps hold; not holding/);
      expect(r.stderr).toMatch(/^acr-trust: 8 step\(s\) could not be checked \(preflight, .*\): .*could not be reached \(ECONNREFUSED\)/);
      expect(r.stderr).not.toContain('drifted');
      expect(r.stdout.split('\n').filter((l) => l.includes('→ ')).length, r.stdout).toBe(1);
    }
  });
});

describe('§2 a run proves the setup only while what it depended on is unchanged', () => {
  it('the task’s role deleted behind its back: run-task no longer holds on the old run; re-running it names the missing role at once', () =>
    withServedSim(async (served) => {
      const { dir, endpoint, caCertFile } = served;
      const wd = join(dir, 'wd');
      const args = ['run', '--target', 'sim', '--endpoint', endpoint, '--ca', caCertFile, '--sim-speed', 'instant', '--goal', 'setup', '--yes', '--workdir', wd, '--json'];
      expect(cli(args).status).toBe(0);

      // Any ARM client, not the wizard: the task identity's AcrPush assignment is deleted.
      const { registries, authorization } = armClients(served);
      const task = await registries.tasks.get('acr-trust-demo', 'acrtrustdemo', 'acr-trust-task');
      const registry = await registries.registries.get('acr-trust-demo', 'acrtrustdemo');
      const assignments = [];
      for await (const r of authorization.roleAssignments.listForScope(registry.id!, { filter: `principalId eq '${task.identity!.principalId}'` })) assignments.push(r);
      expect(assignments).toHaveLength(1);
      await authorization.roleAssignments.deleteById(assignments[0]!.id!);

      const verify = cli(['verify', '--workdir', wd, '--json']);
      expect(verify.status).toBe(3);
      const checked = Object.fromEntries(jsonLines(verify.stdout).filter((e) => e.event === 'check').map((e) => [e.id, e.live]));
      expect(checked['assign-role'].status).toBe('pending');
      expect(checked['run-task']).toMatchObject({ status: 'pending', change: expect.stringContaining('no AcrPush assignment on acrtrustdemo now, so run ca1') });

      // Only run-task: a new run, refused for the missing role — a cause waiting will not cure, so one run, not a retry loop.
      const runOnly = cli(['run', '--yes', '--only', 'run-task', '--workdir', wd]);
      expect(runOnly.status).not.toBe(0);
      expectNoStack(runOnly);
      expect(runOnly.stdout + runOnly.stderr).toMatch(/AcrPush/);
      expect(runOnly.stdout + runOnly.stderr).not.toContain('may not be in effect yet');
      const runs = [];
      for await (const r of registries.runs.list('acr-trust-demo', 'acrtrustdemo')) runs.push(r);
      expect(runs).toHaveLength(2);

      // The full run repairs it: the role again, then a run newer than the assignment.
      const repaired = cli(['run', '--yes', '--workdir', wd, '--json']);
      expect(repaired.status, repaired.stderr).toBe(0);
      const steps = Object.fromEntries(jsonLines(repaired.stdout).filter((e) => e.event === 'step').map((e) => [e.id, e.status]));
      expect(steps).toMatchObject({ 'assign-role': 'applied', 'run-task': 'applied' });
    }));
});

describe('§2 with --goal', () => {
  it('run --goal setup after a demo turns trusted services back on: the step that reverses it is not part of this run', async () => {
    const wd = join(tempDir(), 'wd');
    expect((await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd])).status).toBe(0);
    expect(registryNamed(simCloudOf(wd), 'acrtrustdemo').properties.networkRuleBypassOptions).toBe('None');
    const setup = await cliAsync(['run', '--yes', '--goal', 'setup', '--workdir', wd, '--json']);
    expect(setup.status, setup.stderr).toBe(0);
    const steps = Object.fromEntries(jsonLines(setup.stdout).filter((e) => e.event === 'step').map((e) => [e.id, e.status]));
    expect(steps).toMatchObject({ 'allow-trusted-services': 'applied', 'disable-public-access': 'done', 'disable-trusted-services': 'skipped' });
    expect(registryNamed(simCloudOf(wd), 'acrtrustdemo').properties.networkRuleBypassOptions).toBe('AzureServices');
  });
});

function simCloudOf(wd: string): any {
  return JSON.parse(readFileSync(join(wd, 'sim-cloud.json'), 'utf8'));
}

function armClients(s: ServedSim) {
  return sdkClients({ endpoint: s.endpoint, caCert: readFileSync(s.caCertFile, 'utf8'), subscriptionId: s.subscriptionId });
}

function requestsOf(stateFile: string): any[] {
  try {
    return JSON.parse(readFileSync(stateFile.replace(/\.json$/, '.requests.json'), 'utf8'));
  } catch {
    return [];
  }
}

/** A CA file for an endpoint nobody listens on (the workdir's own folder holds it). */
function caOf(wd: string): string {
  const file = join(wd, '..', 'ca.pem');
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  return file;
}
