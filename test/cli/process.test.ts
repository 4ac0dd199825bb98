/**
 * The CLI as a process: one process per workdir, Ctrl-C, crashes at any moment followed by a plain
 * re-run, a sim served by another process, and what `--help` and `steps` load.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, cli, cliAsync, expectNoStack, simCloud, startCli, STEP_IDS, taskRoleAssignments, tempDir, withServedSim } from './helpers.js';

const realistic = (wd: string) => ['run', '--target', 'sim', '--yes', '--sim-speed', 'realistic', '--workdir', wd, '--json'];

describe('one process per workdir', () => {
  it('a second process refuses while the first runs; Ctrl-C then saves, prints one line, exits 130; a re-run resumes', async () => {
    const wd = join(tempDir(), 'wd');
    const first = startCli(realistic(wd));
    // Wait until it is inside a slow step: at realistic speed that is the task run (registry PATCHes
    // answer at once, as on Azure).
    await first.afterLines(12);

    const second = cli(['status', '--target', 'sim', '--workdir', wd]);
    expect(second.status).toBe(1);
    expectNoStack(second);
    expect(second.stderr).toContain(`the workdir is in use by \`acr-trust run\`, pid ${first.child.pid}`);
    expect(second.stderr).toContain('another --workdir');

    first.child.kill('SIGINT');
    const { code } = await first.exit;
    expect(code).toBe(130);
    // One line, and when a task run was under way, one more saying it goes on in the cloud.
    const [saved, ...more] = first.stderr.trim().split('\n');
    expect(saved).toMatch(/^acr-trust: interrupted — progress is saved in .*; run `acr-trust run .*` again to resume\.$/);
    expect(more.every((l) => /^ {2}Task run \w+ goes on in the cloud/.test(l)) && more.length <= 1, first.stderr).toBe(true);
    expect(JSON.parse(first.lines.at(-1)!)).toMatchObject({ event: 'summary', outcome: 'interrupted', exitCode: 130 });
    const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
    expect(state.steps['create-task'].status).toBe('applied');

    const resumed = cli(['run', '--target', 'sim', '--yes', '--workdir', wd]);
    expect(resumed.status, resumed.stderr).toBe(0);
    // The finished steps are checked again, live (the record is only a hint).
    expect(resumed.stdout).toMatch(/✓ done task acr-trust-task has system identity .*, loginMode None/);
    expect(resumed.stdout).not.toContain('(recorded');
  });

  it('SIGTERM (a closing terminal, a service manager) is Ctrl-C: the state saved, one line, exit 130; a re-run resumes', async () => {
    const wd = join(tempDir(), 'wd');
    const victim = startCli(realistic(wd));
    await victim.afterLines(12);
    victim.child.kill('SIGTERM');
    const { code } = await victim.exit;
    expect(code).toBe(130);
    expect(victim.stderr).toMatch(/^acr-trust: interrupted — progress is saved in .*; run `acr-trust run .*` again to resume\.\n$/);
    expect(JSON.parse(victim.lines.at(-1)!)).toMatchObject({ event: 'summary', outcome: 'interrupted' });
    const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
    expect(state.steps.preflight.status).toBe('done');
    const resumed = cli(['run', '--target', 'sim', '--yes', '--workdir', wd]);
    expect(resumed.status, resumed.stderr).toBe(0);
  });

  it('a lock left by a dead process is taken over', () => {
    const wd = join(tempDir(), 'wd');
    expect(cli(['run', '--target', 'sim', '--yes', '--workdir', wd, '--until', 'preflight']).status).toBe(0);
    writeFileSync(join(wd, 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: hostname(), since: '2025-01-01T00:00:00Z' }));
    const r = cli(['run', '--target', 'sim', '--yes', '--workdir', wd]);
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('a reader that goes away (`acr-trust … --json | head -1`)', () => {
  it('drops the rest of the output without a stack trace, and the run still finishes and saves its state', () => {
    const wd = join(tempDir(), 'wd');
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${BIN}" run --target sim --yes --sim-speed instant --workdir "${wd}" --json | head -1`], {
      encoding: 'utf8',
      env: cleanEnv(),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ event: 'start', command: 'run' });
    const state = JSON.parse(readFileSync(join(wd, 'state.json'), 'utf8'));
    for (const id of STEP_IDS) expect(['done', 'applied'], id).toContain(state.steps[id]?.status);
  });
});

describe('crash at any moment, then a plain re-run', () => {
  // Kill points, as line numbers of the --json stream of a realistic run: before and inside the
  // first steps, inside registry updates (LROs), while the runs are queued or running.
  const killAfterLine = [2, 4, 11, 13, 17, 30, 46, 50];

  it(`converges after SIGKILL at ${killAfterLine.length} moments with exactly one task and one role assignment`, async () => {
    const crashThenRerun = async (n: number) => {
      const wd = join(tempDir(), 'wd');
      const victim = startCli(realistic(wd));
      await victim.afterLines(n);
      victim.child.kill('SIGKILL');
      await victim.exit;
      return { n, wd, rerun: await cliAsync(['run', '--target', 'sim', '--yes', '--workdir', wd]) };
    };
    // Four at a time: each realistic run takes about 20 s of mostly waiting.
    const results = [];
    for (let i = 0; i < killAfterLine.length; i += 4) results.push(...(await Promise.all(killAfterLine.slice(i, i + 4).map(crashThenRerun))));
    for (const { n, wd, rerun } of results) {
      expect(rerun.status, `killed after line ${n}: ${rerun.stderr}`).toBe(0);
      const cloud = simCloud(wd);
      expect(Object.keys(cloud.tasks), `killed after line ${n}`).toHaveLength(1);
      expect(taskRoleAssignments(cloud), `killed after line ${n}`).toHaveLength(1);
      const verify = cli(['verify', '--workdir', wd]);
      expect(verify.status, `killed after line ${n}: ${verify.stdout}${verify.stderr}`).toBe(0);
    }
  }, 300_000);
});

describe('--target sim --endpoint --ca: a sim served by another process', () => {
  it('runs the workflow against it; a second run sends no write', () =>
    withServedSim(async ({ dir, stateFile, endpoint, caCertFile }) => {
      const args = ['run', '--target', 'sim', '--endpoint', endpoint, '--ca', caCertFile, '--sim-speed', 'instant', '--yes', '--workdir', join(dir, 'wd')];
      const r = cli(args);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`target sim at ${endpoint}`);
      await flushed();
      const before = requestsOf(stateFile);
      const again = cli(args);
      expect(again.status, again.stderr).toBe(0);
      await flushed();
      const after = requestsOf(stateFile).slice(before.length);
      expect(after.filter((x: any) => x.write)).toEqual([]);
    }));
});

describe('--target azure --endpoint --ca: a sim signed in to as Azure', () => {
  it('signs in with DefaultAzureCredential at the sim (one token request) and completes all ten steps', () =>
    withServedSim(async ({ dir, stateFile, endpoint, caCertFile, subscriptionId }) => {
      // A service principal of tenant `adfs` at the sim's authority, as `acr-trust sim az-env`
      // prints it; only the environment credential, so nothing probes the managed-identity
      // endpoint (169.254.169.254) and MSAL does no instance discovery: everything stays on loopback.
      const env = {
        AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential',
        AZURE_CLIENT_ID: '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c',
        AZURE_CLIENT_SECRET: 'x',
        AZURE_TENANT_ID: 'adfs',
        AZURE_AUTHORITY_HOST: endpoint,
      };
      const args = ['run', '--target', 'azure', '--goal', 'demo', '--endpoint', endpoint, '--ca', caCertFile, '--yes', '--subscription', subscriptionId, '--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo', '--workdir', join(dir, 'wd'), '--json'];
      const r = await cliAsync(args, { env });
      expect(r.status, r.stderr).toBe(0);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(events.find((e) => e.event === 'start')).toMatchObject({ target: `Azure at ${endpoint}` });
      const steps = events.filter((e) => e.event === 'step' && e.id !== 'agent-pool'); // the other path's step, skipped
      expect(steps.map((s) => s.id)).toEqual(STEP_IDS);
      for (const s of steps) expect(['done', 'applied'], `${s.id}: ${s.status} ${s.evidence}`).toContain(s.status);

      await flushed();
      const requests = requestsOf(stateFile);
      expect(requests.filter((x: any) => x.name === 'signin.token')).toHaveLength(1);
      expect(requests.filter((x: any) => x.status === 401)).toEqual([]);
    }));
});

/** The served sim writes its request log every 250 ms. */
const flushed = () => new Promise((resolve) => setTimeout(resolve, 600));

function requestsOf(stateFile: string): any[] {
  try {
    return JSON.parse(readFileSync(stateFile.replace(/\.json$/, '.requests.json'), 'utf8'));
  } catch {
    return [];
  }
}

describe('what loads', () => {
  // Fails the process if anything resolves an @azure/* package.
  const noAzure = () => {
    const hook = join(tempDir(), 'no-azure.mjs');
    writeFileSync(
      hook,
      `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, next) { if (s.startsWith('@azure/')) throw new Error('loaded ' + s); return next(s, c); }"));\n`,
    );
    return ['--import', hook];
  };

  it('--help loads no Azure SDK', () => {
    const r = cli(['--help'], { nodeArgs: noAzure() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: acr-trust');
  });

  it('steps lists every step with its why, and loads no Azure SDK', () => {
    const r = cli(['steps', '--json'], { nodeArgs: noAzure() });
    expect(r.status, r.stderr).toBe(0);
    const steps = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(steps).toHaveLength(11);
    expect(steps[0]).toMatchObject({ event: 'step-info', index: 1, id: 'preflight' });
    for (const s of steps) expect(s.why.length).toBeGreaterThan(40);
  });
});
