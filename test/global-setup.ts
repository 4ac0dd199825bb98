/**
 * Builds the TypeScript once before the suites, so tests that spawn `bin/acr-trust.js` run the
 * current code. Type errors are printed but do not stop the run (tsc still emits); the type check
 * proper is `npm run build`. Then, as `npm run build` does, bundles the Azure SDK into
 * dist/azure-sdk.mjs, so the spawned CLI loads the SDK the way an installed one does (without the
 * bundle it falls back to the packages, only slower; a failure here is printed, not fatal).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`tsc reported errors (tests run on what it emitted):\n${r.stdout}${r.stderr}\n`);
  const b = spawnSync(process.execPath, [`${root}dist/src/azure/bundle-sdk.js`], { encoding: 'utf8' });
  if (b.status !== 0) process.stderr.write(`bundle-sdk failed (the CLI will load the Azure SDK package by package):\n${b.stdout}${b.stderr}\n`);
}
