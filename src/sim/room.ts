/**
 * The training room's identities and the sim's access tokens.
 *
 * Identities. The classroom scenario creates, per learner, a service principal of the sim's tenant
 * with its own client secret, Owner of its own resource group only (`learner07`); the trainer is
 * the sim's caller (`SIM_CALLER_ID`, Owner of the subscription) signing in with the trainer's own
 * client id and secret. Secrets are random (32 bytes, base64url) and kept only in the state file
 * (mode 0600) and in the join files the trainer hands out; the sim compares hashes in constant time.
 *
 * Tokens. `POST /adfs/oauth2/token` (client credentials) answers a JWT signed with the cloud's own
 * ES256 key (kept in the state, so tokens survive a restart; the public half is served at
 * `/adfs/discovery/keys`). Claims as Entra ID's access tokens carry them: `iss`
 * `https://sts.windows.net/{tenant}/`, `aud` the resource asked for (`scope` minus `/.default`),
 * `oid`/`sub` the principal, `appid`, `tid`, `iat`/`nbf`/`exp` (one hour). Every request's token is
 * verified (signature, issuer, audience, expiry) by `verifyAccessToken`, which answers as ARM does:
 * 401 `InvalidAuthenticationToken`, `ExpiredAuthenticationToken`, `InvalidAuthenticationTokenAudience`
 * or `InvalidAuthenticationTokenTenant`, with a `WWW-Authenticate: Bearer … error="invalid_token"`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { ArmError } from './http.js';
import type { CloudState } from './store.js';

/** A service principal that signs in with a client secret. */
export interface RoomIdentity {
  /** The application (client) id the client sends as `client_id`. */
  clientId: string;
  /** The object id: what role assignments and tokens (`oid`) name. */
  principalId: string;
  displayName: string;
  /** The client secret (base64url). Only in the 0600 state file and the identity's join file. */
  secret: string;
  /** `07` for a learner; absent for the trainer. */
  learner?: string;
}

export interface RoomState {
  /** The trainer first, then every learner. */
  identities: RoomIdentity[];
  /** The secret of the live board (`/room`): printed once by `sim serve`, never logged. */
  boardToken: string;
}

/** A GUID derived from a name: stable ids for the room's principals (docs and tests name them). */
export function guidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Learner `n`'s identity; `id` is its two- or three-digit number (`07`). */
export function learnerIdentity(id: string): RoomIdentity {
  return {
    clientId: guidFrom(`acr-trust room learner ${id} application`),
    principalId: guidFrom(`acr-trust room learner ${id}`),
    displayName: `acr-trust learner ${id}`,
    secret: newSecret(),
    learner: id,
  };
}

/** The identity a client id and secret sign in as; undefined unless both match (constant time). */
export function identityFor(room: RoomState, clientId: string, secret: string): RoomIdentity | undefined {
  const id = room.identities.find((i) => i.clientId.toLowerCase() === clientId.toLowerCase());
  if (!id) return undefined;
  const a = createHash('sha256').update(id.secret).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b) ? id : undefined;
}

/** The room identity of a principal (object id), if it is one. */
export function roomIdentityOf(state: CloudState, principalId: string): RoomIdentity | undefined {
  return state.room?.identities.find((i) => i.principalId === principalId);
}

// ---------------------------------------------------------------------------------------------
// Signing keys and tokens.

/** The cloud's token-signing key (a P-256 JWK with `d`), created once and kept in the state. */
export function signingKeyOf(state: CloudState): SigningKey {
  if (!state.signingKey) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    state.signingKey = privateKey.export({ format: 'jwk' });
  }
  const cached = keys.get(state);
  if (cached && cached.jwk === state.signingKey) return cached;
  const privateKey = createPrivateKey({ key: state.signingKey as any, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const pub = publicKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(`${pub.x}.${pub.y}`).digest('base64url').slice(0, 16);
  const key: SigningKey = { jwk: state.signingKey, privateKey, publicKey, publicJwk: { ...pub, kid, use: 'sig', alg: 'ES256' } as JsonWebKey & { kid: string } };
  keys.set(state, key);
  return key;
}
interface SigningKey {
  jwk: JsonWebKey;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JsonWebKey & { kid: string };
}
const keys = new WeakMap<CloudState, SigningKey>();

export function issuerFor(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/** The audiences ARM accepts (its own) — the sim adds the origins it is reached by. */
export const ARM_AUDIENCES = ['https://management.core.windows.net/', 'https://management.core.windows.net', 'https://management.azure.com/', 'https://management.azure.com'];

/**
 * The resource a token request asks for, which becomes the token's `aud`: v2's scope
 * (`{resource}/.default`; az's `https://management.core.windows.net//.default` keeps one slash)
 * or v1's `resource` parameter; ARM's own when neither is given.
 */
export function requestedAudience(form: URLSearchParams): string {
  const scope = (form.get('scope') ?? '').split(/\s+/).find((x) => x.endsWith('/.default'));
  return scope ? scope.slice(0, -'.default'.length).replace(/\/\/$/, '/') : (form.get('resource') ?? ARM_AUDIENCES[0]!);
}

export interface TokenClaims {
  oid: string;
  appid: string;
  tid: string;
  aud: string;
  iss: string;
  exp: number;
}

type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;
const loadJose = () => (jose ??= import('jose'));

/** A signed access token for `principalId` (signing in as `clientId`) for `audience`, valid one hour. */
export async function issueAccessToken(state: CloudState, p: { principalId: string; clientId: string; audience: string; now: number; lifetimeSeconds?: number }): Promise<{ token: string; expiresIn: number }> {
  const { SignJWT } = await loadJose();
  const { privateKey, publicJwk } = signingKeyOf(state);
  const iat = Math.floor(p.now / 1000);
  const lifetime = p.lifetimeSeconds ?? 3600;
  const token = await new SignJWT({ appid: p.clientId, oid: p.principalId, tid: state.tenantId, ver: '1.0' })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: publicJwk.kid })
    .setIssuer(issuerFor(state.tenantId))
    .setAudience(p.audience)
    .setSubject(p.principalId)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + lifetime)
    .sign(privateKey);
  return { token, expiresIn: lifetime };
}

/** True when the string has a JWT's shape (three base64url parts, a JSON header). */
export function looksLikeJwt(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  try {
    return typeof JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) === 'object';
  } catch {
    return false;
  }
}

const WWW = (description: string) => ({
  'WWW-Authenticate': `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="${description}"`,
});

function invalid(code: string, message: string, description = 'The access token is invalid.'): ArmError {
  return new ArmError(401, code, message, WWW(description));
}

/** Per cloud, the tokens already verified, so a client's every request does not pay for an ECDSA verification. */
const verifiedByCloud = new WeakMap<CloudState, Map<string, TokenClaims>>();

/**
 * The claims of a token this cloud signed, for an audience in `audiences`, from its tenant, not
 * expired — or ARM's 401 for what is wrong (the signature first: a forged token says nothing).
 */
export async function verifyAccessToken(state: CloudState, token: string, audiences: readonly string[], nowMs: number): Promise<TokenClaims> {
  const now = Math.floor(nowMs / 1000);
  let verified = verifiedByCloud.get(state);
  if (!verified) verifiedByCloud.set(state, (verified = new Map()));
  let claims = verified.get(token);
  if (!claims) {
    const { compactVerify } = await loadJose();
    const { publicKey } = signingKeyOf(state);
    try {
      // The signature only (ES256, this cloud's key); the claims are checked below, each with ARM's own answer.
      const { payload } = await compactVerify(token, publicKey, { algorithms: ['ES256'] });
      claims = JSON.parse(Buffer.from(payload).toString('utf8')) as TokenClaims;
      if (typeof claims !== 'object' || claims === null) throw new Error('not a claims set');
    } catch {
      throw invalid('InvalidAuthenticationToken', 'The access token is invalid.');
    }
    if (verified.size > 10_000) verified.clear();
    verified.set(token, claims);
  }
  if (typeof claims.exp !== 'number' || claims.exp <= now) {
    const at = (s: number) => new Date(s * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
    throw invalid(
      'ExpiredAuthenticationToken',
      `The access token expiry UTC time '${at(claims.exp ?? 0)}' is earlier than current UTC time '${at(now)}'.`,
      'The access token expiry UTC time is earlier than current UTC time.',
    );
  }
  if (claims.iss !== issuerFor(state.tenantId) || claims.tid !== state.tenantId) {
    throw invalid(
      'InvalidAuthenticationTokenTenant',
      `The access token is from the wrong issuer '${claims.iss}'. It must match the tenant '${issuerFor(state.tenantId)}' associated with this subscription. Please use the authority (URL) '${issuerFor(state.tenantId).replace('sts.windows.net', 'login.windows.net')}' to get the token.`,
    );
  }
  const wanted = new Set(audiences.map((a) => a.toLowerCase()));
  if (!wanted.has(String(claims.aud).toLowerCase())) {
    throw invalid(
      'InvalidAuthenticationTokenAudience',
      `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences ${audiences.map((a) => `'${a}'`).join(',')}.`,
    );
  }
  return claims;
}
