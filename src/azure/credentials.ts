/**
 * Who the adapter signs in as: Azure's usual credential chain for real Azure, a fixed opaque token
 * for the simulated Azure, and the Azure CLI's default subscription for `--target azure` without
 * `--subscription`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DefaultAzureCredential, type AccessToken, type TokenCredential } from '@azure/identity';

export type { TokenCredential };

/** Environment, workload identity, managed identity, Azure CLI, Azure PowerShell, azd … */
export function azureCredential(): TokenCredential {
  return new DefaultAzureCredential();
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
