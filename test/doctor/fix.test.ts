/**
 * `acr-trust doctor --fix`: the fixes are the workflow's own steps (check, apply, verify), recorded
 * in the workdir, so `acr-trust reset` puts the registry back as it was; without a terminal it
 * needs --yes; a fix no workflow step makes is left to the az commands printed.
 */
import { describe, expect, it } from 'vitest';
import { cliAsync } from '../cli/helpers.js';
import { CLOSED_WITH_BYPASS, pushYaml, systemCredential, useDoctorBench } from './helpers.js';

const bench = useDoctorBench();

describe('acr-trust doctor --fix', () => {
  it('applies allow-task-bypass and assign-role as workflow steps; healthy after; reset undoes them', async () => {
    const reg = await bench.registry('drfixbypass1', { ...CLOSED_WITH_BYPASS, networkRuleBypassAllowedForTasks: false });
    await bench.task(reg.name, 'fix-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    const base = ['--registry', reg.name, '--task', 'fix-task'];

    const refused = await bench.doctor([...base, '--fix']);
    expect(refused.status).toBe(2); // no terminal, no --yes: nothing changed
    expect(refused.stderr).toMatch(/--yes/);

    const fixed = await bench.doctor([...base, '--fix', '--yes', '--json']);
    expect(fixed.stderr).toBe('');
    expect(fixed.status).toBe(0);
    const plan = fixed.objects.find((o) => o.type === 'fix');
    expect(plan.steps).toEqual(['preflight', 'assign-role', 'allow-task-bypass']);
    const summaries = fixed.objects.filter((o) => o.type === 'summary' && o.task === 'fix-task');
    expect(summaries.map((s) => s.healthy)).toEqual([false, true]);

    // The registry now lets the task through; reset (same workdir) restores what preflight recorded.
    const after = await bench.doctor([...base, '--json']);
    expect(after.status).toBe(0);
    const reset = await cliAsync(['reset', '--yes', '--workdir', fixed.workdir, '--target', 'sim', '--endpoint', bench.sim.endpoint, '--ca', bench.caFile, '--json']);
    expect(reset.stderr).toBe('');
    expect(reset.status).toBe(0);
    const undone = await bench.doctor([...base, '--json']);
    expect(undone.status).toBe(3);
    expect(undone.accesses[0].cause).toBe('task-bypass-off');
  });

  it('a fix no workflow step makes (a disabled task) is not applied: the az command stays, exit 3', async () => {
    const reg = await bench.registry('drfixdisab01', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'fix-disabled', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer), status: 'Disabled' });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const r = await bench.doctor(['--registry', reg.name, '--task', 'fix-disabled', '--fix', '--yes', '--json']);
    expect(r.status).toBe(3);
    expect(r.objects.find((o) => o.type === 'fix')).toMatchObject({ applied: [] });
  });
});
