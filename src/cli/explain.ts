/**
 * The words `--explain` adds around a step, and the one-line description of a registry's network
 * settings that the pickers, the confirmation and the report share. Plain text, no colour, wrapped
 * for a terminal (80 columns unless told otherwise). Renderers decide where the lines go.
 *
 *   Step 7/10 · disable-public-access
 *   Disable public network access to the target registry
 *     Why:      The article closes the registry to the public network so that the next run can
 *               succeed only through the trusted-services bypass …
 *     Azure CLI:
 *       $ az acr update -n acrtrustdemo --public-network-enabled false
 *     Portal:   Target registry → Settings → Networking → Public access: "Disabled" → Save
 *     Caution:  Every client that is not on a private endpoint or a trusted service loses …
 */
import type { NetworkSettings } from '../azure/types.js';
import type { StepResult } from '../engine/events.js';
import type { Step } from '../engine/step.js';
import { seconds } from './render/plain.js';

export const EXPLAIN_WIDTH = 80;

const LABEL = 13; // "  Evidence:  " — labels and their text line up

/** A step's az line that is an alternative command, commented out ("# az rest …"). */
const COMMENTED_COMMAND = /^#\s*az /;

export interface ExplainOptions {
  /** Where the step is in the run: "Step 7/10". */
  at?: { index: number; total: number };
  /** Columns to wrap to; default 80. */
  width?: number;
  /** Start with the step's id and title (default); the live list already shows them. */
  heading?: boolean;
}

/** What `--explain` shows before a step: where it is, why it exists, the az lines, the portal path. */
export function explainStep<W>(step: Step<W>, world: W, opts: ExplainOptions = {}): string[] {
  const { at, width = EXPLAIN_WIDTH, heading = true } = opts;
  const lines = heading ? [`${at ? `Step ${at.index}/${at.total} · ` : ''}${step.id}`, ...wrap(step.title, width)] : [];
  lines.push(...labelled('Why:', step.why, width));
  const az = step.az(world);
  if (az.length > 0) {
    lines.push('  Azure CLI:');
    for (const cmd of az) {
      // A note for the script is wrapped as comment lines (a `\` does not continue a comment); a
      // commented-out alternative command is left to `export` and the report, which keep it whole.
      if (COMMENTED_COMMAND.test(cmd)) continue;
      if (cmd.startsWith('#')) lines.push(...wrap(cmd.replace(/^#\s*/, ''), width, '    # '));
      else lines.push(...wrapCommand(cmd, width, '    $ ', '        '));
    }
  }
  if (step.portal) lines.push(...labelled('Portal:', step.portal, width));
  if (step.risky) lines.push(...labelled('Caution:', step.risky, width));
  return lines;
}

/** What `--explain` shows after a step: the evidence (or the problem and what to do), and the time. */
export function explainResult(r: StepResult, width = EXPLAIN_WIDTH): string[] {
  const time = r.status === 'skipped' ? '' : ` (${seconds(r.ms)})`;
  switch (r.status) {
    case 'done':
      return labelled('Evidence:', `${r.evidence} — it already held${time}`, width);
    case 'applied':
      return labelled('Evidence:', `${r.evidence} — changed by this run${time}`, width);
    case 'undone':
      return labelled('Undone:', `${r.evidence}${time}`, width);
    case 'unchanged':
      return labelled('Nothing to undo:', `${r.evidence}${time}`, width);
    case 'would-change':
      return labelled('Would:', `${r.evidence}${time}`, width);
    case 'skipped':
      return labelled('Skipped:', r.evidence, width);
    case 'blocked':
    case 'failed': {
      const lines = labelled(r.status === 'blocked' ? 'Blocked:' : 'Failed:', `${r.evidence}${r.problem?.code ? ` [${r.problem.code}]` : ''}${time}`, width);
      if (r.problem?.hint) lines.push(...labelled('To fix:', r.problem.hint, width));
      if (r.problem?.link) lines.push(...labelled('See:', r.problem.link, width));
      return lines;
    }
  }
}

/**
 * A registry's network settings in a few words: "public access Enabled · firewall allows all ·
 * trusted services allowed · task bypass off".
 */
export function describeNetwork(s: NetworkSettings): string {
  const rules = s.networkRuleSet;
  const firewall = !rules
    ? 'no firewall rules'
    : rules.defaultAction === 'Allow'
      ? 'firewall allows all'
      : `firewall denies all but ${rules.ipRules.length} IP rule${rules.ipRules.length === 1 ? '' : 's'}`;
  return [
    `public access ${s.publicNetworkAccess}`,
    firewall,
    s.networkRuleBypassOptions === 'AzureServices' ? 'trusted services allowed' : 'trusted services not allowed',
    `task bypass ${s.networkRuleBypassAllowedForTasks ? 'on' : 'off'}`,
  ].join(' · ');
}

/** Words wrapped to `width`, each line prefixed by `first` (then `rest`). Words longer than a line stay whole. */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  const lines: string[] = [];
  let cur = '';
  let prefix = first;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (cur && prefix.length + cur.length + 1 + word.length > width) {
      lines.push(prefix + cur);
      prefix = rest;
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur || lines.length === 0) lines.push(prefix + cur);
  return lines;
}

/**
 * A shell command wrapped between words with ` \` continuations, so the lines still paste into a
 * shell. Quoted words ('…', "…") are never broken: a continuation inside quotes would change them.
 */
export function wrapCommand(cmd: string, width: number, first = '', rest = first): string[] {
  const words = shellWords(cmd);
  const lines: string[] = [];
  let cur = '';
  let prefix = first;
  for (const word of words) {
    if (cur && prefix.length + cur.length + 1 + word.length + 2 > width) {
      lines.push(`${prefix}${cur} \\`);
      prefix = rest;
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  lines.push(prefix + cur);
  return lines;
}

/** Splits on spaces outside quotes, keeping each word exactly as written. */
function shellWords(cmd: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (quote) {
      if (c === quote && (quote === "'" || cmd[i - 1] !== '\\')) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ' ') {
      if (cur) words.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur) words.push(cur);
  return words;
}

function labelled(label: string, text: string, width: number): string[] {
  return wrap(text, width, `  ${label}`.padEnd(LABEL), ' '.repeat(LABEL));
}
