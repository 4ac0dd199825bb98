/**
 * The installable package (issue 15 §2): `npm pack` of a clean copy of the sources runs the
 * `prepack` build and makes a tarball that carries what the CLI runs (compiled code, the SDK
 * bundle, the lock as npm-shrinkwrap.json) and no tests or TypeScript sources; `npm install -g`
 * of it into a temporary prefix, and `npx` of it, run the whole workflow on the simulated Azure;
 * and the install still uses the SDK bundle after it is moved (no build-machine paths recorded).
 *
 * Offline-friendly: npm takes every package from its cache when it has it (`--prefer-offline`;
 * `npm ci` put the tarballs there) and asks the registry only for what it lacks.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../cli/helpers.js';

const NODE_DIR = dirname(process.execPath);
/** A PATH with Node (and npm beside it) and the system's basic tools — no project's node_modules/.bin. */
const PATH = [NODE_DIR, '/usr/local/bin', '/usr/bin', '/bin'].join(':');

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  // Only what a machine with Node has: no ACR_TRUST_/AZURE_ variables, no npm_* from the test runner.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ACR_TRUST_|AZURE_|npm_|NODE_PATH|INIT_CWD)/i.test(k)));
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...base, PATH, NO_COLOR: '1', ...env }, timeout: 240_000 });
}

let work: string;
let tarball: string;

describe('the npm package', () => {
  beforeAll(() => {
    work = tempDir('acr-trust-pack-');
    // A clean copy of what a clone holds (no dist/), with the clone's installed modules.
    const src = join(work, 'src');
    mkdirSync(src);
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'bin', 'src', 'steps', 'docs', 'test']) cpSync(join(ROOT, f), join(src, f), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
    const r = sh('npm', ['pack', '--pack-destination', work], src);
    expect(r.status, r.stderr).toBe(0);
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
    // postpack removes the shrinkwrap it made; the copy is as it was.
    expect(existsSync(join(src, 'npm-shrinkwrap.json'))).toBe(false);
  }, 300_000);

  it('carries the compiled CLI, the SDK bundle and the lock, and no tests or sources', () => {
    const list = sh('tar', ['tzf', tarball], work).stdout.split('\n').filter(Boolean);
    for (const f of ['bin/acr-trust.js', 'dist/src/cli/main.js', 'dist/steps/index.js', 'dist/azure-sdk.mjs', 'dist/azure-sdk.json', 'npm-shrinkwrap.json', 'README.md', 'package.json']) {
      expect(list).toContain(`package/${f}`);
    }
    expect(list.filter((f) => /^package\/(test|bench|reliability|src|steps)\//.test(f) || f.endsWith('.ts'))).toEqual([]);
    // The bundle's manifest names packages relative to the package's folder, never the build machine's paths.
    const manifest = sh('tar', ['xzf', tarball, '-O', 'package/dist/azure-sdk.json'], work).stdout;
    const paths = Object.keys((JSON.parse(manifest) as { packages: Record<string, string> }).packages);
    expect(paths.length).toBeGreaterThan(10);
    for (const p of paths) expect(p).toMatch(/^node_modules\/.+\/package\.json$/);
    expect(manifest).not.toContain(work);
    expect(manifest).not.toContain(ROOT);
  });

  it('npm install -g of the tarball runs the workflow on the sim, and a moved install still uses the SDK bundle', () => {
    const prefix = join(work, 'prefix');
    const i = sh('npm', ['install', '-g', tarball, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'], work);
    expect(i.status, i.stderr).toBe(0);
    const bin = join(prefix, 'bin', 'acr-trust');
    const help = sh(bin, ['--help'], work);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: acr-trust');

    const cwd = join(work, 'run-global');
    mkdirSync(cwd);
    const r = sh(bin, ['run', '--target', 'sim', '--yes', '--sim-speed', 'instant'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Finished: 10 step\(s\) hold/m);

    // Moved elsewhere (an image layer, another prefix): the bundle's manifest still matches.
    const moved = join(work, 'moved');
    renameSync(prefix, moved);
    const pkg = join(moved, 'lib', 'node_modules', 'acr-trust');
    const source = sh(process.execPath, ['--input-type=module', '-e', `console.log(await (await import(${JSON.stringify(join(pkg, 'dist/src/azure/sdk.js'))})).sdkSource())`], work);
    expect(source.stdout.trim(), source.stderr).toBe('bundle');
    const again = sh(process.execPath, [join(pkg, 'bin', 'acr-trust.js'), 'verify', '--target', 'sim'], cwd);
    expect(again.status, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toContain('All 10 steps hold.');
  }, 240_000);

  it('npx of the tarball runs it too', () => {
    const cwd = join(work, 'run-npx');
    mkdirSync(cwd);
    // Its own npx cache folder under the npm cache: nothing installed earlier is reused.
    const r = sh('npx', ['--yes', '--prefer-offline', '--package', tarball, '--', 'acr-trust', 'run', '--target', 'sim', '--yes', '--sim-speed', 'instant'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Finished: 10 step\(s\) hold/m);
    expect(readdirSync(join(cwd, '.acr-trust'))).toContain('report.md');
    expect(readFileSync(join(cwd, '.acr-trust', 'answers.yaml'), 'utf8')).toContain('target: sim');
  }, 240_000);
});
