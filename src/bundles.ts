/**
 * The one-file bundles the build makes beside dist/src (`npm run build`, src/azure/bundle-sdk.ts):
 * `dist/azure-sdk.mjs` (the Azure SDK the adapter uses) and `dist/x509.mjs` (@peculiar/x509 with
 * its ASN.1 stack, for the sim's certificates). Each has a manifest (`<name>.json`) naming every
 * package it holds with the version bundled; a bundle is used only while every one of them is
 * still installed at that version (`bundleCurrent`), else the packages load one by one — a stale
 * or missing bundle costs time, never correctness. Loading hundreds of small modules is most of
 * what these libraries cost at start-up; the same code as one file loads in a fraction of it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** acr-trust's own folder (where its package.json is), from src/ or dist/src/ alike. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(`${dir}/package.json`) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Whether a bundle manifest still holds: every package bundled is installed, at the version
 * bundled. Its paths are relative to `root`, the package's folder (dist/..).
 */
export function bundleCurrent(manifest: string, root = packageRoot()): boolean {
  try {
    const built = (JSON.parse(manifest) as { packages?: Record<string, string> }).packages ?? {};
    if (Object.keys(built).length === 0) return false;
    return Object.entries(built).every(([path, version]) => {
      const pj = resolve(root, path);
      return existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { version?: string }).version === version;
    });
  } catch {
    return false;
  }
}

/**
 * The bundle `dist/<name>.mjs`, imported, when it is there and current; else undefined (the
 * caller imports the packages). Any failure to load it counts as not there.
 */
export async function loadBundle<M>(name: string): Promise<M | undefined> {
  try {
    // This file is dist/src/bundles.js once built: the bundles sit in dist/ (from src/, under the
    // tests' TypeScript, there are none and the packages load).
    const dist = fileURLToPath(new URL('../', import.meta.url));
    const file = resolve(dist, `${name}.mjs`);
    const manifest = resolve(dist, `${name}.json`);
    if (!existsSync(file) || !existsSync(manifest)) return undefined;
    if (!bundleCurrent(readFileSync(manifest, 'utf8'))) return undefined; // stale: `npm run build` makes a new one
    return (await import(pathToFileURL(file).href)) as M;
  } catch {
    return undefined;
  }
}
