/**
 * Plain output: one readable line per event (a few for a failure's explanation), and a summary
 * table at the end. Colours only on a TTY without NO_COLOR; the same words either way.
 */
import type { Explanation, StepResult, StepStatus } from '../../engine/events.js';
import type { Terminal } from '../terminal.js';
import type { CheckReport, OutputEvent, Renderer } from './index.js';

const INDENT = '      ';

type Paint = (s: string) => string;
interface Palette {
  ok: Paint;
  warn: Paint;
  bad: Paint;
  dim: Paint;
  bold: Paint;
}

function palette(color: boolean): Palette {
  const sgr = (open: number, close: number): Paint => (color ? (s) => `\x1b[${open}m${s}\x1b[${close}m` : (s) => s);
  return { ok: sgr(32, 39), warn: sgr(33, 39), bad: sgr(31, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

const MARK: Record<StepStatus, string> = {
  done: '✓',
  applied: '✓',
  undone: '✓',
  unchanged: '·',
  'would-change': '~',
  skipped: '-',
  blocked: '✗',
  failed: '✗',
};

/** `--explain`: the lines before a step (why, az, portal) and after it (the evidence), wrapped to `width`. */
export interface StepExplainer {
  before(id: string, width: number): string[];
  after(result: StepResult, width: number): string[];
}

export function plainRenderer(out: NodeJS.WritableStream, term: Terminal, explain?: StepExplainer): Renderer {
  const p = palette(term.color);
  const line = (s = '') => out.write(s + '\n');
  const lastProgress = new Map<string, string>();
  // A failure to read the cloud (sign-in, connection) fails every check alike: its advice once.
  let lastCheckError: string | undefined;
  const paint = (status: StepStatus | 'error' | 'pending', s: string) =>
    status === 'done' || status === 'applied' || status === 'undone' || status === 'unchanged'
      ? p.ok(s)
      : status === 'blocked' || status === 'failed' || status === 'error'
        ? p.bad(s)
        : status === 'skipped'
          ? p.dim(s)
          : p.warn(s);

  const problem = (x: Explanation, indent = `${INDENT}  `) => {
    if (x.hint) line(`${indent}→ ${x.hint}`);
    if (x.link) line(`${indent}${p.dim(`see ${x.link}`)}`);
  };

  return {
    emit(e: OutputEvent) {
      switch (e.type) {
        case 'start': {
          const details = Object.entries(e.answers)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k} ${v}`)
            .join(' · ');
          line(p.bold(`acr-trust ${e.command}${e.dryRun ? ' (dry run: nothing will be changed)' : ''} — target ${e.target}`));
          line(p.dim(`${details} · workdir ${e.workdir}`));
          return;
        }
        case 'step-start':
          lastProgress.delete(e.id);
          line(`${p.dim(`[${e.index}/${e.total}]`)} ${p.bold(e.id)}: ${e.title}`);
          for (const l of explain?.before(e.id, term.columns) ?? []) line(l);
          return;
        case 'step-progress':
          if (lastProgress.get(e.id) === e.text) return;
          lastProgress.set(e.id, e.text);
          line(`${INDENT}${p.dim('…')} ${e.text}`);
          return;
        case 'step-detail':
          line(`${INDENT}${p.dim('|')} ${e.line}`);
          return;
        case 'step-result':
          if (e.status === 'skipped') {
            line(`${INDENT}${p.dim(`- ${e.id}: ${e.evidence}`)}`);
            return;
          }
          line(`${INDENT}${paint(e.status, `${MARK[e.status]} ${e.status}`)} ${e.evidence}${e.problem?.code ? p.dim(` [${e.problem.code}]`) : ''} ${p.dim(`(${seconds(e.ms)})`)}`);
          for (const az of e.az ?? []) line(`${INDENT}  ${az.startsWith('#') ? p.dim(az) : `${p.dim('$')} ${az}`}`);
          if (explain) {
            for (const l of explain.after(e, term.columns)) line(l); // with the problem's hint and link
            line();
          } else if (e.problem) problem(e.problem);
          return;
        case 'summary':
          if (e.outcome === 'interrupted') return; // the CLI says what was saved, in one line
          line();
          table(
            line,
            ['step', 'result', 'time', 'evidence'],
            [...e.results.map((r) => row(r)), ...e.notRun.map((id) => [id, 'not run', '', ''])],
            term.columns,
            (row, col, text) => (col !== 1 ? text : paint(row[1] === 'not run' ? 'skipped' : (row[1] as StepStatus), text)),
          );
          line();
          line(conclusion(e.results, e.outcome));
          return;
        case 'check':
          line(checkLine(e, p, paint));
          if (!e.holds && e.live.status === 'blocked') problem({ reason: e.live.reason, hint: e.live.hint, link: e.live.link }, '    ');
          if (e.live.status === 'error' && (e.live.problem.hint ?? e.live.problem.reason) !== lastCheckError) problem(e.live.problem, '    ');
          lastCheckError = e.live.status === 'error' ? (e.live.problem.hint ?? e.live.problem.reason) : undefined;
          return;
        case 'checks-summary':
          for (const n of e.notApplying ?? []) line(`${p.dim(`- ${n.id}`)}: does not apply — ${n.reason}`);
          line();
          line(
            e.failing.length === 0
              ? p.ok(`All ${e.total} steps hold.`)
              : e.unchecked?.length
                ? p.warn(`${e.unchecked.length} of ${e.total} steps could not be checked: ${e.unchecked.join(', ')}.${e.failing.length > e.unchecked.length ? ` Not holding: ${e.failing.filter((id) => !e.unchecked!.includes(id)).join(', ')}.` : ''}`)
                : p.warn(`${e.holding} of ${e.total} steps hold; not holding: ${e.failing.join(', ')}.`),
          );
          return;
        case 'handout':
          for (const n of e.notes ?? []) for (const l of wrap(n, Math.max(40, term.columns))) line(l);
          line(`Report: ${e.report}`);
          if (e.replay) line(`Replay these answers unattended: ${p.bold(e.replay)}`);
          for (const n of e.next ?? []) line(`${n.label}: ${p.bold(n.command)}`);
          return;
        case 'step-info':
          line(`${p.dim(`${String(e.index).padStart(2)}.`)} ${p.bold(e.id)} — ${e.title}`);
          for (const l of wrap(e.why, Math.max(40, term.columns - 8))) line(`    ${l}`);
          if (e.portal) line(`    ${p.dim(`Portal: ${e.portal}`)}`);
          if (e.risky) line(`    ${p.warn(`Caution: ${e.risky}`)}`);
          line();
          return;
      }
    },
  };
}

function row(r: StepResult): string[] {
  return [r.id, r.status, r.status === 'skipped' ? '' : seconds(r.ms), r.evidence];
}

function conclusion(results: StepResult[], outcome: string): string {
  const count = (s: StepStatus) => results.filter((r) => r.status === s).length;
  if (results.some((r) => r.status === 'would-change')) {
    return `Dry run: ${count('would-change')} step(s) would change; nothing was changed.`;
  }
  if (outcome === 'complete' && (count('undone') > 0 || count('unchanged') > 0)) {
    const nothing = count('unchanged');
    return `Reset: ${count('undone')} step(s) undone${nothing ? `, ${nothing} had nothing to undo (checked now)` : ''}; the workdir's state is marked reset.`;
  }
  if (outcome === 'complete') {
    const changed = count('applied');
    // Every step that ran was checked live in this command: nothing here is taken from the record.
    return `Finished: ${results.length - count('skipped')} step(s) hold (checked now)${changed ? `, ${changed} changed by this run` : ', nothing changed'}.`;
  }
  const stop = results.find((r) => r.status === 'blocked' || r.status === 'failed');
  return stop ? `Stopped at ${stop.id} (${stop.status}). Finished steps are saved; fix the cause and run the same command again to resume.` : '';
}

function checkLine(e: CheckReport, p: Palette, paint: (s: StepStatus | 'error' | 'pending', t: string) => string): string {
  const live = e.live;
  const said =
    live.status === 'done' ? live.evidence : live.status === 'pending' ? `would change: ${live.change}` : live.status === 'blocked' ? live.reason : live.problem.reason;
  const state = e.holds ? (e.supersededBy ? `reversed by ${e.supersededBy}` : 'holds') : live.status === 'pending' ? 'pending' : live.status;
  const recorded = e.recorded ? p.dim(` (recorded: ${e.recorded.status}${e.recorded.finishedAt ? ` ${e.recorded.finishedAt}` : ''})`) : p.dim(' (not recorded)');
  const mark = e.holds ? '✓' : live.status === 'pending' ? '~' : '✗';
  return `${paint(e.holds ? 'done' : live.status === 'pending' ? 'pending' : 'error', `${mark} ${e.id}`)}: ${state} — ${said}${recorded}`;
}

/** A text table; the last column is cut to the width; `paint` colours a padded cell. */
function table(line: (s: string) => void, head: string[], rows: string[][], columns: number, paint: (row: string[], col: number, text: string) => string): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const lastWidth = Math.max(20, columns - widths.slice(0, -1).reduce((a, w) => a + w + 2, 0));
  const fit = (s: string) => (s.length > lastWidth ? `${s.slice(0, lastWidth - 1)}…` : s);
  line(head.map((h, i) => (i < head.length - 1 ? h.padEnd(widths[i]!) : h)).join('  '));
  for (const r of rows) line(r.map((c, i) => paint(r, i, i < r.length - 1 ? c.padEnd(widths[i]!) : fit(c))).join('  ').trimEnd());
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

export function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
