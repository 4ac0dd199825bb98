/**
 * The doctor against the task's runs and its limits: the last run's failure line agrees with the
 * prediction or the doctor says it does not; `--run` schedules one run and follows it; nothing it
 * prints or writes holds a secret (a credential's password, the log's SAS link); bad names are
 * exit 2 and a read the caller may not make is exit 1, naming the permission.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCTOR_FLOOR } from '../../src/doctor/read.js';
import { rawRequest } from '../helpers/sim.js';
import { CLOSED_WITH_BYPASS, RG, pushYaml, systemCredential, useDoctorBench } from './helpers.js';

const bench = useDoctorBench();

async function patchRegistry(name: string, properties: Record<string, unknown>): Promise<void> {
  const path = `/subscriptions/${bench.sim.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/${name}?api-version=2025-11-01`;
  const r = await rawRequest(bench.sim, 'PATCH', path, { body: { properties } });
  expect(r.status).toBeLessThan(300);
}

/** Every file under `dir`, read as text. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(readFileSync(p, 'utf8'));
  }
  return out;
}

describe('acr-trust doctor and the last runs', () => {
  it("agrees with a failed run's log line, and says so when a run that succeeded would now be refused", async () => {
    const reg = await bench.registry('drlastrun001', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'last-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    expect(await bench.schedule(reg.name, task.id!)).toBeTruthy();
    // The run succeeded; now the June 2025 switch goes off (as an IaC apply flips it back).
    await patchRegistry(reg.name, { networkRuleBypassAllowedForTasks: false });
    const changed = await bench.doctor(['--registry', reg.name, '--task', 'last-task', '--json']);
    expect(changed.status).toBe(3);
    expect(changed.summary.lastRun).toMatchObject({ status: 'Succeeded', agrees: false });
    expect(changed.summary.lastRun.note).toMatch(/succeeded, but the settings now would refuse it/);

    // A run now fails; its log line is the refused token exchange, as predicted.
    await bench.schedule(reg.name, task.id!);
    const failed = await bench.doctor(['--registry', reg.name, '--task', 'last-task', '--json']);
    expect(failed.status).toBe(3);
    expect(failed.summary.lastRun).toMatchObject({ status: 'Failed', agrees: true });
    expect(failed.summary.lastRun.line).toMatch(/403/);

    // Switched back on, the failed run disagrees with the (healthy) prediction.
    await patchRegistry(reg.name, { networkRuleBypassAllowedForTasks: true });
    const fixed = await bench.doctor(['--registry', reg.name, '--task', 'last-task']);
    expect(fixed.status).toBe(0);
    expect(fixed.stdout).toMatch(/disagrees: The last run \(\w+\) failed .* but every access is allowed now/);
  });

  it('a cold doctor on a task with two registries reads each resource once, plus the failed run\'s log (no writes)', async () => {
    const home = await bench.registry('drcounthome1', CLOSED_WITH_BYPASS);
    const base = await bench.registry('drcountbase1', { ...CLOSED_WITH_BYPASS, networkRuleBypassAllowedForTasks: false });
    const yaml = ['version: v1.1.0', 'steps:', `  - cmd: ${base.loginServer}/base:1.0 echo ready`, ...pushYaml(home.loginServer).split('\n').slice(2)].join('\n');
    const task = await bench.task(home.name, 'count-task', { yaml, credentials: systemCredential(home.loginServer, base.loginServer) });
    await bench.role(home.id, 'AcrPush', task.principalId!);
    await bench.role(base.id, 'AcrPull', task.principalId!);
    await bench.schedule(home.name, task.id!);
    const since = bench.sim.requests.length;
    const r = await bench.doctor(['--registry', home.name, '--task', 'count-task', '--json']);
    expect(r.status).toBe(3);
    const byRoute: Record<string, number> = {};
    for (const q of bench.sim.requests.slice(since)) byRoute[q.name] = (byRoute[q.name] ?? 0) + 1;
    expect(byRoute).toEqual(DOCTOR_FLOOR);
    expect(r.accesses.map((a) => [a.kind, a.registry, a.verdict])).toEqual([
      ['pull', base.name, 'refused'],
      ['push', home.name, 'allowed'],
    ]);
  });

  it('--run schedules one run, follows it and compares it with the prediction', async () => {
    const reg = await bench.registry('drrunflag001', CLOSED_WITH_BYPASS);
    const task = await bench.task(reg.name, 'run-task1', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    const refused = await bench.doctor(['--registry', reg.name, '--task', 'run-task1', '--json', '--run']);
    expect(refused.status).toBe(3);
    const run = refused.objects.find((o) => o.type === 'run');
    expect(run).toMatchObject({ status: 'Failed', agrees: true });
    expect(run.line).toMatch(/unauthorized/);
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const ok = await bench.doctor(['--registry', reg.name, '--task', 'run-task1', '--json', '--run']);
    expect(ok.status).toBe(0);
    expect(ok.objects.find((o) => o.type === 'run')).toMatchObject({ status: 'Succeeded', agrees: true });
  });

  it('prints and writes no secret: not the password of a credential, not the log link, not a token', async () => {
    const reg = await bench.registry('drsecrets001', { ...CLOSED_WITH_BYPASS, networkRuleBypassAllowedForTasks: false });
    const password = 'S3cr3t-Pa55-do-not-print';
    const task = await bench.task(reg.name, 'secret-task', {
      yaml: pushYaml(reg.loginServer),
      credentials: {
        sourceRegistry: { loginMode: 'None' },
        customRegistries: {
          [reg.loginServer]: { identity: '[system]' },
          'docker.io': { userName: { type: 'Opaque', value: 'builder' }, password: { type: 'Opaque', value: password } },
        },
      },
    });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    await bench.schedule(reg.name, task.id!); // fails: its log is read through a SAS link
    for (const args of [['--json'], [], ['--json', '--run']]) {
      const r = await bench.doctor(['--registry', reg.name, '--task', 'secret-task', ...args]);
      expect(r.status).toBe(3);
      for (const text of [r.stdout, r.stderr, ...filesUnder(r.workdir)]) {
        expect(text).not.toContain(password);
        expect(text).not.toMatch(/[?&](sig|se|sv)=/);
        expect(text).not.toMatch(/bearer\s+\S/i);
      }
      if (args.includes('--json')) expect(r.summary.lastRun.line).toMatch(/403/);
    }
  });

  it('bad names are exit 2 with what exists; no stack trace', async () => {
    const reg = await bench.registry('drbadinput01', {});
    await bench.task(reg.name, 'real-task', { yaml: pushYaml(reg.loginServer) });
    const noTask = await bench.doctor(['--registry', reg.name, '--task', 'missing-task']);
    expect(noTask.status).toBe(2);
    expect(noTask.stderr).toMatch(/has no task named missing-task/);
    expect(noTask.stderr).toMatch(/Its tasks: real-task/);
    const noRegistry = await bench.doctor(['--registry', 'nosuchregistry', '--task', 'real-task']);
    expect(noRegistry.status).toBe(2);
    expect(noRegistry.stderr).toMatch(/no registry nosuchregistry in resource group/);
    for (const r of [noTask, noRegistry]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('acr-trust doctor --run-id', () => {
  it('a quick run (az acr build/run) against a closed registry: never trusted, whatever the switches', async () => {
    const reg = await bench.registry('drquickrun01', CLOSED_WITH_BYPASS);
    const run = await bench.clients.registries.registries.beginScheduleRunAndWait(
      RG,
      reg.name,
      { type: 'EncodedTaskRunRequest', encodedTaskContent: Buffer.from(pushYaml(reg.loginServer)).toString('base64'), platform: { os: 'Linux' } } as any,
      { updateIntervalInMs: 10 },
    );
    const r = await bench.doctor(['--registry', reg.name, '--run-id', run.runId!, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.accesses).toHaveLength(1);
    expect(r.accesses[0]).toMatchObject({ kind: 'push', verdict: 'refused', cause: 'quick-run' });
    expect(r.accesses[0].findings[0].words).toMatch(/quick run .* is never a trusted service/);
    expect(r.summary.lastRun).toMatchObject({ runId: run.runId, status: 'Failed', agrees: true });
  });

  it("a task's run: explains that task, comparing that run", async () => {
    const reg = await bench.registry('drrunidtask1', { ...CLOSED_WITH_BYPASS, networkRuleBypassAllowedForTasks: false });
    const task = await bench.task(reg.name, 'runid-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await bench.role(reg.id, 'AcrPush', task.principalId!);
    const runId = await bench.schedule(reg.name, task.id!);
    const r = await bench.doctor(['--registry', reg.name, '--run-id', runId, '--json']);
    expect(r.status).toBe(3);
    expect(r.accesses[0]).toMatchObject({ verdict: 'refused', cause: 'task-bypass-off' });
    expect(r.summary).toMatchObject({ task: 'runid-task', lastRun: { runId, status: 'Failed', agrees: true } });
  });
});

describe('acr-trust doctor where Tasks are not allowed on the subscription', () => {
  const blocked = useDoctorBench({ scenario: 'tasks-not-allowed' });
  it('--run: the schedule is refused (TasksOperationsNotAllowed): said in the owner\'s words, exit 3', async () => {
    const reg = await blocked.registry('drblocked001', CLOSED_WITH_BYPASS);
    const task = await blocked.task(reg.name, 'blocked-task', { yaml: pushYaml(reg.loginServer), credentials: systemCredential(reg.loginServer) });
    await blocked.role(reg.id, 'AcrPush', task.principalId!);
    const plain = await blocked.doctor(['--registry', reg.name, '--task', 'blocked-task', '--json']);
    expect(plain.status).toBe(0); // nothing the reads show refuses it
    const r = await blocked.doctor(['--registry', reg.name, '--task', 'blocked-task', '--json', '--run']);
    expect(r.status).toBe(3);
    const run = r.objects.find((o) => o.type === 'run');
    expect(run).toMatchObject({ verdict: 'refused', cause: 'tasks-not-allowed' });
    expect(run.evidence.join(' ')).toMatch(/TasksOperationsNotAllowed/);
  });
});

describe('acr-trust doctor as a Reader', () => {
  const reader = useDoctorBench({ scenario: 'read-only' });
  it("is exit 1 naming the permission it lacks (the task's credentials need listDetails)", async () => {
    const r = await reader.doctor(['--registry', 'acrtrustdemo', '--task', 'some-task']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Microsoft\.ContainerRegistry\/registries\/tasks\/listDetails\/action/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
