/**
 * Each Azure cloud's endpoints against the sim (issue 15 §3). `sim serve --cloud NAME` stands for
 * that cloud: its registries' login servers carry the cloud's suffix, and its Resource Manager
 * accepts only tokens for the cloud's audiences (ARM's 401 InvalidAuthenticationTokenAudience
 * otherwise). `sim az-env` registers the sim in the real az CLI as that very cloud (read from the
 * sim's `/metadata/endpoints`), so `az cloud show` names it with its endpoints at the sim.
 *
 * Per cloud — the three built into az, and one registered with `az cloud register` — the binary:
 * - with the cloud from az's configuration and az's own sign-in (AzureCliCredential): the whole
 *   demo; the sim saw every ARM request with the cloud's token audience; the run log and the
 *   printed steps name `<registry><suffix>`; `export` writes az lines for that cloud;
 * - with `--cloud NAME` while az's active cloud is another: the same cloud, the same audience;
 * - with another cloud than the sim's (`--cloud OTHER --endpoint <sim>`): exit 1, one clear message
 *   naming the cloud mix-up and `--cloud`, ARM's code kept, no stack, nothing changed.
 * And a training room standing for a cloud: its join files carry the cloud's token audience, so a
 * learner's wizard (--join), az (`sim az-env --join`) and the board all sign in for it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, expectNoStack, jsonLines, startCli, tempDir } from '../cli/helpers.js';

interface CloudCase {
  name: string;
  /** The token resource (az's activeDirectoryResourceId). */
  audience: string;
  suffix: string;
  /** A cloud that is not this one, for --cloud while az's active cloud is another, and the mismatch. */
  other: string;
  /** Registers the cloud in a fresh az configuration (custom clouds). */
  register?: (azDir: string) => void;
}

const CONTOSO = {
  name: 'ContosoCloud',
  audience: 'https://management.core.contoso.example/',
  suffix: '.azurecr.contoso.example',
};

const CASES: CloudCase[] = [
  { name: 'AzureChinaCloud', audience: 'https://management.core.chinacloudapi.cn/', suffix: '.azurecr.cn', other: 'AzureUSGovernment' },
  { name: 'AzureUSGovernment', audience: 'https://management.core.usgovcloudapi.net/', suffix: '.azurecr.us', other: 'AzureCloud' },
  { name: 'AzureCloud', audience: 'https://management.core.windows.net/', suffix: '.azurecr.io', other: 'AzureChinaCloud' },
  {
    ...CONTOSO,
    other: 'AzureCloud',
    register: (azDir) =>
      az(azDir, [
        'cloud', 'register', '--name', CONTOSO.name,
        '--endpoint-resource-manager', 'https://management.contoso.example/',
        '--endpoint-active-directory', 'https://login.contoso.example',
        '--endpoint-active-directory-resource-id', CONTOSO.audience,
        '--endpoint-active-directory-graph-resource-id', 'https://graph.contoso.example/',
        '--suffix-acr-login-server-endpoint', CONTOSO.suffix,
      ]),
  },
];

function az(configDir: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync('az', args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: configDir, AZURE_CONFIG_DIR: configDir, AZURE_CORE_COLLECT_TELEMETRY: 'no', ...env }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`az ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Record_ {
  name: string;
  write: boolean;
  status: number;
  audience?: string;
  error?: string;
}

async function requestLog(stateFile: string): Promise<Record_[]> {
  await new Promise((res) => setTimeout(res, 600)); // the served sim writes its request log every 250 ms
  return JSON.parse(readFileSync(stateFile.replace(/\.json$/, '.requests.json'), 'utf8'));
}

/** Every signed-in request (there were many) carried a token for `audience`, and none was refused for its token. Returns them. */
function expectOnlyAudience(log: Record_[], audience: string): Record_[] {
  const signedIn = log.filter((x) => x.audience !== undefined);
  expect(signedIn.length).toBeGreaterThan(5);
  expect(new Set(signedIn.map((x) => x.audience))).toEqual(new Set([audience]));
  expect(log.filter((x) => x.status === 401)).toEqual([]);
  return signedIn;
}

/** Runs `fn` with a `sim serve` (its first line parsed) running, and stops it after. */
async function serving<T>(args: string[], env: Record<string, string>, fn: (line: any) => Promise<T>): Promise<T> {
  const server = startCli(['sim', 'serve', ...args], { env });
  try {
    await server.afterLines(1);
    return await fn(JSON.parse(server.lines[0]!));
  } finally {
    server.child.kill('SIGTERM');
    await server.exit;
  }
}

const SP = { AZURE_CLIENT_ID: '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c', AZURE_CLIENT_SECRET: 'x', AZURE_TENANT_ID: 'adfs' };
const WHERE = ['--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo'];

describe('each Azure cloud against a sim that stands for it', () => {
  it.each(CASES)('$name: az cloud show, the workflow from az\'s cloud and from --cloud, the audience the sim sees, the suffix in logs and az lines; another cloud is refused clearly', async (c) => {
    const dir = tempDir('acr-trust-clouds-');
    // A custom cloud is known to the sim's machine through the Azure CLI's own registration.
    const ownAz = join(dir, 'own-az');
    if (c.register) c.register(ownAz);
    const stateFile = join(dir, 'cloud.json');
    await serving(['--state', stateFile, '--speed', 'instant', '--cloud', c.name], { AZURE_CONFIG_DIR: ownAz }, async (sim: { endpoint: string; caCertFile: string; subscriptionId: string; cloud: string }) => {
      expect(sim.cloud).toBe(c.name);

      // az's configuration: the sim registered as that cloud, and az signed in to it.
      const prepared = await cliAsync(['sim', 'az-env', '--state', stateFile, '--dir', join(dir, 'az'), '--json']);
      expect(prepared.status, prepared.stderr).toBe(0);
      expect(JSON.parse(prepared.stdout).cloud).toBe(c.name);
      const env = JSON.parse(prepared.stdout).env as Record<string, string>;
      for (const k of ['AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST', 'AZURE_SUBSCRIPTION_ID']) delete env[k];
      const shown = JSON.parse(az(env.AZURE_CONFIG_DIR!, ['cloud', 'show', '-o', 'json'], { REQUESTS_CA_BUNDLE: env.REQUESTS_CA_BUNDLE! }));
      expect(shown).toMatchObject({ name: c.name, endpoints: { resourceManager: `${sim.endpoint}/`, activeDirectoryResourceId: c.audience }, suffixes: { acrLoginServerEndpoint: c.suffix } });

      // 1. No flag: the cloud, its endpoint and the sign-in all come from az.
      const wd = join(dir, 'wd');
      const r = await cliAsync(['run', '--target', 'azure', '--goal', 'demo', '--yes', ...WHERE, '--workdir', wd], { env: { ...env, AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential' } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Successfully pushed image: acrtrustdemo${c.suffix}/acr-trust/hello:ca1`); // the run log
      expect(r.stdout).toContain(`task acr-trust-task logs in to acrtrustdemo${c.suffix}`); // the step's evidence
      for (const s of CASES.map((x) => x.suffix).filter((s) => s !== c.suffix)) expect(r.stdout).not.toContain(`acrtrustdemo${s}`);
      const first = await requestLog(stateFile);
      expect(expectOnlyAudience(first, c.audience).some((x) => x.write)).toBe(true);

      // The az lines for that cloud: its registry suffix (and `az cloud set` outside AzureCloud).
      const exported = await cliAsync(['export', '--workdir', wd], { env });
      expect(exported.status, exported.stderr).toBe(0);
      expect(exported.stdout).toContain(`--login-server acrtrustdemo${c.suffix} --use-identity`);
      if (c.name !== 'AzureCloud') expect(exported.stdout).toContain(`az cloud set --name ${c.name}`);

      // 2. --cloud NAME while az's active cloud is another (a service principal signs in: az's own
      //    session belongs to its active cloud). The authority host is the cloud's, from az's config.
      const cfg = join(env.AZURE_CONFIG_DIR!, 'config');
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(`name = ${c.name}`, `name = ${c.other}`));
      const byFlag = await cliAsync(['run', '--target', 'azure', '--cloud', c.name, '--ca', sim.caCertFile, '--goal', 'setup', '--yes', '--subscription', sim.subscriptionId, ...WHERE, '--workdir', join(dir, 'wd-flag'), '--json'], {
        env: { ...env, ...SP, AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential' },
      });
      expect(byFlag.status, byFlag.stderr).toBe(0);
      expect(jsonLines(byFlag.stdout).at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });
      const second = (await requestLog(stateFile)).slice(first.length);
      expect(second.some((x) => x.name === 'signin.token')).toBe(true);
      expect(new Set(second.filter((x) => x.audience !== undefined).map((x) => x.audience))).toEqual(new Set([c.audience]));

      // 3. Another cloud than the sim's at its endpoint: its token is for that cloud's Resource Manager.
      const before = (await requestLog(stateFile)).length;
      const wrong = await cliAsync(['run', '--target', 'azure', '--cloud', c.other, '--endpoint', sim.endpoint, '--ca', sim.caCertFile, '--goal', 'setup', '--yes', '--subscription', sim.subscriptionId, ...WHERE, '--workdir', join(dir, 'wd-wrong')], {
        env: { AZURE_CONFIG_DIR: join(dir, 'no-az'), ...SP, AZURE_AUTHORITY_HOST: sim.endpoint, AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential' },
      });
      expect(wrong.status).toBe(1);
      expect(wrong.stderr).toContain('this Resource Manager belongs to another Azure cloud than the one acr-trust signed in for');
      expect(wrong.stderr).toContain('(InvalidAuthenticationTokenAudience)');
      expect(wrong.stderr).toContain("Use the endpoint's own cloud: `--cloud NAME`");
      expectNoStack(wrong);
      const third = (await requestLog(stateFile)).slice(before);
      expect(third.filter((x) => x.status === 401).length).toBeGreaterThan(0);
      expect(third.filter((x) => x.write && x.status < 400)).toEqual([]);
    });
  }, 180_000);
});

describe('a training room that stands for a cloud', () => {
  it('learners sign in for the cloud\'s audience: the wizard with --join, and az through sim az-env --join', async () => {
    const dir = tempDir('acr-trust-clouds-');
    const stateFile = join(dir, 'room.json');
    await serving(['--state', stateFile, '--speed', 'instant', '--scenario', 'classroom', '--learners', '2', '--cloud', 'AzureChinaCloud'], {}, async (served: { joinDir: string; cloud: string }) => {
      expect(served.cloud).toBe('AzureChinaCloud');
      const joinFile = join(served.joinDir, 'learner01.json');
      const r = await cliAsync(['run', '--join', joinFile, '--goal', 'setup', '--yes', '--workdir', join(dir, 'wd'), '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(jsonLines(r.stdout).at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });
      expect(r.stdout).toContain('.azurecr.cn');
      expect(r.stdout).not.toContain('.azurecr.io');

      const prepared = await cliAsync(['sim', 'az-env', '--join', joinFile, '--dir', join(dir, 'az'), '--json']);
      expect(prepared.status, prepared.stderr).toBe(0);
      const env = JSON.parse(prepared.stdout).env as Record<string, string>;
      const registry = JSON.parse(az(env.AZURE_CONFIG_DIR!, ['acr', 'show', '--name', 'acrtrustlearner01', '--resource-group', 'learner01', '-o', 'json'], { REQUESTS_CA_BUNDLE: env.REQUESTS_CA_BUNDLE! }));
      expect(registry.loginServer).toBe('acrtrustlearner01.azurecr.cn');

      expectOnlyAudience(await requestLog(stateFile), 'https://management.core.chinacloudapi.cn/');
    });
  }, 180_000);
});

describe('sim serve --cloud: bad input', () => {
  it('an unknown cloud, and a state file kept for another cloud, are exit 2 with what to do', async () => {
    const dir = tempDir('acr-trust-clouds-');
    const unknown = await cliAsync(['sim', 'serve', '--state', join(dir, 'a.json'), '--cloud', 'Nowhere'], { env: { AZURE_CONFIG_DIR: join(dir, 'az') } });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('--cloud Nowhere: no such Azure cloud.');
    expect(unknown.stderr).toContain('Clouds known here: AzureCloud, AzureChinaCloud, AzureUSGovernment.');
    expectNoStack(unknown);

    // A cloud seeded for China stays China: another --cloud on the same state is refused.
    const stateFile = join(dir, 'b.json');
    await serving(['--state', stateFile, '--cloud', 'AzureChinaCloud'], {}, async () => {});
    const other = await cliAsync(['sim', 'serve', '--state', stateFile, '--cloud', 'AzureUSGovernment']);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain(`holds a cloud that stands for AzureChinaCloud, not AzureUSGovernment.`);
    expect(other.stderr).toContain('Drop --cloud to continue that cloud, or pass another --state');
    expectNoStack(other);
  }, 60_000);
});
