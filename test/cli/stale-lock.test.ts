/**
 * Issue 11 §4: a workdir lock whose owner is gone is taken over — whatever "gone" looks like — and
 * never by two processes at once. Through the binary: a SIGKILLed wizard left as a zombie by a
 * parent that does not reap it; a lock whose pid now belongs to another program; several wizards
 * finding the same stale lock. And the takeover itself, many rounds of processes racing for one
 * stale lock at the same instant.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, cliAsync, expectNoStack, ROOT, simCloud, tempDir } from './helpers.js';

const stat = (pid: number) => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTicks: Number(fields[19]) };
  } catch {
    return undefined;
  }
};

/**
 * A Node parent that does not wait for its child: it starts the wizard, SIGKILLs it once it has
 * started a step, and then — its event loop blocked, so the child stays a zombie — runs the same
 * command again synchronously. Prints what it saw as JSON.
 */
const NON_REAPING_PARENT = `
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const [bin, wd] = process.argv.slice(1);
const args = [bin, 'run', '--target', 'sim', '--yes', '--sim-speed', 'realistic', '--workdir', wd, '--json'];
const state = (pid) => { try { const t = readFileSync('/proc/' + pid + '/stat', 'utf8'); return t.slice(t.lastIndexOf(')') + 2).split(' ')[0]; } catch { return 'gone'; } };
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
createInterface({ input: child.stdout }).on('line', (line) => {
  if (!line.includes('"step-start"')) return;
  child.kill('SIGKILL');
  // From here on the event loop never runs again: nothing reaps the child.
  const until = Date.now() + 10_000;
  while (state(child.pid) !== 'Z' && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  const lock = existsSync(wd + '/lock') ? JSON.parse(readFileSync(wd + '/lock', 'utf8')) : undefined;
  const before = state(child.pid);
  const again = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 150_000 });
  const after = state(child.pid);
  process.stdout.write(JSON.stringify({ pid: child.pid, lockPid: lock?.pid, before, after, status: again.status, stderr: again.stderr, stdout: again.stdout }));
  process.exit(0);
});
`;

/** Runs `node -e script args…` to its end (asynchronously, so cases run side by side). */
function node(script: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { cwd: tempDir(), env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A workdir whose preflight is done, on the embedded sim at `speed`. */
async function preparedWorkdir(speed: 'instant' | 'realistic' = 'instant'): Promise<string> {
  const wd = join(tempDir(), 'wd');
  const r = await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', speed, '--workdir', wd, '--until', 'preflight']);
  expect(r.status, r.stderr).toBe(0);
  return wd;
}

/** A lock exactly as a wizard leaves it when SIGKILLed: started on `wd`, killed once it holds the lock. */
async function lockOfKilledWizard(wd: string): Promise<{ record: any; pid: number }> {
  const child = spawn(process.execPath, [BIN, 'run', '--target', 'sim', '--yes', '--sim-speed', 'realistic', '--workdir', wd, '--json'], { cwd: tempDir(), env: cleanEnv() });
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('"step-start"')) resolve();
    });
    child.on('close', () => resolve());
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
  return { record: JSON.parse(readFileSync(join(wd, 'lock'), 'utf8')), pid: child.pid! };
}

/** Another program, running: `sleep`. */
function otherProgram(): { pid: number; stop(): void } {
  const child = spawn('sleep', ['120'], { stdio: 'ignore' });
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

describe.concurrent('a stale workdir lock', () => {
  it('SIGKILLed wizard left a zombie by a parent that does not wait: the same command again, while that parent lives, takes the lock over', async () => {
    const wd = join(tempDir(), 'wd');
    const r = await node(NON_REAPING_PARENT, [BIN, wd]);
    expect(r.status, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout);
    expect(seen.lockPid, 'the killed wizard held the lock').toBe(seen.pid);
    expect(seen.before, 'a zombie when the second run started').toBe('Z');
    expect(seen.after, 'still a zombie when it ended').toBe('Z');
    expect(seen.stderr).not.toContain('in use');
    expect(seen.status, seen.stderr).toBe(0);
    expect(seen.stdout.trim().split('\n').map((l: string) => JSON.parse(l)).at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });
    expect(existsSync(join(wd, 'lock')), 'released at the end').toBe(false);
  }, 180_000);

  it('pid reused by another program: taken over; the same pid with its own start time is refused', async () => {
    const wd = await preparedWorkdir();
    const { record } = await lockOfKilledWizard(wd);
    expect(record.startTicks, 'the lock records its owner\'s start time').toEqual(expect.any(Number));
    expect(record.bootId).toEqual(expect.any(String));
    const other = otherProgram();
    try {
      // The live program's own identity: a lock it really held is refused, naming it.
      const live = { ...record, pid: other.pid, startTicks: stat(other.pid)!.startTicks };
      writeFileSync(join(wd, 'lock'), JSON.stringify(live));
      const refused = await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd]);
      expect(refused.status, refused.stderr).toBe(1);
      expectNoStack(refused);
      expect(refused.stderr).toContain(`the workdir is in use by \`acr-trust run\`, pid ${other.pid}`);

      // The dead wizard's record, its pid now the other program's: not the owner, taken over.
      writeFileSync(join(wd, 'lock'), JSON.stringify({ ...record, pid: other.pid }));
      const took = await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd]);
      expect(took.status, took.stderr).toBe(0);
      expect(existsSync(join(wd, 'lock'))).toBe(false);

      // A lock from before a reboot (another boot id) is stale whatever its pid.
      writeFileSync(join(wd, 'lock'), JSON.stringify({ ...live, bootId: '00000000-0000-4000-8000-000000000000' }));
      const rebooted = await cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', wd]);
      expect(rebooted.status, rebooted.stderr).toBe(0);
      expect(existsSync(join(wd, 'lock'))).toBe(false);
    } finally {
      other.stop();
    }
  }, 120_000);

  it('several wizards find the same stale lock: exactly one takes it over and runs, the others refuse naming it', async () => {
    const wd = await preparedWorkdir('realistic');
    const { record } = await lockOfKilledWizard(wd);
    const k = 5;
    const runs = await Promise.all(Array.from({ length: k }, () => cliAsync(['run', '--target', 'sim', '--yes', '--sim-speed', 'realistic', '--workdir', wd])));
    const ran = runs.filter((r) => r.status === 0);
    const refused = runs.filter((r) => r.status === 1 && /the workdir is in use by `acr-trust run`, pid \d+/.test(r.stderr));
    expect(ran.length, runs.map((r) => r.stderr).join('\n')).toBe(1);
    expect(refused.length).toBe(k - 1);
    for (const r of refused) {
      expectNoStack(r);
      expect(r.stderr).not.toContain(`pid ${record.pid} `);
    }
    const cloud = simCloud(wd);
    expect(Object.keys(cloud.tasks)).toHaveLength(1);
    expect(existsSync(join(wd, 'lock'))).toBe(false);
  }, 180_000);

  it('takeover race, many rounds: of processes that all find the same stale lock at the same instant, exactly one holds it', async () => {
    const dir = tempDir();
    const rounds = 15;
    const workers = 6;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const stale = { pid: Number(dead.stdout), hostname: (await import('node:os')).hostname(), command: 'run', since: new Date().toISOString() };
    for (let i = 0; i < rounds; i++) writeFileSync(join(dir, `lock-${i}`), JSON.stringify({ ...stale, nonce: String(i) }));
    // Each worker: at each round's instant, try the round's lock, and say it has tried (a file);
    // a holder keeps the lock until every worker has tried, so no one comes after it is released.
    const worker = `
      import { readdirSync, writeFileSync } from 'node:fs';
      import { acquireLock } from ${JSON.stringify(join(ROOT, 'dist/src/engine/lock.js'))};
      const [dir, t0, rounds, workers, me] = process.argv.slice(1).map((a, i) => (i ? Number(a) : a));
      const nap = new Int32Array(new SharedArrayBuffer(4));
      const spin = (t) => { while (Date.now() < t - 20) Atomics.wait(nap, 0, 0, 10); while (Date.now() < t) {} };
      const tried = (i) => readdirSync(dir).filter((f) => f.startsWith('tried-' + i + '-')).length;
      const out = [];
      for (let i = 0; i < rounds; i++) {
        spin(t0 + i * 400);
        let lock;
        try {
          lock = acquireLock(dir + '/lock-' + i, 'run');
          out.push('held');
        } catch (e) {
          out.push(/in use/.test(e.message) ? 'refused' : 'error: ' + e.message);
        }
        writeFileSync(dir + '/tried-' + i + '-' + me, '');
        if (lock) {
          while (tried(i) < workers) Atomics.wait(nap, 0, 0, 5);
          lock.release();
        }
      }
      process.stdout.write(JSON.stringify(out));
    `;
    const t0 = Date.now() + 2_000;
    const results = await Promise.all(Array.from({ length: workers }, (_, w) => node(worker, [dir, String(t0), String(rounds), String(workers), String(w)])));
    const outcomes = results.map((r) => {
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as string[];
    });
    for (let i = 0; i < rounds; i++) {
      const round = outcomes.map((o) => o[i]);
      expect(round.filter((o) => o === 'held'), `round ${i}: ${round.join(', ')}`).toHaveLength(1);
      expect(round.filter((o) => o === 'refused'), `round ${i}: ${round.join(', ')}`).toHaveLength(workers - 1);
      expect(existsSync(join(dir, `lock-${i}`))).toBe(false);
    }
  }, 120_000);
});
