/**
 * Each sim scenario ends as a user expects: a clear message saying what to do, and exit 1 — or a
 * complete run for two-registries.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROLE_GUIDS } from '../../src/model/roles.js';
import { seedScenario } from '../../src/sim/scenarios.js';
import { cli, expectNoStack, networkSettings, registryNamed, simCloud, simRequests, tempDir } from './helpers.js';

const runScenario = (scenario: string, extra: string[] = []) => {
  const wd = join(tempDir(), 'wd');
  return { wd, r: cli(['run', '--target', 'sim', '--sim-scenario', scenario, '--yes', '--workdir', wd, ...extra]) };
};

describe('sim scenarios', () => {
  it('basic-sku: stops at preflight, says Premium is needed and how to upgrade', () => {
    const { wd, r } = runScenario('basic-sku');
    expect(r.status).toBe(1);
    expectNoStack(r);
    expect(r.stderr).toMatch(/stopped at preflight \(blocked\): .*Basic.*Premium/);
    expect(r.stderr).toContain('az acr update -n acrtrustdemo --sku Premium');
    expect(r.stderr).toContain('again: finished steps are kept');
    expect(simCloud(wd).tasks).toEqual({}); // nothing was changed
  });

  it('abac: the run completes with the repository role for AcrPush and the task\'s source registry identity, each said why', () => {
    const { wd, r } = runScenario('abac');
    expect(r.status, r.stderr).toBe(0);
    expectNoStack(r);
    expect(r.stdout).toMatch(/acrtrustdemo is Premium with ABAC repository permissions \(it ignores AcrPush and AcrPull: the task gets Container Registry Repository Writer instead of AcrPush, and its own registry through its source registry identity \[system\]\)/);
    expect(r.stdout).toContain('Container Registry Repository Writer (not AcrPush: registry acrtrustdemo uses ABAC repository permissions, which ignore it)');
    expect(r.stdout).toContain('logs in to its own registry acrtrustdemo.azurecr.io with its source registry identity [system]');
    const cloud = simCloud(wd);
    const [task] = Object.values<any>(cloud.tasks);
    // The source identity, and no custom entry for the task's own registry beside it.
    expect(task.properties.credentials).toEqual({ sourceRegistry: { loginMode: 'None', identity: '[system]' } });
    const writer = ROLE_GUIDS.RepositoryWriter;
    const granted = Object.values<any>(cloud.roleAssignments).filter((a) => a.properties.principalId === task.identity.principalId);
    expect(granted.map((a) => a.properties.roleDefinitionId.split('/').pop())).toEqual([writer]);
    // verify reads the task once (listDetails at 2025-03-01-preview carries the source identity): no second GET for it.
    expect(cli(['verify', '--workdir', wd]).status).toBe(0);
    const taskReads = simRequests(wd).filter((q) => q.name.startsWith('tasks.'));
    expect(taskReads.map((q) => q.name)).toEqual(['tasks.listDetails']);
  });

  it('abac without the source identity: doctor names credentials.sourceRegistry.identity, and its --fix (the wizard\'s add-credential) sets it', () => {
    const { wd, r } = runScenario('abac', ['--until', 'assign-role']);
    expect(r.status, r.stderr).toBe(0);
    const broken = cli(['doctor', '--workdir', wd, '--yes']);
    expect(broken.status, broken.stderr).toBe(3);
    expect(broken.stdout).toContain('the task has no source registry identity (credentials.sourceRegistry.identity)');
    expect(broken.stdout).toContain("az acr task update -n acr-trust-task -r acrtrustdemo --source-acr-auth-id '[system]'");
    expect(broken.stdout).toContain('acr-trust run --only add-credential');
    const fixed = cli(['doctor', '--workdir', wd, '--yes', '--fix']);
    expect(fixed.status, fixed.stderr + fixed.stdout).toBe(0);
    expect(fixed.stdout).toContain('Healthy: every access the task makes is allowed.');
    const [task] = Object.values<any>(simCloud(wd).tasks);
    expect(task.properties.credentials.sourceRegistry).toEqual({ loginMode: 'None', identity: '[system]' });
  });

  it('two-registries with an ABAC target: the repository role on the target, whose credential stays a customRegistries entry (no source identity)', () => {
    const { wd, r } = runScenario('two-registries', ['--until', 'preflight']);
    expect(r.status, r.stderr).toBe(0);
    // The target registry switched to ABAC repository permissions behind the workflow: every step reads it live.
    const file = join(wd, 'sim-cloud.json');
    const cloud = JSON.parse(readFileSync(file, 'utf8'));
    registryNamed(cloud, 'acrtrusttarget').properties.roleAssignmentMode = 'AbacRepositoryPermissions';
    writeFileSync(file, JSON.stringify(cloud));
    const rest = cli(['run', '--yes', '--workdir', wd]);
    expect(rest.status, rest.stderr).toBe(0);
    expect(rest.stdout).toContain('Container Registry Repository Writer (not AcrPush: registry acrtrusttarget uses ABAC repository permissions, which ignore it)');
    expect(rest.stdout).toContain('task acr-trust-task logs in to acrtrusttarget.azurecr.io as [system]');
    const [task] = Object.values<any>(simCloud(wd).tasks);
    expect(task.properties.credentials).toEqual({ sourceRegistry: { loginMode: 'None' }, customRegistries: { 'acrtrusttarget.azurecr.io': { identity: '[system]' } } });
  });

  it('no-role-write: stops at preflight saying which permission is missing and whom to ask', () => {
    const { r } = runScenario('no-role-write');
    expect(r.status).toBe(1);
    expectNoStack(r);
    expect(r.stderr).toContain('roleAssignments/write');
    expect(r.stderr).toMatch(/Owner|User Access Administrator/);
  });

  it('read-only: stops at preflight before any write, naming the missing permissions and whom to ask', () => {
    const { wd, r } = runScenario('read-only');
    expect(r.status).toBe(1);
    expectNoStack(r);
    expect(r.stderr).toMatch(/^acr-trust: stopped at preflight \(blocked\): You may not change registry acrtrustdemo: your roles do not grant .*Microsoft\.ContainerRegistry\/registries\/write/);
    expect(r.stderr).toContain('Microsoft.ContainerRegistry/registries/tasks/write');
    expect(r.stderr).toContain('Ask for Contributor');
    expect(simRequests(wd).filter((q) => q.write)).toEqual([]); // not even attempted
    const cloud = simCloud(wd);
    expect(cloud.tasks).toEqual({});
    expect(networkSettings(registryNamed(cloud, 'acrtrustdemo'))).toBe(networkSettings(registryNamed(seedScenario('read-only', 'instant'), 'acrtrustdemo')));
  });

  it('two-registries: the task in one registry reaches the other, closed one; exit 0', () => {
    const { wd, r } = runScenario('two-registries');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('targetRegistry acrtrusttarget');
    const cloud = simCloud(wd);
    expect(registryNamed(cloud, 'acrtrusttarget').properties.publicNetworkAccess).toBe('Disabled');
    expect(registryNamed(cloud, 'acrtrustdemo').properties.publicNetworkAccess).toBe('Enabled');
  });

  it('a resumed run keeps the workdir\'s scenario; asking for another one is exit 2', () => {
    const { wd } = runScenario('basic-sku');
    const r = cli(['run', '--target', 'sim', '--sim-scenario', 'abac', '--yes', '--workdir', wd]);
    expect(r.status).toBe(2);
    expectNoStack(r);
    expect(r.stderr).toContain('seeded with scenario basic-sku');
  });
});
