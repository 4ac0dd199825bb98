/**
 * Which Azure cloud acr-trust talks to: its Resource Manager endpoint, its Microsoft Entra ID
 * authority host and its registries' login-server suffix — read the way the Azure CLI reads them,
 * so an owner who ran `az cloud set` (or `az cloud register` for a private cloud) gets the same
 * cloud here without a flag.
 *
 * The Azure CLI keeps the active cloud's name in `$AZURE_CONFIG_DIR/config` (`[cloud] name = …`,
 * default AzureCloud) and the endpoints of registered clouds — and of built-in ones changed with
 * `az cloud update` — in `$AZURE_CONFIG_DIR/clouds.config`, one section per cloud with keys such as
 * `endpoint_resource_manager`, `endpoint_active_directory` and `suffix_acr_login_server_endpoint`
 * (azure-cli's `azure/cli/core/cloud.py`; `az cloud show` prints the same as JSON).
 * `AZURE_CONFIG_DIR` defaults to `~/.azure`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { KNOWN_CLOUDS as MODEL_CLOUDS } from '../model/clouds.js';

export interface AzureCloudEndpoints {
  /** The cloud's name as the Azure CLI knows it: AzureCloud, AzureChinaCloud, AzureUSGovernment, or a registered one. */
  name: string;
  /** Azure Resource Manager, without a trailing slash: https://management.azure.com. */
  resourceManager: string;
  /** Microsoft Entra ID's authority host, without a trailing slash: https://login.microsoftonline.com. */
  authorityHost: string;
  /**
   * The resource Resource Manager tokens are asked for (az's `activeDirectoryResourceId`, e.g.
   * https://management.core.windows.net/): the token's audience, whatever `--endpoint` says —
   * what `az account get-access-token` asks by default.
   */
  tokenAudience: string;
  /** What follows a registry's name in its login server: `.azurecr.io`. */
  acrLoginServerSuffix: string;
}

/** The clouds built into the Azure CLI (2.45; `az cloud list`): src/model/clouds.ts. */
export const KNOWN_CLOUDS: readonly AzureCloudEndpoints[] = MODEL_CLOUDS.map((c) => ({
  name: c.name,
  resourceManager: c.resourceManager,
  authorityHost: c.authorityHost,
  tokenAudience: c.activeDirectoryResourceId,
  acrLoginServerSuffix: c.acrLoginServerSuffix,
}));

export const PUBLIC_CLOUD = KNOWN_CLOUDS[0]!;

type Ini = Record<string, Record<string, string | undefined> | undefined>;
const parseIni = (text: string): Ini => (createRequire(import.meta.url)('ini') as { parse(text: string): Ini }).parse(text);

function readIni(file: string): Ini {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    return parseIni(text.replace(/^\uFEFF/, ''));
  } catch {
    return {};
  }
}

const trim = (url: string) => url.replace(/\/+$/, '');

export function azureConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AZURE_CONFIG_DIR || join(homedir(), '.azure');
}

/** The name of the Azure CLI's active cloud (`az cloud show --query name`); AzureCloud when none is set. */
export function activeCloudName(configDir = azureConfigDir()): string {
  return readIni(join(configDir, 'config')).cloud?.name?.trim() || PUBLIC_CLOUD.name;
}

/**
 * A cloud's endpoints by name (case-insensitive, as `az cloud show -n` takes it): what
 * clouds.config says for it, over the built-in values for the clouds the CLI knows. Undefined for
 * a name that is neither built in nor registered in `configDir`.
 */
export function cloudNamed(name: string, configDir = azureConfigDir()): AzureCloudEndpoints | undefined {
  const registered = readIni(join(configDir, 'clouds.config'));
  const section = Object.entries(registered).find(([k]) => k.toLowerCase() === name.toLowerCase());
  const known = KNOWN_CLOUDS.find((c) => c.name.toLowerCase() === name.toLowerCase());
  const s = section?.[1] ?? {};
  const resourceManager = s.endpoint_resource_manager ?? known?.resourceManager;
  const authorityHost = s.endpoint_active_directory ?? known?.authorityHost;
  if (!resourceManager || !authorityHost) return undefined;
  return {
    name: section?.[0] ?? known?.name ?? name,
    resourceManager: trim(resourceManager),
    authorityHost: trim(authorityHost),
    // A registered cloud that names none: the public cloud's.
    tokenAudience: s.endpoint_active_directory_resource_id ?? known?.tokenAudience ?? PUBLIC_CLOUD.tokenAudience,
    acrLoginServerSuffix: s.suffix_acr_login_server_endpoint ?? known?.acrLoginServerSuffix ?? PUBLIC_CLOUD.acrLoginServerSuffix,
  };
}

/**
 * The cloud acr-trust uses on `--target azure`: `--cloud NAME` when given (exit 2 for a name the
 * Azure CLI does not know, listing those it does), else the Azure CLI's active cloud. `--endpoint`
 * (a Resource Manager elsewhere, such as a sim) replaces only the Resource Manager endpoint.
 */
export function resolveCloud(opts: { cloud?: string; endpoint?: string }, configDir = azureConfigDir()): AzureCloudEndpoints {
  const name = opts.cloud ?? activeCloudName(configDir);
  const cloud = cloudNamed(name, configDir);
  if (!cloud) {
    const registered = Object.keys(readIni(join(configDir, 'clouds.config'))).filter((k) => !KNOWN_CLOUDS.some((c) => c.name.toLowerCase() === k.toLowerCase()));
    const names = [...KNOWN_CLOUDS.map((c) => c.name), ...registered].join(', ');
    throw usageError(
      opts.cloud ? `--cloud ${name}: no such Azure cloud.` : `the Azure CLI's active cloud ${name} (in ${join(configDir, 'config')}) has no endpoints in ${join(configDir, 'clouds.config')}.`,
      `Clouds known here: ${names}. A private cloud is added with \`az cloud register --name NAME --endpoint-resource-manager URL …\`.`,
    );
  }
  return opts.endpoint ? { ...cloud, resourceManager: trim(opts.endpoint) } : cloud;
}
