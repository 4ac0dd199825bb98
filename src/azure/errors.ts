/**
 * One place that explains failures. Every error the Azure SDK throws, and every telling line of a
 * task run's log, is matched against `errorRules` — one table of rules, each with a message in the
 * user's terms, a suggestion and a link (the azd model). The CLI imports the table to explain a
 * failed step; the adapter uses `toAcrTrustError` on every SDK call; the run steps use
 * `diagnoseRunLog` to tell a firewall denial from a missing role.
 *
 * Nothing here may echo a token or a SAS URL: every text that comes from the outside goes through
 * `redact` first.
 */
import { AcrTrustError } from '../errors.js';

/**
 * What a rule says about a failure:
 * - `network`: the registry's network rules refused the caller (the bypass did not apply);
 * - `authorization`: the caller is known but lacks a role (or the role is not in effect yet);
 * - `credential`: the caller sent no credential at all;
 * - `not-found`, `sku`, `identity`, `conflict`, `connection`: as named.
 */
export type FailureKind =
  | 'network'
  | 'authorization'
  | 'credential'
  | 'identity'
  | 'not-found'
  | 'sku'
  | 'conflict'
  | 'connection'
  /** An Azure Policy assignment refuses the change. */
  | 'policy'
  /** The subscription may not use the feature (ACR Tasks on a free trial). */
  | 'subscription'
  /** The request itself is wrong for Azure (an api-version it does not accept). */
  | 'client';

export interface ErrorRule {
  /** Stable id; also the `code` of the AcrTrustError when the rule matched a run log. */
  id: string;
  kind: FailureKind;
  /** ARM error codes (or Node/identity error codes and names) this rule explains. */
  codes?: readonly string[];
  /** Matched against the error message (with `codes`, both must hold) or against a run-log line. */
  pattern?: RegExp;
  /** For run-log rules: must also hold for the matching line, given the whole log. */
  context?: (lines: readonly string[], index: number) => boolean;
  /**
   * Where the rule applies: an SDK error (`arm`), a task run's log (`run-log`), or a refusal
   * acr-trust finds itself before changing anything (`acr-trust`, matched by `id` only).
   */
  source: 'arm' | 'run-log' | 'acr-trust';
  /** What went wrong, in the user's terms. Completes "<what failed>: …". */
  message: string;
  /** What to do about it. */
  hint: string;
  link?: string;
}

const DOCS = 'https://learn.microsoft.com/azure/container-registry';

/** The rules, most specific first: the first that matches wins. */
export const errorRules: readonly ErrorRule[] = [
  // ---- ARM (control plane) ----------------------------------------------------------------------
  {
    id: 'PrincipalNotFound',
    kind: 'identity',
    source: 'arm',
    codes: ['PrincipalNotFound'],
    message: "the directory does not know the task's identity yet (a new identity takes a while to replicate)",
    hint: 'Wait a minute and retry. acr-trust sends principalType ServicePrincipal, which normally skips the directory lookup.',
    link: 'https://aka.ms/docs-principaltype',
  },
  {
    id: 'RoleAssignmentExists',
    kind: 'conflict',
    source: 'arm',
    codes: ['RoleAssignmentExists'],
    message: 'the same role is already assigned to this identity on this scope (under another assignment name)',
    hint: 'Nothing to do: the existing assignment serves. `az role assignment list --assignee <principal> --scope <registry id>` shows it.',
  },
  {
    id: 'DisablingPublicNetworkAccessNotSupported',
    kind: 'sku',
    source: 'arm',
    codes: ['DisablingPublicNetworkAccessNotSupported'],
    message: "the registry's SKU cannot disable public network access; network rules need the Premium SKU",
    hint: 'Upgrade the registry: `az acr update -n <registry> --sku Premium`.',
    link: 'https://aka.ms/acr/private-link',
  },
  {
    id: 'RoleAssignmentWriteDenied',
    kind: 'authorization',
    source: 'arm',
    codes: ['AuthorizationFailed'],
    pattern: /Microsoft\.Authorization\/roleAssignments\/(write|delete)/i,
    message: 'you may not create or delete role assignments on this scope',
    hint: 'Ask for Owner, User Access Administrator or Role Based Access Control Administrator on the registry (or its resource group), then sign in again.',
    link: 'https://learn.microsoft.com/azure/role-based-access-control/role-assignments-steps',
  },
  {
    // ARM's 401 when the token was asked for another cloud's Resource Manager (its message names
    // the token's audience and the allowed ones): the cloud acr-trust uses is not the endpoint's.
    id: 'InvalidAuthenticationTokenAudience',
    kind: 'credential',
    source: 'arm',
    codes: ['InvalidAuthenticationTokenAudience'],
    message: "this Resource Manager belongs to another Azure cloud than the one acr-trust signed in for (the token's audience is not one it accepts)",
    hint: "Use the endpoint's own cloud: `--cloud NAME` (AzureCloud, AzureChinaCloud, AzureUSGovernment or one registered with `az cloud register`), or make it the Azure CLI's active cloud (`az cloud set --name NAME`; `az cloud show` names it). With --endpoint, the cloud still decides the token's audience.",
    link: 'https://learn.microsoft.com/cli/azure/manage-clouds-azure-cli',
  },
  {
    id: 'AuthorizationFailed',
    kind: 'authorization',
    source: 'arm',
    codes: ['AuthorizationFailed'],
    message: 'you are not authorised to do this',
    hint: 'Ask for Contributor on the registry (and Owner or User Access Administrator for the role assignment). If access was just granted, sign in again (`az login`).',
    link: 'https://learn.microsoft.com/azure/role-based-access-control/troubleshooting',
  },
  {
    id: 'LinkedAuthorizationFailed',
    kind: 'authorization',
    source: 'arm',
    codes: ['LinkedAuthorizationFailed'],
    message: 'you may change this resource, but not use a resource it links to (joining a subnet, for an agent pool or a private endpoint, needs Microsoft.Network/virtualNetworks/subnets/join/action on that subnet)',
    hint: 'Ask for Network Contributor on the virtual network (or a role with subnets/join/action) and sign in again; the linked scope is named in the message.',
    link: 'https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-linked-authorization-failed',
  },
  {
    id: 'RequestDisallowedByPolicy',
    kind: 'policy',
    source: 'arm',
    codes: ['RequestDisallowedByPolicy'],
    message: 'an Azure Policy assignment denies this change (the policy is named in the message)',
    hint: 'Ask the policy owner for an exemption for this registry (`az policy exemption create`), or use an alternative the policy allows.',
    link: 'https://learn.microsoft.com/azure/governance/policy/troubleshoot/general#scenario-request-disallowed-by-policy',
  },
  {
    id: 'TasksOperationsNotAllowed',
    kind: 'subscription',
    source: 'arm',
    codes: ['TasksOperationsNotAllowed'],
    message: 'ACR Tasks are not allowed in this subscription (free trial and some sponsored subscriptions cannot run tasks)',
    hint: 'Waiting will not change it: upgrade the subscription to pay-as-you-go, or ask Azure support (http://aka.ms/azuresupport) to enable ACR Tasks; until then build with docker locally and `docker push`.',
    link: 'https://learn.microsoft.com/azure/container-registry/container-registry-tasks-overview',
  },
  {
    id: 'InvalidApiVersionParameter',
    kind: 'client',
    source: 'arm',
    codes: ['InvalidApiVersionParameter', 'NoRegisteredProviderFound'],
    message: 'this api-version is not one Azure accepts for the resource here (the message lists the ones it does)',
    hint: 'Use an api-version from the list in the message: a newer feature (the task bypass switch, source registry identities) needs a newer api-version, e.g. 2025-06-01-preview for networkRuleBypassAllowedForTasks.',
    link: 'https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider',
  },
  {
    id: 'SubscriptionNotFound',
    kind: 'not-found',
    source: 'arm',
    codes: ['SubscriptionNotFound', 'InvalidSubscriptionId'],
    message: 'the subscription was not found (or you have no access to it)',
    hint: 'List the subscriptions you can use: `az account list -o table`.',
  },
  {
    id: 'ResourceGroupNotFound',
    kind: 'not-found',
    source: 'arm',
    codes: ['ResourceGroupNotFound'],
    message: 'the resource group was not found',
    hint: 'List the resource groups: `az group list -o table`.',
  },
  {
    id: 'ResourceNotFound',
    kind: 'not-found',
    source: 'arm',
    codes: ['ResourceNotFound', 'NotFound', 'TaskNotFound', 'RunNotFound', 'RoleAssignmentNotFound'],
    message: 'the resource was not found',
    hint: 'Check the name and the resource group: `az acr list -o table`, `az acr task list -r <registry> -o table`.',
    link: 'https://aka.ms/ARMResourceNotFoundFix',
  },
  {
    id: 'NotSignedIn',
    kind: 'credential',
    source: 'arm',
    codes: ['CredentialUnavailableError', 'AggregateAuthenticationError', 'AuthenticationRequiredError'],
    message: 'no Azure sign-in was found',
    hint: 'Sign in with `az login` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET), or use the simulated Azure with `--target sim`.',
    link: 'https://learn.microsoft.com/javascript/api/overview/azure/identity-readme',
  },
  {
    id: 'CertificateNotTrusted',
    kind: 'connection',
    source: 'arm',
    codes: [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_HAS_EXPIRED',
    ],
    message: "the server's TLS certificate is not trusted",
    hint: "For the simulated Azure, pass its CA certificate (the `caCertFile` that `acr-trust sim serve` prints). Verification is never turned off.",
  },
  {
    id: 'ConnectionFailed',
    kind: 'connection',
    source: 'arm',
    codes: ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN'],
    message: 'Azure Resource Manager could not be reached',
    hint: 'Check the network, or start the simulated Azure (`acr-trust sim serve`) and point acr-trust at its endpoint.',
  },

  // ---- Task run logs (data plane, as the task's agent saw it) ------------------------------------
  {
    id: 'FirewallDenied',
    kind: 'network',
    source: 'run-log',
    pattern: /is not allowed access|denied: client with IP|login attempt failed with status: 403/i,
    message: "the registry's network rules refused the task (the trusted-services bypass did not apply)",
    hint: 'A task passes the network rules only with its system identity: add the `[system]` credential for the registry, and allow trusted services and the task bypass on it (networkRuleBypassOptions=AzureServices, networkRuleBypassAllowedForTasks=true).',
    link: 'https://aka.ms/acr/firewall',
  },
  {
    id: 'TokenExchangeRefused',
    kind: 'network',
    source: 'run-log',
    pattern: /exchange API response code: 403/i,
    message: "the registry refused to exchange the task's identity token (the bypass did not apply)",
    hint: 'Since 1 June 2025 a task may bypass the network rules only when networkRuleBypassAllowedForTasks=true (with trusted services allowed), and only with its system-assigned identity (credential `[system]`); user-assigned identities are not trusted.',
    link: `${DOCS}/manage-network-bypass-policy-for-tasks`,
  },
  {
    // acb's build command refuses to start a pushing build with no registry credential at all —
    // on an ABAC registry a quick build or task without a source identity (Azure/azure-cli-extensions#9724;
    // microsoft/GitHub-Copilot-for-Azure#1106: `az acr build` on an ABAC registry without
    // --source-acr-auth-id fails with this line).
    id: 'SourceIdentityMissing',
    kind: 'credential',
    source: 'run-log',
    pattern: /when specifying push, at least one credential is required/i,
    message: 'the run pushes but has no credential at all for its registry: an ABAC registry gives tasks and quick builds no implicit access',
    hint: 'Give the run a source identity: `az acr build/run … --source-acr-auth-id \'[caller]\'`, or for a task `az acr task update -n <task> -r <registry> --source-acr-auth-id \'[system]\'` — and assign that identity a Container Registry Repository role (Writer to push).',
    link: `${DOCS}/container-registry-tasks-authentication-managed-identity`,
  },
  {
    id: 'IdentityMissing',
    kind: 'identity',
    source: 'run-log',
    pattern: /failed to get a token for managed identity/i,
    message: 'the task credential names an identity the task does not have',
    hint: 'Give the task a system-assigned identity (`az acr task identity assign -n <task> -r <registry>`) and use the credential `[system]`.',
    link: `${DOCS}/container-registry-tasks-authentication-managed-identity`,
  },
  {
    id: 'RegistryNotFound',
    kind: 'not-found',
    source: 'run-log',
    pattern: /no such host/i,
    message: 'a registry named in the task does not exist (its login server does not resolve)',
    hint: 'Check the login servers in the task file and in its credentials.',
  },
  {
    // ACR answers "logged in but not allowed" with the same 401 as "not logged in"; the log tells
    // them apart by the login lines before it (`Successfully logged into <server>`).
    id: 'RoleNotInEffect',
    kind: 'authorization',
    source: 'run-log',
    pattern: /unauthorized: authentication required/i,
    context: (lines, i) => loggedIntoServerOf(lines, i),
    message: "the task's identity logged in to the registry but may not push or pull there: its role is missing, not in effect yet, or one the registry ignores (AcrPush on an ABAC registry)",
    hint: 'A new role assignment can take minutes to apply; run the task again. Otherwise check the role: `az role assignment list --assignee <principal> --scope <registry id>` — on a registry with ABAC repository permissions only the Container Registry Repository roles count (Writer to push, Reader to pull).',
    link: `${DOCS}/container-registry-tasks-authentication-managed-identity`,
  },
  {
    id: 'CredentialMissing',
    kind: 'credential',
    source: 'run-log',
    pattern: /unauthorized: authentication required/i,
    message: 'the task reached the registry without a credential for it',
    hint: 'Add the identity credential to the task: `az acr task credential add -n <task> -r <registry> --login-server <registry>.azurecr.io --use-identity \'[system]\'`; for the task\'s own registry when it uses ABAC repository permissions (no implicit access for tasks), give the task a source registry identity instead: `az acr task update -n <task> -r <registry> --source-acr-auth-id \'[system]\'`.',
    link: `${DOCS}/container-registry-tasks-authentication-managed-identity`,
  },

  // ---- Refusals acr-trust itself finds before changing anything (preflight) -----------------------
  {
    id: 'SkuNotPremium',
    kind: 'sku',
    source: 'acr-trust',
    message: 'network rules and disabling public access need the Premium SKU',
    hint: 'Upgrade the registry: `az acr update -n <registry> --sku Premium`.',
    link: `${DOCS}/container-registry-skus`,
  },
  {
    id: 'UserAssignedIdentityOnly',
    kind: 'identity',
    source: 'acr-trust',
    message: "only a task's system-assigned identity may bypass the network rules; user-assigned identities are not trusted",
    hint: 'Give the task a system-assigned identity: `az acr task identity assign -n <task> -r <registry>`.',
    link: `${DOCS}/allow-access-trusted-services`,
  },
  {
    id: 'BypassStillAllowed',
    kind: 'network',
    source: 'acr-trust',
    message: 'the task still reaches the registry with trusted services disabled',
    hint: 'Public access must be Disabled and no IP rule may admit the task agent; a setting can also take a while to apply.',
  },
];

/** The rule with this id (the table is the single source). */
export function ruleById(id: string): ErrorRule | undefined {
  return errorRules.find((r) => r.id === id);
}

// ---- Redaction ------------------------------------------------------------------------------------

/** Removes secrets from a text we did not write: URL query strings (SAS signatures), bearer tokens. */
export function redact(text: string): string {
  return text
    .replace(/(https?:\/\/[^\s"'?]+)\?[^\s"']*/gi, '$1?<redacted>')
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1<redacted>')
    .replace(/\b(sig|se|sv|sp|sr|skoid|sktid)=[^&\s"']+/gi, '$1=<redacted>');
}

// ---- SDK errors → AcrTrustError -------------------------------------------------------------------

/** What an SDK error carried, normalised. */
export interface CloudFailure {
  code?: string;
  statusCode?: number;
  message: string;
}

const LRO_FAILED = /^The long-running operation has failed\.\s*([^.\s]+)\.\s*([\s\S]*)$/;

/** Reads ARM's code, status and message out of anything the SDK (or Node, or identity) throws. */
export function readFailure(e: unknown): CloudFailure {
  if (!(e instanceof Error)) return { message: redact(String(e)) };
  const any = e as Error & { code?: unknown; statusCode?: unknown; details?: unknown };
  // LRO failures are plain Errors: "The long-running operation has failed. <code>. <message>".
  const lro = LRO_FAILED.exec(e.message);
  if (lro) return { code: lro[1], message: redact(lro[2]!.trim()) };
  let code = typeof any.code === 'string' ? any.code : undefined;
  let message = e.message;
  const details = any.details as { error?: { code?: string; message?: string } } | undefined;
  if (details && typeof details === 'object' && details.error) {
    code = details.error.code ?? code;
    message = details.error.message ?? message;
  }
  if (!code && (e.name === 'CredentialUnavailableError' || e.name === 'AggregateAuthenticationError' || e.name === 'AuthenticationRequiredError')) {
    code = e.name;
  }
  // Node's TLS and socket errors hide in `cause` once wrapped by the pipeline.
  const cause = (e as { cause?: { code?: unknown } }).cause;
  if (!code && cause && typeof cause.code === 'string') code = cause.code;
  const statusCode = typeof any.statusCode === 'number' ? any.statusCode : undefined;
  return { code, statusCode, message: redact(message) };
}

/** The first ARM rule that explains this failure. */
export function matchArmRule(f: CloudFailure): ErrorRule | undefined {
  return errorRules.find(
    (r) =>
      r.source === 'arm' &&
      (!r.codes || (f.code !== undefined && r.codes.some((c) => c.toLowerCase() === f.code!.toLowerCase()))) &&
      (!r.pattern || r.pattern.test(f.message)),
  );
}

/**
 * Turns anything thrown by a cloud call into an AcrTrustError that says what failed (`doing`, e.g.
 * "update registry acrtrustdemo") and why, keeping ARM's code and HTTP status. An AcrTrustError
 * passes through; an abort passes through untouched so the runner sees the interruption.
 */
export function toAcrTrustError(e: unknown, doing: string): Error {
  if (e instanceof Error && (e.name === 'AcrTrustError' || e.name === 'AbortError')) return e;
  const f = readFailure(e);
  const rule = matchArmRule(f);
  const why = (rule ? rule.message : f.message).replace(/\.\s*$/, '');
  const code = f.code ? ` (${f.code})` : '';
  return new AcrTrustError(`Could not ${doing}: ${why}${code}.`, {
    code: f.code,
    statusCode: f.statusCode,
    hint: rule?.hint,
    link: rule?.link,
  });
}

/** True when a thrown error is ARM saying the thing does not exist (404). */
export function isNotFound(e: unknown): boolean {
  const f = readFailure(e);
  return f.statusCode === 404 || /NotFound$/i.test(f.code ?? '');
}

// ---- Run logs -------------------------------------------------------------------------------------

export interface RunLogDiagnosis {
  rule: ErrorRule;
  /** The log line that shows it (redacted). */
  line: string;
}

/**
 * Finds why a task run failed from its log: the first rule (in table order: network refusals first)
 * that explains one of its lines, with that line. Undefined when no rule does.
 */
export function diagnoseRunLog(log: string): RunLogDiagnosis | undefined {
  const lines = log.split(/\r?\n/).map((l) => l.trim());
  for (const rule of errorRules) {
    if (rule.source !== 'run-log' || !rule.pattern) continue;
    const index = lines.findIndex((l, i) => rule.pattern!.test(l) && (!rule.context || rule.context(lines, i)));
    if (index >= 0) return { rule, line: redact(lines[index]!) };
  }
  return undefined;
}

/**
 * Whether the run had logged in to the registry that a refusal at `lines[index]` names: the
 * server comes from the line itself (`https://<server>/v2/…`) or from the push before it
 * (`The push refers to repository [<server>/<repo>]`).
 */
function loggedIntoServerOf(lines: readonly string[], index: number): boolean {
  let server = /https:\/\/([^/\s"]+)\/v2\//.exec(lines[index]!)?.[1];
  for (let i = index - 1; !server && i >= 0; i--) server = /The push refers to repository \[([^/\]]+)\//.exec(lines[i]!)?.[1];
  if (!server) return false;
  const loggedIn = `Successfully logged into ${server}`.toLowerCase();
  return lines.slice(0, index).some((l) => l.toLowerCase().includes(loggedIn));
}
