/**
 * Loading the Azure SDK packages: once, on demand, all four at the same time, with one copy of the
 * Azure core stack — from one prebuilt file when the build made it.
 *
 * - The build bundles the four packages and the core stack into `dist/azure-sdk.mjs` (see
 *   bundle-sdk.ts): one file instead of ~280 modules, loaded in about half the time. It is used
 *   only while every package it holds is installed at the version bundled (`dist/azure-sdk.json`);
 *   otherwise, and when running from source (tests), the packages are imported one by one.
 * - `preloadSdk()` starts importing every management package the workflow uses. A command that
 *   talks to a cloud calls it as soon as it connects (see `connect`), so the packages load while
 *   the first requests are built instead of one after another as each step reaches them. Commands
 *   that never connect (`steps`, `--help`, usage errors) never load them.
 * - `@azure/arm-authorization` 9.0.0 (the latest) ships only a CommonJS bundle. Its
 *   `require('@azure/core-client')` would load a second, CommonJS copy of the whole Azure core stack
 *   (core-client, core-rest-pipeline, @typespec/ts-http-runtime …) beside the ES module copy the
 *   other three packages use — about as long again as loading the stack the first time (~300 ms on
 *   a small machine) and a dual-package hazard (two pipelines' worth of classes and state). We
 *   evaluate its bundle with a `require` that hands it the ES module copy instead. This is done
 *   only when the package is the CommonJS bundle we know (9.x, `dist/index.js`) and both resolve
 *   to the very packages it would require; otherwise it is imported the ordinary way.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileFunction } from 'node:vm';
import { loadBundle as loadBundleFile } from '../bundles.js';

/** The packages, and the one export of each that the adapter uses. */
export const SDK_PACKAGES = {
  '@azure/arm-containerregistry': 'ContainerRegistryManagementClient',
  '@azure/arm-authorization': 'AuthorizationManagementClient',
  '@azure/arm-resources': 'ResourceManagementClient',
  '@azure/arm-resources-subscriptions': 'SubscriptionClient',
} as const;

type ContainerRegistryModule = Pick<typeof import('@azure/arm-containerregistry'), 'ContainerRegistryManagementClient'>;
type AuthorizationModule = Pick<typeof import('@azure/arm-authorization'), 'AuthorizationManagementClient'>;
type ResourcesModule = Pick<typeof import('@azure/arm-resources'), 'ResourceManagementClient'>;
type SubscriptionsModule = Pick<typeof import('@azure/arm-resources-subscriptions'), 'SubscriptionClient'>;
type Bundle = ContainerRegistryModule & AuthorizationModule & ResourcesModule & SubscriptionsModule;

let bundle: Promise<Bundle | undefined> | undefined;
let acr: Promise<ContainerRegistryModule> | undefined;
let authz: Promise<AuthorizationModule> | undefined;
let resources: Promise<ResourcesModule> | undefined;
let subscriptions: Promise<SubscriptionsModule> | undefined;

export const loadContainerRegistry = (): Promise<ContainerRegistryModule> => (acr ??= bundleOr(() => import('@azure/arm-containerregistry')));
export const loadAuthorization = (): Promise<AuthorizationModule> => (authz ??= bundleOr(importAuthorization));
export const loadResources = (): Promise<ResourcesModule> => (resources ??= bundleOr(() => import('@azure/arm-resources')));
export const loadSubscriptions = (): Promise<SubscriptionsModule> => (subscriptions ??= bundleOr(() => import('@azure/arm-resources-subscriptions')));

async function bundleOr<M>(load: () => Promise<M>): Promise<M> {
  return ((await loadBundle()) as M | undefined) ?? load();
}

/** dist/azure-sdk.mjs, when it is there and matches the installed packages; else undefined. */
function loadBundle(): Promise<Bundle | undefined> {
  return (bundle ??= (async () => {
    const loaded = await loadBundleFile<Bundle>('azure-sdk');
    return loaded && Object.values(SDK_PACKAGES).every((name) => typeof loaded[name] === 'function') ? loaded : undefined;
  })().catch(() => undefined));
}

/** Where the SDK comes from in this install: the one-file bundle, or the packages one by one (for tests, bench and `doctor`). */
export async function sdkSource(): Promise<'bundle' | 'packages'> {
  return (await loadBundle()) ? 'bundle' : 'packages';
}

/**
 * Starts loading every SDK package (in the background; failures surface at first use). The
 * core stack first: the packages share it, and each waits for it anyway.
 */
export function preloadSdk(): void {
  const quiet = (p: Promise<unknown>) => void p.catch(() => {});
  quiet(loadContainerRegistry());
  quiet(loadResources());
  quiet(loadSubscriptions());
  quiet(loadAuthorization());
}

/** Whether a bundle manifest still holds (src/bundles.ts; kept here for the SDK's callers). */
export { bundleCurrent } from '../bundles.js';

async function importAuthorization(): Promise<AuthorizationModule> {
  try {
    const shared = await sharedCoreBundle();
    if (shared) return shared;
  } catch {
    // fall through: the ordinary import works, only slower
  }
  return import('@azure/arm-authorization');
}

/** The CommonJS bundle of @azure/arm-authorization evaluated against the ES module core, or undefined. */
async function sharedCoreBundle(): Promise<AuthorizationModule | undefined> {
  const here = createRequire(import.meta.url);
  const bundle = here.resolve('@azure/arm-authorization');
  const pkg = JSON.parse(readFileSync(here.resolve('@azure/arm-authorization/package.json'), 'utf8')) as { version?: string; type?: string };
  if (!/^9\./.test(pkg.version ?? '') || pkg.type === 'module' || !/[\\/]dist[\\/]index\.js$/.test(bundle)) return undefined;

  const theirs = createRequire(bundle);
  // The ES module entries of the core packages the bundle requires, resolved from the bundle's
  // own folder (so a nested, different version is respected), and only if they are the same
  // packages (same package.json) that its require() would load.
  const esm: Record<string, unknown> = {};
  for (const id of ['@azure/core-client', '@azure/core-rest-pipeline']) {
    const pkgJson = theirs.resolve(`${id}/package.json`);
    const entry = esmEntry(pkgJson);
    if (!entry || !theirs.resolve(id).startsWith(dirname(pkgJson))) return undefined;
    esm[id] = await import(entry);
  }

  const module = { exports: {} as Record<string, unknown> };
  const wrapped = compileFunction(readFileSync(bundle, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: bundle });
  const require = Object.assign((id: string) => (id in esm ? esm[id] : theirs(id)), { resolve: theirs.resolve, cache: theirs.cache });
  wrapped(module.exports, require, module, bundle, dirname(bundle));
  const loaded = module.exports as unknown as AuthorizationModule;
  return typeof loaded.AuthorizationManagementClient === 'function' ? loaded : undefined;
}

/** The file URL of a package's ES module entry (`exports["."].import`), from its package.json. */
function esmEntry(pkgJson: string): string | undefined {
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { exports?: Record<string, unknown> };
  const dot = pkg.exports?.['.'] as { import?: string | { default?: string } } | undefined;
  const target = typeof dot?.import === 'string' ? dot.import : dot?.import?.default;
  if (!target) return undefined;
  return new URL(target, pathToFileURL(pkgJson)).href;
}
