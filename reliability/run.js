#!/usr/bin/env node
/**
 * The reliability campaign: crashes, cloud faults, hostile input and secrets, measured on the real
 * binary against the simulated Azure, with the figures written to docs/reliability.md.
 *
 *   node reliability/run.js            the full campaign (npm run reliability), writes docs/reliability.md
 *   node reliability/run.js --short    the CI-sized campaign (what `npm test` runs), prints the figures
 *   options: --out FILE (write the figures there instead), --keep DIR (keep the raw JSON figures there),
 *            --figures DIR (do not run anything: render the raw figures an earlier --keep DIR kept),
 *            --in-place (run in the working tree instead of a snapshot of it)
 *
 * By default the campaign runs on a snapshot of the working tree (sources and tests copied to a
 * temporary folder, node_modules linked, built there by the test setup): a campaign takes minutes,
 * and a build started meanwhile in the working tree (any `vitest run` rebuilds dist/) must not
 * change the binary under it.
 *
 * The suites are test/reliability/*.test.ts; each records what it tried and what happened (see
 * test/reliability/support.ts), this script runs them with vitest and turns those records into
 * Markdown. Its exit code is vitest's: a campaign that found a problem fails, and still publishes
 * its figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, hostname, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The workflow's steps in order, for the tables. */
const STEPS = ['(before the first step)', 'preflight', 'create-task', 'assign-role', 'add-credential', 'allow-trusted-services', 'allow-task-bypass', 'disable-public-access', 'run-task', 'disable-trusted-services', 'confirm-denied'];

/** Where a figure came from (see the doc's opening paragraph). */
const BINARY = 'binary';
const IN_PROCESS = 'engine in-process';

const args = process.argv.slice(2);
const short = args.includes('--short');
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const known = new Set(['--short', '--in-place', '--out', '--keep', '--figures', option('--out'), option('--keep'), option('--figures')]);
const unknown = args.filter((a) => !known.has(a));
if (unknown.length) {
  process.stderr.write(`reliability/run.js: unknown argument ${unknown[0]}.\n  Usage: node reliability/run.js [--short] [--in-place] [--out FILE] [--keep DIR | --figures DIR]\n`);
  process.exit(2);
}

const rendering = option('--figures');
const figuresDir = resolve(rendering ?? option('--keep') ?? mkdtempSync(join(tmpdir(), 'acr-trust-reliability-')));
mkdirSync(figuresDir, { recursive: true });
const out = option('--out') ? resolve(option('--out')) : short ? undefined : join(ROOT, 'docs', 'reliability.md');

let mode = short ? 'short' : 'full';
let code = 0;
let seconds = 0;
// What the figures were measured on: recorded when the campaign starts (a snapshot of the working
// tree at this commit), so that rendering them later (--figures) still names the right commit.
let commit = gitCommit();
let host = machine();
let date = new Date().toISOString().slice(0, 10);
if (rendering) {
  const meta = existsSync(join(figuresDir, 'campaign.json')) ? JSON.parse(readFileSync(join(figuresDir, 'campaign.json'), 'utf8')) : {};
  ({ mode = mode, code = 0, seconds = 0, commit = commit, host = host, date = date } = meta);
} else {
  const started = Date.now();
  const cwd = args.includes('--in-place') ? ROOT : snapshot();
  // The training room's isolation (issue 16) is part of the campaign: its suite records room.json.
  const vitestArgs = [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/reliability', 'test/sim/room-access.test.ts'];
  // The suites mostly wait on child processes: two files at a time keep both cores busy.
  if (!short) vitestArgs.push('--maxWorkers=2');
  process.stderr.write(`reliability: the ${mode} campaign (vitest ${vitestArgs.slice(1).join(' ')})\n`);
  code = await new Promise((done) => {
    const child = spawn(process.execPath, vitestArgs, {
      cwd,
      stdio: 'inherit',
      env: { ...process.env, ACR_TRUST_RELIABILITY: mode, ACR_TRUST_RELIABILITY_OUT: figuresDir },
    });
    child.on('close', (c, signal) => done(c ?? (signal ? 1 : 0)));
  });
  seconds = Math.round((Date.now() - started) / 1000);
  if (cwd !== ROOT) rmSync(cwd, { recursive: true, force: true });
  writeFileSync(join(figuresDir, 'campaign.json'), JSON.stringify({ mode, code, seconds, commit, host, date }) + '\n');
}

const parts = {};
for (const f of existsSync(figuresDir) ? readdirSync(figuresDir) : []) {
  if (f.endsWith('.json') && f !== 'campaign.json') parts[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(figuresDir, f), 'utf8'));
}
const markdown = render(parts, { mode, seconds, code, commit, host, date });
// A temporary figures folder (no --keep, no --figures) goes once the figures are rendered.
if (!rendering && !option('--keep')) rmSync(figuresDir, { recursive: true, force: true });
if (out) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  process.stderr.write(`reliability: figures written to ${out}${option('--keep') || rendering ? ` (raw: ${figuresDir})` : ''}\n`);
} else {
  process.stdout.write(markdown);
}
process.exit(code);

/** A copy of the sources and tests (node_modules linked) that the campaign builds and runs on its own. */
function snapshot() {
  const dir = mkdtempSync(join(tmpdir(), 'acr-trust-campaign-'));
  for (const entry of ['bin', 'src', 'steps', 'test', 'package.json', 'tsconfig.json', 'vitest.config.ts']) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  process.stderr.write(`reliability: running on a snapshot of the working tree in ${dir}\n`);
  return dir;
}

// ---- Markdown -----------------------------------------------------------------------------------


function render(p, run) {
  const lines = [];
  const say = (...l) => lines.push(...l);
  const c = p.crashes ?? {};
  const f = p.faults?.cloudFaults;
  const e = p.eventual ?? {};
  const i = p.input ?? {};
  const s = p.secrets ?? {};
  const missing = (what) => `_not measured: the ${what} suite did not record figures (see the test output)_`;

  say('# Reliability and security, measured', '');
  say(
    `Generated by ${run.mode === 'full' ? '`npm run reliability` (`node reliability/run.js`)' : '`node reliability/run.js --short`'} — the **${run.mode}** campaign — on ${run.date}, ` +
      `commit ${run.commit}, on ${run.host}. ` +
      `It took ${Math.floor(run.seconds / 60)} min ${run.seconds % 60} s, and vitest ${run.code === 0 ? 'passed every check' : `**reported failures (exit ${run.code})**`}.`,
    '',
    'Every figure was counted by the suites in `test/reliability/` as they ran, and says what produced it: **binary** — real runs of the built CLI (`bin/acr-trust.js`, built from a snapshot of the working tree) as separate processes, ' +
      'against the simulated Azure (`acr-trust sim serve`, or the sim embedded in the workdir); **engine in-process** — the engine and the workflow\'s steps called from the test process (no CLI), with the real Azure SDK against the sim, where a test needs to inject a clock or a cloud that answers late. ' +
      'CI runs the same suites at a smaller size (`npx vitest run test/reliability`, or `node reliability/run.js --short`).',
    '',
  );

  // Summary
  say('## Summary', '', '| what | tried | result | measured on |', '|---|---:|---|---|');
  const row = (what, tried, result, on = BINARY) => say(`| ${what} | ${tried ?? '–'} | ${result} | ${on} |`);
  if (c.sigkill) row('SIGKILL of the wizard on events of a run (each step\'s start, each line of its stream), then a plain re-run', c.sigkill.tried, `${c.sigkill.converged} converged; steps hit: ${STEPS.slice(1).filter((id) => c.sigkill.byStep[id]).length} of ${STEPS.length - 1}; duplicates: ${c.sigkill.duplicateTasks} tasks, ${c.sigkill.duplicateRoleAssignments} role assignments`);
  if (c.midWrite) row('SIGKILL between a write request and its response', c.midWrite.tried, `${c.midWrite.converged} converged (${c.midWrite.killedWhileAWriteWasInFlight} with a write in flight, by the sim's log); duplicates: ${c.midWrite.duplicateTasks} tasks, ${c.midWrite.duplicateRoleAssignments} role assignments`);
  if (c.simKilled) row('SIGKILL of `sim serve` while writes flow', c.simKilled.tried, `${c.simKilled.stateParsedAndWhole} state files whole, ${c.simKilled.heldEveryAcknowledgedWrite} with every acknowledged write, ${c.simKilled.restartedAndServed} restarted and served`);
  if (c.sigint) row('SIGINT (Ctrl-C) inside a step', c.sigint.tried, `${c.sigint.exit130} exit 130, ${c.sigint.stateSaved} state saved, ${c.sigint.resumed} resumed to the end (${c.sigint.stepsInterrupted} different steps)`);
  if (c.resetAfterCrash) row('`reset` after a crash inside a step', c.resetAfterCrash.tried, `${c.resetAfterCrash.restoredExactly} restored the original network settings exactly; left behind: ${c.resetAfterCrash.leftoverTasks} tasks, ${c.resetAfterCrash.leftoverRoleAssignments} role assignments`);
  if (f) row('Workflows against an injected-fault cloud', f.workflows, `${f.completed} completed (first time or after re-runs); duplicates: ${f.duplicateTasks} tasks, ${f.duplicateRoleAssignments} role assignments`);
  if (f) {
    const kinds = Object.values(f.byKind);
    const sum = (k) => kinds.reduce((n, x) => n + (x[k] ?? 0), 0);
    row('Faults injected (429, 500, 503, dropped connections; ARM and the run log blob)', sum('faultsInjected'), `${sum('faultsAbsorbedByRetries')} absorbed by retries, the rest surfaced as resumable stops (${sum('stoppedResumably')} stops, ${sum('unexplainedStops')} unexplained)`);
    row('Retries after a 429/503 with Retry-After ≥ 1 s', sum('retriesChecked'), `${sum('retriesTooEarly')} sooner than Retry-After`);
  }
  if (e.roleLate || e.roleNeverInTime) row('Eventual consistency: a role that applies late, or not within the bound', [e.roleLate, e.roleNeverInTime].filter(Boolean).length, [e.roleLate && `late role: ${e.roleLate.outcome}`, e.roleNeverInTime && `never in time: exit ${e.roleNeverInTime.exit}, then resumed: exit ${e.roleNeverInTime.resumedExit}`].filter(Boolean).join('; '));
  if (e.principalLate || e.settingReportedLate || e.settingEnforcedLate) {
    const cases = Object.keys(e.principalLate ?? {}).length + (e.settingReportedLate ? 1 : 0) + Object.keys(e.settingEnforcedLate ?? {}).length;
    row('Eventual consistency: a principal, a setting reported or enforced late', cases, 'see below', IN_PROCESS);
  }
  if (i.catalogue) row('Bad inputs from the catalogue', i.catalogue.tried, `${i.catalogue.handled} handled (message + fix, exit code, no stack, no change); stack traces: ${i.catalogue.stackTraces}; hung: ${i.catalogue.hung}`);
  if (i.generatedAnswersFiles && i.generatedNames) {
    row(
      'Generated answers files and names (fast-check)',
      i.generatedAnswersFiles.tried + i.generatedNames.validTried + i.generatedNames.invalidTried + (i.generatedThroughBinary?.tried ?? 0),
      `${i.generatedAnswersFiles.otherErrors} unexpected errors; stack traces through the binary: ${i.generatedThroughBinary?.stackTraces ?? '–'}; every valid name accepted: ${i.generatedNames.validAccepted === i.generatedNames.validTried ? 'yes' : '**no**'}`,
      `${IN_PROCESS} (input readers: ${i.generatedAnswersFiles.tried + i.generatedNames.validTried + i.generatedNames.invalidTried}); ${BINARY} (${i.generatedThroughBinary?.tried ?? 0})`,
    );
  }
  if (s.scan) row('Secret scan: files and outputs of full, failed, interrupted runs', s.scan.filesScanned + s.scan.outputsScanned, `**${s.scan.findings} findings**`);
  const room = p.room;
  if (room) row('Training room: one learner at another learner\'s resources (reads, writes, role assignments, runs, log links, lists, tokens)', room.tried, `${room.refused} refused; **${room.leaks} leaks**`, 'the sim over HTTPS (signed tokens)');
  if (s.leastPrivilege) row('Least privilege', 1, `${s.leastPrivilege.roleAssignments} role assignment, scope = the target registry: ${s.leastPrivilege.scopeIsTheTargetRegistry ? 'yes' : '**no**'}; writes outside the workflow: ${s.leastPrivilege.writesOutsideTheWorkflow.length}`);
  say('');

  // Crashes
  say('## Crashes and interruptions', '');
  if (!p.crashes) say(missing('crash'), '');
  if (c.sigkill) {
    const k = c.sigkill;
    const aimed = (k.moments ?? []).filter((m) => m.startsWith('the start of '));
    const lines = (k.moments ?? []).filter((m) => m.startsWith('line '));
    say(
      '### SIGKILL on events of a run, then a plain re-run',
      '',
      `${BINARY}. Every kill is triggered by an event the wizard reports, never by a delay, so the same moments are hit on any machine. ` +
        `${aimed.length} kills on the \`step-start\` line of ${aimed.length === 10 ? 'each step' : aimed.map((m) => m.slice('the start of '.length)).join(', ')}, against \`sim serve --faults latency=400\` (every answer held 400 ms, so the step's first request is in flight when the kill lands) ` +
        'whose registry starts with trusted services off (so every step has a request to send)' +
        (lines.length ? `; ${lines.length} kills on reading each line of the \`--json\` stream of \`run --target sim --yes --sim-speed ${run.mode === 'full' ? 'realistic' : 'instant'}\` on the embedded sim (line 1 is the start event, the last the summary)` : '') +
        ((k.moments ?? []).includes('spawn') ? '; one right after spawn, before any line' : '') +
        `. After each, \`acr-trust run --target sim --yes --workdir <same>\` ran${run.mode === 'full' ? ', then `verify`' : ''}, and \`sim show --json\` was read. ` +
        'Where a kill landed is read from the whole stream the process printed before it died: the last step it started and did not finish.',
      '',
      `- converged: **${k.converged}/${k.tried}**; duplicate tasks: **${k.duplicateTasks}**; duplicate role assignments: **${k.duplicateRoleAssignments}**`,
      `- kills aimed at a step that landed inside it: **${k.landedInTheStepAimedAt ?? '–'}/${k.aimedAtAStep ?? '–'}**; steps never hit: ${k.stepsNotHit?.length ? k.stepsNotHit.join(', ') : 'none'}`,
      `- distinct positions in the stream at the kill: ${k.distinctStreamPositions}; runs that had finished before their kill (not counted): ${k.finishedBeforeKill}`,
      `- stale locks left by the killed process and taken over by the re-run: ${k.staleLocksTakenOver}; half-written \`*.tmp\` files left beside state files: ${k.halfWrittenTempFilesLeft}`,
      '',
      '| step in progress at the kill | kills |',
      '|---|---:|',
      ...Object.entries(k.byStep)
        .sort(([a], [b]) => order(a) - order(b))
        .map(([step, n]) => `| ${step} | ${n} |`),
      '',
    );
  }
  if (c.midWrite) {
    const m = c.midWrite;
    say(
      '### SIGKILL between a write request and its response',
      '',
      `${BINARY}. Against \`sim serve --faults "latency=2500,routes=<the write routes>"\`: every write waits 2.5 s before the sim handles it. The wizard runs with the Azure SDK's request log on (\`AZURE_LOG_LEVEL=info\`), and the kill is triggered by the write it logs (the 1st, and in the campaign also the 2nd, after each writing step's start), sent 0.8 s later (the SDK logs a request before it signs and sends it). ` +
        'The sim then applies the write for a client that is gone. Whether a write was in flight at the kill is read from the sim\'s request log (arrival time and duration of each request).',
      '',
      `- tried: ${m.tried}; a write in flight at the kill: **${m.killedWhileAWriteWasInFlight}**; converged after a plain re-run: **${m.converged}/${m.tried}**`,
      `- writes caught in flight: ${m.writesCaught.map((w) => `\`${w}\``).join(', ')}`,
      `- duplicate tasks: **${m.duplicateTasks}**; duplicate role assignments: **${m.duplicateRoleAssignments}**`,
      '',
    );
  }
  if (c.simKilled) {
    const k = c.simKilled;
    say(
      '### The sim killed while it writes',
      '',
      `\`sim serve\` was SIGKILLed ${k.tried} times while two clients wrote as fast as it answered (a counter in the registry's tags; a task created and deleted). ` +
        `${k.writesAcknowledged} writes were acknowledged in all.`,
      '',
      `- state file parsed and passed the sim's own validation (\`sim show\`): **${k.stateParsedAndWhole}/${k.tried}**`,
      `- held the last acknowledged write or the one in flight (old or new, never torn): **${k.heldEveryAcknowledgedWrite}/${k.tried}**`,
      `- a restarted \`sim serve\` on the file answered with the same data${run.mode === 'full' ? ' and served a whole workflow' : ' (and, once, a whole workflow)'}: **${k.restartedAndServed}/${k.tried}**`,
      `- kills that landed inside a state write (a half-written temp file was left beside the state): ${k.killedInsideAStateWrite}`,
      '',
    );
  }
  if (c.sigint) {
    const k = c.sigint;
    say(
      '### SIGINT (Ctrl-C) in each step',
      '',
      `Against \`sim serve --faults latency=300\` (every call 300 ms slower, so every step lasts long enough to be interrupted inside it), Ctrl-C was sent ${k.tried} times, inside ${k.stepsInterrupted} different steps.`,
      '',
      `- exit 130 with one line ("interrupted — progress is saved …; run … again to resume"): **${k.exit130}/${k.tried}**`,
      `- state saved: every earlier step recorded done, the interrupted one \`running\`: **${k.stateSaved}/${k.tried}**`,
      `- the same command again finished the workflow with one task and one role assignment: **${k.resumed}/${k.tried}**`,
      `- runs whose \`--json\` stream went on after its \`summary\` line (it must be the last): ${k.runsWithEventsAfterTheSummary ?? '–'}`,
      '',
    );
  }
  if (c.secondWizard || c.raceOnFreshWorkdir || c.locks) {
    say('### One wizard per workdir', '');
    if (c.secondWizard) say(`- a second \`run\` while the first works: refused with "the workdir is in use by \`acr-trust run\`, pid …" (exit 1): **${c.secondWizard.refused ? 'yes' : 'no'}**; the first finished: **${c.secondWizard.firstFinished ? 'yes' : 'no'}**`);
    if (c.raceOnFreshWorkdir) say(`- ${c.raceOnFreshWorkdir.started} wizards started at once on a fresh workdir: ${c.raceOnFreshWorkdir.ran} ran, ${c.raceOnFreshWorkdir.refused} refused`);
    if (c.locks) say(`- lock files: ${c.locks.handled}/${c.locks.cases} handled — a dead process's lock taken over; a lock from another host, or one that cannot be read, refused with what to do`);
    if (c.sigkill) say(`- locks left by SIGKILLed wizards and taken over by the next run: ${c.sigkill.staleLocksTakenOver}`);
    say('');
  }
  if (c.resetAfterCrash) {
    const r = c.resetAfterCrash;
    say(
      '### `reset` after a crash in any step',
      '',
      'The registry first gets original settings unlike the sim\'s defaults (trusted services off; a firewall that denies by default with one allowed range), so "restored exactly" compares something. ' +
        'The wizard is killed inside a step (writes slowed, so many kills land mid-write), then `reset --yes` runs on the same workdir.',
      '',
      `- tried: ${r.tried}, crashing in ${r.stepsCrashedIn} different steps (${r.killedWhileAWriteWasInFlight} with a write in flight)`,
      `- network settings restored exactly (publicNetworkAccess, networkRuleBypassOptions, networkRuleBypassAllowedForTasks, networkRuleSet): **${r.restoredExactly}/${r.tried}**`,
      `- tasks left behind: **${r.leftoverTasks}**; role assignments left behind: **${r.leftoverRoleAssignments}**`,
      '',
    );
  }

  // Faults
  say('## Cloud faults', '');
  if (!f) say(missing('cloud-fault'), '');
  else {
    say(
      `${BINARY}. Each workflow ran against its own \`sim serve --faults <spec>\` (every authenticated route, unless the spec names routes; the \`log\` kind names the task run's log blob, \`routes=logs.*\`, which the wizard reads through the Azure SDK's pipeline like the ARM calls). ` +
        'A run must complete, or stop with exit 1 and a message that names the call that failed and why ' +
        `(\`stopped at <step> (failed): Could not <call>: <cause>\`) and says to run again; the same command was then run again (at most ${f.maxReruns ?? 5} times) against the same faulty cloud. ` +
        'Throttling: from the sim\'s request log, each retry of a 429/503 is the next request for the same method and path (the wizard makes one call at a time; the SDK tries a call at most 4 times); the time from the throttled request\'s arrival to its retry\'s arrival was measured against the Retry-After the sim sent.',
      '',
      '| kind | specs (one workflow each) | runs, re-runs included | completed first time | completed after re-runs | never | resumable stops | unexplained stops | faults injected | absorbed by retries | retries checked (Retry-After ≥ 1 s) | too early | shortest gap |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const [kind, k] of Object.entries(f.byKind)) {
      say(
        `| ${kind} | ${k.specs.map((x) => `\`${x}\``).join('<br>')} | ${k.runs} | ${k.completedFirstTime} | ${k.completedAfterReruns} | ${k.neverCompleted} | ${k.stoppedResumably} | ${k.unexplainedStops} | ${k.faultsInjected} | ${k.faultsAbsorbedByRetries} | ${k.retriesChecked} | ${k.retriesTooEarly} | ${k.minRetryGapMs === undefined ? '–' : `${k.minRetryGapMs} ms`} |`,
      );
    }
    say('', `Calls named by the stops: ${f.failingCallsNamed.map((x) => `"${x}"`).join('; ') || 'none (every workflow completed without a stop)'}.`, '');
  }

  // Eventual consistency
  say('## Eventual consistency', '');
  if (!p.eventual) say(missing('eventual-consistency'), '');
  if (e.roleLate) say(`- **A role that takes ${e.roleLate.roleDelayMs / 1000} s to apply** (the sim's \`roleDelayMs\`; ${BINARY}): ${e.roleLate.outcome}; ${e.roleLate.runsRefusedWhileWaiting} runs refused while waiting, each saying "${e.roleLate.saidWhy}".`);
  if (e.roleNeverInTime) say(`- **A role that does not apply within the bound** (${e.roleNeverInTime.boundMs / 1000} s at instant speed; 2 min realistic, 5 min on Azure; ${BINARY}): exit ${e.roleNeverInTime.exit} after ${(e.roleNeverInTime.failedAfterMs / 1000).toFixed(1)} s with "${e.roleNeverInTime.message}"; once the role applied, the same command finished (exit ${e.roleNeverInTime.resumedExit}).`);
  if (e.principalLate) {
    for (const [label, o] of Object.entries(e.principalLate)) {
      say(`- **A principal the directory learns ${o.lagMs / 1000} s late** (${label}; bound ${o.boundMs / 1000} s; ${IN_PROCESS}): assign-role ${o.status} after ${(o.stepMs / 1000).toFixed(1)} s, saying "the directory does not know principal … yet; retrying" ${o.retriesShown} times${o.reason ? ` — then: "${o.reason}"` : ''}.`);
    }
  }
  if (e.settingReportedLate) {
    const o = e.settingReportedLate;
    say(`- **A registry setting reported ${o.lagMs / 1000} s late** (${IN_PROCESS}, its clock injected): the step ${o.inTime.status} after ${Math.round(o.inTime.waitedMs / 1000)} s, showing "waiting for the registry to report …" ${o.inTime.progressShown} times; never reported: ${o.pastBound.status} at the ${o.pastBound.boundMs / 1000} s bound (${(o.pastBound.realMs / 1000).toFixed(1)} s of real time, the engine's clock injected) with "${o.pastBound.reason}"; once it arrived, a re-run: ${o.resumed}.`);
  }
  if (e.settingEnforcedLate) {
    for (const [label, o] of Object.entries(e.settingEnforcedLate)) {
      say(`- **Network settings enforced late — ${label}** (${IN_PROCESS}; lag ${o.lagMs === null || o.lagMs > 1e12 ? 'never' : `${o.lagMs} ms`}, bound ${o.boundMs / 1000} s): ${o.outcome}${o.stoppedAt ? ` at ${o.stoppedAt} (${o.code})` : ''} in ${(o.ms / 1000).toFixed(1)} s; runs repeated with a reason: run-task ${o.runsAgain['run-task']}, confirm-denied ${o.runsAgain['confirm-denied']}.`);
    }
  }
  say('');

  // Input
  say('## Hostile and wrong input', '');
  if (!p.input) say(missing('input'), '');
  if (i.catalogue) {
    const k = i.catalogue;
    say(
      `The catalogue (\`test/reliability/input.test.ts\`) has ${k.cases} bad inputs: names and values, answers files, saved state, contradicting flags, task files, resources the cloud refuses, and workdirs that cannot be written. ` +
        'Each starts from a copy of a workdir with saved progress (or the scenario it needs); "handled" means: the first line says what is wrong, a following line says how to fix it, the exit code is 2 (1 when the cloud refuses), ' +
        'no stack trace, and the cloud (`sim-cloud.json`: registries, tasks, role assignments, runs) is unchanged; for exit 2 also `state.json` and `answers.yaml` byte for byte; for exit 1 no step newly recorded as done.',
      '',
      `- tried: ${k.tried} (exit 2 expected: ${k.byExpectedExit[2]}, exit 1: ${k.byExpectedExit[1]}); **handled: ${k.handled}**; stack traces: ${k.stackTraces}; hung: ${k.hung}`,
    );
    if (k.notHandled.length) say('', '**Not handled:**', ...k.notHandled.map((x) => `- ${x}`));
    say('');
  }
  if (i.generatedAnswersFiles) {
    const a = i.generatedAnswersFiles;
    const n = i.generatedNames;
    const b = i.generatedThroughBinary;
    say(
      'Generated inputs (fast-check, fixed seeds):',
      '',
      `- answers files (random text, JSON of any value, known and unknown keys with values of any type; ${IN_PROCESS}: the answers reader): ${a.tried} — ${a.read} read, ${a.refusedWithExit2AndHint} refused with exit 2 and a hint, ${a.otherErrors} other errors`,
      `- names (${IN_PROCESS}: the answers reader): ${n.validTried} valid subscription/resource group/registry/task combinations — ${n.validAccepted} accepted; ${n.invalidTried} invalid strings — ${n.invalidRefusedWithExit2} refused with exit 2 naming the flag (strings that happened to be valid names were drawn again)`,
    );
    if (b) say(`- through the ${BINARY} (\`run --dry-run --answers <generated>\`): ${b.tried} runs, exits ${Object.entries(b.exits).map(([x, m]) => `${x}: ${m}`).join(', ')}; stack traces: ${b.stackTraces}; valid names past the input checks: ${b.validNamesPastInputChecks}/${b.validNamesTried}`);
    say('');
  }

  // Secrets
  say('## Secrets and least privilege', '');
  if (!p.secrets) say(missing('secrets'), '');
  if (s.scan) {
    const k = s.scan;
    say(
      `Scanned: ${k.filesScanned} files (${k.fileKinds.join(', ')}) and ${k.outputsScanned} stdout/stderr captures of ${k.commandsRun} commands — ${Math.round(k.bytesScanned / 1024)} KiB — from these runs:`,
      '',
      ...k.scenarios.map((x) => `- ${x}`),
      '',
      `Looked for: ${k.patterns.join(', ')} (${k.logKeysSearched} keys). The simulated cloud's own files (\`sim-cloud.json\` with its runs' log-signing keys, \`sim-cloud.tls.pem\` with its TLS key) stand for Azure's side and are exempt from the key checks only. The scanner is checked first against one planted example of each kind.`,
      '',
      `**Findings: ${k.findings}.**`,
      ...(k.details?.length ? ['', ...k.details.map((d) => `- ${d.where}: ${d.what}`)] : []),
      '',
    );
  }
  if (s.leastPrivilege) {
    const l = s.leastPrivilege;
    say(
      `- Two-registry workflow (task in \`acrtrustdemo\`, network rules on \`acrtrusttarget\`): role assignments created: ${l.roleAssignments}; scope exactly the target registry: **${l.scopeIsTheTargetRegistry ? 'yes' : 'no'}**; role: ${l.role.join(', ')} (AcrPush); ` +
        `writes by route: ${Object.entries(l.writesByRoute).map(([r, n]) => `${r} ×${n}`).join(', ')}; writes to anything else: **${l.writesOutsideTheWorkflow.length}**; the task's own registry unchanged: **${l.otherRegistryUntouched ? 'yes' : 'no'}**.`,
    );
  }
  if (s.workdirModes) say(`- Workdir permissions after a SIGKILL, a re-run and a reset, all under \`umask 000\`: ${s.workdirModes.entries} entries (${s.workdirModes.files.join(', ')}); not private: **${s.workdirModes.notPrivate.length}** (the folder 0700, every file 0600).`);
  say('');

  say('## Training room isolation', '');
  if (!room) say(missing('room-access'), '');
  else {
    say(
      'Counted by `test/sim/room-access.test.ts`: a classroom sim with three learners; learner 1 runs the whole workflow signed in as its own service principal, then learner 2, signed in as its own, tries each attempt below on learner 1\'s resources over HTTPS. ' +
        '*Refused* is `401`/`403` (or no route), or — for a list or a directory look-up — an answer holding nothing of learner 1\'s; a *leak* is an answer containing any identifier of learner 1\'s that learner 2 did not type itself. ' +
        'The check is structural: one choke point in `src/sim/server.ts` derives each request\'s action and scope from its method and path and refuses what the caller\'s role assignments do not grant there; every list is filtered item by item.',
      '',
      `${room.tried} attempts, ${room.refused} refused, ${room.leaks} leaks.`,
      '',
      '| attempt by learner 2 | status | refused | leaked |',
      '|---|---:|---|---|',
      ...room.results.map((r) => `| ${String(r.attempt).replace(/\|/g, '\\|')} | ${r.status} | ${r.refused ? 'yes' : '**no**'} | ${r.leaked?.length ? `**${r.leaked.length}**` : '0'} |`),
      '',
    );
  }

  say(
    '## Bugs the campaign found',
    '',
    'Every one is fixed; the suite that found it now holds the fix (the figures above are after the fixes).',
    '',
    '- **reset left a role assignment behind after a crash in assign-role.** Killed while its role-assignment PUT was in flight, the wizard had not recorded the assignment, so `reset` deleted the task but not the assignment (an orphan granting AcrPush to a deleted identity). assign-role now records the assignment\'s id — its name is deterministic — before sending the PUT. (`reset after a crash in any step`)',
    '- **A task file that is not a task changed the registry before failing.** The workflow created the task, granted the role and disabled public access, and only the run failed. The file is now read with the other answers (readable, YAML, a non-empty `steps:` list of build/push/cmd): exit 2 before anything changes, and preflight checks it again. (the catalogue\'s task-file cases)',
    '- **Network settings that apply late failed run-task at once.** A run refused at the network while the registry reports trusted services and the task bypass allowed (and the task has its `[system]` credential) is now run again, saying why, until the setting bound. (`network settings the registry enforces late …`)',
    '- **A YAML alias in an answers file was a stack trace.** `subscription: *x` (found by fast-check) or an alias bomb threw out of the yaml library; now exit 2, "not valid YAML", and how to fix it. (the catalogue, and the generated answers files)',
    '- **A workdir that cannot be created was a stack trace, or a hang.** Under a regular file, or a regular file itself: exit 2 naming the cause; under `/proc` Node\'s recursive `mkdirSync` never returned (100% CPU) — the workdir is now made one folder at a time. (the catalogue\'s workdir cases)',
    '- **`--json` printed lines after its `summary` line after Ctrl-C.** The interrupted step goes on in the background (its request may be in flight; steps are idempotent) but no longer reports. (`SIGINT during each step`)',
    '- **A SIGKILLed wizard left as a zombie locked its workdir for good.** A parent that does not reap its children (a container whose PID 1 is not an init, a CI runner) keeps the killed process as a zombie, which a signal-0 probe calls alive: every later run refused the workdir. The lock now records the owner\'s start time and boot id beside its pid; a zombie, a reused pid or a lock from before a reboot is taken over, and two processes that find the same stale lock cannot both take it. (`test/cli/stale-lock.test.ts`)',
    '- **The task run\'s log was read without retries or proxy.** One 503 from the log storage stopped the wizard at `confirm-denied`, and `HTTPS_PROXY` was ignored for it. The log is now read through the Azure SDK\'s own HTTP pipeline. (the fault campaign\'s `log` kind; `test/azure/run-log.test.ts`)',
    '- **Kills aimed at a step by a delay missed the fast steps.** The campaign\'s own coverage check failed on a fast machine; kills are now triggered by the wizard\'s events. (`SIGKILL on events of a run`)',
    '- **`acr-trust … --json | head` crashed with EPIPE.** Once the reader has gone the rest of the output is dropped; the command still finishes its work and saves its state.',
    '- **A process killed while writing left `<file>.<pid>.tmp` beside the file for good.** The next write to that file removes temps of processes no longer running.',
    '- **A workdir the user may not write in was a stack trace** (EACCES from the lock): now exit 2, "cannot use the workdir … permission denied", with how to fix it. (the catalogue)',
    '- **A disk that filled up during a run was a stack trace**, from the wizard\'s state or the embedded sim\'s cloud file. Now one line names the file and the cause (`no space left on device (ENOSPC)`), exit 1, no temp file is left, the file keeps its last whole version, and with room again the same command finishes. (`test/cli/disk-full.test.ts`, on a 40 KiB tmpfs)',
    '',
  );
  say(
    '## How to run',
    '',
    '```sh',
    'npm run reliability                 # the full campaign; writes docs/reliability.md (about 10 minutes on 2 cores)',
    'node reliability/run.js --short     # the CI-sized campaign; prints these figures',
    'npx vitest run test/reliability     # the same suites as plain tests (what CI runs)',
    '```',
    '',
  );
  return lines.join('\n');
}

/** Sort key of a step label: "(after create-task)" sorts right after create-task. */
function order(label) {
  const after = /^\(after (.+)\)$/.exec(label);
  return after ? STEPS.indexOf(after[1]) + 0.5 : STEPS.indexOf(label);
}

/** "a 2-CPU Intel(R) Xeon(R) … (Linux 6.1.0, x86_64), 24 GiB, host build-7, Node.js v20.20.2". */
function machine() {
  const model = cpus()[0]?.model?.replace(/\s+/g, ' ').trim() || 'unknown CPU';
  return `${availableParallelism?.() ?? cpus().length} CPUs (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${release()} ${arch()}, host \`${hostname()}\`, Node.js ${process.version}`;
}

function gitCommit() {
  const r = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain'], { encoding: 'utf8' }).stdout.trim() !== '';
  return `\`${r.stdout.trim()}\`${dirty ? ' (with uncommitted changes)' : ''}`;
}
