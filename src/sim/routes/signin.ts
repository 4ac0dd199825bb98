/**
 * Sign-in: an ADFS-style authority at `{endpoint}/adfs`, so MSAL (Python's in the az CLI, Node's in
 * @azure/identity) skips instance discovery against the public login host and nothing leaves
 * loopback (az-cli-interop.md). Any client id and secret get a token; the token names the sim's
 * caller and tenant.
 *
 * - az CLI: `az login --service-principal … --tenant adfs` first resolves the tenant name at
 *   `/adfs/adfs/.well-known/openid-configuration` (it needs a 200 there), then MSAL reads
 *   `/adfs/.well-known/openid-configuration` and posts to the token endpoint. `sim az-env`
 *   writes the signed-in configuration directly, so only the last two happen.
 * - @azure/identity (`--target azure` against the sim): `AZURE_TENANT_ID=adfs`,
 *   `AZURE_AUTHORITY_HOST={endpoint}`; MSAL for Node accepts the OpenID document only with a
 *   `jwks_uri`.
 * - The embedded sim and the tests hand the SDK clients a TokenCredential directly and never come here.
 */
import type { RouteModule } from '../context.js';
import type { SimRequest, SimResponse } from '../http.js';

function base64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export const signInRoutes: RouteModule = (router, sim) => {
  const openidConfiguration = (req: SimRequest): SimResponse => ({
    status: 200,
    body: {
      issuer: `${req.origin}/adfs`,
      authorization_endpoint: `${req.origin}/adfs/oauth2/authorize`,
      token_endpoint: `${req.origin}/adfs/oauth2/token`,
      // MSAL for Node (what @azure/identity uses) accepts the document only with jwks_uri.
      jwks_uri: `${req.origin}/adfs/discovery/keys`,
      device_authorization_endpoint: `${req.origin}/adfs/oauth2/devicecode`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      response_types_supported: ['code', 'token'],
      scopes_supported: ['openid'],
    },
  });
  // MSAL's discovery for the authority `{endpoint}/adfs`.
  router.on('GET', '/adfs/.well-known/openid-configuration', { name: 'signin.openidConfiguration', auth: false }, openidConfiguration);
  // `az login --tenant adfs` first resolves the tenant name through
  // `{active_directory}/{tenant}/.well-known/openid-configuration` and needs a 200 whose issuer's
  // fourth segment is the tenant ("adfs").
  router.on('GET', '/adfs/{tenant}/.well-known/openid-configuration', { name: 'signin.openidConfiguration', auth: false }, openidConfiguration);

  // The sim's tokens are unsigned (`alg: none`): there are no signing keys to publish.
  router.on('GET', '/adfs/discovery/keys', { name: 'signin.keys', auth: false }, () => ({ status: 200, body: { keys: [] } }));

  router.on('POST', '/adfs/oauth2/token', { name: 'signin.token', auth: false }, (req) => {
    const form = new URLSearchParams(typeof req.body === 'string' ? req.body : req.rawBody);
    const now = Math.floor(sim.now() / 1000);
    const clientId = form.get('client_id') ?? 'sim-client';
    // An unsigned JWT-shaped token: clients that peek inside (az CLI) find the caller and tenant.
    const claims = { aud: 'https://management.core.windows.net/', iss: `${req.origin}/adfs`, iat: now, nbf: now, exp: now + 3600, appid: clientId, oid: sim.state.caller.principalId, sub: sim.state.caller.principalId, tid: sim.state.tenantId };
    const token = `${base64url({ typ: 'JWT', alg: 'none' })}.${base64url(claims)}.sim`;
    return { status: 200, body: { token_type: 'Bearer', access_token: token, expires_in: 3600, ext_expires_in: 3600 } };
  });
};
