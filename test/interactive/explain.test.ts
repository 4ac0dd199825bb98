/**
 * `--explain`'s text for the real steps: within 80 columns, az lines that still paste into a shell.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Cloud } from '../../src/azure/index.js';
import type { StepResult } from '../../src/engine/events.js';
import { describeNetwork, explainResult, explainStep, wrapCommand } from '../../src/cli/explain.js';
import { stepById, timings, workflow, type World } from '../../steps/index.js';

const world: World = {
  answers: {
    subscription: '00000000-0000-0000-0000-000000000001',
    resourceGroup: 'acr-trust-demo',
    registry: 'acrtrustdemo',
    targetRegistry: 'acrtrusttarget',
    task: 'acr-trust-task',
    role: 'Container Registry Repository Writer',
  },
  cloud: {} as Cloud,
  timing: timings.instant,
};

describe('explainStep', () => {
  it('says where the step is, why it exists, its az lines, its portal path and the caution', () => {
    const text = explainStep(stepById('disable-public-access')!, world, { at: { index: 7, total: 10 } }).join('\n');
    expect(text).toMatch(/^Step 7\/10 · disable-public-access\nDisable public network access to the target registry\n {2}Why: {7}The article closes/);
    expect(text).toContain('  Azure CLI:\n    $ az acr update -n acrtrusttarget --public-network-enabled false');
    expect(text).toContain('  Portal:    Target registry → Settings → Networking → Public access: "Disabled"');
    expect(text).toMatch(/ {2}Caution: {3}Every client that is not on a private endpoint/);
  });

  it('leaves out the heading for the live list, which shows the id and title already', () => {
    const lines = explainStep(stepById('assign-role')!, world, { heading: false, width: 60 });
    expect(lines[0]).toBe('  Why:       Trusted services bypass the network rules, not');
    expect(lines.slice(0, lines.indexOf('  Azure CLI:')).every((l) => l.length <= 60)).toBe(true);
  });

  it('keeps every line of every step within 80 columns, except a quoted word longer than a line', () => {
    for (const step of workflow) {
      for (const l of explainStep(step, world, { at: { index: 1, total: 10 } })) {
        if (l.length <= 80) continue;
        const word = l.trim().replace(/^\$ /, '').replace(/ \\$/, '');
        expect(word, `${step.id}: ${l}`).toMatch(/^"[^"]*"$|^'[^']*'$|^\S+$/);
      }
    }
  });

  it('wraps az lines with continuations that a shell reads back as the same command', () => {
    for (const step of workflow) {
      for (const cmd of step.az(world)) {
        if (cmd.startsWith('#')) continue; // a note for the script, shown as comment lines, not wrapped as a command
        const lines = wrapCommand(cmd, 60, '$ ', '    ');
        const joined = lines.map((l, i) => (i === 0 ? l.slice(2) : l)).join('\n');
        // the shell splits both into the same words (nothing is run: `set --` only parses)
        const words = (script: string) => execFileSync('/bin/sh', ['-c', `set -f; for w in ${script.replace(/[|>;#]/g, ' ')}; do printf '%s\\n' "$w"; done`, 'sh'], { encoding: 'utf8' });
        if (!/[$`]/.test(cmd)) expect(words(joined), cmd).toBe(words(cmd));
      }
    }
  });

  it('never breaks inside quotes', () => {
    const cmd = `az role assignment create --assignee-object-id "$principal" --role 'Container Registry Repository Writer' --scope "$(az acr show -n acrtrusttarget --query id -o tsv)"`;
    expect(wrapCommand(cmd, 40)).toEqual([
      'az role assignment create \\',
      '--assignee-object-id "$principal" \\',
      '--role \\',
      "'Container Registry Repository Writer' \\",
      '--scope \\',
      '"$(az acr show -n acrtrusttarget --query id -o tsv)"',
    ]);
    expect(wrapCommand('principal=$(az acr task show -n acr-trust-task -r acrtrustdemo)', 30, '$ ', '    ')).toEqual([
      '$ principal=$(az acr task \\',
      '    show -n acr-trust-task \\',
      '    -r acrtrustdemo)',
    ]);
  });
});

describe('explainResult', () => {
  const r = (over: Partial<StepResult>): StepResult => ({ id: 'x', title: 'X', status: 'applied', evidence: 'publicNetworkAccess = Disabled on acrtrusttarget', outputs: {}, ms: 2100, ...over });

  it('gives the evidence and the time after a step', () => {
    expect(explainResult(r({}))).toEqual([
      '  Evidence:  publicNetworkAccess = Disabled on acrtrusttarget — changed by this',
      '             run (2.1 s)',
    ]);
    expect(explainResult(r({ status: 'done' })).join(' ')).toMatch(/— it already held +\(2\.1 s\)$/);
  });

  it('gives the problem, what to do and where to read when a step stops', () => {
    const lines = explainResult(
      r({ status: 'blocked', evidence: 'Registry acrtrusttarget is Basic.', problem: { reason: 'Registry acrtrusttarget is Basic.', hint: 'Upgrade it: `az acr update -n acrtrusttarget --sku Premium`.', code: 'SkuNotPremium', link: 'https://aka.ms/acr/skus' } }),
    );
    expect(lines).toEqual([
      '  Blocked:   Registry acrtrusttarget is Basic. [SkuNotPremium] (2.1 s)',
      '  To fix:    Upgrade it: `az acr update -n acrtrusttarget --sku Premium`.',
      '  See:       https://aka.ms/acr/skus',
    ]);
  });
});

describe('describeNetwork', () => {
  it('puts a registry\'s network settings in a few words', () => {
    expect(
      describeNetwork({
        publicNetworkAccess: 'Enabled',
        networkRuleBypassOptions: 'None',
        networkRuleBypassAllowedForTasks: false,
        networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '203.0.113.7' }, { action: 'Allow', value: '198.51.100.0/24' }] },
      }),
    ).toBe('public access Enabled · firewall denies all but 2 IP rules · trusted services not allowed · task bypass off');
  });
});
