/**
 * Who the adapter signs in as: Azure's usual credential chain for real Azure, a fixed opaque token
 * for the simulated Azure, and the Azure CLI's default subscription for `--target azure` without
 * `--subscription`.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { AcrTrustError } from '../errors.js';
import { proxyCaPolicy } from './proxy-ca.js';

export type { TokenCredential };

export interface AzureCredentialOptions {
  /**
   * PEM of a CA to trust for the sign-in requests instead of the public ones: the simulated
   * Azure's, when it stands in for Microsoft Entra ID too (`AZURE_AUTHORITY_HOST` at the sim,
   * `AZURE_TENANT_ID=adfs`). Give it only with an authority that the CA signs.
   */
  ca?: string;
  /**
   * Microsoft Entra ID's host for the cloud (https://login.chinacloudapi.cn …), from the Azure
   * CLI's active cloud or --cloud. `AZURE_AUTHORITY_HOST`, when set, wins (as @azure/identity has it).
   */
  authorityHost?: string;
  /**
   * Sign in with the device-code flow instead of the usual chain (`--use-device-code`): `show`
   * gets one line with the URL to open and the code to enter there. Tenant and client from
   * AZURE_TENANT_ID / AZURE_CLIENT_ID when set; else `organizations` and the Azure CLI's public client.
   */
  deviceCode?: { show(line: string): void };
  /**
   * Where to ask which tenant the subscription belongs to, for a wrong-tenant failure's hint:
   * Resource Manager's endpoint and the subscription the session works in (read when needed).
   */
  tenantLookup?: { endpoint: string; subscription: () => string | undefined };
}

/** The Azure CLI's public client id (a first-party app every Entra tenant knows). */
const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

/**
 * Environment, workload identity, managed identity, Azure CLI, Azure PowerShell, azd …
 *
 * The authority is @azure/identity's own choice: `AZURE_AUTHORITY_HOST` (default
 * https://login.microsoftonline.com). With `AZURE_TENANT_ID=adfs` it is used as an ADFS authority
 * (`<host>/adfs`), which MSAL trusts without instance discovery at the public login host — how
 * the simulated Azure serves sign-in offline.
 */
export function azureCredential(opts: AzureCredentialOptions = {}): TokenCredential {
  // @azure/identity (and MSAL behind it) is loaded on the first token request, not at start-up.
  let chain: Promise<TokenCredential> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const tokens = new Map<string, AccessToken>();
  return {
    async getToken(scopes, options) {
      chain ??= import('@azure/identity').then(({ DefaultAzureCredential, DeviceCodeCredential }) => {
        const common = {
          ...(opts.ca ? caOptions(opts.ca) : {}),
          ...(opts.authorityHost && !process.env.AZURE_AUTHORITY_HOST ? { authorityHost: opts.authorityHost } : {}),
        };
        const deviceCode = opts.deviceCode;
        if (!deviceCode) return new DefaultAzureCredential(common);
        return new DeviceCodeCredential({
          ...common,
          ...(process.env.AZURE_AUTHORITY_HOST ? { authorityHost: process.env.AZURE_AUTHORITY_HOST } : {}),
          tenantId: process.env.AZURE_TENANT_ID || 'organizations',
          clientId: process.env.AZURE_CLIENT_ID || AZURE_CLI_CLIENT_ID,
          userPromptCallback: (info) => deviceCode.show(`To sign in, open ${info.verificationUri} and enter the code ${info.userCode}`),
        });
      });
      if (!opts.deviceCode) {
        try {
          return await (await chain).getToken(scopes, options);
        } catch (e) {
          const lookup = opts.tenantLookup;
          const sub = lookup?.subscription();
          const tenantOf = lookup && sub ? () => subscriptionTenant(lookup.endpoint, sub, opts.ca) : undefined;
          throw (await explainSignInFailure(e, [scopes].flat()[0] ?? '', tenantOf)) ?? e;
        }
      }
      // One device-code sign-in for the whole session: the SDK's clients ask for tokens at the same
      // time, and each would start a flow (a code) of its own; the later ones wait and reuse it.
      // Tokens are kept per scope until two minutes before they expire.
      const key = [scopes].flat().join(' ');
      const turn = queue.then(async () => {
        const kept = tokens.get(key);
        if (kept && kept.expiresOnTimestamp - Date.now() > 2 * 60_000) return kept;
        const token = await (await chain!).getToken(scopes, options);
        if (token) tokens.set(key, token);
        return token;
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}

/** A credential's options trusting `ca` for the sign-in, through HTTPS_PROXY too (proxy-ca.ts). */
function caOptions(ca: string) {
  return { tlsOptions: { ca }, additionalPolicies: [{ policy: proxyCaPolicy(), position: 'perCall' as const }] };
}

/** The texts of a credential failure: its message and, for a chain, each credential's. */
function failureTexts(e: unknown): string {
  const err = e as { message?: unknown; errors?: unknown[] };
  return [String(err?.message ?? e), ...(Array.isArray(err?.errors) ? err.errors.map((x) => String((x as Error)?.message ?? x)) : [])].join('\n');
}

/**
 * How a sign-in can fail, each with what to run. Entra ID's AADSTS codes (learn.microsoft.com,
 * "Microsoft Entra authentication and authorization error codes") and the Azure CLI's and
 * @azure/identity's own messages.
 */
const SIGN_IN_FAILURES: { code: string; test: RegExp; message: string; hint: (scope: string, tenant?: { id: string; subscription: string }) => string }[] = [
  {
    code: 'MfaRequired',
    test: /AADSTS(50076|50079|50072|50074|50158)\b|multi-?factor|interaction_required/i,
    message: 'your tenant requires multi-factor authentication for Azure Resource Manager, and the saved sign-in has none',
    hint: (scope) => `Sign in again interactively for it: \`az logout\`, then \`az login --scope ${scope}\` (or \`acr-trust … --use-device-code\`).`,
  },
  {
    code: 'SignInExpired',
    test: /AADSTS(700082|70043|50173|50133|700084|50078)\b|refresh token has expired|token (has )?expired|expired due to inactivity|sign-?in (session )?(has )?expired/i,
    message: 'your Azure sign-in has expired',
    hint: () => 'Sign in again: `az login`.',
  },
  {
    code: 'WrongTenant',
    test: /AADSTS(50020|90002|700016|50034|90072|500011|50128|90015)\b|tenant .{0,80}not found|wrong tenant|not (found )?in the (directory|tenant)/i,
    message: "the account or application you signed in with does not belong to the subscription's tenant",
    hint: (_scope, tenant) =>
      tenant
        ? `Sign in to the tenant of subscription ${tenant.subscription}: \`az login --tenant ${tenant.id}\`, then \`az account set --subscription ${tenant.subscription}\`.`
        : "Sign in to the subscription's tenant: `az login --tenant <tenant id>` (`az account list -o table` shows each subscription's tenant), then `az account set --subscription <id>`.",
  },
  {
    code: 'SignInUnreachable',
    test: /endpoints_resolution_error|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|getaddrinfo/i,
    // MSAL says `endpoints_resolution_error` alike for a name that does not resolve, a refused
    // connection and a certificate it does not trust: the message names both possibilities.
    message: "the sign-in service (the cloud's authority host) could not be reached, or its certificate is not trusted",
    hint: () =>
      "Check the network and the proxy settings (HTTPS_PROXY, NO_PROXY), that the cloud is the right one (`az cloud show`, or --cloud), and — for a private certificate authority — that its CA file is given (--ca, or NODE_EXTRA_CA_CERTS).",
  },
  {
    code: 'AzureCliMissing',
    test: /Azure CLI could not be found/i,
    message: 'no Azure sign-in was found, and the Azure CLI (`az`) is not installed to sign in with',
    hint: () => 'Install the Azure CLI (https://aka.ms/azure-cli) and run `az login`; or sign in with a code in a browser: `acr-trust … --use-device-code`; or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a service principal.',
  },
  {
    code: 'NotSignedIn',
    test: /Please run 'az login'|az login/i,
    message: 'you are not signed in to the Azure CLI',
    hint: () => 'Run `az login` (or `az login --use-device-code` in a terminal without a browser).',
  },
];

/**
 * A sign-in failure explained: which of the ways above (exit 1, the step stopped), or undefined
 * when it is none of them (the adapter's error table explains it). When the Azure CLI only says
 * "run az login", its own words are read (`az account get-access-token`), as they say why:
 * expired, another tenant, multi-factor authentication.
 */
export async function explainSignInFailure(e: unknown, scope: string, tenantOf?: () => Promise<{ id: string; subscription: string } | undefined>): Promise<AcrTrustError | undefined> {
  let texts = failureTexts(e);
  if (/Please run 'az login'/.test(texts)) texts = `${await azTokenError(scope)}\n${texts}`;
  const hit = SIGN_IN_FAILURES.find((f) => f.test.test(texts));
  if (!hit) return undefined;
  const aadsts = /AADSTS\d+/.exec(texts)?.[0];
  // Another tenant: name the subscription's own, as Resource Manager tells it.
  const tenant = hit.code === 'WrongTenant' && tenantOf ? await tenantOf().catch(() => undefined) : undefined;
  return new AcrTrustError(`Sign-in failed: ${hit.message}${aadsts ? ` (${aadsts})` : ''}.`, { code: hit.code, hint: hit.hint(scope, tenant), exitCode: 1 });
}

/**
 * The tenant a subscription belongs to, as Resource Manager tells anyone: a request without a
 * token is answered 401 with `WWW-Authenticate: Bearer authorization_uri="https://login.windows.net/<tenant id>"`
 * (shawntabrizi.com, "Secret APIs in Azure Active Directory and Azure Resource Manager"). Sent
 * through the Azure SDK's pipeline (proxy, CA, retries as for ARM); undefined when it does not say.
 */
export async function subscriptionTenant(endpoint: string, subscription: string, ca?: string): Promise<{ id: string; subscription: string } | undefined> {
  const rest = await import('@azure/core-rest-pipeline');
  const pipeline = rest.createPipelineFromOptions({ ...(ca ? { tlsOptions: { ca } } : {}), retryOptions: { maxRetries: 1 } });
  pipeline.removePolicy({ name: 'formDataPolicy' });
  if (ca) pipeline.addPolicy(proxyCaPolicy());
  const url = `${endpoint.replace(/\/+$/, '')}/subscriptions/${encodeURIComponent(subscription)}?api-version=2022-12-01`;
  const response = await pipeline.sendRequest(rest.createDefaultHttpClient(), rest.createPipelineRequest({ url, method: 'GET', timeout: 15_000 }));
  const id = /authorization_uri="https:\/\/[^/"]+\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/i.exec(response.headers.get('www-authenticate') ?? '')?.[1];
  return id ? { id, subscription } : undefined;
}

/** What `az account get-access-token` says on stderr for this scope ('' when it cannot run). */
function azTokenError(scope: string): Promise<string> {
  const resource = scope.replace(/\/\.default$/, '');
  return new Promise((done) => {
    execFile('az', ['account', 'get-access-token', '--output', 'json', '--resource', resource], { timeout: 30_000 }, (err, _stdout, stderr) => done(err ? String(stderr) : ''));
  });
}

/**
 * A service principal signing in with its client secret at an ADFS-style authority — a training
 * room's identity at the simulated Azure (`authorityHost` the sim's endpoint, its CA trusted).
 * What `az login --service-principal --tenant adfs` does, through @azure/identity (loaded on the
 * first token request).
 *
 * A failed sign-in is an AcrTrustError (exit 1) saying why in the room's terms — MSAL's own error
 * names no HTTP status (`endpoints_resolution_error` alike for a refused connection, a 503 and an
 * untrusted certificate), so the credential's pipeline notes the last sign-in answer or socket
 * error (`signInWitness`) and `explainRoomSignIn` reads that: unreachable, certificate not trusted,
 * busy (429/503, with the Retry-After it sent; the SDK has retried what it retries), failing (5xx), or the
 * identity refused (a join file from an earlier room).
 */
export function clientSecretCredential(opts: { authorityHost: string; clientId: string; clientSecret: string; ca?: string }): TokenCredential {
  let inner: Promise<TokenCredential> | undefined;
  const witness: SignInWitness = {};
  return {
    async getToken(scopes, options) {
      inner ??= import('@azure/identity').then(({ ClientSecretCredential }) => {
        const ca = opts.ca ? caOptions(opts.ca) : { additionalPolicies: [] };
        return new ClientSecretCredential('adfs', opts.clientId, opts.clientSecret, {
          authorityHost: opts.authorityHost,
          ...ca,
          additionalPolicies: [...ca.additionalPolicies, { policy: signInWitness(witness), position: 'perCall' as const }],
        } as ConstructorParameters<typeof ClientSecretCredential>[3]);
      });
      try {
        return await (await inner).getToken(scopes, options);
      } catch (e) {
        if ((e as Error)?.name === 'AbortError') throw e;
        throw explainRoomSignIn(e, witness, opts.authorityHost);
      }
    },
  };
}

/** What the sign-in's last HTTP exchange came to: an answer's status (and Retry-After), or a socket error's code. */
interface SignInWitness {
  status?: number;
  retryAfter?: string;
  errorCode?: string;
  /** ARM/Entra-style error of the last answer (`invalid_client`), when it had one. */
  error?: string;
}

function signInWitness(w: SignInWitness): import('@azure/core-rest-pipeline').PipelinePolicy {
  return {
    name: 'acrTrustSignInWitness',
    async sendRequest(request, next) {
      try {
        const res = await next(request);
        w.status = res.status;
        w.retryAfter = res.headers.get('retry-after') ?? undefined;
        w.errorCode = undefined;
        w.error = res.status >= 400 ? /"error"\s*:\s*"([^"]+)"/.exec(res.bodyAsText ?? '')?.[1] : undefined;
        return res;
      } catch (e) {
        const err = e as { code?: unknown; cause?: { code?: unknown } };
        w.status = undefined;
        w.errorCode = typeof err.code === 'string' ? err.code : typeof err.cause?.code === 'string' ? err.cause.code : (e as Error)?.name;
        throw e;
      }
    },
  };
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/;

/** A room sign-in failure in the room's terms (see clientSecretCredential); exit 1. */
function explainRoomSignIn(e: unknown, w: SignInWitness, authorityHost: string): AcrTrustError {
  const texts = failureTexts(e);
  const aadsts = /AADSTS\d+/.exec(texts)?.[0];
  const at = `the sign-in service at ${authorityHost}`;
  const fail = (code: string, why: string, hint: string) => new AcrTrustError(`Sign-in failed: ${why}.`, { code, hint, exitCode: 1, ...(w.status ? { statusCode: w.status } : {}) });
  if (w.errorCode && TLS_CODES.test(w.errorCode)) {
    return fail('CertificateNotTrusted', `${at} presented a certificate its CA does not verify (${w.errorCode})`, 'Use the join file (or --ca) of this room: each room has its own CA.');
  }
  if (w.errorCode) {
    return fail('SignInUnreachable', `${at} could not be reached (${w.errorCode})`, 'Is the room (`acr-trust sim serve`) running, and is this the address your trainer gave?');
  }
  if (w.status === 429 || w.status === 503) {
    const wait = w.retryAfter && w.retryAfter !== '0' ? `; it asked to wait ${w.retryAfter} s` : '';
    return fail('SignInBusy', `${at} is busy (HTTP ${w.status}${wait})`, 'The room has many learners at once: wait a moment.');
  }
  if (w.status !== undefined && w.status >= 500) {
    return fail('SignInServiceFailed', `${at} failed (HTTP ${w.status})`, 'Wait a moment; if it keeps failing, ask your trainer to look at the room (`acr-trust sim serve`).');
  }
  if (w.status !== undefined && w.status >= 400) {
    return fail('SignInRefused', `${at} refused this identity (HTTP ${w.status}${w.error ? ` ${w.error}` : ''}${aadsts ? `, ${aadsts}` : ''})`, 'Ask your trainer for a current join file: a room started again from a new --state has new identities.');
  }
  return fail('SignInFailed', `${at} did not give a token (${(e as Error)?.name ?? 'error'}: ${texts.split('\n')[0]!.slice(0, 200)})`, 'If it keeps failing, ask your trainer for a current join file.');
}

/** The simulated Azure accepts any bearer token; this one is fixed, opaque and never expires soon. */
export function simCredential(): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      return { token: 'acr-trust-sim-token', expiresOnTimestamp: Date.now() + 60 * 60 * 1000 };
    },
  };
}

interface AzureProfile {
  subscriptions?: { id?: string; isDefault?: boolean }[];
}

/**
 * The subscription `az account show` would use: `isDefault` in `azureProfile.json` under
 * `$AZURE_CONFIG_DIR` (default `~/.azure`). Undefined when the file is missing or has none.
 */
export function defaultSubscriptionFromAzCli(configDir = process.env.AZURE_CONFIG_DIR ?? join(homedir(), '.azure')): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(configDir, 'azureProfile.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    // The CLI writes this file with a UTF-8 byte-order mark.
    const profile = JSON.parse(text.replace(/^\uFEFF/, '')) as AzureProfile;
    return profile.subscriptions?.find((s) => s.isDefault)?.id;
  } catch {
    return undefined;
  }
}
