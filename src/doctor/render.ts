/**
 * The doctor's answer as text (a person reads it top to bottom: the task, each access with its
 * verdict, cause, evidence and fix, the last run, one summary line) or as JSON lines (`--json`: one
 * object per access, then the summary). Nothing here holds a secret: the reading comes from the
 * adapter with secret values removed, and log lines are redacted before they get here.
 */
import type { AccessResult, Diagnosis, Finding } from './diagnose.js';
import { fixOf, type FixCommands, type FixContext } from './fixes.js';

export interface DoctorOutput {
  /** One object per access (`type: "access"`), per task-level finding (`type: "task"`), then the summary. */
  objects: Record<string, unknown>[];
  text: string;
  /** 0 healthy, 3 a problem found. */
  exitCode: 0 | 3;
}

export function render(d: Diagnosis, ctx: FixContext, extra: { target: string; reads?: number }): DoctorOutput {
  const objects: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const t = d.task;
  lines.push(`Task ${t.name} in ${t.registry} (${t.loginServer}) — identity ${t.identity}, ${t.status}${t.agentPool ? `, agent pool ${t.agentPool}` : ''} — on ${extra.target}`);
  for (const f of d.taskFindings) {
    const fix = fixOf(f, ctx);
    objects.push({ type: 'task', verdict: f.cause === 'not-premium' && d.healthy ? 'note' : 'refused', ...findingJson(f, fix) });
    lines.push('', `✗ the task: ${f.words}`, ...findingText(f, fix));
  }
  for (const r of d.accesses) {
    const fixes = r.findings.map((f) => fixOf(f, ctx));
    objects.push(accessJson(r, fixes));
    lines.push('');
    if (r.verdict === 'allowed') {
      lines.push(`✓ ${r.access.label}: allowed${r.path ? ` (${pathWords(r.path)})` : ''}`);
      lines.push(`    with ${r.credential}`);
      for (const [i, f] of r.findings.entries()) lines.push(`    note: ${f.words}`, ...findingText(f, fixes[i]!).slice(1));
    } else {
      lines.push(`✗ ${r.access.label}: refused`);
      for (const [i, f] of r.findings.entries()) lines.push(`    cause: ${f.words}`, ...findingText(f, fixes[i]!));
    }
  }
  if (d.accesses.length === 0 && d.taskFindings.length === 0) lines.push('', 'The task makes no registry access the doctor can see.');
  if (d.lastRun) {
    const r = d.lastRun;
    lines.push('', `Last run ${r.runId}: ${r.status}${r.line ? ` — ${r.line}` : ''}`);
    lines.push(r.agrees ? '    agrees with the prediction.' : `    disagrees: ${r.note}`);
  }
  const refused = d.accesses.filter((r) => r.verdict === 'refused').length;
  const problems = refused + d.taskFindings.filter((f) => !(f.cause === 'not-premium' && d.healthy)).length;
  const summary = {
    type: 'summary',
    task: t.name,
    registry: t.registry,
    healthy: d.healthy,
    accesses: d.accesses.length,
    refused,
    causes: [...new Set([...d.taskFindings, ...d.accesses.flatMap((a) => a.findings)].map((f) => f.cause))],
    lastRun: d.lastRun ?? null,
    ...(extra.reads !== undefined ? { reads: extra.reads } : {}),
  };
  objects.push(summary);
  lines.push('', d.healthy ? `Healthy: every access the task makes is allowed.` : `${problems} problem(s) found. Fix them with the commands above, or \`acr-trust doctor --fix\`.`);
  return { objects, text: lines.join('\n') + '\n', exitCode: d.healthy ? 0 : 3 };
}

function accessJson(r: AccessResult, fixes: FixCommands[]): Record<string, unknown> {
  return {
    type: 'access',
    access: r.access.label,
    kind: r.access.kind,
    loginServer: r.access.loginServer,
    ...(r.access.repository ? { repository: r.access.repository } : {}),
    ...(r.access.step ? { step: r.access.step } : {}),
    registry: r.registry ?? null,
    verdict: r.verdict,
    ...(r.path ? { path: r.path } : {}),
    credential: r.credential,
    cause: r.findings[0]?.cause ?? null,
    findings: r.findings.map((f, i) => findingJson(f, fixes[i]!)),
    evidence: r.evidence,
    ...(r.logLine ? { expectedLogLine: r.logLine } : {}),
  };
}

function findingJson(f: Finding, fix: FixCommands): Record<string, unknown> {
  return { cause: f.cause, words: f.words, evidence: f.evidence, fix };
}

function findingText(f: Finding, fix: FixCommands): string[] {
  const out = [`    evidence: ${f.evidence.join('; ')}`];
  if (fix.az.length) out.push('    fix (az):', ...fix.az.map((l) => `      ${l}`));
  if (fix.acrTrust) out.push(`    fix (acr-trust): ${fix.acrTrust}`);
  if (fix.advice) out.push(`    ${fix.az.length || fix.acrTrust ? 'or' : 'fix'}: ${fix.advice}`);
  return out;
}

function pathWords(path: string): string {
  switch (path) {
    case 'trusted-bypass':
      return 'through the trusted-services bypass for tasks';
    case 'private-endpoint':
      return "from the agent pool, through the registry's private endpoint";
    case 'ip-rule':
      return "an IP rule admits the Tasks agents";
    case 'public':
      return 'public endpoint, open';
    case 'not-a-registry':
      return 'a public registry';
    default:
      return path;
  }
}
