/**
 * The real binary in a real terminal: `node bin/acr-trust.js …` started in tmux with a temp cwd,
 * an environment without the user's answers or Azure sign-in, colours on and CI unset (so it is
 * interactive even when the tests run in CI), and helpers that answer its questions.
 */
import { join } from 'node:path';
import { BIN, tempDir } from '../cli/helpers.js';
import { startInTmux, type TmuxTerminal } from '../helpers/tmux.js';

export interface BinaryInTerminal extends TmuxTerminal {
  /** The temp directory the binary runs in. */
  cwd: string;
}

export async function binaryInTmux(args: string[], opts: { cols?: number; rows?: number; env?: Record<string, string> } = {}): Promise<BinaryInTerminal> {
  const cwd = tempDir('acr-trust-tty-');
  // Whatever the test process has of the user's answers or sign-in is removed; CI and NO_COLOR are
  // emptied (empty means unset for both).
  const unset = Object.keys(process.env).filter((k) => /^(ACR_TRUST_|AZURE_)/.test(k)).flatMap((k) => ['-u', k]);
  const term = await startInTmux(['/usr/bin/env', ...unset, process.execPath, BIN, ...args], {
    cwd,
    // Wide enough that no question or summary line wraps.
    cols: opts.cols ?? 160,
    rows: opts.rows ?? 50,
    env: { CI: '', NO_COLOR: '', AZURE_CONFIG_DIR: join(cwd, 'no-az'), ...opts.env },
  });
  return Object.assign(term, { cwd });
}

/**
 * Answers the questions the wizard asks before the steps when only the target is settled, with
 * the sim's one subscription, resource group and registry: each picker is filtered by typing and
 * picked with Enter; the task name and the role keep their defaults.
 */
export async function answerSimQuestions(t: TmuxTerminal): Promise<void> {
  await t.waitForText("? What should the run leave behind?");
  await t.waitForText("❯ Demonstrate: the article's whole workflow"); // the sim's default
  await t.sendKeys('Enter');
  await pick(t, 'Subscription (type to filter)', 'simul', /❯ Simulated subscription/);
  await pick(t, 'Resource group of the registries', 'demo', /❯ acr-trust-demo/);
  await pick(t, 'Registry that owns the task', 'acrtrust', /❯ acrtrustdemo {2}Premium/);
  await pick(t, 'Network-restricted registry the task must reach', '', /❯ acrtrustdemo .*\(the task's own registry\)/);
  await t.waitForText(/\? Task name/);
  await t.sendKeys('Enter');
  await t.waitForText(/\? Role for the task's identity on acrtrustdemo/);
  await t.sendKeys('Enter');
}

/** A searchable picker: wait for it, type to filter, wait for the highlighted choice, Enter. */
export async function pick(t: TmuxTerminal, question: string, filter: string, highlighted: RegExp): Promise<void> {
  await t.waitForText(`? ${question}`);
  if (filter) await t.type(filter);
  await t.waitForText(highlighted);
  await t.sendKeys('Enter');
}

/** Waits for the confirmation before a risky step and answers it. */
export async function confirm(t: TmuxTerminal, stepId: string, answer: 'y' | 'n' | 'Enter'): Promise<string> {
  const screen = await t.waitForText(new RegExp(`\\? ${stepId} is about to change registry[\\s\\S]*Go ahead with this change\\? \\(y/N\\)`), 20_000);
  if (answer !== 'Enter') await t.type(answer);
  await t.sendKeys('Enter');
  return screen;
}

/** Waits for the question before a bypass switch is turned on (what it opens, default yes) and answers it. */
export async function confirmBypass(t: TmuxTerminal, stepId: string, answer: 'y' | 'n' | 'Enter' = 'Enter'): Promise<string> {
  const screen = await t.waitForText(new RegExp(`\\? ${stepId} is about to [\\s\\S]*What it opens: [\\s\\S]*Turn the bypass on\\? \\(Y/n\\)`), 20_000);
  if (answer !== 'Enter') await t.type(answer);
  await t.sendKeys('Enter');
  return screen;
}
