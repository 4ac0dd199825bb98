/**
 * `acr-trust sim az-env`: an Azure CLI configuration of its own for a running simulated Azure, and
 * the `export` lines a shell needs to use it:
 *
 *   eval "$(acr-trust sim az-env --state .acr-trust/sim-cloud.json)"
 *   az acr show -n acrtrustdemo
 *
 * It writes the files `az cloud register`, `az cloud set` and `az login --service-principal` would
 * write (checked against azure-cli 2.45) straight into its own AZURE_CONFIG_DIR — milliseconds
 * instead of three CLI starts — and never touches the user's ~/.azure:
 *
 * - `clouds.config`: the cloud the sim stands for (its `/metadata/endpoints`: `sim serve --cloud
 *   AzureChinaCloud` … — the built-in cloud's section then overrides its endpoints, as `az cloud
 *   update` writes it — or, without --cloud, a custom cloud AcrTrustSim) whose Resource Manager is
 *   the sim, whose Active Directory is the sim's ADFS-style authority `<endpoint>/adfs` (MSAL then
 *   skips instance discovery at the public login host: nothing leaves loopback), whose Microsoft
 *   Graph is the sim (for `az role assignment create --assignee <objectId>` and `az ad sp show`),
 *   with the cloud's ACR login-server suffix and Resource Manager token resource;
 * - `config`: that cloud active; telemetry, surveys and error recommendations off (they would
 *   call Microsoft); no token encryption (the plain files below on every platform);
 * - `azureProfile.json` + `service_principal_entries.json`: signed in as a service principal of
 *   tenant `adfs` (the sim accepts any id and secret), the sim's subscription the default. The
 *   first command gets its token from the sim, as after `az login`.
 *
 * The CA bundle it points REQUESTS_CA_BUNDLE at is the sim's CA plus Node's public roots, so
 * Python tools in the same shell still reach the internet. The identity variables let
 * `@azure/identity` (`acr-trust run --target azure --endpoint … --ca …`) sign in at the sim too.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { usageError } from '../../errors.js';
import { readStateFile, type CloudState } from '../../sim/index.js';
import { learnerFromState, readJoinFile, runningSimFor } from './room-join.js';
import { DEFAULT_STATE_FILE } from './sim.js';
import { knownCloud, PUBLIC_CLOUD, SIM_OWN_CLOUD } from '../../model/clouds.js';

export const DEFAULT_AZ_DIR = './.acr-trust/azure-cli';
/** The custom cloud's name in the CLI (`az cloud show`). */
export const SIM_CLOUD_NAME = SIM_OWN_CLOUD;
/** The service principal the CLI signs in as. The sim accepts any id and secret. */
export const SIM_CLIENT_ID = '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c';
export const SIM_CLIENT_SECRET = 'acr-trust-sim-secret';
/** Marks a directory as one az-env prepared, so it may be rewritten. */
const MARKER = '.acr-trust-az-env';
/** A room identity's client secret, for `export AZURE_CLIENT_SECRET="$(cat …)"` (mode 0600). */
const CLIENT_SECRET_FILE = 'client-secret';

export interface AzEnvOptions {
  endpoint?: string;
  ca?: string;
  state?: string;
  /** A room's join file (the learner's identity, endpoint and CA). */
  join?: string;
  /** With --state: sign in as this learner of the room (`07`). */
  learner?: string;
  dir?: string;
  json?: boolean;
}

/** What a shell needs; printed as `export` lines (or JSON with --json). */
export interface AzEnv {
  AZURE_CONFIG_DIR: string;
  REQUESTS_CA_BUNDLE: string;
  AZURE_CORE_COLLECT_TELEMETRY: 'false';
  AZURE_CORE_ONLY_SHOW_ERRORS: 'true';
  AZURE_CLIENT_ID: string;
  /** The fixed secret of a single-user sim; a room identity's secret is read from a file instead
   *  (`export AZURE_CLIENT_SECRET="$(cat …)"`), so it is never printed. */
  AZURE_CLIENT_SECRET?: string;
  AZURE_TENANT_ID: 'adfs';
  AZURE_AUTHORITY_HOST: string;
  AZURE_SUBSCRIPTION_ID: string;
  NODE_EXTRA_CA_CERTS: string;
}

interface SimTarget {
  endpoint: string;
  caFile: string;
  ca: string;
  /** Who signs in: a room identity, or (absent) the single-user sim's any-id-will-do principal. */
  identity?: { clientId: string; clientSecret: string; learner?: string };
}

interface SimSubscription {
  subscriptionId: string;
  displayName: string;
  state: string;
  tenantId: string;
}

export async function azEnv(opts: AzEnvOptions): Promise<void> {
  const target = resolveTarget(opts);
  const dir = resolve(opts.dir ?? DEFAULT_AZ_DIR);
  checkDir(dir);
  requireAz();
  // The cloud first: a room identity's token is asked for its Resource Manager audience.
  const cloud = await cloudOf(target);
  const token = target.identity ? await signIn(target, cloud.resourceId) : 'acr-trust-az-env';
  const subscriptions = await probe(target, token);
  if (subscriptions.length === 0) throw usageError(`The sim at ${target.endpoint} lists no subscription.`);

  const env = writeConfig(dir, target, subscriptions, cloud);
  const who = target.identity ? (target.identity.learner ? `learner ${target.identity.learner}` : 'the trainer') : undefined;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ endpoint: target.endpoint, cloud: cloud.name, ...(who ? { signedInAs: who } : {}), env })}\n`);
    return;
  }
  const names = [...Object.keys(env), ...(target.identity ? ['AZURE_CLIENT_SECRET'] : [])].join(' ');
  const lines = [
    `# acr-trust sim az-env: the Azure CLI (cloud ${cloud.name}) and Azure SDK sign-in in this shell now use the simulated Azure at ${target.endpoint}${who ? `, signed in as ${who}` : ''}`,
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v!)}`),
    ...(target.identity ? [`export AZURE_CLIENT_SECRET="$(cat ${shellQuote(join(dir, CLIENT_SECRET_FILE))})"`] : []),
    `# undo: unset ${names}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

function resolveTarget(opts: AzEnvOptions): SimTarget {
  if (opts.join) {
    if (opts.state || opts.endpoint || opts.ca || opts.learner) {
      throw usageError('--join says where the room is and who you are; give it alone.', 'Use --join FILE (the file your trainer handed out), or --state/--endpoint without it.');
    }
    const j = readJoinFile(opts.join);
    const endpoint = checkEndpoint(j.endpoint);
    return { endpoint, caFile: resolve(opts.join), ca: j.ca, identity: { clientId: j.clientId, clientSecret: j.clientSecret, ...(j.learner ? { learner: j.learner } : {}) } };
  }
  if (opts.learner !== undefined && (opts.endpoint || opts.ca)) {
    throw usageError('--learner reads the learner\'s identity from the room\'s --state; it does not go with --endpoint/--ca.', 'Use --state FILE --learner NN on the machine that serves the room, or --join FILE elsewhere.');
  }
  if (opts.state && (opts.endpoint || opts.ca)) {
    throw usageError('--state and --endpoint/--ca both say where the sim is; give one of them.', 'Use --state FILE for a `sim serve --state FILE` on this machine, or --endpoint URL --ca FILE.');
  }
  if (opts.endpoint || opts.ca) {
    if (!opts.endpoint || !opts.ca) throw usageError('--endpoint and --ca go together.', 'Give both: the endpoint and the caCertFile that `acr-trust sim serve` prints.');
    return { endpoint: checkEndpoint(opts.endpoint), caFile: resolve(opts.ca), ca: readCa(opts.ca) };
  }
  const stateFile = resolve(opts.state ?? DEFAULT_STATE_FILE);
  const record = runningSimFor(stateFile, opts.state ?? DEFAULT_STATE_FILE);
  const target: SimTarget = { endpoint: checkEndpoint(record.endpoint), caFile: resolve(record.caCertFile), ca: readCa(record.caCertFile) };
  // A classroom's identities are in its state: a learner's with --learner, else the trainer's.
  const state = readStateFile(stateFile);
  if (state?.room) {
    const trainer = state.room.identities.find((i) => !i.learner)!;
    target.identity = opts.learner !== undefined ? learnerFromState(state, opts.learner, stateFile) : { clientId: trainer.clientId, clientSecret: trainer.secret };
  } else if (opts.learner !== undefined) {
    learnerFromState(state ?? ({} as CloudState), opts.learner, stateFile);
  }
  return target;
}

/** Collects a response's body and calls `then` with it parsed as JSON (undefined when it is not JSON). */
function readJson(res: import('node:http').IncomingMessage, then: (body: any) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => {
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = undefined;
    }
    then(body);
  });
}

/** Client credentials at the sim's token endpoint: a room identity's token, or exit 2 saying why not. */
function signIn(target: SimTarget, resource: string): Promise<string> {
  const id = target.identity!;
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: id.clientId, client_secret: id.clientSecret, scope: `${resource}/.default` }).toString();
  return new Promise((done, reject) => {
    const req = request(`${target.endpoint}/adfs/oauth2/token`, { method: 'POST', ca: target.ca, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) }, timeout: 10_000 }, (res) => {
      readJson(res, (body) => {
        if (res.statusCode === 200 && typeof body?.access_token === 'string') return done(body.access_token);
        const why = typeof body?.error_description === 'string' ? body.error_description.replace(/\s*Trace ID:.*$/s, '') : `HTTP ${res.statusCode}`;
        reject(usageError(`The room at ${target.endpoint} refused the sign-in${id.learner ? ` of learner ${id.learner}` : ''}: ${why}`, 'Ask your trainer for a current join file (a room started again from a new --state has new identities).'));
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(usageError(`Cannot reach the room at ${target.endpoint} (${e.code ?? e.message}).`, 'Is `acr-trust sim serve` running, and is this the address your trainer gave?')));
    req.write(form);
    req.end();
  });
}

function checkEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`--endpoint ${url} is not a URL.`, 'Use the endpoint that `acr-trust sim serve` prints, like https://127.0.0.1:8443.');
  }
  if (u.protocol !== 'https:' || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw usageError(`--endpoint ${url} must be an https:// origin without a path.`, 'Use the endpoint that `acr-trust sim serve` prints, like https://127.0.0.1:8443.');
  }
  return u.origin;
}

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(`Cannot read the CA certificate ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, 'Pass the caCertFile that `acr-trust sim serve` prints.');
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw usageError(`${file} is not a PEM certificate.`, 'Pass the caCertFile that `acr-trust sim serve` prints.');
  return pem;
}


/** Refuses the user's own CLI configuration, and any folder az-env did not make. */
function checkDir(dir: string): void {
  const own = resolve(homedir(), '.azure');
  if (dir === own) throw usageError(`--dir ${dir} is your own Azure CLI configuration; az-env never touches it.`, `Pick a folder of its own, like ${DEFAULT_AZ_DIR}.`);
  if (!existsSync(dir)) return;
  if (!lstatSync(dir).isDirectory()) throw usageError(`--dir ${dir} is not a folder.`);
  if (readdirSync(dir).length > 0 && !existsSync(join(dir, MARKER))) {
    throw usageError(`--dir ${dir} holds files az-env did not write; it leaves them alone.`, 'Pick an empty or new folder.');
  }
}

/** The Azure CLI on PATH, found without starting it (it takes a second to start). */
function requireAz(): void {
  const names = process.platform === 'win32' ? ['az.cmd', 'az.exe', 'az'] : ['az'];
  for (const d of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const n of names) {
      try {
        accessSync(join(d, n), constants.X_OK);
        return;
      } catch {
        // keep looking
      }
    }
  }
  throw usageError(
    'The Azure CLI (az) is not installed, or not on PATH: az-env prepares a configuration for it.',
    'Install it — Debian/Ubuntu: `sudo apt-get install azure-cli`; others: https://learn.microsoft.com/cli/azure/install-azure-cli — then run this again.',
  );
}

/** Lists the sim's subscriptions: proves the endpoint answers and the CA verifies it. */
function probe(target: SimTarget, token: string): Promise<SimSubscription[]> {
  const fail = (why: string, hint: string) => usageError(`Cannot use the sim at ${target.endpoint}: ${why}.`, hint);
  return new Promise((done, reject) => {
    const req = request(
      `${target.endpoint}/subscriptions?api-version=2022-12-01`,
      { method: 'GET', ca: target.ca, headers: { authorization: `Bearer ${token}` }, timeout: 10_000 },
      (res) => {
        readJson(res, (body) => {
          if (res.statusCode === 401 && !target.identity) {
            reject(fail('it is a classroom, where everyone signs in as their own identity', 'Use --join FILE (from your trainer), or --state FILE --learner NN on the machine that serves the room.'));
            return;
          }
          if (res.statusCode !== 200 || !Array.isArray(body?.value)) {
            reject(fail(`it answered HTTP ${res.statusCode} to the subscription list`, 'Is it an `acr-trust sim serve`? Check the endpoint.'));
            return;
          }
          done(body.value.map((s: any) => ({ subscriptionId: String(s.subscriptionId), displayName: String(s.displayName ?? s.subscriptionId), state: String(s.state ?? 'Enabled'), tenantId: String(s.tenantId ?? '') })));
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? e.message;
      const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
      reject(
        tls
          ? fail(`its TLS certificate does not verify with ${target.caFile} (${code})`, 'Pass the caCertFile that this `sim serve` printed.')
          : fail(`it cannot be reached (${code})`, 'Is `acr-trust sim serve` running? Check the endpoint and port.'),
      );
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// The CLI's files
// ---------------------------------------------------------------------------------------------

/** The cloud a sim stands for, as az's configuration needs it. */
interface SimCloudFacts {
  name: string;
  /** Resource Manager's token resource (`endpoint_active_directory_resource_id`). */
  resourceId: string;
  /** `.azurecr.io` */
  acrLoginServerSuffix: string;
}

/**
 * The cloud the sim stands for, from its `/metadata/endpoints` (as Resource Manager serves it):
 * `name`, `authentication.audiences[0]`, `suffixes.acrLoginServer`. A sim that does not serve it
 * stands for its own cloud, AcrTrustSim, with the public cloud's facts.
 */
function cloudOf(target: SimTarget): Promise<SimCloudFacts> {
  const own: SimCloudFacts = { name: SIM_CLOUD_NAME, resourceId: PUBLIC_CLOUD.activeDirectoryResourceId, acrLoginServerSuffix: PUBLIC_CLOUD.acrLoginServerSuffix };
  return new Promise((done) => {
    const req = request(`${target.endpoint}/metadata/endpoints?api-version=2019-05-01`, { method: 'GET', ca: target.ca, timeout: 10_000 }, (res) => {
      readJson(res, (body) => {
        const name = body?.name;
        const resourceId = body?.authentication?.audiences?.[0];
        const suffix = body?.suffixes?.acrLoginServer;
        if (res.statusCode !== 200 || typeof name !== 'string' || typeof resourceId !== 'string' || typeof suffix !== 'string') return done(own);
        done({ name, resourceId, acrLoginServerSuffix: `.${suffix.replace(/^\./, '')}` });
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(own));
    req.end();
  });
}

function writeConfig(dir: string, target: SimTarget, subscriptions: SimSubscription[], cloud: SimCloudFacts): AzEnv {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (name: string, text: string, mode = 0o600) => writeFileSync(join(dir, name), text, { mode });
  put(MARKER, 'Written by `acr-trust sim az-env`. Safe to delete; the folder is rewritten on the next az-env.\n', 0o644);

  // Tokens and MSAL's discovery cache belong to the previous sim (another port, another authority).
  for (const stale of ['msal_token_cache.json', 'msal_token_cache.bin', 'msal_http_cache.bin', 'service_principal_entries.bin']) {
    rmSync(join(dir, stale), { force: true });
  }

  const ep = target.endpoint;
  const sub = subscriptions[0]!;
  const clientId = target.identity?.clientId ?? SIM_CLIENT_ID;
  const clientSecret = target.identity?.clientSecret ?? SIM_CLIENT_SECRET;
  put(
    'clouds.config',
    ini({
      [cloud.name]: {
        endpoint_resource_manager: `${ep}/`,
        endpoint_management: `${ep}/`,
        endpoint_active_directory: `${ep}/adfs`,
        endpoint_active_directory_resource_id: cloud.resourceId,
        endpoint_active_directory_graph_resource_id: 'https://graph.windows.net/',
        endpoint_microsoft_graph_resource_id: `${ep}/`,
        suffix_acr_login_server_endpoint: cloud.acrLoginServerSuffix,
        // A built-in cloud keeps its own storage suffix; the sim's own cloud gets the public one.
        ...(knownCloud(cloud.name) ? {} : { suffix_storage_endpoint: 'core.windows.net' }),
        subscription: sub.subscriptionId,
      },
    }),
  );
  put(
    'config',
    ini({
      cloud: { name: cloud.name },
      core: {
        collect_telemetry: 'no',
        only_show_errors: 'true',
        survey_message: 'false',
        error_recommendation: 'off',
        encrypt_token_cache: 'false',
        output: 'json',
      },
    }),
  );
  // As `az login --service-principal --tenant adfs` writes them (the CLI reads with utf-8-sig).
  const profile = {
    subscriptions: subscriptions.map((s) => ({
      id: s.subscriptionId,
      name: s.displayName,
      state: s.state,
      user: { name: clientId, type: 'servicePrincipal' },
      isDefault: s === sub,
      tenantId: 'adfs',
      environmentName: cloud.name,
      homeTenantId: s.tenantId,
      managedByTenants: [],
    })),
  };
  put('azureProfile.json', `\uFEFF${JSON.stringify(profile)}`);
  put('service_principal_entries.json', JSON.stringify([{ client_id: clientId, tenant: 'adfs', client_secret: clientSecret }], null, 4));
  if (target.identity) put(CLIENT_SECRET_FILE, clientSecret);
  else rmSync(join(dir, CLIENT_SECRET_FILE), { force: true });
  // A join file carries the CA inline: the variables below need it as a file.
  const caFile = target.caFile.endsWith('.pem') ? target.caFile : join(dir, 'sim-ca.pem');
  if (caFile !== target.caFile) put('sim-ca.pem', target.ca, 0o644);

  const bundle = join(dir, 'ca-bundle.pem');
  put('ca-bundle.pem', [`# the simulated Azure's CA (${target.caFile})`, target.ca.trim(), '# public roots (Node.js), so other hosts still verify', ...rootCertificates].join('\n') + '\n', 0o644);

  return {
    AZURE_CONFIG_DIR: dir,
    REQUESTS_CA_BUNDLE: bundle,
    AZURE_CORE_COLLECT_TELEMETRY: 'false',
    AZURE_CORE_ONLY_SHOW_ERRORS: 'true',
    AZURE_CLIENT_ID: clientId,
    ...(target.identity ? {} : { AZURE_CLIENT_SECRET: SIM_CLIENT_SECRET }),
    AZURE_TENANT_ID: 'adfs',
    AZURE_AUTHORITY_HOST: ep,
    AZURE_SUBSCRIPTION_ID: sub.subscriptionId,
    NODE_EXTRA_CA_CERTS: caFile,
  };
}

function ini(sections: Record<string, Record<string, string>>): string {
  return Object.entries(sections)
    .map(([name, values]) => [`[${name}]`, ...Object.entries(values).map(([k, v]) => `${k} = ${v}`)].join('\n'))
    .join('\n\n')
    .concat('\n');
}

/** POSIX shell single quotes. */
export function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
