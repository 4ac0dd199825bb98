/**
 * Reads docs/training.md's shell blocks and runs them in bash, command by command, so a test runs
 * the doc's exact words (issue 13 §8). Used by test/az/training-exercises.test.ts.
 */
import { spawnSync } from 'node:child_process';

/** The text under a heading (`## X` or `### X`, matched by its start) up to the next heading of that level or above. */
export function section(doc: string, heading: string): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => /^#{2,4} /.test(l) && l.replace(/^#+ /, '').startsWith(heading));
  if (start < 0) throw new Error(`docs/training.md has no heading starting with "${heading}"`);
  const level = lines[start].indexOf(' ');
  let fenced = false;
  const end = lines.findIndex((l, i) => {
    if (l.startsWith('```')) fenced = !fenced;
    return i > start && !fenced && /^#{1,4} /.test(l) && l.indexOf(' ') <= level;
  });
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The fenced ```sh blocks of a text, in order. */
export function shellBlocks(text: string): string[] {
  return [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** A block's numbered parts (`# 1. …` comment lines start part 1 …); part 0 is what comes before. */
export function numberedSteps(block: string): Map<number, string> {
  const parts = new Map<number, string>();
  let n = 0;
  for (const line of block.split('\n')) {
    const m = /^# (\d+)\. /.exec(line);
    if (m) n = Number(m[1]);
    parts.set(n, (parts.get(n) ?? '') + line + '\n');
  }
  return parts;
}

/** One command of a block: its text (continuations joined, trailing comment apart), the doc's `#   …` lines after it, and what it did. */
export interface Ran {
  command: string;
  /** The doc's comment after the command on its line (`# exit 3`), without `# `. */
  comment: string;
  promised: string[];
  status: number;
  stdout: string;
  stderr: string;
}

/** Splits a script into commands: backslash continuations joined; `#` lines are not commands, `#   x` lines are promised output of the command before. */
export function commands(script: string): { command: string; comment: string; promised: string[] }[] {
  const out: { command: string; comment: string; promised: string[] }[] = [];
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (/^#\s{3,}\S/.test(line)) {
      out.at(-1)?.promised.push(line.replace(/^#\s+/, ''));
      continue;
    }
    if (!line.trim() || line.trim().startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i].trim();
    const trailing = /\s{2,}# (.*)$/.exec(line);
    out.push({ command: trailing ? line.slice(0, trailing.index) : line, comment: trailing?.[1] ?? '', promised: [] });
  }
  return out;
}

/**
 * Runs the commands in ONE bash (shell variables and functions carry over, as in a trainee's
 * terminal), recording each command's exit status and output apart. No `set -e`: a failing
 * command is an outcome, not an abort.
 */
export function runScript(script: string, env: NodeJS.ProcessEnv, cwd: string, prelude = ''): Ran[] {
  const cmds = commands(script);
  const body = cmds
    .map((c, i) => `echo "@@@ ${i}"; echo "@@@ ${i}" >&2\n${c.command}\necho "@@@ rc $?"`)
    .join('\n');
  const r = spawnSync('bash', ['-c', `${prelude}\n${body}`], { env, cwd, encoding: 'utf8', timeout: 600_000 });
  const split = (text: string) => text.split(/^@@@ \d+\n/m).slice(1);
  const outs = split(r.stdout ?? '');
  const errs = split(r.stderr ?? '');
  return cmds.map((c, i) => {
    const o = outs[i] ?? '';
    const rc = /@@@ rc (\d+)\n?$/.exec(o);
    return { ...c, status: rc ? Number(rc[1]) : -1, stdout: o.replace(/@@@ rc \d+\n?$/, ''), stderr: errs[i] ?? '' };
  });
}

/** The first ran command whose text contains `fragment` (after index `from`). */
export function find(ran: Ran[], fragment: string, from = 0): Ran {
  const hit = ran.slice(from).find((r) => r.command.includes(fragment));
  if (!hit) throw new Error(`no command containing "${fragment}" in: ${ran.map((r) => r.command).join(' | ')}`);
  return hit;
}

/** The bullet of "Exercises that go wrong on purpose" that starts with `lead`, whitespace collapsed. */
export function exerciseBullet(doc: string, lead: string): string {
  const item = section(doc, 'Exercises that go wrong on purpose').split(/\n- /).find((b) => b.replace(/^- /, '').startsWith(lead));
  if (!item) throw new Error(`no exercise "${lead}" in docs/training.md`);
  return item.replace(/\s+/g, ' ');
}

/** What ran, as a terminal would show it (for assertion messages). */
export const transcript = (ran: Ran[]): string => ran.map((r) => `$ ${r.command}\n[${r.status}] ${r.stdout}${r.stderr}`).join('\n');
