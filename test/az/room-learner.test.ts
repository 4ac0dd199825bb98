/**
 * The wizard's `--learner NN` on the machine that serves the room: `run/status/verify/reset/export/
 * doctor --learner 02` find the room as `sim az-env --learner` does (the room's state file, by
 * default ./.acr-trust/sim-cloud.json, and its running `sim serve`), sign in as learner 02 and work
 * in learner 02's own group and registry — what the sim records as learner 02's requests. Every
 * unusable case is exit 2 said plainly, with no stack trace and no workdir left behind: a learner
 * the room does not have, no room at the state file, a room no longer running, a sim that is not a
 * classroom, --learner with --join or with target azure, --state alone. Through the real binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, cleanEnv, serve, tmp } from './helpers.js';

/** The binary, run in `cwd` (the room's default state file is relative to it). */
function acrTrustIn(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, env: cleanEnv() });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the wizard signed in as a learner of the room this machine serves (--learner)', () => {
  it('runs, checks, exports, diagnoses and resets learner 02 through --learner, and refuses every unusable --learner plainly', async () => {
    const dir = tmp('acr-trust-room-learner-');
    mkdirSync(join(dir, '.acr-trust'));
    // The room at the default state file of `sim serve` (./.acr-trust/sim-cloud.json), relative to dir.
    const state = join(dir, '.acr-trust', 'sim-cloud.json');
    const served = await serve(['--scenario', 'classroom', '--learners', '3', '--speed', 'instant', '--state', state]);
    const plain = await serve(['--speed', 'instant', '--state', join(dir, 'plain.json')]);
    let stopped = false;
    try {
      const secret02 = JSON.parse(readFileSync(join(dir, '.acr-trust', 'sim-cloud.join', 'learner02.json'), 'utf8')).clientSecret as string;
      const w2 = join(dir, 'w2');
      const run = acrTrustIn(dir, ['run', '--learner', '02', '--workdir', w2, '--yes', '--no-color']);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/target training room at https:\/\/127\.0\.0\.1:\d+ as learner 02/);
      expect(run.stdout).toMatch(/resourceGroup learner02 · registry acrtrustlearner02/);
      expect(run.stdout).toMatch(/Finished: 10 step\(s\) hold/);
      // The workdir records the room's join file for learner 02: later commands need no flag.
      const bound = JSON.parse(readFileSync(join(w2, 'state.json'), 'utf8')).cloud;
      expect(bound).toMatchObject({ target: 'sim', join: join(dir, '.acr-trust', 'sim-cloud.join', 'learner02.json') });
      // The room's own log: the wizard's changes were learner 02's (signed with learner 02's token).
      const log = JSON.parse(readFileSync(join(dir, '.acr-trust', 'sim-cloud.requests.json'), 'utf8')) as { learner?: string; path: string; write: boolean }[];
      const writes = log.filter((r) => r.write && /learner02/i.test(r.path));
      expect(writes.length).toBeGreaterThan(0);
      expect(new Set(writes.map((r) => r.learner))).toEqual(new Set(['02']));

      // --state explicitly, the number without its zero, and the other commands.
      const status = acrTrustIn(dir, ['status', '--learner', '2', '--state', state, '--workdir', w2, '--no-color']);
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/as learner 02/);
      const verify = acrTrustIn(dir, ['verify', '--learner', '02', '--workdir', w2, '--no-color']);
      expect(verify.status, verify.stderr + verify.stdout).toBe(0);
      const exported = acrTrustIn(dir, ['export', '--learner', '02', '--workdir', join(dir, 'w-export')]);
      expect(exported.status, exported.stderr).toBe(0);
      expect(exported.stdout).toMatch(/resource group learner02, registry acrtrustlearner02/);
      const doctor = acrTrustIn(dir, ['doctor', '--learner', '02', '--workdir', join(dir, 'w-doctor'), '--yes', '--no-color']);
      // After the demo trusted services are off, so the task's runs fail: doctor says so (exit 3), as learner 02.
      expect(doctor.status, doctor.stderr + doctor.stdout).toBe(3);
      expect(doctor.stdout + doctor.stderr).toMatch(/acrtrustlearner02/);
      const reset = acrTrustIn(dir, ['reset', '--learner', '02', '--workdir', w2, '--yes', '--no-color']);
      expect(reset.status, reset.stderr + reset.stdout).toBe(0);
      for (const text of [run.stdout, run.stderr, status.stdout, exported.stdout, doctor.stdout, reset.stdout, readFileSync(join(w2, 'state.json'), 'utf8')]) {
        expect(text).not.toContain(secret02);
      }

      // A workdir bound to learner 02 refuses learner 03 (never acts as someone else unknowingly).
      const swap = acrTrustIn(dir, ['status', '--learner', '03', '--workdir', w2, '--no-color']);
      expect(swap.status, swap.stderr).toBe(2);
      expect(swap.stderr).toMatch(/belongs to the training room of the join file .*learner02\.json.*--join .*learner03\.json/);

      const bad: [string[], RegExp][] = [
        [['run', '--learner', '09'], /No learner '09' in the room .*sim-cloud\.json: it has learners 1 to 3\./],
        [['status', '--learner', 'seven'], /No learner 'seven' in the room/],
        [['verify', '--learner', '02', '--state', join(dir, 'nowhere.json')], /No training room at .*nowhere\.json: the file does not exist\./],
        [['run', '--learner', '02', '--state', join(dir, 'plain.json')], /The sim at .*plain\.json is not a classroom/],
        [['run', '--learner', '02', '--join', join(dir, '.acr-trust', 'sim-cloud.join', 'learner02.json')], /--learner and --join both say who you are/],
        [['run', '--learner', '02', '--target', 'azure'], /--learner signs you in to the training room .* does not go with target azure \(--target\)/],
        [['doctor', '--learner', '02', '--endpoint', served.line.endpoint, '--ca', served.line.caCertFile], /does not go with --endpoint, --ca/],
        [['status', '--state', state], /--state names the training room for --learner, and no --learner was given/],
      ];
      const check = (args: string[], message: RegExp, i: number) => {
        const workdir = join(dir, `bad${i}`);
        const r = acrTrustIn(dir, [...args, '--workdir', workdir, '--yes', '--no-color']);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(join(workdir, 'state.json'))).toBe(false);
      };
      bad.forEach(([args, message], i) => check(args, message, i));

      // The room stopped: said so, with how to start it.
      expect(await served.stop()).toBe(0);
      stopped = true;
      check(['run', '--learner', '02'], /No running sim for .*sim-cloud\.json: .*sim-cloud\.endpoint\.json does not exist\./, 100);
      // A workdir of the stopped room: the room cannot be reached — said, not a stack trace.
      const gone = acrTrustIn(dir, ['verify', '--workdir', w2, '--no-color']);
      expect(gone.status, gone.stderr).not.toBe(0);
      expect(gone.stderr).not.toMatch(/\n\s+at |unexpected error/);
    } finally {
      if (!stopped) await served.stop();
      await plain.stop();
    }
  }, 240_000);
});
