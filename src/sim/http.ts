/**
 * The sim's tiny HTTP layer: a router over ARM-style paths, ARM's error envelope, and api-version
 * checks. Route modules (`routes/*.ts`) register handlers here; nothing in them touches sockets.
 *
 * Paths are matched case-insensitively on their literal segments (ARM is case-insensitive), with
 * `{name}` capturing one segment and `{*name}` capturing one or more (used for role-assignment
 * scopes, which may be any resource id). A leading `//` (the authorization SDK's habit when a scope
 * starts with `/`) is folded to `/` before matching.
 */

export interface SimRequest {
  method: string;
  /** The path as sent, with repeated slashes folded and without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (undefined when there is none), or the raw form text for form posts. */
  body: any;
  rawBody: string;
  /** The body's bytes (a blob upload: a source tarball). */
  rawBytes?: Buffer;
  /** The captured path parameters, decoded. */
  params: Record<string, string>;
  /** `https://127.0.0.1:PORT` — for building absolute URLs (async operations, log links). */
  origin: string;
}

export interface SimResponse {
  status: number;
  /** JSON-serialised unless `text` is given. */
  body?: unknown;
  /** A non-JSON body (run logs, plain text). */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export interface RouteOptions {
  /** The api-versions this resource type accepts. Omit for routes without one (log blobs, sign-in). */
  apiVersions?: readonly string[];
  /** Default true: the request must carry `Authorization: Bearer …`. */
  auth?: boolean;
  /** Whether the route changes the cloud (used by the request log and by benchmarks). */
  write?: boolean;
  /** A short name for fault injection and the request log ("registries.update"). */
  name: string;
}

/** An ARM error: status + `{"error":{"code","message"}}`. Throw it from a handler. */
export class ArmError extends Error {
  override readonly name = 'ArmError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: unknown[],
  ) {
    super(message);
  }
  toResponse(): SimResponse {
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.details) error.details = this.details;
    return { status: this.status, body: { error }, headers: this.headers };
  }
}

interface Route {
  method: string;
  segments: string[];
  /** Literal segments lower-cased (undefined for captures), and whether a `{*name}` is among them. */
  literals: (string | undefined)[];
  wildcard: boolean;
  handler: Handler;
  options: RouteOptions;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, pattern: string, options: RouteOptions, handler: Handler): void {
    const segments = split(pattern);
    this.routes.push({
      method: method.toUpperCase(),
      segments,
      literals: segments.map((x) => (x.startsWith('{') ? undefined : x.toLowerCase())),
      wildcard: segments.some((x) => x.startsWith('{*')),
      handler,
      options,
    });
  }

  /** Finds the route for a request. The first registered match wins. */
  match(method: string, path: string): Match | { methodNotAllowed: boolean } {
    // Each segment decoded and lower-cased once, not once per route tried.
    const parts = split(path).map(decode);
    const lower = parts.map((x) => x.toLowerCase());
    let pathMatched = false;
    for (const route of this.routes) {
      if (!route.wildcard && route.segments.length !== parts.length) continue;
      const params = matchSegments(route, parts, lower);
      if (!params) continue;
      if (route.method !== method.toUpperCase()) {
        pathMatched = true;
        continue;
      }
      return { route, params };
    }
    return { methodNotAllowed: pathMatched };
  }
}

/** Checks the api-version query parameter the way ARM does. */
export function checkApiVersion(req: SimRequest, accepted: readonly string[], resourceType: string): void {
  const v = req.query.get('api-version');
  if (!v) {
    throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
  }
  if (!accepted.includes(v)) {
    throw new ArmError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${v}' is invalid. The supported versions are '${accepted.join(',')}'.`,
    );
  }
  void resourceType;
}

export function foldSlashes(path: string): string {
  return path.replace(/\/{2,}/g, '/');
}

function split(path: string): string[] {
  return foldSlashes(path).split('/').filter((s) => s.length > 0);
}

/** `parts`: the path's segments decoded; `lower`: the same lower-cased. */
function matchSegments(route: Route, parts: string[], lower: string[]): Record<string, string> | null {
  const pattern = route.segments;
  const params: Record<string, string> = {};
  const go = (pi: number, si: number): boolean => {
    if (pi === pattern.length) return si === parts.length;
    const p = pattern[pi]!;
    if (p.startsWith('{*')) {
      const name = p.slice(2, -1);
      // One or more segments, shortest first so literal tails anchor the match.
      for (let end = si + 1; end <= parts.length; end++) {
        if (go(pi + 1, end)) {
          params[name] = '/' + parts.slice(si, end).join('/');
          return true;
        }
      }
      return false;
    }
    if (si >= parts.length) return false;
    const literal = route.literals[pi];
    if (literal === undefined) {
      params[p.slice(1, -1)] = parts[si]!;
      return go(pi + 1, si + 1);
    }
    return literal === lower[si] && go(pi + 1, si + 1);
  };
  return go(0, 0) ? params : null;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
