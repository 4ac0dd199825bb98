/**
 * Build step, after `tsc`: bundles the four Azure management packages the adapter uses, with the
 * Azure core stack they share, into one ES module — `dist/azure-sdk.mjs` — and the same way
 * @peculiar/x509 with its ASN.1 stack (some 700 module loads) for the sim's certificates —
 * `dist/x509.mjs` (src/bundles.ts loads either) — and records every
 * package it holds, with the version it was built from, in `dist/azure-sdk.json` (paths relative
 * to the package's folder, e.g. `node_modules/@azure/core-client/package.json`, so the bundle
 * keeps working when the install is moved or was built on another machine, as `npm pack` does).
 *
 *   node dist/src/azure/bundle-sdk.js
 *
 * Why: loading the packages means resolving, reading and compiling some 280 small modules, which
 * was the largest part of a run's start on the sim (~350 ms of CPU on a small machine); the same
 * code as one file loads in about half the time. `sdk.ts` loads the bundle when it is there and was
 * built from the versions installed now, and the packages themselves otherwise — so a stale or
 * missing bundle costs time, never correctness. Needs `rolldown` (vite's bundler, installed with
 * the dev dependencies); without it, it says so and makes no bundle.
 */
import { existsSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SDK_PACKAGES } from './sdk.js';

const dist = fileURLToPath(new URL('../../', import.meta.url));
/** The package's own folder (dist/..): the manifest's paths are relative to it, so a moved install still finds them. */
const root = resolve(dist, '..');

/** The package.json of the package a bundled module file belongs to (the nearest one with a name). */
function packageJsonOf(file: string): string | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && typeof (JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name === 'string') return pj;
  }
  return undefined;
}

/**
 * A bundled package.json as the manifest names it: its path from the package's folder, with `/`
 * (`node_modules/@azure/core-client/package.json`). node_modules may be a link to elsewhere (a
 * copy of the sources packed with the original's modules): its real path counts as `node_modules`.
 */
function manifestKey(pj: string): string {
  const modules = join(root, 'node_modules');
  const real = existsSync(modules) ? realpathSync(modules) : modules;
  const path = pj.startsWith(real + sep) ? join('node_modules', pj.slice(real.length + 1)) : relative(root, pj);
  return path.split(sep).join('/');
}

/**
 * Bundles `entryCode` (ES module source importing packages) into `dist/<name>.mjs`, and writes its
 * manifest `dist/<name>.json`: every package bundled, with its version (see src/bundles.ts).
 * `minPackages`: fewer bundled packages than this means the entry did not resolve as meant.
 * `minify`: a smaller file parses faster (for a library whose stack frames nobody reads).
 */
async function bundleModules(build: typeof import('rolldown').build, name: string, entryCode: string, minPackages: number, minify = false): Promise<void> {
  const entry = `${dist}${name}.entry.mjs`;
  writeFileSync(entry, entryCode);
  // Written beside and renamed into place, so a CLI starting meanwhile reads the old bundle or the new one.
  const tmp = `${dist}${name}.${process.pid}.tmp.mjs`;
  let moduleIds: string[];
  try {
    const out = await build({
      input: entry,
      platform: 'node',
      logLevel: 'warn',
      output: { file: tmp, format: 'esm', ...(minify ? { minify: true } : {}) },
    });
    moduleIds = out.output.flatMap((o) => ('moduleIds' in o ? o.moduleIds : []));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    rmSync(entry, { force: true });
  }
  // Every package in the bundle, by its package.json relative to the package's folder (POSIX
  // separators; never the build machine's absolute path), with the version bundled: the bundle is
  // used only while each of them is still installed there at that version.
  const packages: Record<string, string> = {};
  for (const id of moduleIds) {
    const pj = id.includes('node_modules') ? packageJsonOf(id) : undefined;
    const key = pj && manifestKey(pj);
    if (pj && key && !(key in packages)) packages[key] = (JSON.parse(readFileSync(pj, 'utf8')) as { version: string }).version;
  }
  if (Object.keys(packages).length < minPackages) throw new Error(`the ${name} bundle holds only ${Object.keys(packages).length} packages`);
  renameSync(tmp, `${dist}${name}.mjs`);
  writeFileSync(`${dist}${name}.json.tmp`, `${JSON.stringify({ packages }, null, 1)}\n`);
  renameSync(`${dist}${name}.json.tmp`, `${dist}${name}.json`);
}

/** The names of @peculiar/x509 the sim's certificates use (src/sim/cert.ts), and its provider set-up. */
export const X509_NAMES = [
  'X509CertificateGenerator',
  'BasicConstraintsExtension',
  'KeyUsagesExtension',
  'KeyUsageFlags',
  'SubjectKeyIdentifierExtension',
  'AuthorityKeyIdentifierExtension',
  'ExtendedKeyUsageExtension',
  'ExtendedKeyUsage',
  'SubjectAlternativeNameExtension',
  'cryptoProvider',
] as const;

async function main(): Promise<void> {
  let build: typeof import('rolldown').build;
  try {
    ({ build } = await import('rolldown'));
  } catch {
    // An install without the dev dependencies: no bundle, and the SDK loads package by package.
    process.stdout.write('bundle-sdk: rolldown is not installed; skipped (the Azure SDK and @peculiar/x509 will load package by package)\n');
    return;
  }
  await bundleModules(build, 'azure-sdk', Object.entries(SDK_PACKAGES).map(([pkg, name]) => `export { ${name} } from '${pkg}';\n`).join(''), Object.keys(SDK_PACKAGES).length);
  process.stdout.write(`bundled ${Object.keys(SDK_PACKAGES).join(', ')} into ${dist}azure-sdk.mjs\n`);
  // The sim's certificates: reflect-metadata first (tsyringe, under @peculiar/x509, needs it).
  await bundleModules(build, 'x509', `import 'reflect-metadata';\nexport { ${X509_NAMES.join(', ')} } from '@peculiar/x509';\n`, 3, true);
  process.stdout.write(`bundled @peculiar/x509 into ${dist}x509.mjs\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`bundle-sdk: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
