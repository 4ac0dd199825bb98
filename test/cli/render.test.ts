/** The renderers on their own: the same events as plain lines and as JSON lines. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../src/engine/events.js';
import { chooseRenderer, type OutputEvent } from '../../src/cli/render/index.js';
import { jsonRenderer } from '../../src/cli/render/json.js';
import { plainRenderer } from '../../src/cli/render/plain.js';
import { terminal } from '../../src/cli/terminal.js';

const result = (over: Partial<StepResult>): StepResult => ({ id: 'run-task', title: 'Run the task', status: 'applied', evidence: 'run ca1 Succeeded', outputs: { runId: 'ca1', status: 'Succeeded' }, ms: 1234, ...over });

const events: OutputEvent[] = [
  { type: 'start', command: 'run', workdir: '/w', target: 'embedded sim', answers: { registry: 'acrtrustdemo', targetRegistry: undefined } },
  { type: 'step-start', id: 'run-task', title: 'Run the task', index: 8, total: 10 },
  { type: 'step-progress', id: 'run-task', text: 'run ca1: Queued' },
  { type: 'step-progress', id: 'run-task', text: 'run ca1: Queued' },
  { type: 'step-detail', id: 'run-task', line: 'Run ID: ca1 was successful after 8s' },
  { type: 'step-result', ...result({}) },
  { type: 'step-start', id: 'confirm-denied', title: 'Run it again', index: 10, total: 10 },
  {
    type: 'step-result',
    ...result({ id: 'confirm-denied', status: 'failed', evidence: 'run ca2 succeeded', outputs: {}, problem: { reason: 'run ca2 succeeded', hint: 'check the registry', code: 'BypassStillAllowed', link: 'https://aka.ms/acr/firewall' } }),
  },
  { type: 'summary', outcome: 'stopped', results: [result({}), result({ id: 'confirm-denied', status: 'failed', evidence: 'run ca2 succeeded' })], notRun: [], ms: 5000 },
];

function render(make: (out: PassThrough) => { emit(e: OutputEvent): void }): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const r = make(out);
  for (const e of events) r.emit(e);
  return text;
}

describe('plain renderer', () => {
  const noColor = { interactive: false, tty: false, color: false, columns: 80 };

  it('prints readable lines, one progress line per change, the explanation, and a summary table', () => {
    const text = render((out) => plainRenderer(out, noColor));
    expect(text).toContain('[8/10] run-task: Run the task');
    expect(text.match(/run ca1: Queued/g)).toHaveLength(1);
    expect(text).toContain('| Run ID: ca1 was successful after 8s');
    expect(text).toContain('✓ applied run ca1 Succeeded (1.2 s)');
    expect(text).toContain('✗ failed run ca2 succeeded [BypassStillAllowed]');
    expect(text).toContain('→ check the registry');
    expect(text).toContain('see https://aka.ms/acr/firewall');
    expect(text).toMatch(/^step +result +time +evidence$/m);
    expect(text).toMatch(/^confirm-denied +failed +1\.2 s +run ca2 succeeded$/m);
    expect(text).toContain('Stopped at confirm-denied (failed).');
    expect(text).not.toContain('\x1b[');
  });

  it('colours only when asked', () => {
    expect(render((out) => plainRenderer(out, { ...noColor, color: true }))).toContain('\x1b[32m');
  });

  it('CI means nobody to ask, even on a terminal', () => {
    const tty = { isTTY: true, columns: 120 };
    const stdin = { isTTY: true };
    expect(terminal({ CI: 'true' }, stdin, tty).interactive).toBe(false);
    expect(terminal({ CI: '1' }, stdin, tty).interactive).toBe(false);
    expect(terminal({ CI: 'false' }, stdin, tty).interactive).toBe(true);
    expect(terminal({ CI: '' }, stdin, tty).interactive).toBe(true);
    expect(terminal({}, { isTTY: false }, tty).interactive).toBe(false);
  });

  it('NO_COLOR or a pipe means no colour', () => {
    const tty = { isTTY: true, columns: 120 };
    const stdin = { isTTY: true };
    expect(terminal({}, stdin, tty)).toMatchObject({ interactive: true, color: true, columns: 120 });
    expect(terminal({ NO_COLOR: '1' }, stdin, tty).color).toBe(false);
    expect(terminal({}, stdin, { isTTY: false })).toMatchObject({ interactive: false, tty: false, color: false });
  });
});

describe('chooseRenderer', () => {
  const tty = { interactive: true, tty: true, color: true, columns: 100 };
  const list = { steps: [], world: {} };

  it('--json → JSON lines, whatever the terminal', async () => {
    const r = await chooseRenderer({ json: true }, tty, list);
    expect(r.asker).toBeUndefined();
    expect(r.close).toBeUndefined();
  });

  it('a terminal with colours and a step list → the live list; without a step list, or with --no-color or NO_COLOR → plain lines', async () => {
    expect((await chooseRenderer({}, tty, list)).asker).toBeTypeOf('function');
    expect((await chooseRenderer({}, tty)).asker).toBeUndefined();
    expect((await chooseRenderer({ color: false }, tty, list)).asker).toBeUndefined();
    expect((await chooseRenderer({}, { ...tty, color: false }, list)).asker).toBeUndefined();
  });
});

describe('JSON renderer', () => {
  it('writes one JSON object per event; a step result carries its outputs at the top level', () => {
    const lines = render((out) => jsonRenderer(out)).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(['start', 'step-start', 'progress', 'progress', 'detail', 'step', 'step-start', 'step', 'summary']);
    expect(lines[5]).toEqual({ event: 'step', id: 'run-task', status: 'applied', evidence: 'run ca1 Succeeded', ms: 1234, runId: 'ca1', outputs: { runId: 'ca1', status: 'Succeeded' } });
    expect(lines[7].problem).toMatchObject({ code: 'BypassStillAllowed', link: 'https://aka.ms/acr/firewall' });
    expect(lines[8]).toMatchObject({ event: 'summary', outcome: 'stopped', exitCode: 1, steps: [{ id: 'run-task', status: 'applied' }, { id: 'confirm-denied', status: 'failed' }] });
  });
});
