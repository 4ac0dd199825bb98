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
// What the registry (or the network in front of it) answers: src/model/access.ts owns these
// words (the model prints the line of each refusal); re-exported for the sim's other users.
// ---------------------------------------------------------------------------------------------

export { DENIED, UNAUTHORIZED, exchangeRefused, exchangeUnreachable, firewallDenied, identityMissing, noSuchHost } from '../model/access.js';
