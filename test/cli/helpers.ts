/**
 * End-to-end helpers: spawn the built binary (`node bin/acr-trust.js …`, compiled by the global
 * setup) in a clean environment with a temp workdir, and read what the embedded sim persisted.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'acr-trust.js');

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without the user's answers or Azure sign-in, and without colours. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(ACR_TRUST_|AZURE_)/.test(k)) env[k] = v;
  }
  // AZURE_TOKEN_CREDENTIALS=dev keeps DefaultAzureCredential to the developer credentials (files
  // and CLIs on this machine): tests never probe the managed-identity endpoint off loopback.
  return { ...env, NO_COLOR: '1', AZURE_CONFIG_DIR: join(tempDir(), 'no-az'), AZURE_TOKEN_CREDENTIALS: 'dev', ...extra };
}

export function tempDir(prefix = 'acr-trust-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs the CLI to its end. */
export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; nodeArgs?: string[] } = {}): Result {
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? tempDir(),
    env: cleanEnv(opts.env),
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI to its end without blocking, so independent cases can run side by side. */
export function cliAsync(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  const c = startCli(args, opts);
  return c.exit.then(({ code }) => ({ status: code, stdout: c.lines.map((l) => `${l}\n`).join(''), stderr: c.stderr }));
}

/** Starts the CLI and hands back the process plus its stdout lines as they come. */
export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [BIN, ...args], { cwd: tempDir(), env: cleanEnv(opts.env) });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const waiters: { n: number; resolve: () => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.filter((w) => lines.length >= w.n)) w.resolve();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    get stderr() {
      return stderr;
    },
    exit,
    /** Resolves once `n` lines were printed (or the process ended). */
    afterLines(n: number): Promise<void> {
      return Promise.race([new Promise<void>((resolve) => (lines.length >= n ? resolve() : waiters.push({ n, resolve }))), exit.then(() => {})]);
    },
  };
}

/** The JSON lines of a `--json` run, parsed. */
export function jsonLines(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

/** The embedded sim's cloud, as it persisted it in the workdir. */
export function simCloud(workdir: string): any {
  return JSON.parse(readFileSync(join(workdir, 'sim-cloud.json'), 'utf8'));
}

/** The requests the embedded sim answered during the last process that ran it. */
export function simRequests(workdir: string): { method: string; path: string; name: string; write: boolean; status: number }[] {
  return JSON.parse(readFileSync(join(workdir, 'sim-cloud.requests.json'), 'utf8'));
}

/** The network settings a reset must restore, exactly as the registry carries them. */
export function networkSettings(registry: any): string {
  const p = registry.properties;
  return JSON.stringify({
    publicNetworkAccess: p.publicNetworkAccess,
    networkRuleBypassOptions: p.networkRuleBypassOptions,
    networkRuleBypassAllowedForTasks: p.networkRuleBypassAllowedForTasks,
    networkRuleSet: p.networkRuleSet,
  });
}

export function registryNamed(cloud: any, name: string): any {
  return Object.values(cloud.registries).find((r: any) => r.name === name);
}

/** Role assignments given to a task's identity (the scenario's own caller assignment excluded). */
export function taskRoleAssignments(cloud: any): any[] {
  const principals = new Set(Object.values(cloud.tasks).map((t: any) => t.identity?.principalId));
  return Object.values(cloud.roleAssignments).filter((a: any) => principals.has(a.properties.principalId) || a.properties.principalType === 'ServicePrincipal');
}

/** Every step, in order: the bypass path's (STEP_IDS) and the agent-pool path's own `agent-pool`. */
export const WORKFLOW_IDS = [
  'preflight',
  'create-task',
  'assign-role',
  'add-credential',
  'agent-pool',
  'allow-trusted-services',
  'allow-task-bypass',
  'disable-public-access',
  'run-task',
  'disable-trusted-services',
  'confirm-denied',
];

/** The steps of the bypass path (the article's workflow; without --agent-pool), in order. */
export const STEP_IDS = WORKFLOW_IDS.filter((id) => id !== 'agent-pool');

/** No stack trace, no "bug" banner: an expected failure. */
export function expectNoStack(r: Result): void {
  if (/\n\s+at .+\(.*:\d+:\d+\)/.test(r.stderr) || r.stderr.includes('this is a bug')) {
    throw new Error(`unexpected stack trace:\n${r.stderr}`);
  }
}

export interface ServedSim {
  dir: string;
  stateFile: string;
  endpoint: string;
  caCertFile: string;
  subscriptionId: string;
}

/** Runs `fn` with a `sim serve` (instant) of its own, in another process, stopped afterwards. */
export async function withServedSim(fn: (sim: ServedSim) => Promise<void>, serveArgs: string[] = []): Promise<void> {
  const dir = tempDir();
  const stateFile = join(dir, 'cloud.json');
  const server = startCli(['sim', 'serve', '--state', stateFile, '--speed', 'instant', ...serveArgs]);
  await server.afterLines(1);
  try {
    await fn({ dir, stateFile, ...JSON.parse(server.lines[0]!) });
  } finally {
    server.child.kill('SIGTERM');
    await server.exit;
  }
}
