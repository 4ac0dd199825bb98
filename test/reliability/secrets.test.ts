/**
 * Secrets and least privilege, measured. Everything full runs, failed runs and interrupted runs
 * produce — every file in the workdir (state, answers, report.md), the script `export` prints, and
 * stdout and stderr under every output mode (plain, --json, --dry-run, the Azure SDK's verbose log)
 * — is scanned for bearer tokens, SAS signatures, task-log links, JWTs, client secrets, passwords
 * and the sim's log-signing keys. Findings must be 0. The role assignment is scoped to the target
 * registry only, the writes touch only what the workflow needs, and the workdir is private.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, cliAsync, tempDir, type Result } from '../cli/helpers.js';
import { figures, FULL, pool, serveSim, simShow, startWizard, timeout, type CloudView } from './support.js';
import { ROLE_GUIDS } from '../../src/model/roles.js';

const fig = figures('secrets');

/** The sim credential's token (src/azure/credentials.ts) — what the wizard sends as its bearer token. */
const SIM_TOKEN = 'acr-trust-sim-token';
const CANARY = 'canary-Client-Secret-4f9a8b7c2d';

/** A value the SDK or acr-trust has already replaced. */
const NOT_REDACTED = '(?!\\[REDACTED\\]|<redacted>|\\[redacted\\])';
/**
 * The simulated cloud's own files (its state, with the runs' log-signing keys, and its TLS server
 * key): they stand for Azure's side and live in the workdir only because the sim is embedded.
 */
const SIM_OWN_FILES = /(^|\/)(sim-)?cloud(\.json|\.tls\.pem)$/;

interface Pattern {
  name: string;
  re: RegExp;
  /** Files where the match is the simulated cloud's own data, not something acr-trust wrote or printed. */
  allowIn?: RegExp;
}

const PATTERNS: Pattern[] = [
  { name: 'the sim bearer token', re: new RegExp(SIM_TOKEN) },
  { name: 'a bearer token', re: /Bearer\s+(?!<redacted>|authorization_uri)[A-Za-z0-9._~+/=-]{8,}/i },
  { name: 'a SAS parameter (sig/sv/se)', re: /[?&](sig|sv|se)=[^&\s"'<]+/i },
  { name: 'a task log link', re: /\/logs\/[^\s"']*rawtext\.log\?|acrtasklogs\.blob\.core\.windows\.net[^\s"']*\?/i },
  { name: 'a JWT', re: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./ },
  { name: 'a client secret', re: new RegExp(`client_?secret["']?\\s*[:=]\\s*["']?${NOT_REDACTED}[^\\s"',}]{4,}`, 'i') },
  { name: 'a password', re: new RegExp(`\\b(password|passwd)["']?\\s*[:=]\\s*["']?${NOT_REDACTED}[^\\s"',}]{4,}`, 'i') },
  { name: 'the canary client secret', re: new RegExp(CANARY) },
  { name: 'a private key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, allowIn: SIM_OWN_FILES },
];

interface Corpus {
  /** Where the text came from: a workdir file, or "<scenario> stdout". */
  name: string;
  text: string;
}

interface Finding {
  where: string;
  what: string;
  sample: string;
}

/** Every pattern, plus the sim's own log-signing keys (secret values known to the test). */
function scan(corpus: Corpus[], extraSecrets: string[] = []): Finding[] {
  const findings: Finding[] = [];
  for (const c of corpus) {
    for (const p of PATTERNS) {
      if (p.allowIn?.test(c.name)) continue;
      const m = p.re.exec(c.text);
      if (m) findings.push({ where: c.name, what: p.name, sample: c.text.slice(Math.max(0, m.index - 40), m.index + 80) });
    }
    if (SIM_OWN_FILES.test(c.name)) continue; // the cloud keeps its own keys
    for (const s of extraSecrets) if (s && c.text.includes(s)) findings.push({ where: c.name, what: 'a log-signing key of the sim', sample: '(a logKey)' });
  }
  return findings;
}

/** Every file under a folder, as corpus entries named by their path. */
function filesOf(dir: string, label: string): Corpus[] {
  const out: Corpus[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push({ name: `${label}/${relative(dir, p)}`, text: readFileSync(p, 'latin1') });
    }
  };
  walk(dir);
  return out;
}

function outputs(label: string, r: Result): Corpus[] {
  return [
    { name: `${label} stdout`, text: r.stdout },
    { name: `${label} stderr`, text: r.stderr },
  ];
}

/** The logKeys of every run in a workdir's sim cloud. */
function logKeys(cloudFile: string): string[] {
  try {
    const c = JSON.parse(readFileSync(cloudFile, 'utf8'));
    return Object.values(c.runs ?? {}).map((r: any) => String(r.logKey ?? '')).filter(Boolean);
  } catch {
    return [];
  }
}

describe('secrets', () => {
  it('the scanner finds each kind of secret when one is planted (so a clean scan means something)', () => {
    const planted: Corpus[] = [
      { name: 'token', text: `{"authorization":"Bearer ${SIM_TOKEN}"}` },
      { name: 'bearer', text: 'Authorization: Bearer abcdefgh.ijklmnop' },
      { name: 'sas', text: 'https://127.0.0.1:4443/acrtasklogs.blob.core.windows.net/logs/acrtrustdemo/ca1/rawtext.log?sv=2021-08-06&se=2025-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=abc%2Fdef' },
      { name: 'jwt', text: 'token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl' },
      { name: 'secret', text: 'AZURE_CLIENT_SECRET=x\nclient_secret=abcd1234' },
      { name: 'password', text: '{"userName":"u","password":"hunter22"}' },
      { name: 'canary', text: `... ${CANARY} ...` },
      { name: 'key', text: '-----BEGIN PRIVATE KEY-----\nMIIE' },
      { name: 'logkey', text: 'the key c2VjcmV0LWxvZy1rZXk= leaked' },
    ];
    const found = new Set(scan(planted, ['c2VjcmV0LWxvZy1rZXk=']).map((f) => f.where));
    expect([...found].sort()).toEqual(planted.map((p) => p.name).sort());
    // …and prose that names a secret without carrying one is not a finding.
    expect(scan([{ name: 'prose', text: 'No token, password or SAS URL is kept; the log link is a secret. Bearer <redacted>' }])).toEqual([]);
  });

  it('nothing secret in any file or output of full, failed, interrupted, dry and reset runs, under every output mode', async () => {
    const corpus: Corpus[] = [];
    const keys: string[] = [];
    const root = tempDir('acr-trust-secrets-');
    const wd = (name: string) => join(root, name);
    const sim = ['run', '--target', 'sim', '--yes'];
    const verbose = { AZURE_LOG_LEVEL: 'verbose' };
    const scenarios: { name: string; steps: () => Promise<Result[]> }[] = [
      {
        name: 'full run, plain, then status/verify/export/reset under every mode',
        steps: async () => {
          const w = wd('full');
          const out = [await cliAsync([...sim, '--workdir', w])];
          out.push(await cliAsync(['status', '--workdir', w]), await cliAsync(['status', '--workdir', w, '--json']));
          out.push(await cliAsync(['verify', '--workdir', w]), await cliAsync(['verify', '--workdir', w, '--json']));
          out.push(await cliAsync(['export', '--workdir', w]));
          writeFileSync(join(w, 'exported.sh'), out.at(-1)!.stdout); // the exported script, kept to be scanned as a file
          out.push(await cliAsync(['steps', '--json']), await cliAsync(['steps']));
          out.push(await cliAsync([...sim, '--workdir', w, '--json'])); // a re-run: everything recorded
          keys.push(...logKeys(join(w, 'sim-cloud.json')));
          out.push(await cliAsync(['reset', '--target', 'sim', '--yes', '--workdir', w, '--json']), await cliAsync(['reset', '--target', 'sim', '--yes', '--workdir', w]));
          return out;
        },
      },
      { name: 'full run, --json, with the SDK debug log', steps: async () => [await cliAsync([...sim, '--workdir', wd('json'), '--json'], { env: verbose })] },
      {
        name: 'dry runs, plain and --json, with the SDK debug log',
        steps: async () => [await cliAsync([...sim, '--dry-run', '--workdir', wd('dry')], { env: verbose }), await cliAsync([...sim, '--dry-run', '--workdir', wd('dry'), '--json'], { env: verbose })],
      },
      { name: 'a refused run (Basic SKU)', steps: async () => [await cliAsync([...sim, '--sim-scenario', 'basic-sku', '--workdir', wd('basic')]), await cliAsync([...sim, '--workdir', wd('basic'), '--json'])] },
      {
        name: 'a task run that fails, with its log shown',
        steps: async () => {
          const task = join(root, 'failing-task.yaml');
          writeFileSync(task, 'version: v1.1.0\nsteps:\n  - build: -t nosuchregistry9.azurecr.io/app:1 -f Dockerfile .\n  - push: ["nosuchregistry9.azurecr.io/app:1"]\n');
          return [await cliAsync([...sim, '--task-file', task, '--workdir', wd('taskfail')], { env: verbose }), await cliAsync([...sim, '--workdir', wd('taskfail'), '--json'])];
        },
      },
      {
        name: 'runs that stop on cloud faults, with the SDK debug log',
        steps: async () => {
          const dir = join(root, 'faulty');
          const served = await serveSim(join(dir, 'cloud.json'), { speed: 'instant', faults: '503=0.6,retryAfter=0,seed=5' });
          try {
            const args = [...sim, ...served.flags, '--sim-speed', 'instant', '--workdir', join(dir, 'wd')];
            const out = [await cliAsync(args, { env: { AZURE_LOG_LEVEL: 'info' } }), await cliAsync([...args, '--json'])];
            return out;
          } finally {
            await served.stop();
            keys.push(...logKeys(join(dir, 'cloud.json')));
          }
        },
      },
      {
        name: 'interrupted runs: Ctrl-C while a task run goes on, a SIGKILL, then resumes',
        steps: async () => {
          // A sim that answers slowly, so the run is interrupted while a task run goes on.
          const dir = join(root, 'interrupted');
          const served = await serveSim(join(dir, 'cloud.json'), { speed: FULL ? 'realistic' : 'instant', faults: 'latency=150' });
          try {
            const w = join(dir, 'wd');
            const args = [...sim, ...served.flags, '--sim-speed', FULL ? 'realistic' : 'instant', '--workdir', w];
            const victim = startWizard([...args, '--json']);
            await victim.waitFor((e) => e.event === 'progress' && e.id === 'run-task' && /: (Queued|Running)$/.test(e.text));
            victim.child.kill('SIGINT');
            await victim.exit;
            const interrupted: Result = { status: victim.child.exitCode, stdout: victim.lines.map((l) => l.text).join('\n'), stderr: victim.stderr() };
            const killed = startWizard([...args, '--json']);
            await killed.waitFor((e) => e.event === 'step-start' && e.id === 'disable-trusted-services');
            killed.child.kill('SIGKILL');
            await killed.exit;
            const k: Result = { status: null, stdout: killed.lines.map((l) => l.text).join('\n'), stderr: killed.stderr() };
            const resumed = await cliAsync(args);
            return [interrupted, k, resumed];
          } finally {
            await served.stop();
            keys.push(...logKeys(join(dir, 'cloud.json')));
          }
        },
      },
      {
        name: 'Azure with a client secret in the environment, unreachable sign-in',
        steps: async () => [
          await cliAsync(['run', '--target', 'azure', '--goal', 'demo', '--yes', '--subscription', '6b1f3a52-2c4e-4d7a-9e0b-5f8c1d2a3b4c', '--resource-group', 'rg', '--registry', 'myregistry', '--workdir', wd('azure')], {
            env: { AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential', AZURE_TENANT_ID: 'adfs', AZURE_CLIENT_ID: '22222222-3333-4444-5555-666666666666', AZURE_CLIENT_SECRET: CANARY, AZURE_AUTHORITY_HOST: 'https://127.0.0.1:9', AZURE_LOG_LEVEL: 'verbose' },
          }),
        ],
      },
    ];
    const results = await pool(scenarios, scenarios.length, async (s) => ({ s, results: await s.steps() }));
    for (const { s, results: rs } of results) rs.forEach((r, i) => corpus.push(...outputs(`${s.name} #${i + 1}`, r)));
    for (const w of readdirSync(root)) {
      const p = join(root, w);
      if (statSync(p).isDirectory()) corpus.push(...filesOf(p, w));
    }
    const findings = scan(corpus, keys);
    const files = corpus.filter((c) => !/ std(out|err)$/.test(c.name));
    fig.scan = {
      scenarios: scenarios.map((s) => s.name),
      commandsRun: results.reduce((n, r) => n + r.results.length, 0),
      filesScanned: files.length,
      fileKinds: [...new Set(files.map((f) => f.name.split('/').pop()!.replace(/\.\d+\.tmp$/, '.<pid>.tmp')))].sort(),
      outputsScanned: corpus.length - files.length,
      bytesScanned: corpus.reduce((n, c) => n + c.text.length, 0),
      patterns: PATTERNS.map((p) => p.name).concat('the sim’s log-signing keys'),
      logKeysSearched: keys.length,
      findings: findings.length,
      details: findings.slice(0, 20),
    };
    expect(findings).toEqual([]);
    // The scan covered what it claims: report.md, state, answers, the exported script, the debug log.
    expect(files.some((f) => f.name.endsWith('report.md'))).toBe(true);
    expect(files.some((f) => f.name.endsWith('exported.sh'))).toBe(true);
    expect(corpus.some((c) => c.name.startsWith('full run, --json, with the SDK debug log') && c.name.endsWith('stderr') && /azure:/.test(c.text))).toBe(true);
    expect(keys.length).toBeGreaterThan(0);
  }, timeout(180_000, 1_800_000));
});

describe('least privilege', () => {
  it('one role assignment, scoped to the target registry exactly; writes only to the task and the target; the other registry untouched', async () => {
    const w = join(tempDir(), 'wd');
    const base = ['run', '--target', 'sim', '--yes', '--sim-scenario', 'two-registries', '--target-registry', 'acrtrusttarget', '--workdir', w];
    expect((await cliAsync([...base, '--until', 'preflight'])).status).toBe(0);
    const before = await simShow(join(w, 'sim-cloud.json'));
    const r = await cliAsync(base);
    expect(r.status, r.stderr).toBe(0);
    const after: CloudView = await simShow(join(w, 'sim-cloud.json'));
    const target = after.registries.find((x) => x.name === 'acrtrusttarget');
    const owner = after.registries.find((x) => x.name === 'acrtrustdemo');
    const task = after.tasks[0];
    const granted = after.roleAssignments.filter((a) => a.properties.principalType !== 'User');
    const writes = after.requests.filter((q) => q.write);
    const allowed = (q: { name: string; path: string; method: string }) =>
      (q.name === 'tasks.create' || q.name === 'tasks.update') ? q.path.toLowerCase() === task.id.toLowerCase()
        : q.name === 'roleAssignments.create' ? q.path.toLowerCase().startsWith(`${target.id.toLowerCase()}/providers/microsoft.authorization/roleassignments/`)
        : q.name === 'registries.update' ? q.path.toLowerCase() === target.id.toLowerCase()
        : q.name === 'registries.scheduleRun' ? q.path.toLowerCase() === `${owner.id.toLowerCase()}/schedulerun`
        : false;
    const writesByRoute: Record<string, number> = {};
    for (const q of writes) writesByRoute[q.name] = (writesByRoute[q.name] ?? 0) + 1;
    fig.leastPrivilege = {
      roleAssignments: granted.length,
      scopeIsTheTargetRegistry: granted.every((a) => a.properties.scope === target.id),
      role: granted.map((a) => a.properties.roleDefinitionId.split('/').pop()),
      writesByRoute,
      writesOutsideTheWorkflow: writes.filter((q) => !allowed(q)).map((q) => `${q.method} ${q.path}`),
      otherRegistryUntouched: JSON.stringify(owner) === JSON.stringify(before.registries.find((x) => x.name === 'acrtrustdemo')),
    };
    expect(granted).toHaveLength(1);
    expect(granted[0].properties.scope).toBe(target.id);
    expect(granted[0].properties.principalId).toBe(task.identity.principalId);
    expect(granted[0].properties.roleDefinitionId).toMatch(new RegExp(`/roleDefinitions/${ROLE_GUIDS.AcrPush}$`, 'i'));
    expect(writes.filter((q) => !allowed(q)).map((q) => `${q.method} ${q.name} ${q.path}`)).toEqual([]);
    expect(writesByRoute['roleAssignments.create']).toBe(1);
    expect(owner).toEqual(before.registries.find((x) => x.name === 'acrtrustdemo'));
  }, timeout(60_000, 600_000));

  it('the workdir is private: the folder 0700 and every file 0600, even under umask 000, after a crash and after a reset', async () => {
    const w = join(tempDir(), 'wd');
    const sh = (args: string[]) =>
      new Promise<number | null>((resolve) => {
        const c = spawn('/bin/sh', ['-c', `umask 000; exec "${process.execPath}" "${BIN}" "$@"`, 'sh', ...args], { env: cleanEnv(), stdio: 'ignore' });
        c.on('close', (code) => resolve(code));
      });
    const victim = startWizard(['run', '--target', 'sim', '--yes', '--sim-speed', 'instant', '--workdir', w, '--json']);
    await victim.waitFor((e) => e.event === 'step-start' && e.id === 'create-task');
    victim.child.kill('SIGKILL');
    await victim.exit;
    expect(await sh(['run', '--target', 'sim', '--yes', '--workdir', w])).toBe(0);
    expect(await sh(['reset', '--target', 'sim', '--yes', '--workdir', w])).toBe(0);
    const modes: Record<string, string> = {};
    const walk = (d: string) => {
      modes[relative(w, d) || '.'] = (statSync(d).mode & 0o777).toString(8);
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else modes[relative(w, p)] = (statSync(p).mode & 0o777).toString(8);
      }
    };
    walk(w);
    const wrong = Object.entries(modes).filter(([p, m]) => m !== (p === '.' ? '700' : '600'));
    fig.workdirModes = { entries: Object.keys(modes).length, files: Object.keys(modes).sort(), notPrivate: wrong.map(([p, m]) => `${p} ${m}`) };
    expect(wrong).toEqual([]);
    expect(Object.keys(modes)).toEqual(expect.arrayContaining(['state.json', 'answers.yaml', 'report.md', 'sim-cloud.json']));
  }, timeout(90_000, 600_000));
});
