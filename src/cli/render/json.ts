/**
 * `--json`: one JSON object per line on stdout for every event, nothing else on stdout. A step's
 * result carries its outputs at the top level (`{"event":"step","id":"run-task","status":"done",
 * "runId":"ca1",…}`) and, complete, under `outputs` (an output named like an event field, such as
 * a run's `status`, is only there). The summary is the last line: the closing notes for a reader
 * (`handout`: where report.md is) are not printed; the report is always `<workdir>/report.md`.
 * A command that fails before it has anything to say (bad input, exit 2) prints one line
 * `{"event":"error","exitCode":2,"message":…,"hint":…}` instead (main.ts).
 */
import type { OutputEvent, Renderer } from './index.js';

const STEP_FIELDS = new Set(['event', 'id', 'title', 'status', 'evidence', 'ms', 'az', 'problem', 'outputs']);

/** JSON lines written by a renderer in this process: none means the command failed before it had any. */
export let jsonLinesWritten = 0;

export function jsonRenderer(out: NodeJS.WritableStream): Renderer {
  const write = (obj: object) => {
    jsonLinesWritten++;
    return out.write(JSON.stringify(obj) + '\n');
  };
  return {
    emit(e: OutputEvent) {
      switch (e.type) {
        case 'step-result': {
          const { type: _t, title: _title, id, status, evidence, ms, outputs, ...rest } = e;
          const promoted = Object.fromEntries(Object.entries(outputs).filter(([k]) => !STEP_FIELDS.has(k)));
          return write({ event: 'step', id, status, evidence, ms, ...promoted, ...rest, outputs });
        }
        case 'step-progress':
          return write({ event: 'progress', id: e.id, text: e.text });
        case 'step-detail':
          return write({ event: 'detail', id: e.id, line: e.line });
        case 'handout':
          return;
        case 'summary': {
          const { type: _t, results, ...rest } = e;
          return write({ event: 'summary', ...rest, exitCode: exitCodeOf(e.outcome), steps: results.map(({ id, status, ms, evidence }) => ({ id, status, ms, evidence })) });
        }
        default: {
          const { type, ...rest } = e;
          return write({ event: type, ...rest });
        }
      }
    },
  };
}

function exitCodeOf(outcome: string): number {
  return outcome === 'complete' ? 0 : outcome === 'interrupted' ? 130 : 1;
}
