/**
 * A disk that fills up in the middle of a run: the wizard stops with one clear line (which file,
 * why, what to do) and no stack trace, leaves no temp file behind, and once there is room again
 * the same command finishes the workflow. The workdir is a small tmpfs mounted for the test,
 * which needs the right to mount (root in CI's container); without it the test is skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, expectNoStack, tempDir } from './helpers.js';

const mountPoint = join(tempDir('acr-trust-disk-full-'), 'disk');
mkdirSync(mountPoint);
const mount = (...args: string[]) => spawnSync('mount', args, { encoding: 'utf8' });
// Room for the sim's certificates and cloud, and for the first steps; not for the whole run.
const mounted = mount('-t', 'tmpfs', '-o', 'size=40k,mode=0700', 'tmpfs', mountPoint).status === 0;

afterAll(() => {
  if (mounted) spawnSync('umount', [mountPoint]);
});

describe.skipIf(!mounted)('a disk that fills up during a run', () => {
  it('stops with what could not be saved and why, exit 1, no stack, no temp file; with room again the same command finishes', () => {
    const wd = join(mountPoint, 'wd');
    const args = ['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd];
    const full = cli(args);
    expect(full.status, full.stderr).toBe(1);
    expectNoStack(full);
    expect(full.stderr).toMatch(/^acr-trust: cannot save .*\/wd\/[\w.-]+: no space left on device \(ENOSPC\)\.\n {2}Free some disk space .* run the same command again/m);
    expect(readdirSync(wd).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    expect(mount('-o', 'remount,size=4m', mountPoint).status).toBe(0);
    const again = cli(args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('Finished: 10 step(s) hold');
    const verify = cli(['verify', '--workdir', wd]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });
});
