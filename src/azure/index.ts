/**
 * The only folder that imports `@azure/*`. Steps and the CLI use what this module exports:
 * `connect` and its `Cloud` verbs, the credentials, the domain types, and the error-rule table.
 */
export { connect, withoutSecrets, AZURE_ENDPOINT, TASK_SOURCE_IDENTITY_API_VERSION, type Cloud, type ConnectOptions } from './cloud.js';
export { KNOWN_CLOUDS, PUBLIC_CLOUD, activeCloudName, azureConfigDir, cloudNamed, resolveCloud, type AzureCloudEndpoints } from './clouds.js';
export { azureCredential, clientSecretCredential, simCredential, defaultSubscriptionFromAzCli, type AzureCredentialOptions, type TokenCredential } from './credentials.js';
export {
  errorRules,
  ruleById,
  diagnoseRunLog,
  toAcrTrustError,
  readFailure,
  matchArmRule,
  redact,
  type ErrorRule,
  type FailureKind,
  type RunLogDiagnosis,
} from './errors.js';
export {
  BUILT_IN_ROLE_GUIDS,
  LEGACY_REGISTRY_ROLES,
  roleAssignmentName,
  roleDefinitionIdFor,
  roleGuid,
  sameId,
  parseResourceId,
  permits,
  actionMatches,
} from './ids.js';
export * from './types.js';
