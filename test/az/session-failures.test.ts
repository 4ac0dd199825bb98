/**
 * Every way reaching a training room can fail ends in a clear message and a non-zero exit, never a
 * stack trace (issue 16 §4: under load, one wizard ended with a stack trace). Through the real
 * binary against `sim serve` rooms whose faults (src/sim/faults.ts) hit the sign-in or ARM: a
 * connection reset, 503 and 429 with Retry-After, 500 at the token endpoint, a certificate of
 * another room's CA, a secret the room does not know, a room that is gone; then several learners
 * at once against a room that resets, throttles and refuses at random. And the top of the CLI: an
 * error nobody awaited (an unhandled rejection, an uncaught exception) ends plainly too — a socket
 * reset explained, anything else one line asking for a report, the stack only with ACR_TRUST_DEBUG=1.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, cleanEnv, root, serve, tmp, type Served } from './helpers.js';

const STACK = /\n\s+at .+:\d+:\d+\)?|this is a bug|unexpected error/;

function acrTrustAsync(args: string[], env: NodeJS.ProcessEnv = cleanEnv(), nodeArgs: string[] = []): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...nodeArgs, bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

async function room(dir: string, name: string, faults?: string): Promise<{ served: Served; join: (n: string) => string }> {
  const state = join(dir, `${name}.json`);
  const served = await serve(['--scenario', 'classroom', '--learners', '6', '--speed', 'instant', '--state', state, ...(faults ? ['--faults', faults] : [])]);
  return { served, join: (n) => join(dir, `${name}.join`, `learner${n}.json`) };
}

describe('failures reaching a training room end plainly (no stack trace)', () => {
  it('says what went wrong for each kind of sign-in, connection and service failure, alone and under load', async () => {
    const dir = tmp('acr-trust-session-failures-');
    const rooms = await Promise.all([
      room(dir, 'reset', 'drop=1,routes=signin.*'),
      room(dir, 'busy', '503=1,routes=signin.*'),
      room(dir, 'throttled', '429=1,retryAfter=1,routes=signin.token'),
      room(dir, 'failing', '500=1,routes=signin.token'),
      room(dir, 'armreset', 'drop=1'),
      room(dir, 'armbusy', '503=1,retryAfter=0'),
      room(dir, 'fine'),
      room(dir, 'gone'),
      room(dir, 'load', '503=0.08,429=0.08,drop=0.08,500=0.04,retryAfter=0,seed=11,routes=signin.*|*'),
    ]);
    const [reset, busy, throttled, failing, armReset, armBusy, fine, gone, load] = rooms;
    try {
      // A join file with another room's CA, one with a secret the room does not know.
      const otherCa = JSON.parse(readFileSync(fine!.join('01'), 'utf8'));
      otherCa.ca = readFileSync(join(dir, 'busy.ca.pem'), 'utf8');
      writeFileSync(join(dir, 'other-ca.json'), JSON.stringify(otherCa));
      const badSecret = { ...JSON.parse(readFileSync(fine!.join('02'), 'utf8')), clientSecret: 'not-the-secret' };
      writeFileSync(join(dir, 'bad-secret.json'), JSON.stringify(badSecret));
      expect(await gone!.served.stop()).toBe(0);

      const cases: [string, string, RegExp][] = [
        ['sign-in connection reset', reset!.join('01'), /Sign-in failed: the sign-in service at https:\/\/127\.0\.0\.1:\d+ could not be reached \(ECONNRESET\)/],
        ['sign-in 503', busy!.join('01'), /Sign-in failed: .* is busy \(HTTP 503\)/],
        ['sign-in 429 with Retry-After', throttled!.join('01'), /Sign-in failed: .* is busy \(HTTP 429; it asked to wait 1 s\)/],
        ['token endpoint 500', failing!.join('01'), /Sign-in failed: .* failed \(HTTP 500\)/],
        ['ARM connection reset', armReset!.join('01'), /Azure Resource Manager could not be reached \(ECONNRESET\)/],
        ['ARM 503', armBusy!.join('01'), /temporarily unavailable.*\(ServiceUnavailable\)/],
        ["another room's CA", join(dir, 'other-ca.json'), /Sign-in failed: .* presented a certificate its CA does not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/],
        ['a secret the room does not know', join(dir, 'bad-secret.json'), /Sign-in failed: .* refused this identity \(HTTP 401 invalid_client, AADSTS7000215\)/],
        ['a room that is gone', gone!.join('01'), /could not be reached \(ECONNREFUSED\)/],
      ];
      const results = await Promise.all(cases.map(([, file], i) => acrTrustAsync(['run', '--join', file, '--workdir', join(dir, `w${i}`), '--yes', '--no-color'])));
      for (const [i, [what, , message]] of cases.entries()) {
        const r = results[i]!;
        expect(r.status, `${what}: ${r.stderr}`).toBe(1);
        expect(r.stderr, what).toMatch(message);
        expect(r.stderr, what).not.toMatch(STACK);
        expect(r.stderr, what).not.toContain(JSON.parse(readFileSync(cases[i]![1], 'utf8')).clientSecret);
      }

      // Six learners at once on a room that resets, throttles and fails at random (sign-in included):
      // each finishes or stops with a message, none with a stack trace.
      const crowd = await Promise.all(['01', '02', '03', '04', '05', '06'].map((n) => acrTrustAsync(['run', '--join', load!.join(n), '--workdir', join(dir, `load${n}`), '--yes', '--no-color'])));
      for (const r of crowd) {
        expect([0, 1], r.stderr).toContain(r.status);
        expect(r.stderr).not.toMatch(STACK);
        if (r.status === 1) expect(r.stderr).toMatch(/^acr-trust: .+\n/);
      }
    } finally {
      await Promise.all(rooms.map((r) => r.served.stop()));
    }
  }, 240_000);

  it('ends an error nobody awaited as any other: explained by its kind, or one line asking for a report', async () => {
    const dir = tmp('acr-trust-stray-');
    // A library's background task failing after the command started (node --import runs first).
    const stray = (code: string) => ['--import', `data:text/javascript,setTimeout(()=>{${code}},300)`];
    const args = (w: string) => ['run', '--target', 'sim', '--yes', '--no-color', '--workdir', join(dir, w)];
    const [rejected, thrown, debug] = await Promise.all([
      acrTrustAsync(args('a'), cleanEnv(), stray('Promise.reject(Object.assign(new Error("read ECONNRESET"),{code:"ECONNRESET",address:"127.0.0.1",port:9}))')),
      acrTrustAsync(args('b'), cleanEnv(), stray('throw new TypeError("x is not a function")')),
      acrTrustAsync(args('c'), cleanEnv({ ACR_TRUST_DEBUG: '1' }), stray('throw new TypeError("x is not a function")')),
    ]);
    expect(rejected.status, rejected.stderr).toBe(1);
    expect(rejected.stderr).toMatch(/acr-trust: A cloud connection failed: the connection was reset \(127\.0\.0\.1:9\) \(ECONNRESET\)\./);
    expect(rejected.stderr).not.toMatch(STACK);
    expect(thrown.status, thrown.stderr).toBe(1);
    expect(thrown.stderr).toMatch(/acr-trust: unexpected error — TypeError: x is not a function\n  This is a bug, please report it/);
    expect(thrown.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
    expect(debug.stderr).toMatch(/\n\s+at .+:\d+:\d+\)?/);
  }, 120_000);
});
