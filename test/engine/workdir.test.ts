import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AcrTrustError } from '../../src/errors.js';
import { acquireLock } from '../../src/engine/lock.js';
import { StateStore } from '../../src/engine/state.js';
import { openWorkdir, workdirPaths } from '../../src/engine/workdir.js';
import { tempDir } from './helpers.js';

const mode = (file: string) => statSync(file).mode & 0o777;
const thrown = (fn: () => unknown): AcrTrustError => {
  try {
    fn();
  } catch (e) {
    return e as AcrTrustError;
  }
  throw new Error('expected an error');
};

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('lock', () => {
  it('is a 0600 file naming our pid and host, removed on release', () => {
    const file = join(tempDir(), 'lock');
    const lock = acquireLock(file, 'run');
    expect(mode(file)).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname(), command: 'run' });
    lock.release();
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('refuses a second owner while the first is alive, naming it', () => {
    const dir = tempDir();
    const file = join(dir, 'lock');
    // A live owner that is not us: our parent process.
    writeFileSync(file, JSON.stringify({ pid: process.ppid, hostname: hostname(), command: 'run', since: '2025-01-01T00:00:00.000Z' }));
    const e = thrown(() => acquireLock(file, 'status'));
    expect(e.name).toBe('AcrTrustError');
    expect(e.message).toContain(`pid ${process.ppid}`);
    expect(e.message).toContain('`acr-trust run`');
    expect(e.hint).toContain('another --workdir');
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.ppid);
  });

  it('refuses a lock held in the same process twice (one runner per workdir)', () => {
    const file = join(tempDir(), 'lock');
    const first = acquireLock(file, 'run');
    expect(() => acquireLock(file, 'run')).toThrow(/in use/);
    first.release();
  });

  it('takes over a lock whose process is dead', () => {
    const file = join(tempDir(), 'lock');
    const pid = deadPid();
    writeFileSync(file, JSON.stringify({ pid, hostname: hostname(), since: '2025-01-01T00:00:00.000Z' }));
    const lock = acquireLock(file, 'run');
    expect(lock.tookOver?.pid).toBe(pid);
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('does not take over a lock from another host (its pid cannot be checked)', () => {
    const file = join(tempDir(), 'lock');
    writeFileSync(file, JSON.stringify({ pid: deadPid(), hostname: 'some-other-host', since: '2025-01-01T00:00:00.000Z' }));
    expect(thrown(() => acquireLock(file)).message).toContain('on some-other-host');
  });
});

describe('state', () => {
  it('is written atomically as a 0600 file in a 0700 workdir', () => {
    const wd = openWorkdir(join(tempDir(), 'wd'), { command: 'run' });
    wd.store.update('preflight', { status: 'done', outputs: { publicNetworkAccess: 'Enabled' } });
    expect(mode(wd.paths.state)).toBe(0o600);
    expect(mode(wd.paths.dir)).toBe(0o700);
    expect(JSON.parse(readFileSync(wd.paths.state, 'utf8')).steps.preflight.outputs).toEqual({ publicNetworkAccess: 'Enabled' });
    wd.close();
    expect(existsSync(wd.paths.lock)).toBe(false);
  });

  for (const [what, text] of [
    ['truncated', '{"version":1,"steps":{"preflight":{"status":"do'],
    ['not JSON', 'hello'],
    ['the wrong shape', '{"version":7}'],
    ['a malformed step', '{"version":1,"steps":{"x":{"status":"done"}}}'],
  ]) {
    it(`a ${what} state.json is exit 2 with what to do, the file untouched and the lock released`, () => {
      const paths = workdirPaths(tempDir());
      writeFileSync(paths.state, text!);
      const e = thrown(() => openWorkdir(paths.dir, { command: 'run' }));
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain('state.json');
      expect(e.message).toContain('left untouched');
      expect(e.hint).toMatch(/Move it aside .* or use another --workdir/);
      expect(readFileSync(paths.state, 'utf8')).toBe(text);
      expect(existsSync(paths.lock)).toBe(false);
    });
  }

  it('a missing state.json is a fresh state; nothing is written until something changes', () => {
    const paths = workdirPaths(tempDir());
    const store = StateStore.load(paths.state);
    expect(store.state.steps).toEqual({});
    expect(existsSync(paths.state)).toBe(false);
  });
});

describe('a workdir that cannot be made', () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    ['a regular file', (dir) => plainFile(dir), /cannot use the workdir .*: it is a file, not a folder \(EEXIST\)/],
    ['under a regular file', (dir) => join(plainFile(dir), 'wd'), /cannot create the workdir .*: a part of the path is a file, not a folder \(ENOTDIR\)/],
    ['deeper under a regular file', (dir) => join(plainFile(dir), 'a', 'b'), /cannot create the workdir .*: a part of the path is a file, not a folder \(ENOTDIR\)/],
    // Node's recursive mkdir never returns here; one folder at a time fails at once.
    ['under /proc', () => '/proc/acr-trust-workdir-test/wd', /cannot create the workdir .*\(ENOENT\)/],
    ['a name too long', (dir) => join(dir, 'a'.repeat(300)), /cannot create the workdir .*: a name in the path is too long \(ENAMETOOLONG\)/],
    ['a loop of symbolic links', (dir) => loop(dir), /cannot create the workdir .*: the path loops through symbolic links \(ELOOP\)/],
  ];
  for (const [what, path, message] of cases) {
    it(`${what}: exit 2 naming the cause, with how to fix it`, () => {
      const e = thrown(() => openWorkdir(path(tempDir()), { command: 'run' }));
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(message);
      expect(e.hint).toContain('--workdir');
    });
  }

  it('missing parents are made, each one private', () => {
    const base = tempDir();
    const wd = openWorkdir(join(base, 'a', 'b', 'wd'), { command: 'run' });
    wd.close();
    for (const d of ['a', 'a/b', 'a/b/wd']) expect(mode(join(base, d))).toBe(0o700);
  });
});

describe('temp files of writes cut short', () => {
  it('the next write removes those of processes no longer running, and keeps a live one', () => {
    const paths = workdirPaths(tempDir());
    const wd = openWorkdir(paths.dir, { command: 'run' });
    const stale = `${paths.state}.${deadPid()}.tmp`;
    const live = `${paths.state}.${process.ppid}.tmp`; // a running process other than this one
    const otherFile = `${paths.answers}.${deadPid()}.tmp`;
    for (const f of [stale, live, otherFile]) writeFileSync(f, '{"version":1,"st');
    wd.store.update('preflight', { status: 'running' });
    wd.close();
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(otherFile)).toBe(true); // answers.yaml was not written
    expect(JSON.parse(readFileSync(paths.state, 'utf8')).steps.preflight.status).toBe('running');
  });
});

function loop(dir: string): string {
  symlinkSync(join(dir, 'b'), join(dir, 'a'));
  symlinkSync(join(dir, 'a'), join(dir, 'b'));
  return join(dir, 'a');
}

function plainFile(dir: string): string {
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  return file;
}
