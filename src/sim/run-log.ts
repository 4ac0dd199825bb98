/**
 * The words a run's log uses — ACR's runner (acb), the docker CLI and the registry, reproduced
 * from real logs so a client reading the sim's log reads what it would read on Azure. Each line
 * says where it was seen. Nothing here is sim-only: no hint lines, no markers.
 *
 * Sources (see arm-reference.md §6 for the quoted logs):
 * - acb's own lines: Azure/acr-builder `builder/builder.go`, `builder/login.go`, `builder/push.go`
 *   (`Executing step ID…`, `Pushing image: X, attempt N`, `failed to login, ran out of retries: …`,
 *   `Failed to push images successfully`) and logs in MicrosoftDocs/azure-docs#40399, #46056.
 * - Firewall denial: Azure/acr-cli#122, Azure/acr#662, Azure/azure-cli#27253.
 * - Refused identity-token exchange: Azure/azure-cli#28151.
 * - `unauthorized: authentication required, visit https://aka.ms/acr/authorization …`: Microsoft's
 *   troubleshooting page "Authentication required" (its causes are *not authenticated* and *not
 *   authorized to pull*), Azure/acr#258 and #506 (pushes refused despite a login).
 *
 * acb writes its own lines through Go's `log` package, so they carry a `2006/01/02 15:04:05 `
 * prefix; docker's output and the final error lines do not.
 */

/** Go's `log` timestamp prefix, in UTC. */
export function goLogTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '/')} ${iso.slice(11, 19)}`;
}

export const line = {
  aliasSupport: () => 'Alias support enabled for version >= 1.1.0, please see https://aka.ms/acr/tasks/task-aliases for more information.',
  creatingNetwork: () => "Creating Docker network: acb_default_network, driver: 'bridge'",
  networkReady: () => 'Successfully set up Docker network: acb_default_network',
  settingUpDocker: () => 'Setting up Docker configuration...',
  dockerReady: () => 'Successfully set up Docker configuration',
  loggingIn: (server: string) => `Logging in to registry: ${server}`,
  loggedIn: (server: string) => `Successfully logged into ${server}`,
  executingStep: (id: string) => `Executing step ID: ${id}. Timeout(sec): 600, Working directory: '', Network: 'acb_default_network'`,
  scanning: () => 'Obtaining source code and scanning for dependencies...',
  scanned: () => 'Successfully obtained source code and scanned for dependencies',
  launching: (id: string) => `Launching container with name: ${id}`,
  executed: (id: string) => `Successfully executed container: ${id}`,
  containerFailed: (id: string) => `Container failed during run: ${id}. No retries remaining.`,
  pushing: (image: string, attempt: number) => `Pushing image: ${image}, attempt ${attempt}`,
  pushed: (image: string) => `Successfully pushed image: ${image}`,
  stepSucceeded: (id: string, seconds: number) => `Step ID: ${id} marked as successful (elapsed time in seconds: ${seconds.toFixed(6)})`,

  // -- endings (no timestamp) --
  stepFailed: (id: string, err: string) => `failed to run step ID: ${id}: ${err}`,
  runSucceeded: (runId: string, seconds: number) => `Run ID: ${runId} was successful after ${seconds}s`,
  runFailed: (runId: string, seconds: number) => `Run ID: ${runId} failed after ${seconds}s. Error: ${RUN_ERROR_MESSAGE}`,
  /** A task that could not be prepared (bad YAML, secrets that could not be resolved). */
  taskNotPrepared: (err: string) => `failed to unmarshal task before running: ${err}`,
};

/** The Run's `runErrorMessage` for every failed run, as the service reports it. */
export const RUN_ERROR_MESSAGE = 'failed during run, err: exit status 1';

/** acb's error when every push attempt of a push step failed (builder/push.go). */
export const PUSH_STEP_ERROR = 'Failed to push images successfully';

/** docker's exit status when the daemon refuses `docker run` (image pull errors). */
export const DOCKER_RUN_ERROR = 'exit status 125';

// ---------------------------------------------------------------------------------------------
// What the registry (or the network in front of it) answers
// ---------------------------------------------------------------------------------------------

/**
 * The registry firewall's answer to a client whose IP is not allowed (publicNetworkAccess
 * Disabled, or defaultAction Deny without a matching IP rule). Also what a quick run gets: it
 * never carries a trusted identity.
 */
export function firewallDenied(ip: string): string {
  return `denied: client with IP '${ip}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`;
}

/** ACR's 401 for a request without credentials or without the permission for the scope asked. */
export const UNAUTHORIZED = 'unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.';

/** Docker Hub's (and other public registries') answer to a push without rights. */
export const DENIED = 'denied: requested access to the resource is denied';

/** Go's resolver error for a login server that does not exist (the sim's DNS is its state). */
export function noSuchHost(server: string): string {
  return `dial tcp: lookup ${server} on 168.63.129.16:53: no such host`;
}

/** The daemon's wording when its first request (`GET /v2/`) to the registry fails. */
export function daemonGetV2(server: string, reason: string): string {
  return `Error response from daemon: Get "https://${server}/v2/": ${reason}`;
}

/**
 * `docker login` failing, as acb wraps it. docker's output ends with a newline, so acb's
 * `: exit status 1` lands on a line of its own (seen in the real logs).
 */
export function loginFailed(server: string, reason: string): string[] {
  return [`failed to login, ran out of retries: failed to set docker credentials: ${daemonGetV2(server, reason)}`, ': exit status 1'];
}

/**
 * The runner exchanges a managed identity's Entra token for an ACR refresh token at the registry's
 * `/oauth2/exchange` before the task runs. A refused exchange (the registry's network rules
 * refused the identity) fails the run before any step, with this line.
 */
export function exchangeRefused(): string {
  return 'failed to resolve secrets: failed to get ACR refresh token, exchange API response code: 403 Forbidden';
}

/** The exchange could not start: the credential names an identity the task does not have.
 *  Emulator wording (no real sample). */
export function identityMissing(identity: string): string {
  return `failed to resolve secrets: failed to get ACR refresh token: failed to get a token for managed identity '${identity}': the task has no such identity`;
}

/** The exchange could not reach the login server at all. */
export function exchangeUnreachable(server: string): string {
  return `failed to resolve secrets: failed to get ACR refresh token: Post "https://${server}/oauth2/exchange": ${noSuchHost(server)}`;
}
