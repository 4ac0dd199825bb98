/**
 * The unattended path end to end: `acr-trust run --target sim --yes` against the embedded sim, then
 * a re-run, verify, status, export and reset — through the built binary.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, expectNoStack, jsonLines, networkSettings, registryNamed, simCloud, simRequests, STEP_IDS, taskRoleAssignments, tempDir, WORKFLOW_IDS } from './helpers.js';

describe('run --target sim --yes, then again, verify, status, export, reset', () => {
  const wd = join(tempDir(), 'wd');
  const sim = ['--target', 'sim', '--workdir', wd];
  let original: string;
  let first: ReturnType<typeof cli>;

  beforeAll(() => {
    // A dry run seeds the embedded sim's cloud without changing it: the registry as it started.
    const dry = cli(['run', ...sim, '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    original = networkSettings(registryNamed(simCloud(wd), 'acrtrustdemo'));
    first = cli(['run', ...sim, '--yes']);
  });

  it('completes all ten steps with exit 0 and a summary table', () => {
    expect(first.status, first.stderr).toBe(0);
    for (const id of STEP_IDS) expect(first.stdout).toMatch(new RegExp(`^${id} +(done|applied) `, 'm'));
    expect(first.stdout).toContain('Finished: 10 step(s) hold');
    expect(first.stderr).toBe('');
  });

  it('leaves one task, one role assignment, and the registry closed with trusted services off', () => {
    const cloud = simCloud(wd);
    expect(Object.keys(cloud.tasks)).toHaveLength(1);
    expect(taskRoleAssignments(cloud)).toHaveLength(1);
    const p = registryNamed(cloud, 'acrtrustdemo').properties;
    expect([p.publicNetworkAccess, p.networkRuleBypassOptions, p.networkRuleBypassAllowedForTasks]).toEqual(['Disabled', 'None', true]);
  });

  it('keeps private 0600 files: answers, state (with the run ids and originals, no secrets), sim', () => {
    for (const f of ['answers.yaml', 'state.json', 'sim-cloud.json']) expect(statSync(join(wd, f)).mode & 0o777).toBe(0o600);
    const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
    expect(state.steps['run-task']).toMatchObject({ status: 'applied', outputs: { runId: 'ca1' } });
    expect(state.steps['confirm-denied'].outputs.runId).toBe('ca2');
    expect(state.steps.preflight.outputs.original).toMatchObject({ publicNetworkAccess: 'Enabled' });
    expect(state.target).toMatchObject({ target: 'sim', registry: 'acrtrustdemo' });
    const text = readFileSync(join(wd, 'state.json'), 'utf8') + readFileSync(join(wd, 'answers.yaml'), 'utf8');
    expect(text).not.toMatch(/sig=|Bearer|acr-trust-sim-token/);
    expect(readFileSync(join(wd, 'answers.yaml'), 'utf8')).toMatch(/^target: sim$/m);
  });

  it('a second run makes no write request', () => {
    const again = cli(['run', ...sim, '--yes']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing changed');
    expect(simRequests(wd).filter((r) => r.write)).toEqual([]);
  });

  it('a plain re-run with no flags resumes the same workflow from the workdir', () => {
    const plain = cli(['run', '--workdir', wd, '--yes']);
    expect(plain.status, plain.stderr).toBe(0);
    expect(simRequests(wd).filter((r) => r.write)).toEqual([]);
  });

  it('verify exits 0, trusted services shown as reversed by the later step', () => {
    const v = cli(['verify', '--workdir', wd]);
    expect(v.status, v.stderr + v.stdout).toBe(0);
    expect(v.stdout).toContain('allow-trusted-services: reversed by disable-trusted-services');
    expect(v.stdout).toContain('All 10 steps hold.');
    expect(simRequests(wd).filter((r) => r.write)).toEqual([]);
  });

  it('status --json: one parseable line per step with recorded and live state', () => {
    const s = cli(['status', '--workdir', wd, '--json']);
    expect(s.status, s.stderr).toBe(0);
    const events = jsonLines(s.stdout);
    const checks = events.filter((e) => e.event === 'check');
    expect(checks.map((c) => c.id)).toEqual(STEP_IDS);
    // run-task's success (ca1) came before trusted services were turned off: live it no longer
    // holds, and that is the negative test's doing — reported as reversed on purpose, not drift.
    expect(checks[7]).toMatchObject({ id: 'run-task', holds: true, recorded: { status: 'done' }, supersededBy: 'disable-trusted-services', live: { status: 'pending' } });
    expect(checks[7].live.change).toMatch(/^run task acr-trust-task again \(registry acrtrustdemo was changed at .*, after run ca1 was created\)$/);
  });

  it('export prints a shell script with every step\'s az commands', () => {
    const e = cli(['export', '--workdir', wd]);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^#!\/bin\/sh\n/);
    expect(e.stdout).toContain('az acr task create -n acr-trust-task -r acrtrustdemo');
    expect(e.stdout).toContain('az acr update -n acrtrustdemo --public-network-enabled false');
    for (const [i, id] of WORKFLOW_IDS.entries()) expect(e.stdout).toContain(`# ${i + 1}. ${id}: `);
  });

  it('reset restores the original network settings exactly and removes the task and the role assignment', () => {
    const r = cli(['reset', '--workdir', wd, '--yes']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const cloud = simCloud(wd);
    expect(networkSettings(registryNamed(cloud, 'acrtrustdemo'))).toBe(original);
    expect(cloud.tasks).toEqual({});
    expect(taskRoleAssignments(cloud)).toEqual([]);
    const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
    expect(state.steps).toEqual({});
    expect(state.lastReset.outputs.preflight.original).toBeDefined();
  });

  it('reset again converges: exit 0, nothing changed (at most DELETEs of what is already gone)', () => {
    const r = cli(['reset', '--workdir', wd, '--yes']);
    expect(r.status, r.stderr).toBe(0);
    const writes = simRequests(wd).filter((x) => x.write);
    expect(writes.filter((x) => !(x.method === 'DELETE' && (x.status === 204 || x.status === 404)))).toEqual([]);
    expect(networkSettings(registryNamed(simCloud(wd), 'acrtrustdemo'))).toBe(original);
  });

  it('after a reset, a run goes through the whole workflow again', () => {
    const r = cli(['run', ...sim, '--yes', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const results = jsonLines(r.stdout).filter((e) => e.event === 'step');
    expect(results.find((e) => e.id === 'run-task')).toMatchObject({ status: 'applied', runId: 'ca3' });
    expect(Object.keys(simCloud(wd).tasks)).toHaveLength(1);
  });
});

describe('--dry-run', () => {
  it('sends no write, records nothing, and shows the az commands', () => {
    const wd = join(tempDir(), 'wd');
    const r = cli(['run', '--target', 'sim', '--workdir', wd, '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(simRequests(wd).filter((x) => x.write)).toEqual([]);
    expect(simRequests(wd).length).toBeGreaterThan(0);
    expect(r.stdout).toContain('$ az acr update -n acrtrustdemo --public-network-enabled false');
    expect(r.stdout).toContain('Dry run: ');
    expect(() => statSync(join(wd, 'state.json'))).toThrow();
    expect(() => statSync(join(wd, 'answers.yaml'))).toThrow();
  });
});

describe('--json', () => {
  it('prints only JSON lines: start, each step start and result, progress, ending with the summary', () => {
    const wd = join(tempDir(), 'wd');
    const r = cli(['--target', 'sim', '--yes', '--workdir', wd, '--json']); // `run` is the default command
    expect(r.status, r.stderr).toBe(0);
    const events = jsonLines(r.stdout); // throws on any non-JSON line
    expect(events[0]).toMatchObject({ event: 'start', command: 'run' });
    expect(events.filter((e) => e.event === 'step-start').map((e) => e.id)).toEqual(STEP_IDS);
    const results = events.filter((e) => e.event === 'step');
    expect(results.map((e) => e.id)).toEqual(WORKFLOW_IDS); // agent-pool too, skipped on the bypass path
    expect(results.find((e) => e.id === 'agent-pool')).toMatchObject({ status: 'skipped' });
    expect(results.find((e) => e.id === 'run-task')).toMatchObject({ status: 'applied', runId: 'ca1', outputs: { status: 'Succeeded' } });
    expect(results.find((e) => e.id === 'create-task').principalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(events.some((e) => e.event === 'progress' && e.id === 'run-task')).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'summary', outcome: 'complete', exitCode: 0, notRun: [] });
    expect(events.at(-1).steps).toHaveLength(11);
  });

  it('a stopped run still ends with the summary on stdout; the explanation goes to stderr', () => {
    const wd = join(tempDir(), 'wd');
    const r = cli(['--target', 'sim', '--sim-scenario', 'basic-sku', '--yes', '--workdir', wd, '--json']);
    expect(r.status).toBe(1);
    expectNoStack(r);
    const events = jsonLines(r.stdout);
    expect(events.find((e) => e.event === 'step' && e.id === 'preflight')).toMatchObject({ status: 'blocked', problem: { code: 'SkuNotPremium' } });
    expect(events.at(-1)).toMatchObject({ event: 'summary', outcome: 'stopped', exitCode: 1 });
    expect(r.stderr).toContain('Premium');
  });
});

describe('verify finds drift', () => {
  it('exit 3 naming the step that no longer holds; a plain re-run checks every step live and repairs it', () => {
    const wd = join(tempDir(), 'wd');
    expect(cli(['run', '--target', 'sim', '--yes', '--workdir', wd]).status).toBe(0);
    // Someone opens the registry again behind the workflow's back.
    const cloud = simCloud(wd);
    registryNamed(cloud, 'acrtrustdemo').properties.publicNetworkAccess = 'Enabled';
    writeFileSync(join(wd, 'sim-cloud.json'), JSON.stringify(cloud));

    const v = cli(['verify', '--workdir', wd]);
    expect(v.status).toBe(3);
    expectNoStack(v);
    expect(v.stderr).toContain('1 step(s) do not hold: disable-public-access.');
    expect(v.stderr).toContain('acr-trust run --yes');

    const fix = cli(['run', '--yes', '--workdir', wd]);
    expect(fix.status, fix.stderr).toBe(0);
    expect(fix.stdout).toMatch(/^disable-public-access +applied /m);
    // The repair, then the negative test again: its earlier run predates the repaired settings.
    expect(simRequests(wd).filter((r) => r.write).map((r) => r.name)).toEqual(['registries.update', 'registries.scheduleRun']);
    expect(cli(['verify', '--workdir', wd]).status).toBe(0);
  });
});
