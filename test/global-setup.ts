/**
 * Once per `vitest run`, before any test file:
 *
 * 1. One temporary root for the whole run. TMPDIR points at it for the test workers and every
 *    process they start (the binary, `sim serve`, az, tmux's shells, chromium), so whatever a test,
 *    a helper or a child process puts in the temp folder lands there; the teardown removes it. A
 *    run that was killed before its teardown leaves its root behind: the next run removes the
 *    roots whose vitest process is gone (the root's name carries its pid).
 * 2. Builds the TypeScript, so tests that spawn `bin/acr-trust.js` run the current code. Type
 *    errors are printed but do not stop the run (tsc still emits); the type check proper is
 *    `npm run typecheck` (sources and tests). Then, as `npm run build` does, bundles the Azure SDK
 *    into dist/azure-sdk.mjs, so the spawned CLI loads the SDK the way an installed one does
 *    (without the bundle it falls back to the packages, only slower; a failure here is printed,
 *    not fatal).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT_PREFIX = 'acr-trust-tests-';

export default function setup(): () => void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const systemTemp = tmpdir();
  removeAbandonedRoots(systemTemp);
  const testTemp = mkdtempSync(join(systemTemp, `${ROOT_PREFIX}${process.pid}-`));
  const previous = process.env.TMPDIR;
  // Workers are forked after the global setup, and inherit this environment.
  process.env.TMPDIR = testTemp;

  const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`tsc reported errors (tests run on what it emitted):\n${r.stdout}${r.stderr}\n`);
  const b = spawnSync(process.execPath, [`${root}dist/src/azure/bundle-sdk.js`], { encoding: 'utf8' });
  if (b.status !== 0) process.stderr.write(`bundle-sdk failed (the CLI will load the Azure SDK package by package):\n${b.stdout}${b.stderr}\n`);

  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(testTemp, { recursive: true, force: true, maxRetries: 3 });
  };
}

/** Temp roots of earlier runs whose vitest process has ended (killed before its teardown). */
function removeAbandonedRoots(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(/^acr-trust-tests-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || running(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
