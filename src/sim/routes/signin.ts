/**
 * Sign-in: an ADFS-style authority at `{endpoint}/adfs`, so MSAL (Python's in the az CLI, Node's in
 * @azure/identity) skips instance discovery against the public login host and nothing leaves
 * loopback (az-cli-interop.md). The token is a JWT the sim signs (room.ts); in a classroom only a
 * room identity's client id and secret get one, elsewhere any id and secret get the sim's caller.
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
import { randomUUID } from 'node:crypto';
import type { SimRequest, SimResponse } from '../http.js';
import { identityFor, issueAccessToken, requestedAudience, signingKeyOf } from '../room.js';
import { armAudiences, PUBLIC_CLOUD, SIM_OWN_CLOUD } from '../../model/clouds.js';


export const signInRoutes: RouteModule = (router, sim) => {
  // The cloud's metadata, as Resource Manager serves it (`GET {arm}/metadata/endpoints`, what
  // `az cloud register --endpoint-resource-manager` reads: azure-cli cloud.py's ARM-to-CLI
  // mapping of `name`, `resourceManager`, `authentication.loginEndpoint/audiences`,
  // `suffixes.acrLoginServer`): which cloud this sim stands for, its endpoints at the sim itself.
  // `sim az-env` reads it to register that cloud in the Azure CLI.
  router.on('GET', '/metadata/endpoints', { name: 'metadata.endpoints', auth: false }, (req) => {
    const cloud = sim.state.cloud ?? { ...PUBLIC_CLOUD, name: SIM_OWN_CLOUD };
    return {
      status: 200,
      body: {
        name: cloud.name,
        resourceManager: `${req.origin}/`,
        graphEndpoint: `${req.origin}/`,
        microsoftGraphResourceId: `${req.origin}/`,
        authentication: { loginEndpoint: `${req.origin}/adfs`, audiences: armAudiences(cloud).filter((a) => a.endsWith('/')), tenant: 'adfs', identityProvider: 'ADFS' },
        suffixes: { acrLoginServer: cloud.acrLoginServerSuffix.replace(/^\./, ''), storage: 'core.windows.net' },
      },
    };
  });

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

  // The public half of the cloud's token-signing key (room.ts).
  router.on('GET', '/adfs/discovery/keys', { name: 'signin.keys', auth: false }, () => ({ status: 200, body: { keys: [signingKeyOf(sim.state).publicJwk] } }));

  // The device-code flow (`--use-device-code`, `az login --use-device-code`): the client gets a
  // code and a URL to show; the sim approves every code at once, so the first poll of the token
  // endpoint (grant_type device_code, below) signs in as the sim's caller.
  router.on('POST', '/adfs/oauth2/devicecode', { name: 'signin.deviceCode', auth: false }, (req) => {
    const userCode = randomUUID().replace(/-/g, '').slice(0, 9).toUpperCase();
    const verificationUri = `${req.origin}/adfs/devicelogin`;
    return {
      status: 200,
      body: {
        device_code: `sim-device-${randomUUID()}`,
        user_code: userCode,
        verification_uri: verificationUri,
        expires_in: 900,
        interval: 1,
        message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
      },
    };
  });

  // Client credentials. In a classroom the client id and secret must be a room identity's (the
  // trainer's or a learner's), as Entra ID checks an application's secret; elsewhere any id and
  // secret sign in as the sim's one caller. The token is signed (ES256) and names the principal.
  router.on('POST', '/adfs/oauth2/token', { name: 'signin.token', auth: false }, async (req) => {
    const form = new URLSearchParams(typeof req.body === 'string' ? req.body : req.rawBody);
    const clientId = form.get('client_id') ?? '';
    let principalId = sim.state.caller.principalId;
    const room = sim.state.room;
    const deviceCode = form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:device_code';
    if (room && !deviceCode) {
      const known = room.identities.find((i) => i.clientId.toLowerCase() === clientId.toLowerCase());
      if (!known) {
        return tokenError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${sim.state.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
      }
      const identity = identityFor(room, clientId, form.get('client_secret') ?? '');
      if (!identity) {
        return tokenError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${known.clientId}'.`);
      }
      principalId = identity.principalId;
    }
    const audience = requestedAudience(form);
    const { token, expiresIn } = await issueAccessToken(sim.state, { principalId, clientId: clientId || 'sim-client', audience, now: sim.now() });
    sim.changed(); // the signing key, when this token made it
    return { status: 200, body: { token_type: 'Bearer', access_token: token, expires_in: expiresIn, ext_expires_in: expiresIn } };
  });
};

/** Entra ID's token error: OAuth's `error`, with the AADSTS code and trace ids. */
function tokenError(status: number, error: string, aadsts: number, text: string): SimResponse {
  const trace = randomUUID();
  return {
    status,
    body: { error, error_description: `AADSTS${aadsts}: ${text} Trace ID: ${trace} Correlation ID: ${trace} Timestamp: ${new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`, error_codes: [aadsts], trace_id: trace, correlation_id: trace },
  };
}
