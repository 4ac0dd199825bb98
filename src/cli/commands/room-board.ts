/**
 * The board's contents, composed in the CLI layer (src/sim never imports src/azure or the steps):
 * for each learner, the wizard's own ten step checks (`checkSteps`, read-only) run through the real
 * Azure SDK against the room's sim, signed in as the trainer; the learner's task runs and their
 * outcome (ARM's `runErrorMessage`, the cause in words) as ARM returns them; and the last request
 * of theirs the cloud refused (the sim's request log). Snapshots go to the sim's board hub, which
 * sends them to the open pages as server-sent events.
 *
 * When: a learner's row is checked again after any request signed by that learner, and after any
 * write that names their group (the trainer's reset, the trainer's own az commands) — the board's
 * own reads do neither. Checks run a few learners at a time, continuously; each row goes out as
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
const MIN_INTERVAL_MS = 100;

export interface RoomBoard {
  /** Resolves when every learner has been checked once and published. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startRoomBoard(sim: RunningSim): Promise<RoomBoard | undefined> {
  const room = sim.state.room;
  const learners = sim.state.learners;
  if (!room || !learners || !sim.board) return undefined;
  const [{ clientSecretCredential, connect, diagnoseRunLog }, { checkSteps }, { StateStore }, { workflow, timings }] = await Promise.all([
    import('../../azure/index.js'),
    import('../../engine/runner.js'),
    import('../../engine/state.js'),
    import('../../../steps/index.js'),
  ]);
  const trainer = room.identities.find((i) => !i.learner)!;
  const credential = clientSecretCredential({ authorityHost: sim.endpoint, clientId: trainer.clientId, clientSecret: trainer.secret, ca: sim.caCert });
  // One adapter (one TLS connection) without its read cache: every check of the board must read
  // the cloud as it is now, not as an earlier check saw it.
  const shared = connect({ subscriptionId: sim.subscriptionId, credential, endpoint: sim.endpoint, ca: sim.caCert, ...(sim.state.cloud ? { audience: sim.state.cloud.activeDirectoryResourceId } : {}), pollIntervalMs: 10, readCacheMs: 0 });
  const freshCloud = () => shared;
  const scratch = mkdtempSync(join(tmpdir(), 'acr-trust-board-'));
  // Learners take the bypass path (the article's): the agent-pool path's own step has no column.
  const boardSteps = workflow.filter((s) => s.skipReason?.({ answers: {} } as never) === undefined);
  const steps = boardSteps.map((s) => ({ id: s.id, title: s.title }));

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
      answers: { subscription: sim.subscriptionId, resourceGroup, registry, targetRegistry: registry, task, role: 'AcrPush' as const },
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
    const checks = (await checkSteps(boardSteps, world as never, store, { emit: () => {} })) ?? [];
    const done = new Set(checks.filter((c) => c.live.status === 'done').map((c) => c.id));
    let earlierOpen = false;
    const cells = checks.map((c, i) => {
      const live = c.live as { status: string; evidence?: string; change?: string; reason?: string; problem?: { message?: string } };
      const supersededBy = boardSteps[i]!.supersededBy;
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

  const onRequest = (r: RequestRecord) => {
    if (stopped) return;
    if (r.learner) {
      dirty.add(r.learner);
      // A read that finds nothing (404) is how clients ask whether something exists (the wizard's
      // checks, `az … show` before a create): not an error the learner hit.
      const probe = r.status === 404 && (r.method === 'GET' || r.method === 'HEAD');
      if (r.status >= 400 && r.error && !probe) lastErrors.set(r.learner, { at: r.at, method: r.method, path: r.path, status: r.status, error: r.error });
    }
    if (r.write && r.status < 400) {
      const m = /\/resourcegroups\/learner(\d+)(?:\/|$)|\/room\/api\/learners\/(\d+)\//i.exec(r.path);
      const n = m?.[1] ?? m?.[2];
      if (n) {
        const id = ids.find((x) => Number(x) === Number(n));
        if (id) dirty.add(id);
      }
    }
    wake();
  };
  const unsubscribe = sim.onRequest(onRequest);

  // Checks run continuously, CONCURRENCY learners at a time, each learner's row published as soon
  // as its check ends (at most one snapshot per MIN_INTERVAL_MS).
  let active = 0;
  let lastPublish = 0;
  let publishTimer: NodeJS.Timeout | undefined;
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const inFlight = new Set<Promise<void>>();

  function publish(): void {
    publishTimer = undefined;
    if (stopped) return;
    const snapshot: BoardSnapshot = { at: Date.now(), steps, rows: ids.filter((id) => rows.has(id)).map((id) => ({ ...rows.get(id)!, ...(lastErrors.get(id) ? { lastError: lastErrors.get(id) } : {}) })) };
    sim.board!.publish(snapshot);
    lastPublish = snapshot.at;
    if (rows.size === ids.length) readyResolve();
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
          schedulePublish();
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
