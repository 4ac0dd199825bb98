/**
 * Loading the Azure SDK packages: once, on demand, all four at the same time, and with one copy
 * of the Azure core stack.
 *
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

type ContainerRegistryModule = typeof import('@azure/arm-containerregistry');
type AuthorizationModule = typeof import('@azure/arm-authorization');
type ResourcesModule = typeof import('@azure/arm-resources');
type SubscriptionsModule = typeof import('@azure/arm-resources-subscriptions');

let acr: Promise<ContainerRegistryModule> | undefined;
let authz: Promise<AuthorizationModule> | undefined;
let resources: Promise<ResourcesModule> | undefined;
let subscriptions: Promise<SubscriptionsModule> | undefined;

export const loadContainerRegistry = (): Promise<ContainerRegistryModule> => (acr ??= import('@azure/arm-containerregistry'));
export const loadAuthorization = (): Promise<AuthorizationModule> => (authz ??= importAuthorization());
export const loadResources = (): Promise<ResourcesModule> => (resources ??= import('@azure/arm-resources'));
export const loadSubscriptions = (): Promise<SubscriptionsModule> => (subscriptions ??= import('@azure/arm-resources-subscriptions'));

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
