/**
 * Turning commander's parsed options into what the engine and the session take: the answer flags,
 * and the command line to repeat for a resume.
 */
import type { Inputs } from '../engine/answers.js';

/** The answer flags as commander names them (camelCase of the long flag). */
export interface AnswerFlags {
  target?: string;
  goal?: string;
  subscription?: string;
  resourceGroup?: string;
  registry?: string;
  targetRegistry?: string;
  task?: string;
  role?: string;
  taskFile?: string;
  simScenario?: string;
  simSpeed?: string;
}

export function answerFlags(o: AnswerFlags): Inputs {
  const { target, goal, subscription, resourceGroup, registry, targetRegistry, task, role, taskFile, simScenario, simSpeed } = o;
  const all: Inputs = { target, goal, subscription, resourceGroup, registry, targetRegistry, task, role, taskFile, simScenario, simSpeed };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

/** The command as the user typed it, quoted for a POSIX shell, to say "run it again". */
export function commandLine(argv = process.argv.slice(2)): string {
  return shellLine(['acr-trust', ...argv]);
}

/** Words quoted for a POSIX shell where they need it, joined into a line. */
export function shellLine(words: readonly string[]): string {
  const quote = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  return words.map(quote).join(' ');
}
