/**
 * Who the adapter signs in as: Azure's usual credential chain for real Azure, a fixed opaque token
 * for the simulated Azure, and the Azure CLI's default subscription for `--target azure` without
 * `--subscription`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';

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
}

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
  return {
    async getToken(scopes, options) {
      chain ??= import('@azure/identity').then(
        ({ DefaultAzureCredential }) =>
          new DefaultAzureCredential({
            ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
            ...(opts.authorityHost && !process.env.AZURE_AUTHORITY_HOST ? { authorityHost: opts.authorityHost } : {}),
          }),
      );
      return (await chain).getToken(scopes, options);
    },
  };
}

/**
 * A service principal signing in with its client secret at an ADFS-style authority — a training
 * room's identity at the simulated Azure (`authorityHost` the sim's endpoint, its CA trusted).
 * What `az login --service-principal --tenant adfs` does, through @azure/identity (loaded on the
 * first token request).
 */
export function clientSecretCredential(opts: { authorityHost: string; clientId: string; clientSecret: string; ca?: string }): TokenCredential {
  let inner: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      inner ??= import('@azure/identity').then(
        ({ ClientSecretCredential }) => new ClientSecretCredential('adfs', opts.clientId, opts.clientSecret, { authorityHost: opts.authorityHost, ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}) } as ConstructorParameters<typeof ClientSecretCredential>[3]),
      );
      return (await inner).getToken(scopes, options);
    },
  };
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
