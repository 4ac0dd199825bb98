/**
 * Helpers for the suites that drive the real binaries: `acr-trust` (bin/acr-trust.js, built by the
 * global setup) and Microsoft's Azure CLI (`az`, found on PATH).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const bin = join(root, 'bin/acr-trust.js');

export const tmp = (prefix = 'acr-trust-az-') => mkdtempSync(join(tmpdir(), prefix));

/** The `az` executable on PATH, or undefined (found without starting it). */
export function findAz(path = process.env.PATH ?? ''): string | undefined {
  for (const d of path.split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(d, 'az'), constants.X_OK);
      return join(d, 'az');
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function acrTrust(args: string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Served {
  line: { endpoint: string; caCertFile: string; subscriptionId: string; tenantId: string };
  child: ChildProcess;
  exit: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts `acr-trust sim serve`, resolves with its JSON line once it listens. */
export function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'sim', 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        resolve({
          line: JSON.parse(out.slice(0, nl)),
          child,
          exit,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exit;
          },
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`sim serve exited ${code} before listening: ${err}`)));
  });
}

/** The environment without anything that points an Azure client elsewhere. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AZURE_|ARM_|MSAL_)/.test(k) || ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * A `sim serve` in a fresh folder and an az configuration pointed at it (`sim az-env`), with HOME a
 * fresh folder too, so nothing lands in ~/.azure. Returns the sim, the folder and az's environment.
 */
export async function azSession(): Promise<{ dir: string; state: string; sim: Served; env: NodeJS.ProcessEnv }> {
  const dir = tmp();
  const home = join(dir, 'home');
  mkdirSync(home);
  const state = join(dir, 'sim-cloud.json');
  const sim = await serve(['--state', state]);
  const prepared = acrTrust(['sim', 'az-env', '--state', state, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
  if (prepared.status !== 0) throw new Error(`sim az-env exited ${prepared.status}: ${prepared.stderr}`);
  return { dir, state, sim, env: cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: home }) };
}

/** Debian's azure-cli 2.45 fails `az role …` before sending anything (Azure/azure-cli#24959). */
export const DEBIAN_ROLE_BUG = /'RoleAssignments?Operations' object has no attribute 'config'|'RoleDefinitionsOperations' object has no attribute 'config'/;
/** The exported script's role command for current CLIs, and its commented-out `az rest` twin. */
export const ROLE_CREATE = /^az role assignment create /m;
export const ROLE_REST = /^# (az rest --method put .*\/roleAssignments\/.*)$/m;

/**
 * An exported script as it runs with the `az` at hand: with Debian's 2.45 (found by a read-only
 * probe, which must fail with that bug), what the script's comment says — the role command commented
 * out, the `az rest` line in. `probe` runs az with the given arguments.
 */
export function forThisAz(script: string, probe: (...args: string[]) => { status: number | null; stderr: string }, subscriptionId: string): { text: string; debian: boolean } {
  const r = probe('role', 'assignment', 'list', '--scope', `/subscriptions/${subscriptionId}`);
  if (r.status === 0) return { text: script, debian: false };
  if (!DEBIAN_ROLE_BUG.test(r.stderr)) throw new Error(`az role assignment list failed for another reason: ${r.stderr}`);
  return { text: script.replace(ROLE_CREATE, '# $&').replace(ROLE_REST, '$1'), debian: true };
}

/**
 * Two `sim serve`s seeded alike (`seed`: more serve options) in `dir`: the wizard walks `runArgs`
 * against the first and `export` writes its script; az's environment (`sim az-env`, HOME a fresh
 * folder) points at the second, for the script. Throws with the command's stderr when one fails.
 */
export async function wizardThenScriptSims(dir: string, seed: string[], runArgs: string[]): Promise<{ wizardSim: Served; freshSim: Served; states: { wizard: string; fresh: string }; exported: string; env: NodeJS.ProcessEnv }> {
  const states = { wizard: join(dir, 'wizard-cloud.json'), fresh: join(dir, 'script-cloud.json') };
  const [wizardSim, freshSim] = await Promise.all([serve(['--state', states.wizard, '--speed', 'instant', ...seed]), serve(['--state', states.fresh, '--speed', 'instant', ...seed])]);
  const wd = join(dir, 'wizard');
  const where = ['--target', 'sim', '--endpoint', wizardSim.line.endpoint, '--ca', wizardSim.line.caCertFile, '--sim-speed', 'instant'];
  const run = acrTrust(['run', ...where, '--yes', '--workdir', wd, '--json', ...runArgs], cleanEnv());
  if (run.status !== 0) throw new Error(`the wizard's run exited ${run.status}: ${run.stderr}`);
  const e = acrTrust(['export', '--workdir', wd], cleanEnv());
  if (e.status !== 0) throw new Error(`export exited ${e.status}: ${e.stderr}`);
  const home = join(dir, 'home');
  mkdirSync(home);
  const prepared = acrTrust(['sim', 'az-env', '--state', states.fresh, '--dir', join(dir, 'azure-cli'), '--json'], cleanEnv());
  if (prepared.status !== 0) throw new Error(`sim az-env exited ${prepared.status}: ${prepared.stderr}`);
  return { wizardSim, freshSim, states, exported: e.stdout, env: cleanEnv({ ...JSON.parse(prepared.stdout).env, HOME: home }) };
}

/** A sim's cloud as `acr-trust sim show --json` prints it from its state file (ARM's views, agent pools included). */
export function simCloudOf(state: string): any {
  const r = acrTrust(['sim', 'show', '--state', state, '--json'], cleanEnv());
  if (r.status !== 0) throw new Error(`sim show exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
