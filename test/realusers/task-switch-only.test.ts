/**
 * Issue 13 §6: if Azure combines the two switches differently — the task switch alone admits the
 * task — the wizard's negative test still works: it says what the success proves, turns the task
 * switch off (asking first; `--yes` here) to show the denial, and `reset` restores both switches.
 * The real binary on the embedded sim's `task-switch-only` scenario; the sim's own model is checked
 * with az-free SDK-level reads of its cloud file.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cliAsync, jsonLines, registryNamed, simCloud, tempDir } from '../cli/helpers.js';

const run = (wd: string, ...args: string[]) => cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd, ...args]);

describe('the negative test under the task-switch-only model', () => {
  it('explains the success, turns the task switch off on the next run, proves the denial; reset restores both', async () => {
    const wd = join(tempDir(), 'wd');
    const first = await run(wd, '--sim-scenario', 'task-switch-only', '--json');
    expect(first.status, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/^acr-trust: stopped at confirm-denied \(failed\): Run c\w+ succeeded: registry acrtrustdemo still lets the task in with trusted services disabled\. That proves this registry admits a task's system identity with the task switch alone/);
    expect(first.stderr).toContain('networkRuleBypassAllowedForTasks off on acrtrustdemo (asking first)');
    let registry = registryNamed(simCloud(wd), 'acrtrustdemo');
    expect(registry.properties).toMatchObject({ networkRuleBypassOptions: 'None', networkRuleBypassAllowedForTasks: true, publicNetworkAccess: 'Disabled' });

    const second = await run(wd, '--only', 'confirm-denied', '--json');
    expect(second.status, second.stderr).toBe(0);
    const step = jsonLines(second.stdout).find((e) => e.event === 'step' && e.id === 'confirm-denied');
    expect(step).toMatchObject({ status: 'applied', evidence: expect.stringContaining('exchange API response code: 403 Forbidden') });
    registry = registryNamed(simCloud(wd), 'acrtrustdemo');
    expect(registry.properties.networkRuleBypassAllowedForTasks).toBe(false);

    const reset = await cliAsync(['reset', '--target', 'sim', '--yes', '--workdir', wd]);
    expect(reset.status, reset.stderr).toBe(0);
    registry = registryNamed(simCloud(wd), 'acrtrustdemo');
    expect(registry.properties).toMatchObject({ networkRuleBypassOptions: 'AzureServices', networkRuleBypassAllowedForTasks: false, publicNetworkAccess: 'Enabled' });
  }, 180_000);

  it('the default model still refuses at the first run (both switches needed)', async () => {
    const wd = join(tempDir(), 'wd');
    const r = await run(wd, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(jsonLines(r.stdout).find((e) => e.event === 'step' && e.id === 'confirm-denied')).toMatchObject({ status: 'applied' });
  }, 120_000);
});
