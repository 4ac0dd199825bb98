/**
 * A training room through the real binaries: `sim serve --scenario classroom` hands out one join
 * file per learner; `sim az-env --join` (a learner's laptop) and `sim az-env --state --learner`
 * (the room's machine) sign Microsoft's az CLI in as that learner, who works in their own group
 * and is refused — with ARM's AuthorizationFailed — in another's; `sim reset-learner` puts one
 * learner's group back.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acrTrust, serve, tmp } from './helpers.js';

function azAs(envJson: string, dir: string) {
  const env = { ...process.env, ...JSON.parse(envJson).env };
  return (args: string[]) => spawnSync('az', args, { encoding: 'utf8', cwd: dir, env, timeout: 60_000 });
}

describe('a classroom with the az CLI', () => {
  it('signs each learner in as themselves; their own group works, another learner\'s is refused; the trainer resets one learner', async () => {
    const dir = tmp('acr-trust-room-');
    const state = join(dir, 'room.json');
    const served = await serve(['--scenario', 'classroom', '--learners', '2', '--state', state]);
    try {
      const line = served.line as any;
      expect(line.joinDir).toBe(join(dir, 'room.join'));
      expect(line.board).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/room\?token=[\w-]{20,}$/);
      expect(readdirSync(line.joinDir).sort()).toEqual(['learner01.json', 'learner02.json', 'trainer.json']);
      expect(statSync(join(line.joinDir, 'learner01.json')).mode & 0o777).toBe(0o600);
      expect(statSync(line.joinDir).mode & 0o777).toBe(0o700);

      // Learner 1 on "their laptop": only the join file.
      const env1 = acrTrust(['sim', 'az-env', '--join', join(line.joinDir, 'learner01.json'), '--dir', join(dir, 'az1'), '--json']);
      expect(env1.status, env1.stderr).toBe(0);
      expect(JSON.parse(env1.stdout).signedInAs).toBe('learner 01');
      expect(env1.stdout).not.toContain(JSON.parse(readFileSync(join(line.joinDir, 'learner01.json'), 'utf8')).clientSecret);
      const az1 = azAs(env1.stdout, dir);
      const own = az1(['acr', 'update', '-n', 'acrtrustlearner01', '--public-network-enabled', 'false', '--query', 'publicNetworkAccess', '-o', 'tsv']);
      expect(own.stderr).toBe('');
      expect(own.stdout.trim()).toBe('Disabled');
      const other = az1(['acr', 'show', '-n', 'acrtrustlearner02', '-g', 'learner02']);
      expect(other.status).not.toBe(0);
      expect(other.stderr).toMatch(/AuthorizationFailed/);
      expect(other.stderr).toMatch(/Microsoft\.ContainerRegistry\/registries\/read/);
      const listed = az1(['acr', 'list', '--query', '[].name', '-o', 'tsv']);
      expect(listed.stdout.trim().split('\n')).toEqual(['acrtrustlearner01']);

      // Learner 2 on the room's machine: --state --learner.
      const env2 = acrTrust(['sim', 'az-env', '--state', state, '--learner', '2', '--dir', join(dir, 'az2'), '--json']);
      expect(env2.status, env2.stderr).toBe(0);
      const az2 = azAs(env2.stdout, dir);
      const steal = az2(['acr', 'update', '-n', 'acrtrustlearner01', '-g', 'learner01', '--public-network-enabled', 'true']);
      expect(steal.stderr).toMatch(/AuthorizationFailed/);

      // Bad inputs: a learner the room does not have, a file that is no join file, --join with --state.
      const bad = [
        [['sim', 'az-env', '--state', state, '--learner', '9', '--dir', join(dir, 'az3')], /No learner '9' in the room/],
        [['sim', 'az-env', '--join', state, '--dir', join(dir, 'az3')], /is not an acr-trust join file/],
        [['sim', 'az-env', '--join', join(line.joinDir, 'learner01.json'), '--state', state], /give it alone/],
        [['sim', 'reset-learner', '--state', state, '--learner', '7'], /No learner '7' in this room/],
      ] as const;
      for (const [args, message] of bad) {
        const r = acrTrust([...args]);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }

      // The trainer resets learner 1 alone.
      const reset = acrTrust(['sim', 'reset-learner', '--state', state, '--learner', '01']);
      expect(reset.status, reset.stderr).toBe(0);
      expect(reset.stdout).toMatch(/Learner 01: resource group back as seeded/);
      expect(az1(['acr', 'show', '-n', 'acrtrustlearner01', '--query', 'publicNetworkAccess', '-o', 'tsv']).stdout.trim()).toBe('Enabled');
    } finally {
      expect(await served.stop()).toBe(0);
    }
  }, 180_000);
});
