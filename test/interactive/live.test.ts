/**
 * The live step list, on screen. In a real terminal (tmux): a scripted run of engine events through
 * the compiled renderer (fixtures/live-driver.mjs) — spinner, time, subtitle, log tail, a
 * confirmation inside the list, the summary table, and Ctrl-C kept by acr-trust (exit 130, not
 * listr2's 127). In process, with a fake TTY stream: what is written, and what is not.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StepResult } from '../../src/engine/events.js';
import { createLiveRenderer } from '../../src/cli/render/live.js';
import type { Terminal } from '../../src/cli/terminal.js';
import { startInTmux, type TmuxTerminal } from '../helpers/tmux.js';

const driver = fileURLToPath(new URL('./fixtures/live-driver.mjs', import.meta.url));

describe('in a terminal (tmux)', () => {
  let gates: string;
  let term: TmuxTerminal | undefined;
  const open = async (scenario: string) => {
    term = await startInTmux(['node', driver, scenario, gates], { cols: 100, rows: 40, env: { NO_COLOR: '1' } });
    return term;
  };
  const pass = (gate: string) => writeFileSync(join(gates, gate), '');

  beforeEach(() => {
    gates = mkdtempSync(join(tmpdir(), 'acr-trust-gates-'));
  });
  afterEach(async () => {
    await term?.kill();
    term = undefined;
    rmSync(gates, { recursive: true, force: true });
  });

  it('shows the steps as a live list, asks inside it, and ends with the summary table', async () => {
    const t = await open('run');

    let screen = await t.waitForText('waiting for the role to take effect');
    expect(screen).toContain('acr-trust run — target embedded sim'); // the header, before the list
    expect(screen).toMatch(/^✔ preflight {2}Check the subscription.*0\.4 s$/m);
    expect(screen).toContain('  › already held — registry acrtrustdemo found');
    expect(screen).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] assign-role {2}Give the task's identity a role on the target registry {2}\d+ s$/m);
    expect(screen).toMatch(/^ {2}› waiting for the role to take effect — 12 s$/m);
    expect(screen).toMatch(/^◼ disable-public-access {2}Disable public network access/m); // not reached yet
    expect(screen).toMatch(/^◼ confirm-denied/m);
    // the time goes on while the step runs
    screen = await t.waitForText(/assign-role .* [1-9]\d* s$/m);
    pass('role');

    screen = await t.waitForText('Go ahead with this change? (y/N)');
    expect(screen).toMatch(/^✔ assign-role .*12\.4 s$/m);
    expect(screen).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] disable-public-access/m);
    expect(screen).toContain('? disable-public-access is about to change registry acrtrustdemo');
    expect(screen).toContain('  Now: public access Enabled · no firewall rules · trusted services allowed · task bypass on');
    expect(screen).toContain('  Who may lose access: Every client that is not on a private endpoint');
    await t.type('y');
    await t.sendKeys('Enter');

    screen = await t.waitForText('│ log line 8');
    expect(screen).toMatch(/^✔ disable-public-access .*2\.1 s$/m);
    expect(screen).toContain('  › changed — publicNetworkAccess = Disabled on acrtrustdemo');
    expect(screen).toContain('  › run ca1: Running');
    // the tail of the run's log: the last six lines
    expect(screen).toContain('│ log line 3');
    expect(screen).not.toContain('│ log line 2');
    expect(screen).not.toContain('Go ahead'); // the question left with its answer
    pass('log');

    expect(await t.waitForExit()).toBe(1);
    screen = await t.screen();
    expect(screen).toMatch(/^✖ confirm-denied .*20\.0 s$/m);
    expect(screen).toContain('  › failed — run ca2 Succeeded: the registry still let the task in [BypassStillAllowed]');
    expect(screen).toContain('    → Check networkRuleBypassAllowedForTasks.');
    expect(screen).not.toContain('│ log line'); // the log tail went with its step
    expect(screen).toMatch(/^step {2,}result {2,}time {2,}evidence$/m);
    expect(screen).toMatch(/^run-task {2,}applied {2,}31\.0 s {2,}run ca1 Succeeded$/m);
    expect(screen).toMatch(/^confirm-denied {2,}failed {2,}20\.0 s/m);
    expect(screen).toContain('Stopped at confirm-denied (failed).');
  });

  it('keeps Ctrl-C: the running step shows as interrupted, the rest as not run, exit 130', async () => {
    const t = await open('interrupt');
    await t.waitForText('waiting for the role to take effect — 3 s');
    await t.sendKeys('C-c');
    expect(await t.waitForExit()).toBe(130); // listr2 on its own would exit 127
    const screen = await t.screen();
    expect(screen).toMatch(/^✖ assign-role .*\d\.\d s$/m);
    expect(screen).toContain('  › interrupted — what finished is saved; run the same command again to resume');
    expect(screen).toMatch(/^↓ disable-public-access {2}not run$/m);
    expect(screen).toMatch(/^↓ confirm-denied {2}not run$/m);
    expect(screen).toContain('acr-trust: interrupted — progress is saved');
    expect(screen).not.toMatch(/^\s+at /m); // no stack trace
  });

  it('turns Ctrl-C at a confirmation into one line and exit 130', async () => {
    const t = await open('cancel-at-prompt');
    await t.waitForText('Go ahead with this change? (y/N)');
    await t.sendKeys('C-c');
    expect(await t.waitForExit()).toBe(130);
    const screen = await t.screen();
    expect(screen).toContain('acr-trust: cancelled at a question; nothing was changed by it.');
    expect(screen).toMatch(/^✖ disable-public-access/m);
    expect(screen).not.toContain('ExitPromptError');
    expect(screen).not.toMatch(/^\s+at /m);
  });
});

describe('in process, on a fake terminal', () => {
  const term: Terminal = { interactive: true, tty: true, color: false, columns: 80 };
  const STEPS = [
    { id: 'preflight', title: 'Check before changing anything' },
    { id: 'create-task', title: 'Create the task with a system-assigned identity' },
    { id: 'assign-role', title: "Give the task's identity a role on the target registry" },
  ];

  /** A TTY-like stream that records what is written. */
  function screenStream() {
    let text = '';
    const stream = Object.assign(
      new Writable({
        write(chunk, _enc, done) {
          text += chunk.toString();
          done();
        },
      }),
      { isTTY: true, columns: 80, rows: 40 },
    ) as unknown as NodeJS.WriteStream;
    return {
      stream,
      /** Everything written, without escape codes. */
      text: () => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''),
      /** The list's last frame and what followed it (log-update erases with ESC[2K…ESC[G). */
      last: () => text.split('\x1b[G').at(-1)!.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''),
    };
  }

  const result = (id: string, status: StepResult['status'], evidence: string, extra: Partial<StepResult> = {}): StepResult => ({
    id,
    title: STEPS.find((s) => s.id === id)!.title,
    status,
    evidence,
    outputs: {},
    ms: 1500,
    ...extra,
  });

  it('leaves SIGINT to acr-trust while the list is drawn', async () => {
    const screen = screenStream();
    const before = process.listenerCount('SIGINT');
    const live = createLiveRenderer({ steps: STEPS, term, out: screen.stream });
    live.emit({ type: 'step-start', id: 'preflight', title: STEPS[0]!.title, index: 1, total: 3 });
    expect(process.listenerCount('SIGINT')).toBe(before);
    const r = result('preflight', 'done', 'all there');
    live.emit({ type: 'step-result', ...r });
    live.emit({ type: 'summary', outcome: 'complete', results: [r], notRun: [], ms: 10 });
    await live.close();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('shows skipped steps, a dry run\'s az lines, and the summary after the list', async () => {
    const screen = screenStream();
    const live = createLiveRenderer({ steps: STEPS, term, out: screen.stream });
    const results = [
      result('preflight', 'skipped', 'outside --from create-task', { ms: 0 }),
      result('create-task', 'would-change', 'create task acr-trust-task with a system-assigned identity', {
        az: ['az acr task create -n acr-trust-task -r acrtrustdemo --assign-identity [system] --auth-mode None'],
      }),
      result('assign-role', 'blocked', 'Task acr-trust-task does not exist in registry acrtrustdemo.', {
        problem: { reason: 'Task acr-trust-task does not exist in registry acrtrustdemo.', hint: 'Run the create-task step first.', code: 'ResourceNotFound' },
      }),
    ];
    live.emit({ type: 'step-result', ...results[0]! });
    for (const r of results.slice(1)) {
      live.emit({ type: 'step-start', id: r.id, title: r.title, index: 2, total: 3 });
      live.emit({ type: 'step-result', ...r });
    }
    live.emit({ type: 'summary', outcome: 'complete', results, notRun: [], ms: 10 });
    await live.close();

    const last = screen.last();
    expect(last).toContain('↓ preflight  skipped — outside --from create-task');
    expect(last).toMatch(/✔ create-task {2}Create the task with a system-assigned identity {2}1\.5 s/);
    expect(last).toContain('› would change — create task acr-trust-task with a system-assigned identity');
    // a finished step's lines wrap at the terminal's width; nothing is cut
    expect(last).toContain('$ az acr task create -n acr-trust-task -r acrtrustdemo --assign-identity\n    [system] --auth-mode None');
    expect(last).toMatch(/✖ assign-role/);
    expect(last).toContain('› blocked — Task acr-trust-task does not exist in registry acrtrustdemo.\n    [ResourceNotFound]');
    expect(last).toContain('→ Run the create-task step first.');
    expect(last).toMatch(/step {2,}result {2,}time {2,}evidence\n/);
    expect(last).toContain('Dry run: 1 step(s) would change; nothing was changed.');
  });

  it('ends a list the engine left unfinished when closed', async () => {
    const screen = screenStream();
    const live = createLiveRenderer({ steps: STEPS, term, out: screen.stream });
    live.emit({ type: 'step-start', id: 'preflight', title: STEPS[0]!.title, index: 1, total: 3 });
    live.emit({ type: 'step-progress', id: 'preflight', text: 'reading registry acrtrustdemo' });
    await live.close(); // e.g. the engine threw
    const last = screen.last();
    expect(last).toMatch(/✖ preflight/);
    expect(last).toContain('› interrupted');
    expect(last).toContain('↓ create-task  not run');
    await expect(live.asker('assign-role')(async () => 'never asked')).rejects.toThrow('the run ended before step assign-role');
  });

  it('draws nothing when nothing ran', async () => {
    const screen = screenStream();
    const live = createLiveRenderer({ steps: STEPS, term, out: screen.stream });
    await live.close();
    expect(screen.text()).toBe('');
  });

  it('shows --explain text under the running step', async () => {
    const screen = screenStream();
    const live = createLiveRenderer({ steps: STEPS, term, out: screen.stream, explain: (id, width) => [`Why: ${id} exists (width ${width})`] });
    live.emit({ type: 'step-start', id: 'preflight', title: STEPS[0]!.title, index: 1, total: 3 });
    await new Promise((r) => setTimeout(r, 150)); // a spinner frame
    expect(screen.text()).toContain('› Why: preflight exists (width 74)');
    const r = result('preflight', 'done', 'all there');
    live.emit({ type: 'step-result', ...r });
    live.emit({ type: 'summary', outcome: 'complete', results: [r], notRun: ['create-task', 'assign-role'], ms: 10 });
    await live.close();
    expect(screen.last()).not.toContain('Why:'); // the evidence replaces it
  });
});
