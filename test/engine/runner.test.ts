import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcrTrustError } from '../../src/errors.js';
import { checkSteps, NOT_CONFIRMED, runSteps, selectSteps, undoSteps } from '../../src/engine/runner.js';
import { StateStore } from '../../src/engine/state.js';
import type { Step } from '../../src/engine/step.js';
import { collect, counterWorld, setCounter, tempDir, type CounterWorld } from './helpers.js';

const three = () => [setCounter('a'), setCounter('b'), setCounter('c')];
const storeIn = (dir = tempDir()) => StateStore.load(join(dir, 'state.json'));

describe('runSteps', () => {
  it('runs the steps in order, applying the pending ones, and emits start/result/summary', async () => {
    const world = counterWorld({ b: 1 });
    const { events, emit } = collect();
    const report = await runSteps(three(), world, storeIn(), { emit });
    expect(report.outcome).toBe('complete');
    expect(world.writes).toEqual(['set a', 'set c']);
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ['set-a', 'applied'],
      ['set-b', 'done'],
      ['set-c', 'applied'],
    ]);
    expect(events.map((e) => e.type)).toEqual(['step-start', 'step-result', 'step-start', 'step-result', 'step-start', 'step-result', 'summary']);
    expect(events[0]).toMatchObject({ type: 'step-start', id: 'set-a', index: 1, total: 3 });
  });

  it('honours --from, --only and --until, reporting the rest as skipped', async () => {
    const run = async (sel: object) => {
      const world = counterWorld();
      const r = await runSteps(three(), world, storeIn(), { emit: () => {}, ...sel });
      return { writes: world.writes, statuses: r.results.map((x) => x.status) };
    };
    expect(await run({ from: 'set-b' })).toEqual({ writes: ['set b', 'set c'], statuses: ['skipped', 'applied', 'applied'] });
    expect(await run({ until: 'set-b' })).toEqual({ writes: ['set a', 'set b'], statuses: ['applied', 'applied', 'skipped'] });
    expect(await run({ only: 'set-b' })).toEqual({ writes: ['set b'], statuses: ['skipped', 'applied', 'skipped'] });
    expect(await run({ from: 'set-b', until: 'set-b' })).toEqual({ writes: ['set b'], statuses: ['skipped', 'applied', 'skipped'] });
  });

  it('refuses an unknown step id or a contradictory selection with exit 2 and the list of ids', () => {
    const bad = (sel: object) => {
      try {
        selectSteps(three(), sel);
      } catch (e) {
        return e as AcrTrustError;
      }
      throw new Error('expected an error');
    };
    const e = bad({ from: 'nope' });
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('unknown step "nope" for --from');
    expect(e.hint).toContain('set-a, set-b, set-c');
    expect(bad({ only: 'set-a', until: 'set-b' }).exitCode).toBe(2);
    expect(bad({ from: 'set-c', until: 'set-a' }).message).toContain('comes after');
  });

  it('dry run: calls no apply, reports what would change with the az lines, persists nothing', async () => {
    const dir = tempDir();
    const world = counterWorld({ b: 1 });
    const store = StateStore.load(join(dir, 'state.json'), { persist: false });
    const report = await runSteps(three(), world, store, { emit: () => {}, dryRun: true });
    expect(world.writes).toEqual([]);
    expect(report.outcome).toBe('complete');
    expect(report.results.map((r) => r.status)).toEqual(['would-change', 'done', 'would-change']);
    expect(report.results[0]).toMatchObject({ evidence: 'set a from unset to 1', az: ['counter set a 1'] });
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });

  it('dry run: a blocker after a pending change is reported and the preview goes on', async () => {
    const needsA: Step<CounterWorld> = {
      ...setCounter('b'),
      async check({ world }) {
        return world.values.a ? { status: 'pending', change: 'set b' } : { status: 'blocked', reason: 'a is not set', hint: 'set a first' };
      },
    };
    const report = await runSteps([setCounter('a'), needsA, setCounter('c')], counterWorld(), storeIn(), { emit: () => {}, dryRun: true });
    expect(report.results.map((r) => r.status)).toEqual(['would-change', 'blocked', 'would-change']);
    expect(report.results[1]!.evidence).toContain('may clear once the changes above are made');
    expect(report.outcome).toBe('complete');
  });

  it('a blocked step stops the run with its reason, hint and code; later steps are not run', async () => {
    const blocked: Step<CounterWorld> = {
      ...setCounter('b'),
      check: async () => ({ status: 'blocked', reason: 'the SKU is Basic', hint: 'upgrade to Premium', code: 'SkuNotSupported' }),
    };
    const world = counterWorld();
    const store = storeIn();
    const report = await runSteps([setCounter('a'), blocked, setCounter('c')], world, store, { emit: () => {} });
    expect(report.outcome).toBe('stopped');
    expect(report.stoppedAt).toMatchObject({ id: 'set-b', status: 'blocked', problem: { reason: 'the SKU is Basic', hint: 'upgrade to Premium', code: 'SkuNotSupported' } });
    expect(report.notRun).toEqual(['set-c']);
    expect(world.writes).toEqual(['set a']);
    expect(store.step('set-b')).toMatchObject({ status: 'blocked', problem: { code: 'SkuNotSupported' } });
  });

  it('a failing apply is explained by the given rules and stops the run', async () => {
    const failing: Step<CounterWorld> = {
      ...setCounter('a'),
      apply: async () => {
        throw Object.assign(new Error('raw sdk error'), { code: 'PrincipalNotFound' });
      },
    };
    const explain = (e: unknown) =>
      (e as { code?: string }).code === 'PrincipalNotFound'
        ? { reason: 'the identity is not known to the directory yet', hint: 'run again in a minute', code: 'PrincipalNotFound', link: 'https://aka.ms/docs-principaltype' }
        : undefined;
    const report = await runSteps([failing], counterWorld(), storeIn(), { emit: () => {}, explain });
    expect(report.stoppedAt).toMatchObject({ status: 'failed', problem: { code: 'PrincipalNotFound', link: 'https://aka.ms/docs-principaltype' } });
  });

  it('an AcrTrustError from apply fails the step with its message and hint', async () => {
    const failing: Step<CounterWorld> = {
      ...setCounter('a'),
      apply: async () => {
        throw new AcrTrustError('the registry refused', { hint: 'ask an owner', code: 'AuthorizationFailed' });
      },
    };
    const report = await runSteps([failing], counterWorld(), storeIn(), { emit: () => {} });
    expect(report.stoppedAt?.problem).toEqual({ reason: 'the registry refused', hint: 'ask an owner', code: 'AuthorizationFailed', link: undefined });
  });

  it('an unexplained non-AcrTrustError is a bug: recorded as failed, then rethrown', async () => {
    const store = storeIn();
    const buggy: Step<CounterWorld> = {
      ...setCounter('a'),
      apply: async () => {
        throw new TypeError('undefined is not a function');
      },
    };
    await expect(runSteps([buggy], counterWorld(), store, { emit: () => {} })).rejects.toThrow(TypeError);
    expect(store.step('set-a')?.status).toBe('failed');
  });

  it('without a settle rule, a single check after apply decides', async () => {
    const noop: Step<CounterWorld> = { ...setCounter('a'), apply: async () => {} };
    const report = await runSteps([noop], counterWorld(), storeIn(), { emit: () => {} });
    expect(report.stoppedAt?.problem?.reason).toContain('still reports: set a from unset to 1');
  });

  describe('settle', () => {
    /** A fake clock: sleep advances time; `readyAfter` ms after apply the check reports done. */
    function slowStep(readyAfter: number) {
      let t = 0;
      let readyAt = Infinity;
      const sleeps: number[] = [];
      const step: Step<CounterWorld> = {
        ...setCounter('role'),
        settle: { timeoutMs: 60_000, firstDelayMs: 1000, maxDelayMs: 8000, waitingFor: 'the role to take effect' },
        async apply() {
          readyAt = t + readyAfter;
        },
        async check() {
          return t >= readyAt ? { status: 'done', evidence: 'role in effect' } : { status: 'pending', change: 'wait for the role' };
        },
      };
      const clock = {
        now: () => t,
        sleep: async (ms: number) => {
          sleeps.push(ms);
          t += ms;
        },
      };
      return { step, clock, sleeps };
    }

    it('re-checks with exponential backoff up to the maximum delay, showing progress', async () => {
      const { step, clock, sleeps } = slowStep(20_000);
      const { events, emit } = collect();
      const report = await runSteps([step], counterWorld(), storeIn(), { emit, ...clock });
      expect(report.outcome).toBe('complete');
      expect(report.results[0]).toMatchObject({ status: 'applied', evidence: 'role in effect' });
      expect(sleeps).toEqual([1000, 2000, 4000, 8000, 8000]);
      const progress = events.flatMap((e) => (e.type === 'step-progress' ? [e.text] : []));
      expect(progress).toEqual([
        'waiting for the role to take effect — 0 s',
        'waiting for the role to take effect — 1 s',
        'waiting for the role to take effect — 3 s',
        'waiting for the role to take effect — 7 s',
        'waiting for the role to take effect — 15 s',
      ]);
    });

    it('gives up at the timeout and fails the step naming what it waited for', async () => {
      const { step, clock, sleeps } = slowStep(Infinity);
      const report = await runSteps([step], counterWorld(), storeIn(), { emit: () => {}, ...clock });
      expect(report.outcome).toBe('stopped');
      expect(report.stoppedAt?.problem?.reason).toMatch(/^gave up after 60 s waiting for the role to take effect/);
      expect(sleeps.reduce((a, b) => a + b, 0)).toBe(60_000); // the last wait is cut to the deadline
    });

    it('a check that turns blocked while settling fails at once with its reason', async () => {
      const step: Step<CounterWorld> = {
        ...setCounter('run'),
        settle: { timeoutMs: 60_000, firstDelayMs: 10, maxDelayMs: 10, waitingFor: 'the run to finish' },
        apply: async () => {},
        check: async (ctx) =>
          ctx.outputs['set-run']?.scheduled
            ? { status: 'blocked', reason: 'run ca1 failed: not allowed access', hint: 'allow trusted services' }
            : { status: 'pending', change: 'schedule a run' },
      };
      step.apply = async (ctx) => ({ scheduled: true });
      const report = await runSteps([step], counterWorld(), storeIn(), { emit: () => {} });
      expect(report.stoppedAt).toMatchObject({ status: 'failed', problem: { reason: 'run ca1 failed: not allowed access', hint: 'allow trusted services' } });
    });
  });

  it('record() persists at once, so a crash mid-apply keeps what was recorded', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const step: Step<CounterWorld> = {
      ...setCounter('run'),
      async apply(ctx) {
        ctx.record({ runId: 'ca1' });
        const onDisk = JSON.parse(readFileSync(file, 'utf8'));
        expect(onDisk.steps['set-run']).toMatchObject({ status: 'running', outputs: { runId: 'ca1' } });
        throw new AcrTrustError('the process died here');
      },
    };
    await runSteps([step], counterWorld(), StateStore.load(file), { emit: () => {} });
    expect(StateStore.load(file).step('set-run')?.outputs).toEqual({ runId: 'ca1' });
  });

  it('outputs from check, record and apply reach later steps and the state', async () => {
    const first: Step<CounterWorld> = {
      ...setCounter('a'),
      check: async (ctx) => ({ status: 'pending', change: 'x', outputs: { original: 'Enabled' } }),
    };
    first.apply = async (ctx) => {
      ctx.record({ early: 1 });
      first.check = async () => ({ status: 'done', evidence: 'ok' });
      return { late: 2 };
    };
    let seen: unknown;
    const second: Step<CounterWorld> = { ...setCounter('b'), check: async (ctx) => ((seen = ctx.outputs['set-a']), { status: 'done', evidence: 'ok' }) };
    const store = storeIn();
    await runSteps([first, second], counterWorld(), store, { emit: () => {} });
    expect(seen).toEqual({ original: 'Enabled', early: 1, late: 2 });
    expect(store.step('set-a')).toMatchObject({ status: 'applied', outputs: { original: 'Enabled', early: 1, late: 2 } });
  });

  it('a re-run checks every step live: a step a later one reverses on purpose (supersededBy) holds through it, checked now; drift is repaired', async () => {
    const dir = tempDir();
    const world = counterWorld();
    // Like allow-trusted-services then disable-trusted-services: the second step flips the first.
    const flip: Step<CounterWorld> = { ...setCounter('a', 0), id: 'unset-a' };
    const steps = [setCounter('a', 1, { supersededBy: 'unset-a' }), setCounter('b'), flip];
    await runSteps(steps, world, StateStore.load(join(dir, 'state.json')), { emit: () => {} });
    world.writes.length = 0;
    world.values.b = 7; // drift behind the workflow's back
    let checks = 0;
    const counted = steps.map((s) => ({ ...s, check: (ctx: Parameters<typeof s.check>[0]) => (checks++, s.check(ctx)) }));
    const again = await runSteps(counted, world, StateStore.load(join(dir, 'state.json')), { emit: () => {} });
    expect(world.writes).toEqual(['set b']);
    // set-a, the reversing step's check for it, set-b twice (check, re-check after apply), unset-a.
    expect(checks).toBe(5);
    expect(again.results.map((r) => [r.status, r.evidence])).toEqual([
      ['done', 'reversed on purpose by unset-a, which holds (checked now: a = 0)'],
      ['applied', 'b = 1'],
      ['done', 'a = 0'],
    ]);
  });

  it('without a record of the reversing step, a step it would reverse is applied (a first run, or a resumed one)', async () => {
    const world = counterWorld();
    const flip: Step<CounterWorld> = { ...setCounter('a', 0), id: 'unset-a' };
    world.values.a = 0;
    const r = await runSteps([setCounter('a', 1, { supersededBy: 'unset-a' }), flip], world, storeIn(), { emit: () => {}, until: 'set-a' });
    expect(r.results.map((x) => x.status)).toEqual(['applied', 'skipped']);
    expect(world.writes).toEqual(['set a']);
  });

  it('--from re-checks the steps it selects and leaves the others alone', async () => {
    const dir = tempDir();
    const world = counterWorld();
    await runSteps(three(), world, StateStore.load(join(dir, 'state.json')), { emit: () => {} });
    delete world.values.c; // drift
    world.writes.length = 0;
    const again = await runSteps(three(), world, StateStore.load(join(dir, 'state.json')), { emit: () => {}, from: 'set-b' });
    expect(again.results.map((r) => r.status)).toEqual(['skipped', 'done', 'applied']);
    expect(world.writes).toEqual(['set c']);
  });

  it('resumes after a stop: the blocker cleared, the run picks up where it stopped', async () => {
    const dir = tempDir();
    const world = counterWorld();
    let sku = 'Basic';
    const needsPremium: Step<CounterWorld> = {
      ...setCounter('b'),
      async check(ctx) {
        return sku === 'Premium' ? setCounter('b').check(ctx) : { status: 'blocked', reason: 'Basic SKU', hint: 'upgrade' };
      },
    };
    const steps = [setCounter('a'), needsPremium, setCounter('c')];
    const first = await runSteps(steps, world, StateStore.load(join(dir, 'state.json')), { emit: () => {} });
    expect(first.outcome).toBe('stopped');
    sku = 'Premium';
    const second = await runSteps(steps, world, StateStore.load(join(dir, 'state.json')), { emit: () => {} });
    expect(second.results.map((r) => r.status)).toEqual(['done', 'applied', 'applied']);
    expect(world.writes).toEqual(['set a', 'set b', 'set c']);
  });

  it('Ctrl-C: aborting the signal ends a wait at once; the outcome is interrupted and the state saved', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const ac = new AbortController();
    const waiting: Step<CounterWorld> = {
      ...setCounter('run'),
      settle: { timeoutMs: 600_000, firstDelayMs: 60_000, maxDelayMs: 60_000, waitingFor: 'the run' },
      async apply(ctx) {
        ctx.record({ runId: 'ca7' });
      },
      check: async (ctx) => {
        if (ctx.outputs['set-run']?.runId) setTimeout(() => ac.abort(), 20);
        return { status: 'pending', change: 'run' };
      },
    };
    const { events, emit } = collect();
    // Without the abort the wait lasts 60 s, past the test's timeout: finishing at all is the check.
    const report = await runSteps([waiting, setCounter('x')], counterWorld(), StateStore.load(file), { emit, signal: ac.signal });
    expect(report.outcome).toBe('interrupted');
    expect(report.notRun).toEqual(['set-run', 'set-x']);
    expect(events.at(-1)).toMatchObject({ type: 'summary', outcome: 'interrupted' });
    expect(StateStore.load(file).step('set-run')).toMatchObject({ status: 'running', outputs: { runId: 'ca7' } });
  });

  it('never keeps a secret: token-like keys and signed URLs are redacted', async () => {
    const store = storeIn();
    const step: Step<CounterWorld> = {
      ...setCounter('run'),
      async apply(ctx) {
        ctx.record({ runId: 'ca1', logLink: 'https://x.blob.core.windows.net/logs/ca1?sv=1&sig=abc', accessToken: 'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.sig', note: 'https://x/?sig=1' });
      },
    };
    await runSteps([step], counterWorld(), store, { emit: () => {} });
    const text = readFileSync(store.file, 'utf8');
    expect(text).not.toContain('sig=');
    expect(text).not.toContain('eyJ');
    expect(store.step('set-run')?.outputs).toMatchObject({ runId: 'ca1', logLink: '[redacted]', accessToken: '[redacted]', note: '[redacted]' });
  });
});

describe('checkSteps', () => {
  it('reports each live check without applying or persisting anything', async () => {
    const dir = tempDir();
    const world = counterWorld({ a: 1 });
    const boom: Step<CounterWorld> = { ...setCounter('c'), check: async () => Promise.reject(new AcrTrustError('cannot read', { code: 'AuthorizationFailed' })) };
    const checks = await checkSteps([setCounter('a'), setCounter('b'), boom], world, StateStore.load(join(dir, 'state.json')), { emit: () => {} });
    expect(checks?.map((c) => [c.id, c.live.status])).toEqual([
      ['set-a', 'done'],
      ['set-b', 'pending'],
      ['set-c', 'error'],
    ]);
    expect(world.writes).toEqual([]);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });
});

describe('undoSteps', () => {
  it('undoes in reverse order, marks the state reset, and a second reset still converges', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const world = counterWorld();
    const seen: unknown[] = [];
    const a = setCounter('a');
    const steps = [
      { ...a, undo: async (ctx: Parameters<NonNullable<typeof a.undo>>[0]) => (seen.push(ctx.outputs['set-a']), a.undo!(ctx)) },
      setCounter('b'),
      { ...setCounter('c'), undo: undefined },
    ];
    steps[0]!.apply = async () => ((world.values.a = 1), { original: 0 });
    await runSteps(steps, world, StateStore.load(file), { emit: () => {} });
    world.writes.length = 0;

    const report = await undoSteps(steps, world, StateStore.load(file), { emit: () => {} });
    expect(report.outcome).toBe('complete');
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ['set-c', 'skipped'],
      ['set-b', 'undone'],
      ['set-a', 'undone'],
    ]);
    expect(world.writes).toEqual(['unset b', 'unset a']);
    const after = StateStore.load(file).state;
    expect(after.steps).toEqual({});
    expect(after.lastReset?.outputs['set-a']).toEqual({ original: 0 });

    const again = await undoSteps(steps, world, StateStore.load(file), { emit: () => {} });
    expect(again.outcome).toBe('complete');
    expect(seen).toEqual([{ original: 0 }, { original: 0 }]);
    // Nothing left to put back: the second reset says so for each step, and changes nothing.
    expect(again.results.map((r) => [r.id, r.status, r.evidence])).toEqual([
      ['set-c', 'skipped', 'nothing to undo'],
      ['set-b', 'unchanged', 'b is unset: nothing to undo'],
      ['set-a', 'unchanged', 'a is unset: nothing to undo'],
    ]);
    expect(world.writes).toEqual(['unset b', 'unset a']);
  });
});

describe('runSteps with a person to ask (beforeStep, beforeApply)', () => {
  const risky = (name: string) => setCounter(name, 1, { risky: `setting ${name} cuts someone off` });

  it('beforeApply is asked only between a pending check and apply, with the change', async () => {
    const world = counterWorld({ b: 1 });
    const asked: [string, string][] = [];
    const report = await runSteps([setCounter('a'), setCounter('b'), risky('c')], world, storeIn(), {
      emit: () => {},
      beforeApply: async (step, change) => {
        asked.push([step.id, change]);
        return true;
      },
    });
    expect(report.outcome).toBe('complete');
    expect(asked).toEqual([
      ['set-a', 'set a from unset to 1'],
      ['set-c', 'set c from unset to 1'],
    ]); // set-b already held: nothing to confirm
    expect(world.writes).toEqual(['set a', 'set c']);
  });

  it('declined: the step is blocked (NotConfirmed), nothing applied, recorded; the run stops there and a re-run asks again', async () => {
    const world = counterWorld();
    const store = storeIn();
    const steps = [setCounter('a'), risky('b'), setCounter('c')];
    const report = await runSteps(steps, world, store, { emit: () => {}, beforeApply: async (step) => !step.risky });
    expect(report.outcome).toBe('stopped');
    expect(report.stoppedAt).toMatchObject({ id: 'set-b', status: 'blocked', evidence: 'not confirmed, so nothing was changed: set b from unset to 1', problem: { code: NOT_CONFIRMED } });
    expect(report.notRun).toEqual(['set-c']);
    expect(world.writes).toEqual(['set a']);
    expect(store.step('set-b')).toMatchObject({ status: 'blocked', problem: { code: NOT_CONFIRMED } });

    const again = await runSteps(steps, world, store, { emit: () => {}, beforeApply: async () => true });
    expect(again.outcome).toBe('complete');
    expect(world.writes).toEqual(['set a', 'set b', 'set c']);
  });

  it('never asked in a dry run', async () => {
    const report = await runSteps([risky('a')], counterWorld(), storeIn(), {
      emit: () => {},
      dryRun: true,
      beforeApply: async () => {
        throw new Error('asked in a dry run');
      },
    });
    expect(report.results[0]!.status).toBe('would-change');
  });

  it('beforeStep is asked after the step starts, before anything of it runs, and not for steps an earlier run finished', async () => {
    const world = counterWorld();
    const store = storeIn();
    await runSteps([setCounter('a')], world, store, { emit: () => {} });
    const { events, emit } = collect();
    const asked: string[] = [];
    const report = await runSteps([setCounter('a'), setCounter('b')], world, store, {
      emit,
      beforeStep: async (step) => {
        asked.push(step.id);
        expect(events.at(-1)).toMatchObject({ type: 'step-start', id: step.id });
        return true;
      },
    });
    expect(report.outcome).toBe('complete');
    expect(asked).toEqual(['set-b']);
  });

  it('beforeStep declined: the step is blocked without being checked or recorded; the rest not run', async () => {
    const world = counterWorld();
    const store = storeIn();
    let checked = false;
    const watched: Step<CounterWorld> = {
      ...setCounter('b'),
      check: async () => {
        checked = true;
        return { status: 'pending', change: 'set b' };
      },
    };
    const report = await runSteps([setCounter('a'), watched, setCounter('c')], world, store, {
      emit: () => {},
      beforeStep: async (step) => step.id !== 'set-b',
    });
    expect(report.outcome).toBe('stopped');
    expect(report.stoppedAt).toMatchObject({ id: 'set-b', status: 'blocked', problem: { code: NOT_CONFIRMED, reason: 'not started: the run was stopped before this step' } });
    expect(report.notRun).toEqual(['set-c']);
    expect(checked).toBe(false);
    expect(store.step('set-b')).toBeUndefined();
    expect(world.writes).toEqual(['set a']);
  });

  it('Ctrl-C at a question (the hook throws once the signal aborted) ends the run as interrupted, not failed', async () => {
    for (const hook of ['beforeStep', 'beforeApply'] as const) {
      const ac = new AbortController();
      const cancelled = async () => {
        ac.abort();
        throw Object.assign(new Error('cancelled at a question'), { name: 'AcrTrustError' });
      };
      const store = storeIn();
      const report = await runSteps([setCounter('a'), setCounter('b')], counterWorld(), store, { emit: () => {}, signal: ac.signal, [hook]: cancelled });
      expect(report.outcome, hook).toBe('interrupted');
      expect(report.results, hook).toEqual([]);
      expect(report.notRun, hook).toEqual(['set-a', 'set-b']);
    }
  });

  it('a beforeApply that fails otherwise (say, reading the registry) fails the step with its explanation', async () => {
    const report = await runSteps([risky('a')], counterWorld(), storeIn(), {
      emit: () => {},
      beforeApply: async () => {
        throw new AcrTrustError('Could not read registry r: the resource was not found.', { code: 'ResourceNotFound', hint: 'Check the name.' });
      },
    });
    expect(report.stoppedAt).toMatchObject({ status: 'failed', problem: { reason: 'Could not read registry r: the resource was not found.', code: 'ResourceNotFound' } });
  });

  it('a blocked check keeps its documentation link in the problem', async () => {
    const blocked: Step<CounterWorld> = {
      ...setCounter('a'),
      check: async () => ({ status: 'blocked', reason: 'Basic', hint: 'upgrade', code: 'SkuNotPremium', link: 'https://aka.ms/x' }),
    };
    const report = await runSteps([blocked], counterWorld(), storeIn(), { emit: () => {} });
    expect(report.stoppedAt!.problem).toEqual({ reason: 'Basic', hint: 'upgrade', code: 'SkuNotPremium', link: 'https://aka.ms/x' });
  });
});
