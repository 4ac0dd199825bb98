/**
 * Crashes and interruptions, measured. The real binary is killed at many moments of a run and a
 * plain re-run must finish the workflow with exactly one task and one role assignment; the sim is
 * killed while it writes and must restart on a whole state file; Ctrl-C in each step saves the
 * state and exits 130; a second wizard on one workdir refuses; `reset` after a crash in any step
 * puts the registry's original network settings back exactly.
 *
 * CI runs a few moments of each; `npm run reliability` runs the full campaign (see support.ts).
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/sim.js';
import { mulberry32 } from '../../src/sim/faults.js';
import { cliAsync, expectNoStack, networkSettings, STEP_IDS, tempDir } from '../cli/helpers.js';
import {
  convergence,
  figures,
  pool,
  readText,
  serveSim,
  simShow,
  size,
  sleep,
  startWizard,
  timeout,
  FULL,
  type RequestRecord,
  type ServedSim,
} from './support.js';

const fig = figures('crashes');

const REGISTRY_PATH = '/subscriptions/6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c/resourceGroups/acr-trust-demo/providers/Microsoft.ContainerRegistry/registries/acrtrustdemo';
const API = '?api-version=2025-05-01-preview';

/** The routes that change the cloud during a run. */
const WRITE_ROUTES = 'tasks.create|tasks.update|roleAssignments.create|roleAssignments.delete|registries.update|registries.scheduleRun|tasks.delete';
/** The write each step sends, when it has one to send on the default scenario. */
const WRITE_STEPS = ['create-task', 'assign-role', 'add-credential', 'allow-task-bypass', 'disable-public-access', 'run-task', 'disable-trusted-services', 'confirm-denied'];

/** Temp files a killed process left half-written beside `file` (`file.<pid>.tmp`). */
function tornTemps(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /\.\d+\.tmp$/.test(f)) : [];
}

/** The write requests the sim was still answering at `t` (ms epoch): sent, not yet answered. */
function writesInFlight(requests: RequestRecord[], t: number): RequestRecord[] {
  return requests.filter((r) => r.write && Date.parse(r.at) <= t && t <= Date.parse(r.at) + r.ms);
}

/** Re-runs with the same workdir (and sim), as a user would after a crash. */
function rerun(wd: string, extra: string[] = []) {
  return cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd, ...extra]);
}

describe.concurrent('crashes and interruptions', () => {
  it(
    'SIGKILL on events of a run — each step\'s start, each line of its --json stream: a plain re-run converges, with one task and one role assignment',
    async () => {
      // Every kill is triggered by an event the wizard itself reports, never by a delay, so the
      // same moments are hit on a fast or a slow, busy machine:
      // - each step's `step-start` line, against a `sim serve` that holds every answer 400 ms
      //   (so the step's first request is in flight when the kill lands) and whose registry starts
      //   with trusted services off (so every step, allow-trusted-services too, has a request to send);
      // - the campaign also kills on reading each line of the `--json` stream of a run on the
      //   embedded sim at realistic speed (line 1 is the start, the last is the summary), and right
      //   after spawn, before any line.
      // Where a kill landed is read from the whole stream the process printed before it died: the
      // last step it started and did not finish.
      const aimed = size(['create-task', 'allow-trusted-services', 'run-task'], STEP_IDS);
      const lineCount = size(0, 57);
      type Moment = { on: 'step-start'; step: string } | { on: 'line'; n: number } | { on: 'spawn' };
      const moments: Moment[] = [
        ...aimed.map((step): Moment => ({ on: 'step-start', step })),
        ...Array.from({ length: lineCount }, (_, i): Moment => ({ on: 'line', n: i + 1 })),
        ...(FULL ? [{ on: 'spawn' } as Moment] : []),
      ];
      const label = (m: Moment) => (m.on === 'step-start' ? `the start of ${m.step}` : m.on === 'line' ? `line ${m.n} of the stream` : 'spawn');
      const trials = await pool(moments, size(4, 6), async (m) => {
        const dir = tempDir();
        const wd = join(dir, 'wd');
        const sim = m.on === 'step-start' ? await serveSim(join(dir, 'cloud.json'), { speed: 'instant', faults: 'latency=400' }) : undefined;
        try {
          if (sim) await customOriginals(sim);
          const speed = sim ? 'instant' : size('instant', 'realistic');
          const victim = startWizard(['run', '--target', 'sim', ...(sim?.flags ?? []), '--yes', '--sim-speed', speed, '--workdir', wd, '--json']);
          if (m.on === 'step-start') await victim.waitFor((e) => e.event === 'step-start' && e.id === m.step);
          if (m.on === 'line') await victim.nthLine(m.n);
          const finishedFirst = victim.child.exitCode !== null;
          victim.child.kill('SIGKILL');
          await victim.exit;
          const lines = victim.lines.length;
          // The step the process was inside when it died: the last one its stream started and did not finish.
          const started = victim.currentStep();
          const finished = started !== undefined && victim.lines.some((l) => l.text.startsWith('{"event":"step"') && l.text.includes(`"id":"${started}"`));
          const inStep = started !== undefined && !finished;
          const step = started === undefined ? '(before the first step)' : inStep ? started : `(after ${started})`;
          const recorded = JSON.parse(readText(join(wd, 'state.json')) ?? '{}').steps?.[started ?? '']?.status;
          const staleLock = existsSync(join(wd, 'lock'));
          const torn = tornTemps(wd).length;
          const again = await rerun(wd, sim?.flags ?? []);
          const verify = again.status === 0 && FULL ? await cliAsync(['verify', '--workdir', wd, ...(sim?.flags ?? [])]) : undefined;
          await sim?.stop();
          const stateFile = sim ? sim.stateFile : join(wd, 'sim-cloud.json');
          const cloud = existsSync(stateFile) ? await simShow(stateFile) : undefined;
          const c = cloud ? convergence(cloud) : { tasks: 0, assignments: 0, assignmentsForTask: 0, problems: ['no cloud'] };
          return { moment: label(m), aimedAt: m.on === 'step-start' ? m.step : undefined, step, inStep, recorded, lines, finishedFirst, staleLock, torn, rerun: again.status, rerunErr: again.stderr, verify: verify?.status, ...c };
        } finally {
          await sim?.kill();
        }
      });
      const crashed = trials.filter((t) => !t.finishedFirst);
      const converged = crashed.filter((t) => t.rerun === 0 && (!FULL || t.verify === 0) && t.problems.length === 0);
      const byStep: Record<string, number> = {};
      for (const t of crashed) byStep[t.step] = (byStep[t.step] ?? 0) + 1;
      const aimedTrials = crashed.filter((t) => t.aimedAt);
      const stepsNotHit = STEP_IDS.filter((id) => aimed.includes(id) && !byStep[id]);
      fig.sigkill = {
        tried: crashed.length,
        converged: converged.length,
        moments: moments.map(label),
        distinctStreamPositions: new Set(crashed.map((t) => `${t.step}#${t.lines}`)).size,
        aimedAtAStep: aimedTrials.length,
        landedInTheStepAimedAt: aimedTrials.filter((t) => t.step === t.aimedAt).length,
        recordedRunningAtTheKill: crashed.filter((t) => t.inStep && t.recorded === 'running').length,
        finishedBeforeKill: trials.length - crashed.length,
        byStep,
        stepsNotHit,
        staleLocksTakenOver: crashed.filter((t) => t.staleLock && t.rerun === 0).length,
        halfWrittenTempFilesLeft: crashed.reduce((s, t) => s + t.torn, 0),
        duplicateTasks: crashed.filter((t) => t.tasks > 1).length,
        duplicateRoleAssignments: crashed.filter((t) => t.assignments > 1 || t.assignmentsForTask > 1).length,
      };
      for (const t of trials) {
        const at = `killed on ${t.moment} in ${t.step}`;
        expect(t.rerun, `${at}: ${t.rerunErr}`).toBe(0);
        if (FULL) expect(t.verify, at).toBe(0);
        expect(t.problems, at).toEqual([]);
      }
      // Only the last line (the summary) may come after the work is done.
      expect(trials.length - crashed.length).toBeLessThanOrEqual(1);
      // Each kill aimed at a step landed inside it (started, not finished), so every step is hit.
      for (const t of aimedTrials) expect(t.step, `killed on ${t.moment}`).toBe(t.aimedAt);
      expect(stepsNotHit).toEqual([]);
    },
    timeout(150_000, 1_800_000),
  );

  it(
    'SIGKILL between a write request and its response (a sim that is slow to answer writes): a plain re-run converges',
    async () => {
      // Triggered by the request itself: the wizard runs with the Azure SDK's request log on
      // (AZURE_LOG_LEVEL=info, stderr merged into stdout in order), and is killed when it has
      // logged the k-th write request (PUT, PATCH, POST, DELETE) after the step's start, while the
      // sim holds that write for 2500 ms before handling it. The SDK logs a request before it signs
      // and sends it, so the kill waits 800 ms more for the request to reach the sim; the sim's log
      // then shows whether it was in flight (on a machine too busy to send it within 800 ms, or to
      // deliver the kill within the hold, it was not: counted, and most must be).
      const nth = size([1], [1, 2]);
      const steps = size(['create-task'], WRITE_STEPS);
      const cases = steps.flatMap((step) => nth.map((k) => ({ step, k })));
      const trials = await pool(cases, size(3, 6), async ({ step, k }) => {
        const dir = tempDir();
        // The campaign runs it at realistic speed; CI at instant speed (the slow writes are what matter here).
        const speed = size('instant', 'realistic');
        const sim = await serveSim(join(dir, 'cloud.json'), { speed, faults: `latency=2500,routes=${WRITE_ROUTES}` });
        try {
          const wd = join(dir, 'wd');
          const victim = startWizard(['run', '--target', 'sim', ...sim.flags, '--sim-speed', speed, '--yes', '--workdir', wd, '--json'], { AZURE_LOG_LEVEL: 'info' }, { mergeStderr: true });
          const started = await victim.waitFor((e) => e.event === 'step-start' && e.id === step);
          const from = victim.lines.findIndex((l) => l.text.startsWith('{"event":"step-start"') && l.text.includes(`"id":"${step}"`));
          const write = await victim.nthMatch(/^\s*"method": "(PUT|PATCH|POST|DELETE)"/, k, from + 1);
          await Promise.race([sleep(800), victim.exit]);
          const killedAt = Date.now();
          victim.child.kill('SIGKILL');
          await victim.exit;
          const killedIn = victim.currentStep();
          const again = await rerun(wd, [...sim.flags]);
          await sim.stop();
          const cloud = await simShow(sim.stateFile);
          const inFlight = writesInFlight(cloud.requests, killedAt);
          return { step, k, reached: Boolean(started && write), killedIn, inFlight: inFlight.map((r) => `${r.method} ${r.name}`), rerun: again.status, rerunErr: again.stderr, ...convergence(cloud) };
        } finally {
          await sim.kill();
        }
      });
      const midWrite = trials.filter((t) => t.inFlight.length > 0);
      fig.midWrite = {
        tried: trials.length,
        converged: trials.filter((t) => t.rerun === 0 && t.problems.length === 0).length,
        killedWhileAWriteWasInFlight: midWrite.length,
        writesCaught: [...new Set(midWrite.flatMap((t) => t.inFlight))].sort(),
        duplicateTasks: trials.filter((t) => t.tasks > 1).length,
        duplicateRoleAssignments: trials.filter((t) => t.assignments > 1 || t.assignmentsForTask > 1).length,
      };
      for (const t of trials) {
        const at = `killed on write ${t.k} from the start of ${t.step}`;
        expect(t.reached, at).toBe(true);
        expect(t.rerun, `${at}: ${t.rerunErr}`).toBe(0);
        expect(t.problems, at).toEqual([]);
      }
      // The point of this part: the kills landed between a write and its answer (by the sim's log).
      expect(midWrite.length).toBeGreaterThanOrEqual(Math.ceil(trials.length * 0.75));
    },
    timeout(150_000, 1_800_000),
  );

  it(
    'SIGKILL of the sim while writes flow: its state file parses, holds every acknowledged write, and a restarted sim serves it',
    async () => {
      const n = size(2, 30);
      const random = mulberry32(7);
      const trials = await pool(Array.from({ length: n }, (_, i) => i), size(3, 4), async (i) => {
        const dir = tempDir();
        const stateFile = join(dir, 'cloud.json');
        const sim = await serveSim(stateFile, { speed: 'instant' });
        const ca = readFileSync(sim.caCertFile, 'utf8');
        const target = { endpoint: sim.endpoint, caCert: ca };
        let acked = 0;
        let sent = 0;
        let stop = false;
        // Two writers: the registry's tags carry a counter; a task is created and deleted.
        const tagWriter = (async () => {
          while (!stop) {
            const next = sent + 1;
            sent = next;
            try {
              const r = await rawRequest(target, 'PATCH', `${REGISTRY_PATH}${API}`, { body: { tags: { n: String(next) } } });
              if (r.status < 300) acked = next;
            } catch {
              return; // the sim is gone
            }
          }
        })();
        const taskWriter = (async () => {
          const task = `${REGISTRY_PATH}/tasks/churn-task?api-version=2019-06-01-preview`;
          const body = { location: 'eastus', identity: { type: 'SystemAssigned' }, properties: { platform: { os: 'Linux' }, step: { type: 'EncodedTask', encodedTaskContent: Buffer.from('version: v1.1.0\nsteps:\n  - cmd: hello-world\n').toString('base64') } } };
          for (let k = 0; !stop; k++) {
            try {
              await rawRequest(target, k % 2 ? 'DELETE' : 'PUT', task, k % 2 ? {} : { body });
            } catch {
              return;
            }
          }
        })();
        // Once writes flow (a few acknowledged), kill at a seeded moment among them.
        for (let waited = 0; acked < 3 && waited < 20_000; waited += 10) await sleep(10);
        await sleep(Math.round(random() * 150));
        await sim.kill();
        stop = true;
        await Promise.allSettled([tagWriter, taskWriter]);
        const temps = tornTemps(dir).filter((f) => f.startsWith(basename(stateFile)));
        let parsed = false;
        let n = -1;
        let restarted = false;
        let showError = '';
        try {
          const cloud = await simShow(stateFile);
          parsed = true;
          n = Number(cloud.registries.find((r) => r.name === 'acrtrustdemo')?.tags?.n ?? 0);
          const again = await serveSim(stateFile, { speed: 'instant' });
          try {
            const r = await rawRequest({ endpoint: again.endpoint, caCert: readFileSync(again.caCertFile, 'utf8') }, 'GET', `${REGISTRY_PATH}${API}`);
            restarted = r.status === 200 && Number(r.body?.tags?.n ?? 0) === n;
            if (i === 0 || FULL) {
              // The restarted cloud is usable: the whole workflow runs on it.
              const wizard = await cliAsync(['run', '--target', 'sim', ...again.flags, '--sim-speed', 'instant', '--yes', '--workdir', join(dir, 'wd')]);
              restarted &&= wizard.status === 0;
            }
          } finally {
            await again.stop();
          }
        } catch (e) {
          showError = (e as Error).message;
        }
        return { acked, sent, n, parsed, restarted, tempLeft: temps.length > 0, showError };
      });
      fig.simKilled = {
        tried: trials.length,
        stateParsedAndWhole: trials.filter((t) => t.parsed).length,
        heldEveryAcknowledgedWrite: trials.filter((t) => t.n === t.acked || t.n === t.acked + 1).length,
        restartedAndServed: trials.filter((t) => t.restarted).length,
        killedInsideAStateWrite: trials.filter((t) => t.tempLeft).length,
        writesAcknowledged: trials.reduce((s, t) => s + t.acked, 0),
      };
      for (const t of trials) {
        expect(t.parsed, t.showError).toBe(true);
        // Old or new, never torn: the last acknowledged counter, or the one in flight at the kill.
        expect([t.acked, t.acked + 1], `acked ${t.acked}, sent ${t.sent}`).toContain(t.n);
        expect(t.restarted).toBe(true);
      }
      for (const t of trials) expect(t.acked).toBeGreaterThanOrEqual(3);
    },
    timeout(120_000, 1_800_000),
  );

  it(
    'SIGINT during each step: exit 130, one line, the state saved with the step in progress, and a resume finishes',
    async () => {
      const steps = size(['run-task'], STEP_IDS);
      // Two moments per step: just after it starts, and a little later (which may already be in the next step).
      const offsets = size([60], [60, 400]);
      const cases = steps.flatMap((step) => offsets.map((offset) => ({ step, offset })));
      const trials = await pool(cases, size(4, 6), async ({ step, offset }) => {
        const dir = tempDir();
        // Every call takes 300 ms more, so each step lasts long enough to be interrupted inside it.
        const sim = await serveSim(join(dir, 'cloud.json'), { speed: 'instant', faults: 'latency=300' });
        try {
          await customOriginals(sim); // trusted services off at first, so allow-trusted-services has work to do too
          const wd = join(dir, 'wd');
          const flags = ['run', '--target', 'sim', ...sim.flags, '--sim-speed', 'instant', '--yes', '--workdir', wd];
          const victim = startWizard([...flags, '--json']);
          await victim.waitFor((e) => e.event === 'step-start' && e.id === step);
          await sleep(offset);
          victim.child.kill('SIGINT');
          const { code } = await victim.exit;
          // The summary line (see the report: a step still going after Ctrl-C may print after it).
          const events = victim.lines.map((l) => JSON.parse(l.text));
          const summary = events.find((e) => e.event === 'summary');
          const eventsAfterSummary = summary ? events.length - 1 - events.indexOf(summary) : 0;
          const state = JSON.parse(readText(join(wd, 'state.json')) ?? 'null');
          // The step the signal actually landed in (a short step may be over when it arrives).
          const interruptedAt: string | undefined = summary?.notRun?.[0];
          const before = STEP_IDS.slice(0, STEP_IDS.indexOf(interruptedAt ?? step));
          const savedBefore = before.every((id) => ['done', 'applied'].includes(state?.steps?.[id]?.status));
          const resumed = await cliAsync([...flags, '--json']);
          await sim.stop();
          const cloud = await simShow(sim.stateFile);
          const after = JSON.parse(readText(join(wd, 'state.json')) ?? 'null');
          return {
            step,
            offset,
            code,
            stderr: victim.stderr(),
            interruptedAt,
            eventsAfterSummary,
            outcome: summary?.outcome,
            recorded: interruptedAt ? state?.steps?.[interruptedAt]?.status : undefined,
            savedBefore,
            resumed: resumed.status,
            resumedErr: resumed.stderr,
            allDone: STEP_IDS.every((id) => ['done', 'applied'].includes(after?.steps?.[id]?.status)),
            ...convergence(cloud),
          };
        } finally {
          await sim.kill();
        }
      });
      const interrupted = new Set(trials.map((t) => t.interruptedAt));
      const notInterruptedIn = STEP_IDS.filter((id) => !interrupted.has(id) && steps.includes(id));
      fig.sigint = {
        tried: trials.length,
        stepsInterrupted: interrupted.size,
        notInterruptedIn,
        runsWithEventsAfterTheSummary: trials.filter((t) => t.eventsAfterSummary > 0).length,
        exit130: trials.filter((t) => t.code === 130).length,
        stateSaved: trials.filter((t) => t.savedBefore && t.recorded === 'running').length,
        resumed: trials.filter((t) => t.resumed === 0 && t.allDone && t.problems.length === 0).length,
      };
      for (const t of trials) {
        const at = `SIGINT ${t.offset} ms into ${t.step}`;
        expect(t.code, `${at}: ${t.stderr}`).toBe(130);
        expect(t.stderr, at).toMatch(/^acr-trust: interrupted — progress is saved in .*; run `acr-trust run .*` again to resume\.\n/);
        expect(t.stderr.trim().split('\n').length, at).toBeLessThanOrEqual(2); // the line, and the in-flight task run's note
        expect(t.outcome, at).toBe('interrupted');
        expect(t.eventsAfterSummary, `${at}: the summary is the last --json line`).toBe(0);
        // In the step aimed at, or (for the later moment in a short step) the one after it.
        expect(STEP_IDS.indexOf(t.interruptedAt ?? '') - STEP_IDS.indexOf(t.step), `${at}: interrupted in ${t.interruptedAt}`).toBeGreaterThanOrEqual(0);
        expect(STEP_IDS.indexOf(t.interruptedAt ?? '') - STEP_IDS.indexOf(t.step), `${at}: interrupted in ${t.interruptedAt}`).toBeLessThanOrEqual(t.offset > 200 ? 1 : 0);
        expect(t.savedBefore, at).toBe(true);
        expect(t.recorded, at).toBe('running');
        expect(t.resumed, `${at}: ${t.resumedErr}`).toBe(0);
        expect(t.allDone, at).toBe(true);
        expect(t.problems, at).toEqual([]);
      }
      // Every step aimed at was interrupted inside, by one moment or the other.
      expect(notInterruptedIn).toEqual([]);
    },
    timeout(120_000, 1_800_000),
  );

  it('two wizards on one workdir: the second refuses and names the first; the first finishes undisturbed', async () => {
    const dir = tempDir();
    const wd = join(dir, 'wd');
    // A sim that answers slowly, so the first wizard is still at work when the second starts.
    const sim = await serveSim(join(dir, 'cloud.json'), { speed: 'instant', faults: 'latency=120' });
    const first = startWizard(['run', '--target', 'sim', ...sim.flags, '--sim-speed', 'instant', '--yes', '--workdir', wd, '--json']);
    await first.waitFor((e) => e.event === 'step-start' && e.id === 'create-task');
    // Paused in the middle of its work (a busy machine could otherwise let it finish first).
    first.child.kill('SIGSTOP');
    const second = await rerun(wd, sim.flags);
    first.child.kill('SIGCONT');
    const { code } = await first.exit;
    await sim.stop();
    fig.secondWizard = { refused: second.status === 1 && second.stderr.includes(`pid ${first.child.pid}`), firstFinished: code === 0 };
    expect(second.status, second.stderr).toBe(1);
    expectNoStack(second);
    expect(second.stderr).toContain(`the workdir is in use by \`acr-trust run\`, pid ${first.child.pid} on ${hostname()}`);
    expect(second.stderr).toContain('Wait for that process to finish, or use another --workdir');
    expect(second.stdout).toBe('');
    expect(code, first.stderr()).toBe(0);
    expect(convergence(await simShow(sim.stateFile)).problems).toEqual([]);
  }, timeout(90_000, 600_000));

  it('wizards started at the same instant on a fresh workdir: exactly one runs, the others refuse', async () => {
    const wd = join(tempDir(), 'wd');
    const k = size(3, 6);
    const results = await Promise.all(Array.from({ length: k }, () => cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd])));
    const ran = results.filter((r) => r.status === 0);
    const refused = results.filter((r) => r.status === 1 && r.stderr.includes('the workdir is in use by'));
    fig.raceOnFreshWorkdir = { started: k, ran: ran.length, refused: refused.length };
    expect(ran.length, results.map((r) => r.stderr).join('\n')).toBe(1);
    expect(refused.length).toBe(k - 1);
    for (const r of refused) expectNoStack(r);
    expect(convergence(await simShow(join(wd, 'sim-cloud.json'))).problems).toEqual([]);
  }, timeout(90_000, 600_000));

  it('a lock left by a dead process is taken over; a live owner elsewhere or an unreadable lock is refused with what to do', async () => {
    const cases: { what: string; lock: string | ((pid: number) => string); expect: 'take-over' | RegExp }[] = [
      { what: 'a dead process on this host', lock: (pid) => JSON.stringify({ pid, hostname: hostname(), command: 'run', since: '2025-06-01T00:00:00Z' }), expect: 'take-over' },
      { what: 'a process on another host', lock: JSON.stringify({ pid: process.pid, hostname: 'build-agent-7', command: 'run', since: '2025-06-01T00:00:00Z' }), expect: /in use by `acr-trust run`, pid \d+ on build-agent-7[\s\S]*If it is not running any more, delete .*lock/ },
      { what: 'a lock that is not JSON', lock: '\u0000\u0000garbage', expect: /locked by .*lock, which cannot be read[\s\S]*delete .*lock/ },
    ];
    // A pid that surely belonged to a process that has ended: one we started and waited for.
    const deadPid = await pidOfEndedProcess();
    const base = join(tempDir(), 'wd');
    expect((await rerun(base, ['--until', 'preflight'])).status).toBe(0);
    const outcomes = await Promise.all(
      cases.map(async (c) => {
        const wd = join(tempDir(), 'wd');
        cpSync(base, wd, { recursive: true });
        const stateBefore = readText(join(wd, 'state.json'));
        writeFileSync(join(wd, 'lock'), typeof c.lock === 'function' ? c.lock(deadPid) : c.lock);
        const r = await rerun(wd);
        return { c, r, wd, stateBefore };
      }),
    );
    fig.locks = { cases: outcomes.length, handled: 0 };
    for (const { c, r, wd, stateBefore } of outcomes) {
      expectNoStack(r);
      if (c.expect === 'take-over') {
        expect(r.status, `${c.what}: ${r.stderr}`).toBe(0);
        expect(existsSync(join(wd, 'lock')), 'the lock is released at the end').toBe(false);
      } else {
        expect(r.status, c.what).toBe(1);
        expect(r.stderr, c.what).toMatch(c.expect);
        expect(readText(join(wd, 'state.json')), `${c.what}: state untouched`).toBe(stateBefore);
      }
      (fig.locks as { handled: number }).handled++;
    }
  }, timeout(90_000, 600_000));

  it(
    'reset after a crash in any step restores the registry\'s original network settings exactly, and removes the task and the role assignment',
    async () => {
      const steps = size(['assign-role'], STEP_IDS);
      const offsets = size([400], [150, 600, 1500]);
      const cases = steps.flatMap((step) => offsets.map((offset) => ({ step, offset })));
      const trials = await pool(cases, size(5, 6), async ({ step, offset }) => {
        const dir = tempDir();
        const sim = await serveSim(join(dir, 'cloud.json'), { speed: 'instant', faults: `latency=1000,routes=${WRITE_ROUTES}` });
        try {
          const original = await customOriginals(sim);
          const wd = join(dir, 'wd');
          const victim = startWizard(['run', '--target', 'sim', ...sim.flags, '--sim-speed', 'instant', '--yes', '--workdir', wd, '--json']);
          await victim.waitFor((e) => e.event === 'step-start' && e.id === step);
          await sleep(offset);
          const killedAt = Date.now();
          const killedIn = victim.currentStep();
          victim.child.kill('SIGKILL');
          await victim.exit;
          await sleep(1100); // a write the sim was still answering lands now
          const reset = await cliAsync(['reset', '--target', 'sim', ...sim.flags, '--sim-speed', 'instant', '--yes', '--workdir', wd]);
          await sim.stop();
          const cloud = await simShow(sim.stateFile);
          const registry = cloud.registries.find((r) => r.name === 'acrtrustdemo');
          const inFlight = writesInFlight(cloud.requests, killedAt).map((r) => r.name);
          return {
            step,
            offset,
            killedIn,
            inFlight,
            reset: reset.status,
            resetErr: reset.stderr,
            restored: networkSettings(registry) === original,
            network: networkSettings(registry),
            original,
            tasks: cloud.tasks.length,
            assignments: cloud.roleAssignments.filter((a) => a.properties.principalType !== 'User').length,
          };
        } finally {
          await sim.kill();
        }
      });
      fig.resetAfterCrash = {
        tried: trials.length,
        stepsCrashedIn: [...new Set(trials.map((t) => t.killedIn))].length,
        killedWhileAWriteWasInFlight: trials.filter((t) => t.inFlight.length > 0).length,
        restoredExactly: trials.filter((t) => t.reset === 0 && t.restored).length,
        leftoverTasks: trials.reduce((s, t) => s + t.tasks, 0),
        leftoverRoleAssignments: trials.reduce((s, t) => s + t.assignments, 0),
      };
      for (const t of trials) {
        const at = `crash ${t.offset} ms into ${t.step} (in ${t.killedIn}; writes in flight: ${t.inFlight.join(', ') || 'none'})`;
        expect(t.reset, `${at}: ${t.resetErr}`).toBe(0);
        expect(t.network, at).toBe(t.original);
        expect(t.tasks, at).toBe(0);
        expect(t.assignments, at).toBe(0);
      }
    },
    timeout(120_000, 1_800_000),
  );
});

/** The pid of a process that has ended (started here and waited for). */
function pidOfEndedProcess(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    child.on('close', () => resolve(pid));
  });
}

/**
 * Gives the registry original settings unlike the sim's defaults (trusted services off, a firewall
 * that denies by default with one allowed range), so "restored exactly" is a real comparison.
 */
async function customOriginals(sim: ServedSim): Promise<string> {
  const target = { endpoint: sim.endpoint, caCert: readFileSync(sim.caCertFile, 'utf8') };
  const r = await rawRequest(target, 'PATCH', `${REGISTRY_PATH}${API}`, {
    body: { properties: { networkRuleBypassOptions: 'None', networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '203.0.113.0/24' }] } } },
  });
  if (r.status >= 300) throw new Error(`could not set the original settings: ${r.status} ${r.text}`);
  const got = await rawRequest(target, 'GET', `${REGISTRY_PATH}${API}`);
  return networkSettings(got.body);
}
