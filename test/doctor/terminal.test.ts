/**
 * `acr-trust doctor` in a real terminal (tmux) without --registry/--task: the workflow's pickers
 * over live lists (subscription, resource group, registries), then the task picked from the
 * registry's live list — no goal or role question — and the verdicts. `--run` asks before it
 * schedules anything.
 */
import { describe, expect, it } from 'vitest';
import { BIN } from '../cli/helpers.js';
import { startInTmux } from '../helpers/tmux.js';
import { CLOSED_WITH_BYPASS, pushYaml, systemCredential, useDoctorBench } from './helpers.js';

const bench = useDoctorBench();

describe('acr-trust doctor in a terminal', () => {
  it('asks where with live pickers, picks the task from the live list, then answers', async () => {
    const reg = await bench.registry('drterminal01', { ...CLOSED_WITH_BYPASS, networkRuleBypassAllowedForTasks: false });
    const task = await bench.task(reg.name, 'picked-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    await bench.task(reg.name, 'other-task', { yaml: pushYaml(reg.loginServer) });
    const workdir = (await import('../cli/helpers.js')).tempDir('acr-trust-doctor-tty-');
    const term = await startInTmux([process.execPath, BIN, 'doctor', '--target', 'sim', '--endpoint', bench.sim.endpoint, '--ca', bench.caFile, '--sim-speed', 'instant', '--workdir', workdir], {
      // CI unset: a pseudo-terminal under CI (as .ci/run sets it) is not interactive.
      env: { NO_COLOR: '1', CI: '' },
    });
    try {
      await term.waitForText(/Subscription/);
      await term.sendKeys('Enter');
      await term.waitForText(/Resource group of the registries/);
      await term.sendKeys('Enter');
      await term.waitForText(/Registry that owns the task/);
      await term.type('drterminal01');
      await term.waitForText(/❯ drterminal01/);
      await term.sendKeys('Enter');
      await term.waitForText(/Network-restricted registry the task must reach/);
      await term.sendKeys('Enter');
      const picker = await term.waitForText(/Task in drterminal01/);
      expect(picker).toMatch(/other-task/);
      expect(picker).not.toMatch(/What should the run leave behind|Role for the task/);
      await term.sendKeys('Down');
      await term.waitForText(/❯ picked-task/);
      await term.sendKeys('Enter');
      expect(await term.waitForExit(60_000)).toBe(3);
      // The terminal wraps long lines: read it as one text.
      const out = (await term.scrollback()).replace(/\n/g, '');
      expect(out).toMatch(/Task picked-task in drterminal01/);
      expect(out).toMatch(/✗ push drterminal01\.azurecr\.io\/app: refused/);
      expect(out).toMatch(/networkRuleBypassAllowedForTasks = false/);
    } finally {
      await term.kill();
    }
  });
});
