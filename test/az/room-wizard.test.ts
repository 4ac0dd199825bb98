/**
 * A learner runs the wizard as themselves: `acr-trust run --join learnerNN.json` reaches the room's
 * sim (endpoint and CA from the file), signs in as the learner's service principal, and works in
 * the learner's own resource group and registry by default. Pointed at another learner's registry
 * the same learner is refused with ARM's AuthorizationFailed explained, and nothing of the other
 * learner changes (read by the trainer through Microsoft's az CLI). Through the real binaries.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acrTrust, cleanEnv, serve, tmp } from './helpers.js';

describe('the wizard signed in as a learner (--join)', () => {
  it("runs learner 02's own workflow to the end, refuses learner 03's registry, and rejects unusable join files", async () => {
    const dir = tmp('acr-trust-room-wizard-');
    const state = join(dir, 'room.json');
    const served = await serve(['--scenario', 'classroom', '--learners', '3', '--speed', 'instant', '--state', state]);
    try {
      const joinDir = (served.line as any).joinDir as string;
      const join02 = join(joinDir, 'learner02.json');
      const secret02 = JSON.parse(readFileSync(join02, 'utf8')).clientSecret as string;
      const env = cleanEnv();

      // The trainer's view of learner 03, through az signed in with the trainer's join file.
      const trainerEnv = acrTrust(['sim', 'az-env', '--join', join(joinDir, 'trainer.json'), '--dir', join(dir, 'az-trainer'), '--json'], env);
      expect(trainerEnv.status, trainerEnv.stderr).toBe(0);
      const azEnv = { ...env, ...JSON.parse(trainerEnv.stdout).env, AZURE_CLIENT_SECRET: undefined };
      const learner03 = () => {
        const show = spawnSync('az', ['acr', 'show', '-n', 'acrtrustlearner03', '-g', 'learner03', '-o', 'json'], { encoding: 'utf8', env: azEnv, timeout: 60_000 });
        const tasks = spawnSync('az', ['acr', 'task', 'list', '-r', 'acrtrustlearner03', '-g', 'learner03', '-o', 'json'], { encoding: 'utf8', env: azEnv, timeout: 60_000 });
        expect(show.status, show.stderr).toBe(0);
        expect(tasks.status, tasks.stderr).toBe(0);
        return { registry: JSON.parse(show.stdout), tasks: JSON.parse(tasks.stdout) };
      };
      const before = learner03();

      // Learner 02: only the join file; the answers default to the learner's own group and registry.
      const w2 = join(dir, 'w2');
      const run = acrTrust(['run', '--join', join02, '--workdir', w2, '--yes', '--no-color'], env);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/target training room at https:\/\/127\.0\.0\.1:\d+ as learner 02/);
      expect(run.stdout).toMatch(/resourceGroup learner02 · registry acrtrustlearner02/);
      expect(run.stdout).toMatch(/confirm-denied\s+applied/);
      expect(run.stdout).toMatch(/Finished: 10 step\(s\) hold/);
      const bound = JSON.parse(readFileSync(join(w2, 'state.json'), 'utf8')).cloud;
      expect(bound).toMatchObject({ target: 'sim', join: join02, subscription: (served.line as any).subscriptionId });
      // The workdir remembers the room: a later command needs no --join, and checks live as learner 02.
      const verify = acrTrust(['verify', '--workdir', w2, '--no-color'], env);
      expect(verify.status, verify.stderr + verify.stdout).toBe(0);
      expect(verify.stdout).toMatch(/as learner 02/);
      const exported = acrTrust(['export', '--workdir', w2], env);
      expect(exported.status, exported.stderr).toBe(0);
      expect(exported.stdout).toMatch(/resource group learner02, registry acrtrustlearner02/);
      for (const text of [exported.stdout, run.stdout, run.stderr, verify.stdout, verify.stderr, ...['state.json', 'answers.yaml', 'report.md'].map((f) => readFileSync(join(w2, f), 'utf8'))]) {
        expect(text).not.toContain(secret02);
      }

      // The same learner pointed at learner 03's registry: refused, explained, exit 1.
      const other = acrTrust(['run', '--join', join02, '--workdir', join(dir, 'w3'), '--yes', '--no-color', '--resource-group', 'learner03', '--registry', 'acrtrustlearner03'], env);
      expect(other.status, other.stdout + other.stderr).toBe(1);
      expect(other.stderr).toMatch(/stopped at preflight \(failed\): .*learner03.*not authorised.*\(AuthorizationFailed\)/);
      expect(other.stderr).not.toMatch(/\n\s+at /);
      expect(other.stderr + other.stdout).not.toContain(secret02);
      expect(learner03()).toEqual(before);

      // Unusable join files and clashing flags: exit 2, said plainly, no workdir left behind.
      writeFileSync(join(dir, 'not-join.json'), '{"kind":"something-else"}');
      writeFileSync(join(dir, 'not-json.json'), 'endpoint: https://x');
      const bad = [
        [['run', '--join', join(dir, 'missing.json')], /Cannot read the join file .*missing\.json \(ENOENT\)/],
        [['status', '--join', join(dir, 'not-join.json')], /not-join\.json is not an acr-trust join file/],
        [['verify', '--join', join(dir, 'not-json.json')], /not-json\.json is not a join file \(not JSON\)/],
        [['run', '--join', join02, '--target', 'azure'], /--join says where the training room is .* does not go with target azure/],
        [['doctor', '--join', join02, '--endpoint', 'https://127.0.0.1:1', '--ca', join(dir, 'room.ca.pem')], /does not go with --endpoint, --ca/],
      ] as const;
      for (const [i, [args, message]] of bad.entries()) {
        const workdir = join(dir, `bad${i}`);
        const r = acrTrust([...args, '--workdir', workdir, '--yes', '--no-color'], env);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(join(workdir, 'state.json'))).toBe(false);
      }
      // A workdir bound to learner 02 refuses learner 03's join file (never acts as someone else unknowingly).
      const swap = acrTrust(['status', '--join', join(joinDir, 'learner03.json'), '--workdir', w2, '--no-color'], env);
      expect(swap.status, swap.stderr).toBe(2);
      expect(swap.stderr).toMatch(/belongs to the training room of the join file .*learner02\.json.*--join .*learner03\.json/);
    } finally {
      expect(await served.stop()).toBe(0);
    }
  }, 240_000);
});
