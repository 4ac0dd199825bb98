/**
 * The pure parts of the adapter: error translation and its rule table, run-log diagnosis on real
 * Azure log texts, ids and names, permissions arithmetic, the Azure CLI profile.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  actionMatches,
  defaultSubscriptionFromAzCli,
  diagnoseRunLog,
  errorRules,
  permits,
  readFailure,
  redact,
  roleAssignmentName,
  ruleById,
  toAcrTrustError,
} from '../../src/azure/index.js';

describe('toAcrTrustError', () => {
  it('reads the code out of a failed long-running operation and explains it', () => {
    const lro = new Error(
      'The long-running operation has failed. DisablingPublicNetworkAccessNotSupported. Disabling public network access is not supported for the SKU Basic. For more information, please visit https://aka.ms/acr/private-link.',
    );
    expect(readFailure(lro)).toMatchObject({ code: 'DisablingPublicNetworkAccessNotSupported' });
    const e = toAcrTrustError(lro, 'update publicNetworkAccess on registry myreg') as any;
    expect(e.name).toBe('AcrTrustError');
    expect(e.code).toBe('DisablingPublicNetworkAccessNotSupported');
    expect(e.message).toBe(
      "Could not update publicNetworkAccess on registry myreg: the registry's SKU cannot disable public network access; network rules need the Premium SKU (DisablingPublicNetworkAccessNotSupported).",
    );
    expect(e.hint).toContain('--sku Premium');
    expect(e.options.link).toBe('https://aka.ms/acr/private-link');
  });

  it('keeps a RestError\'s code and status, and tells a role-assignment write apart from other denials', () => {
    const rest = (code: string, statusCode: number, message: string) => Object.assign(new Error(message), { name: 'RestError', code, statusCode });
    const write = toAcrTrustError(
      rest('AuthorizationFailed', 403, "The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '/s'."),
      'assign role',
    ) as any;
    expect(write).toMatchObject({ code: 'AuthorizationFailed' });
    expect(write.options.statusCode).toBe(403);
    expect(write.hint).toMatch(/Owner.*User Access Administrator/);
    const other = toAcrTrustError(rest('AuthorizationFailed', 403, "… perform action 'Microsoft.ContainerRegistry/registries/write' …"), 'update registry') as any;
    expect(other.hint).not.toMatch(/User Access Administrator or Role/);
    const principal = toAcrTrustError(rest('PrincipalNotFound', 400, 'Principal abc does not exist in the directory t.'), 'assign role') as any;
    expect(principal.hint).toContain('principalType');
    const unknown = toAcrTrustError(rest('SomethingNew', 400, 'A new failure.'), 'read registry r') as any;
    expect(unknown.message).toBe('Could not read registry r: A new failure (SomethingNew).');
  });

  it('never repeats a SAS URL or a bearer token', () => {
    const leaky = new Error('GET https://acct.blob.core.windows.net/logs/ca1/rawtext.log?sv=2020&se=x&sig=SECRET failed; Authorization: Bearer eyJ0eXAi.SECRET');
    const e = toAcrTrustError(leaky, 'read the log') as Error;
    expect(e.message).not.toContain('SECRET');
    expect(redact('see https://x.blob.core.windows.net/c/b?sig=abc&se=1')).toBe('see https://x.blob.core.windows.net/c/b?<redacted>');
  });

  it('passes AcrTrustErrors and aborts through untouched', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toAcrTrustError(abort, 'x')).toBe(abort);
  });

  it('has one table with a message and a suggestion for every rule, and unique ids', () => {
    const ids = errorRules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of errorRules) {
      expect(r.message.length, r.id).toBeGreaterThan(10);
      expect(r.hint.length, r.id).toBeGreaterThan(10);
    }
    for (const id of ['PrincipalNotFound', 'RoleAssignmentExists', 'DisablingPublicNetworkAccessNotSupported', 'RoleAssignmentWriteDenied', 'ResourceNotFound', 'ResourceGroupNotFound', 'SubscriptionNotFound', 'FirewallDenied', 'TokenExchangeRefused', 'CredentialMissing', 'SourceIdentityMissing']) {
      expect(ruleById(id), id).toBeDefined();
    }
  });
});

describe('diagnoseRunLog (texts from real ACR task logs)', () => {
  it('a firewall denial → FirewallDenied (network)', () => {
    const log = [
      '2023/12/11 06:06:48 Setting up Docker configuration...',
      '2023/12/11 06:06:49 Logging in to registry: myreg.azurecr.io',
      'failed to login, ran out of retries: failed to set docker credentials: Error response from daemon: Get "https://myreg.azurecr.io/v2/": denied: client with IP \'52.1.2.3\' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.',
      ': exit status 1',
      'Run ID: ca2 failed after 5s. Error: failed during run, err: exit status 1',
    ].join('\r\n');
    expect(diagnoseRunLog(log)).toMatchObject({ rule: { id: 'FirewallDenied', kind: 'network' }, line: expect.stringContaining('not allowed access') });
  });

  it('a refused token exchange → TokenExchangeRefused (network)', () => {
    const log = 'failed to unmarshal task before running: failed to resolve secrets: failed to get ACR refresh token, exchange API response code: 403 Forbidden\nRun ID: cbx failed after 3s. Error: failed during run, err: exit status 1\n';
    expect(diagnoseRunLog(log)?.rule).toMatchObject({ id: 'TokenExchangeRefused', kind: 'network' });
  });

  it('a 401 after logging in to that registry → RoleNotInEffect; without a login → CredentialMissing', () => {
    const refused = [
      'The push refers to repository [myreg.azurecr.io/acr-trust/hello]',
      'abc: Preparing',
      'unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.',
    ];
    expect(diagnoseRunLog(['2025/01/01 00:00:00 Successfully logged into myreg.azurecr.io', ...refused].join('\n'))?.rule.id).toBe('RoleNotInEffect');
    expect(diagnoseRunLog(['2025/01/01 00:00:00 Successfully logged into other.azurecr.io', ...refused].join('\n'))?.rule.id).toBe('CredentialMissing');
    expect(diagnoseRunLog(refused.join('\n'))?.rule.id).toBe('CredentialMissing');
  });

  it('a successful log → nothing to explain', () => {
    expect(diagnoseRunLog('Successfully logged into myreg.azurecr.io\nRun ID: cad was successful after 8s\n')).toBeUndefined();
  });
});

describe('ids and permissions', () => {
  it('names a role assignment with a deterministic v5 GUID', () => {
    const a = roleAssignmentName('/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r', '/x/roleDefinitions/8311e382', 'p');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(roleAssignmentName('/subscriptions/S/resourceGroups/G/providers/Microsoft.ContainerRegistry/registries/R', '/x/roleDefinitions/8311e382', 'P')).toBe(a);
    expect(roleAssignmentName('/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r', '/x/roleDefinitions/8311e382', 'q')).not.toBe(a);
  });

  it('evaluates actions and notActions with wildcards, as ARM does', () => {
    const W = 'Microsoft.Authorization/roleAssignments/write';
    expect(actionMatches('*', W)).toBe(true);
    expect(actionMatches('Microsoft.Authorization/*', W)).toBe(true);
    expect(actionMatches('microsoft.authorization/*/WRITE', W)).toBe(true);
    expect(actionMatches('*/read', W)).toBe(false);
    const owner = [{ actions: ['*'], notActions: [] }];
    const contributor = [{ actions: ['*'], notActions: ['Microsoft.Authorization/*/Write', 'Microsoft.Authorization/*/Delete'] }];
    expect(permits(owner, W)).toBe(true);
    expect(permits(contributor, W)).toBe(false);
    // A second role that grants it wins over the first role's exclusion (notActions are per role).
    expect(permits([...contributor, { actions: ['*/read', 'Microsoft.Authorization/*'], notActions: [] }], W)).toBe(true);
  });
});

describe('defaultSubscriptionFromAzCli', () => {
  it('reads the default subscription from azureProfile.json (with its byte-order mark)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'acr-trust-az-'));
    expect(defaultSubscriptionFromAzCli(dir)).toBeUndefined();
    writeFileSync(join(dir, 'azureProfile.json'), '\uFEFF' + JSON.stringify({ subscriptions: [{ id: 'a', isDefault: false }, { id: 'b', isDefault: true }] }));
    expect(defaultSubscriptionFromAzCli(dir)).toBe('b');
    writeFileSync(join(dir, 'azureProfile.json'), 'not json');
    expect(defaultSubscriptionFromAzCli(dir)).toBeUndefined();
  });
});
