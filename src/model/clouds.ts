/**
 * The Azure clouds built into the Azure CLI — the one table of these facts for the wizard
 * (src/azure/clouds.ts reads the CLI's configuration over it), the simulated Azure (src/sim: the
 * cloud a `sim serve --cloud NAME` stands for) and the tests. Pure data, no imports.
 *
 * Facts from azure-cli's `azure/cli/core/cloud.py` (AZURE_PUBLIC_CLOUD, AZURE_CHINA_CLOUD,
 * AZURE_US_GOV_CLOUD; what `az cloud show` prints in 2.45): `endpoints.resourceManager`,
 * `endpoints.activeDirectory`, `endpoints.activeDirectoryResourceId`,
 * `suffixes.acrLoginServerEndpoint`. ARM's allowed token audiences: the public cloud's list is the
 * one ARM quotes in its 401 InvalidAuthenticationTokenAudience ("It should exactly match with one
 * of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net',
 * 'https://management.azure.com/','https://management.azure.com'", e.g. JetBrains/azure-tools-for-intellij#16,
 * Azure-Samples/active-directory-dotnetcore-daemon-v2#145); a sovereign cloud's is the same pair
 * for its own hosts (its activeDirectoryResourceId and its resourceManager, each with and without
 * the slash) — UNCERTAIN: inferred, no public copy of a sovereign ARM's 401 was found.
 */

export interface CloudFacts {
  /** As the Azure CLI names it: AzureCloud, AzureChinaCloud, AzureUSGovernment. */
  name: string;
  /** Azure Resource Manager, without a trailing slash. */
  resourceManager: string;
  /** Microsoft Entra ID's authority host, without a trailing slash. */
  authorityHost: string;
  /** The resource a Resource Manager token is asked for (az's `activeDirectoryResourceId`, with its slash). */
  activeDirectoryResourceId: string;
  /** What follows a registry's name in its login server: `.azurecr.io`. */
  acrLoginServerSuffix: string;
}

export const KNOWN_CLOUDS: readonly CloudFacts[] = [
  { name: 'AzureCloud', resourceManager: 'https://management.azure.com', authorityHost: 'https://login.microsoftonline.com', activeDirectoryResourceId: 'https://management.core.windows.net/', acrLoginServerSuffix: '.azurecr.io' },
  { name: 'AzureChinaCloud', resourceManager: 'https://management.chinacloudapi.cn', authorityHost: 'https://login.chinacloudapi.cn', activeDirectoryResourceId: 'https://management.core.chinacloudapi.cn/', acrLoginServerSuffix: '.azurecr.cn' },
  { name: 'AzureUSGovernment', resourceManager: 'https://management.usgovcloudapi.net', authorityHost: 'https://login.microsoftonline.us', activeDirectoryResourceId: 'https://management.core.usgovcloudapi.net/', acrLoginServerSuffix: '.azurecr.us' },
];

export const PUBLIC_CLOUD = KNOWN_CLOUDS[0]!;

/**
 * The cloud a simulated Azure started without `--cloud` stands for, as `sim az-env` registers it
 * in the Azure CLI: the public cloud's suffix and audiences, its endpoints at the sim.
 */
export const SIM_OWN_CLOUD = 'AcrTrustSim';

/** A built-in cloud by name (case-insensitive, as `az cloud show -n` takes it). */
export function knownCloud(name: string): CloudFacts | undefined {
  return KNOWN_CLOUDS.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

/**
 * The token audiences a cloud's Resource Manager accepts, in the order ARM lists them: its
 * activeDirectoryResourceId and its own host, each with and without the trailing slash.
 */
export function armAudiences(c: Pick<CloudFacts, 'activeDirectoryResourceId' | 'resourceManager'>): string[] {
  const bare = (u: string) => u.replace(/\/+$/, '');
  return [...new Set([`${bare(c.activeDirectoryResourceId)}/`, bare(c.activeDirectoryResourceId), `${bare(c.resourceManager)}/`, bare(c.resourceManager)])];
}
