/**
 * The board's contents, composed in the CLI layer (src/sim never imports src/azure or the steps):
 * for each learner, the wizard's own ten step checks (`checkSteps`, read-only) run through the real
 * Azure SDK against the room's sim as the trainer — handed to the sim in this process
 * (`sim.dispatch`, the same routes and access check as over HTTPS, without the network); the learner's task runs and their
 * outcome (ARM's `runErrorMessage`, the cause in words) as ARM returns them; and the last request
 * of theirs the cloud refused (the sim's request log). Snapshots go to the sim's board hub, which
 * sends them to the open pages as server-sent events.
 *
 * When: a learner's row is checked again after every change that can move its cells — a write
 * the cloud accepted that the learner signed or that names their group (the trainer's reset, the
 * trainer's own az commands) — and, since some of the cloud moves with time and no request (a run
 * queued → running → finished, an operation finishing at realistic speed), every
 * FOLLOW_UP_MS while one of their runs is unfinished and once FOLLOW_UP_MS after their last change.
 * Reads change nothing, so they re-run no check (a read the cloud refused still shows at once as
 * the learner's last error). Changes that arrive while a learner's check is queued or running are
 * taken together by one later check. Checks run a few learners at a time; each row goes out as
 * soon as its check ends, at most one snapshot per 100 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestRecord, RunningSim } from '../../sim/index.js';
import type { BoardRow, BoardSnapshot } from '../../sim/index.js';
import type { Run } from '../../azure/index.js';
import { learnerNames } from '../../sim/index.js';

/** How many learners' checks run at once. */
const CONCURRENCY = 4;
/** Fewest ms between two snapshots. */
const MIN_INTERVAL_MS = 50;
/** A row is checked again this long after a change, and this often while a run of theirs is unfinished. */
const FOLLOW_UP_MS = 1000;

export interface RoomBoard {
  /** Resolves when every learner has been checked once and published. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startRoomBoard(sim: RunningSim): Promise<RoomBoard | undefined> {
  const room = sim.state.room;
  const learners = sim.state.learners;
  if (!room || !learners || !sim.board) return undefined;
  const [{ connect, diagnoseRunLog, simCredential }, { applicableSteps, checkSteps }, { StateStore }, { workflow, timings }] = await Promise.all([
    import('../../azure/index.js'),
    import('../../engine/runner.js'),
    import('../../engine/state.js'),
    import('../../../steps/index.js'),
  ]);
  const trainer = room.identities.find((i) => !i.learner)!;
  // One adapter without its read cache (every check of the board must read the cloud as it is now,
  // not as an earlier check saw it), its requests handed to the sim in this process as the trainer
  // (sim.dispatch: the same routes and access check, no socket or TLS; no token is needed in
  // process, so the credential is the sim's placeholder). Run logs come over HTTPS.
  const shared = connect({
    subscriptionId: sim.subscriptionId,
    credential: simCredential(),
    endpoint: sim.endpoint,
    ca: sim.caCert,
    pollIntervalMs: 10,
    ...(sim.state.cloud ? { audience: sim.state.cloud.activeDirectoryResourceId } : {}),
    readCacheMs: 0,
    transport: (request) => sim.dispatch(request, { principalId: trainer.principalId }),
  });
  const freshCloud = () => shared;
  const scratch = mkdtempSync(join(tmpdir(), 'acr-trust-board-'));
  // The columns: the steps of the learners' path (the bypass: the room's answers name no agent
  // pool), as `status` and `verify` check them (applicableSteps).
  const answersOf = (resourceGroup: string, registry: string, task: string) => ({ subscription: sim.subscriptionId, resourceGroup, registry, targetRegistry: registry, task, role: 'AcrPush' as const });
  const pathSteps = (world: unknown) => applicableSteps(workflow, world as never).applies;
  const first = learnerNames(1, learners);
  const steps = pathSteps({ answers: answersOf(first.resourceGroup, first.registry, 'acr-trust-task'), cloud: shared, timing: timings.instant }).map((s) => ({ id: s.id, title: s.title }));

  const ids = room.identities.filter((i) => i.learner).map((i) => i.learner!);
  const rows = new Map<string, BoardRow>();
  const lastErrors = new Map<string, BoardRow['lastError']>();
  /** A finished run's cause, by run id (ARM id): its log does not change any more. */
  const causes = new Map<string, string>();
  const dirty = new Set<string>(ids);
  let stopped = false;

  /** The task a learner's checks look at: theirs if they made exactly one, else the wizard's default name. */
  const taskOf = (resourceGroup: string): string => {
    const mine = Object.values(sim.state.tasks).filter((t) => t.id.toLowerCase().includes(`/resourcegroups/${resourceGroup.toLowerCase()}/`));
    return mine.length === 1 ? mine[0]!.name : (mine.find((t) => t.name === 'acr-trust-task')?.name ?? 'acr-trust-task');
  };

  async function checkLearner(id: string): Promise<BoardRow> {
    const started = Date.now();
    const { resourceGroup, registry } = learnerNames(Number(id), learners!);
    const task = taskOf(resourceGroup);
    const cloud = freshCloud();
    const world = {
      answers: answersOf(resourceGroup, registry, task),
      cloud,
      timing: timings.instant,
    };
    const store = StateStore.load(join(scratch, `${id}.json`), { persist: false });
    // The two run steps judge a run the wizard recorded; a learner's own runs stand in for that
    // record — the task's last successful run for run-task, the run after it for confirm-denied —
    // and the steps' own checks read those runs live and decide.
    const runs = await cloud.listRuns(resourceGroup, registry).catch(() => undefined);
    const ofTask = (runs ?? []).filter((r) => !r.task || r.task.split('/').pop()!.toLowerCase() === task.toLowerCase()).sort((a, b) => String(a.createTime).localeCompare(String(b.createTime)));
    const firstOk = [...ofTask].reverse().find((r) => r.status === 'Succeeded') ?? ofTask[ofTask.length - 1];
    if (firstOk) store.record('run-task', { runId: firstOk.runId });
    const after = firstOk ? ofTask.filter((r) => String(r.createTime) > String(firstOk.createTime)) : [];
    if (after.length) store.record('confirm-denied', { runId: after[after.length - 1]!.runId });
    const path = pathSteps(world);
    const checks = (await checkSteps(path, world as never, store, { emit: () => {} })) ?? [];
    const done = new Set(checks.filter((c) => c.live.status === 'done').map((c) => c.id));
    let earlierOpen = false;
    const cells = checks.map((c, i) => {
      const live = c.live as { status: string; evidence?: string; change?: string; reason?: string; problem?: { message?: string } };
      const supersededBy = path[i]!.supersededBy;
      if (live.status !== 'done' && supersededBy && done.has(supersededBy)) return { step: c.id, status: 'reversed' as const, text: `reversed on purpose by ${supersededBy}` };
      const text = live.evidence ?? live.change ?? live.reason ?? live.problem?.message ?? live.status;
      let status = (['done', 'pending', 'blocked'].includes(live.status) ? live.status : 'error') as BoardRow['cells'][number]['status'];
      // Blocked only because an earlier step has not happened yet (no task to grant a role to): not yet, not wrong.
      if (status === 'blocked' && earlierOpen) status = 'pending';
      if (status !== 'done') earlierOpen = true;
      return { step: c.id, status, text };
    });
    // Why a failed run failed, in words: the wizard's own reading of its log (diagnoseRunLog), once per run.
    for (const r of runs ?? []) {
      if (r.status !== 'Failed' || causes.has(r.id)) continue;
      const log = await cloud.readRunLog(resourceGroup, registry, r.runId).catch(() => undefined);
      const d = log === undefined ? undefined : diagnoseRunLog(log);
      causes.set(r.id, d ? `${d.rule.message} (${d.line})` : (r.runErrorMessage ?? 'failed'));
    }
    return {
      learner: id,
      resourceGroup,
      registry,
      task,
      cells,
      runs: runsOf(runs, causes),
      ...(lastErrors.get(id) ? { lastError: lastErrors.get(id) } : {}),
      checkedAt: started,
    };
  }

  /** Pending follow-up checks, by learner. */
  const followUps = new Map<string, NodeJS.Timeout>();
  const followUp = (id: string) => {
    if (stopped || followUps.has(id)) return;
    const t = setTimeout(() => {
      followUps.delete(id);
      dirty.add(id);
      wake();
    }, FOLLOW_UP_MS);
    t.unref();
    followUps.set(id, t);
  };

  const onRequest = (r: RequestRecord) => {
    if (stopped) return;
    if (r.learner) {
      // A read that finds nothing (404) is how clients ask whether something exists (the wizard's
      // checks — a GET, or POST listDetails for a task — `az … show` before a create): not an
      // error the learner hit. Reads are the routes that change nothing, whatever their method.
      const probe = r.status === 404 && !r.write;
      if (r.status >= 400 && r.error && !probe) {
        lastErrors.set(r.learner, { at: r.at, method: r.method, path: r.path, status: r.status, error: r.error });
        changed.add(r.learner);
        schedulePublish();
      }
    }
    if (!r.write || r.status >= 400) return;
    // A change: the learner who made it, and the learner whose group it names.
    const m = /\/resourcegroups\/learner(\d+)(?:\/|$)|\/room\/api\/learners\/(\d+)\//i.exec(r.path);
    const n = m?.[1] ?? m?.[2];
    const named = n ? ids.find((x) => Number(x) === Number(n)) : undefined;
    for (const id of new Set([r.learner, named])) {
      if (id === undefined || !ids.includes(id)) continue;
      dirty.add(id);
      clearTimeout(followUps.get(id));
      followUps.delete(id);
      followUp(id);
    }
    wake();
  };
  const unsubscribe = sim.onRequest(onRequest);

  // Checks run CONCURRENCY learners at a time, each learner's row published as soon as its check
  // ends (at most one event per MIN_INTERVAL_MS): the whole room until every row has been checked
  // once, then only the rows that changed.
  const changed = new Set<string>();
  let active = 0;
  let lastPublish = 0;
  let publishTimer: NodeJS.Timeout | undefined;
  /** Every row has been published once: from then on, only changed rows go out. */
  let whole = false;
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const inFlight = new Set<Promise<void>>();

  function publish(): void {
    publishTimer = undefined;
    if (stopped) return;
    const rowOf = (id: string): BoardRow => ({ ...rows.get(id)!, ...(lastErrors.get(id) ? { lastError: lastErrors.get(id) } : {}) });
    const at = Date.now();
    if (!whole) {
      sim.board!.publish({ at, steps, rows: ids.filter((id) => rows.has(id)).map(rowOf) } satisfies BoardSnapshot);
      if (rows.size === ids.length) {
        whole = true;
        readyResolve();
      }
    } else if (changed.size > 0) {
      sim.board!.publishRows({ at, rows: [...changed].filter((id) => rows.has(id)).map(rowOf) });
    }
    changed.clear();
    lastPublish = at;
  }
  function schedulePublish(): void {
    if (publishTimer || stopped) return;
    publishTimer = setTimeout(publish, Math.max(0, lastPublish + MIN_INTERVAL_MS - Date.now()));
    publishTimer.unref();
  }

  function wake(): void {
    while (!stopped && active < CONCURRENCY && dirty.size > 0) {
      const id = dirty.values().next().value as string;
      dirty.delete(id);
      active++;
      const p = checkLearner(id)
        .then((row) => {
          rows.set(id, row);
          changed.add(id);
          schedulePublish();
          // A run still moving: look again soon, though nobody asks.
          if (row.runs.some((r) => r.status === 'Queued' || r.status === 'Running' || r.status === 'Started')) followUp(id);
        })
        .catch(() => {
          // A check that could not run at all (the sim stopping): again on the next change.
          if (!stopped) dirty.add(id);
        })
        .finally(() => {
          active--;
          inFlight.delete(p);
          wake();
        });
      inFlight.add(p);
    }
  }

  wake();
  return {
    ready,
    async stop() {
      stopped = true;
      unsubscribe();
      for (const t of followUps.values()) clearTimeout(t);
      if (publishTimer) clearTimeout(publishTimer);
      await Promise.allSettled([...inFlight]);
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** A learner's runs, newest first, as ARM lists them, a failed one with its cause in words. */
function runsOf(listed: Run[] | undefined, causes: Map<string, string>): BoardRow['runs'] {
  return [...(listed ?? [])]
    .sort((a, b) => String(b.createTime ?? '').localeCompare(String(a.createTime ?? '')))
    .map((r) => ({ id: r.runId, status: r.status, ...(r.status === 'Failed' ? { cause: causes.get(r.id) ?? r.runErrorMessage ?? 'failed' } : {}) }));
}
