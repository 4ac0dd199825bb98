/**
 * The live step list for a terminal: listr2 draws the workflow's steps with a spinner, the time
 * spent, a subtitle for what is happening now (`step-progress`) and the tail of the task run's log
 * (`step-detail`); a summary table follows the list.
 *
 * The engine runs the steps; listr2 only displays them. There is one listr2 task per step, in the
 * order the engine runs them, and each one's `task` waits for its step's result:
 *
 *   ✔ preflight  Check the subscription, the registries, your permissions…            0.4 s
 *     › already held — registries acrtrustdemo found; acrtrustdemo is Premium with RBAC
 *       registry permissions; you may assign roles on it
 *   ⠹ run-task  Run the task: the registry must let it in through the bypass             12 s
 *     › run ca1: Running
 *       │ Step 1/2 : FROM mcr.microsoft.com/hello-world
 *   ◼ disable-trusted-services  Stop allowing trusted services on the target…
 *
 * Ctrl-C stays with acr-trust (src/cli/interrupt.ts): listr2's own SIGINT listener is off
 * (`registerSignalListeners: false`) — it would end the process with exit 127. Questions asked
 * while the list is drawn go through `asker(stepId)`, inside listr2's prompt area, so they do not
 * tear the screen; anything else written to stdout or stderr meanwhile is held and printed after
 * the list.
 */
import { ListrInquirerPromptAdapter } from '@listr2/prompt-adapter-inquirer';
import { DefaultRenderer, Listr, ListrLogger, ProcessOutput, type ListrTask, type ListrTaskWrapper } from 'listr2';
import type { EngineEvent, StepResult, StepStatus } from '../../engine/events.js';
import type { Asker, PromptContext } from '../prompts.js';
import type { Terminal } from '../terminal.js';
import type { OutputEvent, Renderer } from './index.js';
import { plainRenderer, seconds } from './plain.js';

export interface LiveRendererOptions {
  /** The steps in the order the engine runs them (for `reset`, reversed). */
  steps: readonly { id: string; title: string }[];
  term: Terminal;
  /** Where the list is drawn: a terminal (render/index.ts picks this renderer only for one). */
  out?: NodeJS.WriteStream;
  /** Where questions asked inside the list read keys; default process.stdin. */
  input?: NodeJS.ReadableStream;
  /** How many lines of a task run's log stay under the running step; default 6. */
  logLines?: number;
  /** `--explain`: the lines shown under a step while it runs (explain.ts's `explainStep`). */
  explain?: (id: string, width: number) => string[];
}

export interface LiveRenderer extends Renderer {
  /**
   * Asks questions inside step `id`'s place in the list, once the list has reached that step:
   * the confirmation before a risky change, `--pause`.
   */
  asker(id: string): Asker;
  /**
   * Ends the list (steps never reached show as not run), prints the summary table and gives the
   * terminal back. Call it once the engine has returned, before anything else is written.
   */
  close(): Promise<void>;
}

/**
 * listr2's default renderer, without its own TTY check (render/index.ts already made that choice),
 * and with its line formatting remembered: listr2 wraps every line of the list again on every
 * frame (ten a second) with a slow width function, which at the sim's instant speed took most of
 * the CPU the steps needed. A finished step's lines never change, so only the running step's are
 * formatted again.
 */
class LiveListRenderer extends DefaultRenderer {
  static override nonTTY = true;
  private readonly formatted = new Map<string, string[]>();

  protected override format(message: string, icon: string, level: number): string[] {
    const key = `${process.stdout.columns}\u0000${level}\u0000${icon}\u0000${message}`;
    let lines = this.formatted.get(key);
    if (!lines) {
      if (this.formatted.size > 2000) this.formatted.clear();
      this.formatted.set(key, (lines = super.format(message, icon, level)));
    }
    return lines;
  }
}

type Ending = { kind: 'result'; result: StepResult } | { kind: 'not-run' } | { kind: 'interrupted' };

type StepTask = ListrTaskWrapper<unknown, typeof LiveListRenderer, typeof LiveListRenderer>;

/** One step's place in the list: what it shows, and the promise its listr2 task waits on. */
interface Row {
  id: string;
  title: string;
  started?: number;
  subtitle?: string;
  log: string[];
  /** Set once listr2 runs this step's task. */
  task?: StepTask;
  reached: Deferred<StepTask>;
  ended: Deferred<Ending>;
  over: boolean;
  /** What the row's task shows now (listr2 redraws the whole list on every change). */
  shown?: string;
  shownTitle?: string;
}

/** What the last word of a finished step says, before its evidence. */
const VERDICT: Record<StepStatus, string> = {
  done: 'already held',
  applied: 'changed',
  undone: 'undone',
  unchanged: 'nothing to undo',
  'would-change': 'would change',
  skipped: 'skipped',
  blocked: 'blocked',
  failed: 'failed',
};

export function createLiveRenderer(opts: LiveRendererOptions): LiveRenderer {
  const out = opts.out ?? process.stdout;
  const plain = plainRenderer(out, opts.term);
  const logLines = opts.logLines ?? 6;
  const sgr = (open: number, close: number) => (opts.term.color ? (s: string) => `\x1b[${open}m${s}\x1b[${close}m` : (s: string) => s);
  const dim = sgr(2, 22);
  const bold = sgr(1, 22);
  // A title line leaves listr2 5 columns (an icon such as ✔ may take two, a margin), an output
  // line 6. Running steps are cut to one line each; a finished step's evidence and hint wrap, so
  // nothing of them is lost.
  const titleWidth = () => opts.term.columns - 5;
  const textWidth = () => opts.term.columns - 6;

  const rows = new Map<string, Row>(
    opts.steps.map((s) => [s.id, { id: s.id, title: s.title, log: [], reached: deferred(), ended: deferred(), over: false }]),
  );

  let listr: Promise<void> | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let finished: Promise<void> | undefined;
  // Events come in bursts (a run's log lines): rows are drawn together, once per 50 ms at most.
  const dirty = new Set<Row>();
  let flush: NodeJS.Timeout | undefined;
  const drawSoon = (row: Row) => {
    dirty.add(row);
    flush ??= setTimeout(() => {
      flush = undefined;
      const rowsToDraw = [...dirty];
      dirty.clear();
      rowsToDraw.forEach(draw);
    }, 50).unref();
  };

  const titleOf = (row: Row, time?: string): string => {
    const suffix = time ? `  ${time}` : '';
    return `${bold(row.id)}  ${cut(row.title, titleWidth() - row.id.length - 2 - suffix.length)}${suffix ? dim(suffix) : ''}`;
  };

  const draw = (row: Row) => {
    const task = row.task;
    // listr2 reaches a step's task as soon as the one before ends; the engine may start it later.
    if (!task || row.over || row.started === undefined) return;
    const title = titleOf(row, elapsed(Date.now() - row.started));
    if (title !== row.shownTitle) task.title = row.shownTitle = title;
    // Cut to one line each, so the list keeps its height while a step runs.
    const lines = [...(opts.explain?.(row.id, textWidth()) ?? []), cut(row.subtitle ?? 'checking', textWidth()), ...row.log.map((l) => cut(`│ ${l}`, textWidth() - 2))];
    const shown = lines.join('\n');
    if (shown !== row.shown) task.output = row.shown = shown;
  };

  const finish = (row: Row, task: StepTask, ending: Ending) => {
    row.over = true;
    if (ending.kind === 'not-run') return task.skip(`${row.id}  ${dim('not run')}`);
    if (ending.kind === 'interrupted') {
      task.output = 'interrupted — what finished is saved; run the same command again to resume';
      throw new Error(titleOf(row, row.started === undefined ? undefined : seconds(Date.now() - row.started)));
    }
    const r = ending.result;
    if (r.status === 'skipped') return task.skip(`${row.id}  ${dim(`skipped — ${r.evidence}`)}`);
    row.title = r.title;
    const lines = [`${VERDICT[r.status]} — ${r.evidence}${r.problem?.code ? ` [${r.problem.code}]` : ''}`];
    if (r.problem?.hint) lines.push(`→ ${r.problem.hint}`);
    for (const az of r.az ?? []) lines.push(az.startsWith('#') ? dim(az) : `$ ${az}`);
    task.output = lines.join('\n');
    task.title = titleOf(row, seconds(r.ms));
    if (r.status === 'blocked' || r.status === 'failed') throw new Error(task.title);
  };

  const start = (): void => {
    if (listr) return;
    const tasks: ListrTask<unknown, typeof LiveListRenderer, typeof LiveListRenderer>[] = [...rows.values()].map((row) => ({
      title: titleOf(row),
      task: async (_ctx, task) => {
        row.task = task;
        row.reached.resolve(task);
        draw(row);
        finish(row, task, await row.ended.promise);
      },
      rendererOptions: { persistentOutput: true, outputBar: 1 },
    }));
    const list = new Listr<unknown, typeof LiveListRenderer, typeof LiveListRenderer>(tasks, {
      concurrent: false,
      exitOnError: false,
      registerSignalListeners: false,
      renderer: LiveListRenderer,
      rendererOptions: {
        formatOutput: 'wrap',
        collapseSkips: true,
        showSkipMessage: true,
        collapseErrors: true,
        showErrorMessage: true,
        logger: new ListrLogger({ useIcons: true, toStderr: [], processOutput: new ProcessOutput(out, process.stderr) }),
      },
      fallbackRenderer: LiveListRenderer, // never chosen: the renderer above declares itself fit for any stream
    });
    listr = list.run().then(() => undefined);
    ticker = setInterval(() => rows.forEach((row) => row.started !== undefined && draw(row)), 1000);
    ticker.unref();
  };

  /** Every step without a result ends: interrupted if it had started, else not run. */
  const endRemaining = () => {
    for (const row of rows.values()) {
      if (row.ended.settled) continue;
      row.ended.resolve(row.started !== undefined ? { kind: 'interrupted' } : { kind: 'not-run' });
      row.reached.reject(new Error(`the run ended before step ${row.id}`));
    }
  };

  const stop = async (): Promise<void> => {
    endRemaining();
    try {
      await listr;
    } finally {
      clearInterval(ticker);
      clearTimeout(flush);
    }
  };

  const onEngineEvent = (e: EngineEvent): void => {
    if (e.type === 'summary') {
      finished ??= listr ? stop().then(() => plain.emit(e)) : Promise.resolve(plain.emit(e));
      return;
    }
    const row = rows.get(e.id);
    if (!row) return;
    start();
    switch (e.type) {
      case 'step-start':
        row.title = e.title;
        row.started = Date.now();
        break;
      case 'step-progress':
        row.subtitle = e.text;
        break;
      case 'step-detail':
        row.log = [...row.log, e.line].slice(-logLines);
        break;
      case 'step-result':
        row.ended.resolve({ kind: 'result', result: e });
        return;
    }
    drawSoon(row);
  };

  return {
    emit(e: OutputEvent) {
      switch (e.type) {
        case 'step-start':
        case 'step-progress':
        case 'step-detail':
        case 'step-result':
        case 'summary':
          return onEngineEvent(e);
        default:
          return plain.emit(e); // the run's header before the list; other commands' lines
      }
    },

    asker(id) {
      return async <V>(question: (context: PromptContext) => Promise<V>): Promise<V> => {
        const row = rows.get(id);
        if (!row) throw new Error(`no step ${id} in the live list`);
        start();
        const task = await row.reached.promise;
        // The adapter hands the prompt a stream into listr2's prompt area (and an abort signal).
        const adapter = task.prompt(ListrInquirerPromptAdapter);
        const prompt = (_config: unknown, context?: PromptContext) => question({ ...context, ...(opts.input ? { input: opts.input } : {}) });
        return adapter.run(prompt as unknown as Parameters<typeof adapter.run>[0], undefined) as Promise<V>;
      };
    },

    async close() {
      finished ??= listr ? stop() : Promise.resolve();
      await finished;
    },
  };
}

/** `text` cut to `width` characters, with an ellipsis when cut. */
function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

/** Whole seconds while a step runs: "12 s", "2 min 5 s". */
function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

interface Deferred<T> {
  promise: Promise<T>;
  settled: boolean;
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a step never reached is not an unhandled rejection
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (v) => {
      if (d.settled) return;
      d.settled = true;
      resolve(v);
    },
    reject: (e) => {
      if (d.settled) return;
      d.settled = true;
      reject(e);
    },
  };
  return d;
}
