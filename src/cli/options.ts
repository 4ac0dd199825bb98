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
  agentPool?: string;
  agentPoolSubnet?: string;
  agentPoolTier?: string;
  simScenario?: string;
  simSpeed?: string;
}

export function answerFlags(o: AnswerFlags): Inputs {
  const { target, goal, subscription, resourceGroup, registry, targetRegistry, task, role, taskFile, agentPool, agentPoolSubnet, agentPoolTier, simScenario, simSpeed } = o;
  const all: Inputs = { target, goal, subscription, resourceGroup, registry, targetRegistry, task, role, taskFile, agentPool, agentPoolSubnet, agentPoolTier, simScenario, simSpeed };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

/**
 * The flags that say where a command acts — target, workdir, endpoint, CA, cloud, join file — to
 * repeat in a follow-up command we print, so that it acts on the same cloud and workdir.
 */
export function whereFlags(o: { target?: string; workdir?: string; endpoint?: string; ca?: string; cloud?: string; join?: string }): string[] {
  return [
    ...(o.target ? ['--target', o.target] : []),
    ...(o.workdir && o.workdir !== '.acr-trust' ? ['--workdir', o.workdir] : []),
    ...(o.endpoint ? ['--endpoint', o.endpoint] : []),
    ...(o.ca ? ['--ca', o.ca] : []),
    ...(o.cloud ? ['--cloud', o.cloud] : []),
    ...(o.join ? ['--join', o.join] : []),
  ];
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
