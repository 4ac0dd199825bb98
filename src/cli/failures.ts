/**
 * The last line of the error policy (main.ts): what reaches the top of the CLI — or escapes it as
 * an unhandled rejection or an uncaught exception — without being an AcrTrustError.
 *
 * Most such errors are not bugs but the machine or the network failing in a way some code path did
 * not wrap: a connection reset or refused, a certificate not trusted, a service answering 429/503,
 * a full disk, too many open files, acr-trust's own files missing while it is being reinstalled.
 * `explainStray` turns each of those KINDS (by Node's error code, wherever it hides: the error, its
 * `cause`, an AggregateError's members; or an HTTP status) into an AcrTrustError in the user's
 * terms (exit 1). What is left is a bug: `bugReport` says so in one line without the stack (which
 * `ACR_TRUST_DEBUG=1` prints) — a stack trace never reaches a user by default.
 */
import { AcrTrustError } from '../errors.js';

const NETWORK: Record<string, string> = {
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'the connection was refused',
  ECONNABORTED: 'the connection was aborted',
  EPIPE: 'the connection was closed while sending',
  ETIMEDOUT: 'the connection timed out',
  ESOCKETTIMEDOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENETDOWN: 'the network is down',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now',
};

const LOCAL: Record<string, [string, string]> = {
  EMFILE: ['this process has too many files open', 'Close other programs or raise the limit (`ulimit -n`), then run the command again.'],
  ENFILE: ['the machine has too many files open', 'Close other programs, then run the command again.'],
  ENOSPC: ['the disk is full', 'Free some space, then run the command again: finished steps are kept.'],
  EDQUOT: ['the disk quota is used up', 'Free some space, then run the command again.'],
  ENOMEM: ['the machine is out of memory', 'Close other programs, then run the command again.'],
  EAGAIN: ['the machine is out of a resource (processes, memory) for now', 'Run the command again in a moment.'],
  EACCES: ['permission denied', 'Check the permissions of the workdir and files named on the command line.'],
  EPERM: ['operation not permitted', 'Check the permissions of the workdir and files named on the command line.'],
  EROFS: ['the file system is read-only', 'Use a --workdir on a writable file system.'],
  EIO: ['an input/output error on the disk', 'Check the disk, then run the command again.'],
};

const TLS = /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED_CERT$|HOSTNAME_MISMATCH$)/;
const LOAD = /^(ERR_MODULE_NOT_FOUND|ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_UNSUPPORTED_DIR_IMPORT|ERR_INVALID_PACKAGE_CONFIG|MODULE_NOT_FOUND|ERR_REQUIRE_ESM)$/;

/** Every error inside `e`: itself, its `cause` chain, an AggregateError's members (bounded). */
function layers(e: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (x: unknown, depth: number) => {
    if (x === undefined || x === null || depth > 5 || out.includes(x) || out.length > 20) return;
    out.push(x);
    const o = x as { cause?: unknown; errors?: unknown };
    walk(o.cause, depth + 1);
    if (Array.isArray(o.errors)) for (const m of o.errors) walk(m, depth + 1);
  };
  walk(e, 0);
  return out;
}

function codeOf(x: unknown): string | undefined {
  const c = (x as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Where a network error was going, when it says (`connect ECONNREFUSED 127.0.0.1:8443`, `address`/`port`). */
function peerOf(x: unknown): string | undefined {
  const o = x as { address?: unknown; port?: unknown; hostname?: unknown; message?: unknown };
  if (typeof o?.address === 'string') return typeof o.port === 'number' ? `${o.address}:${o.port}` : o.address;
  if (typeof o?.hostname === 'string') return o.hostname;
  return undefined;
}

/**
 * An error that is not an AcrTrustError, explained by its kind — or undefined when it is none of
 * the kinds above (then it is a bug: see `bugReport`). Exit 1 for each; the code kept is Node's
 * (`ECONNRESET`, `CERT_HAS_EXPIRED` …) or the HTTP status's name.
 */
export function explainStray(e: unknown): AcrTrustError | undefined {
  const all = layers(e);
  for (const x of all) {
    const code = codeOf(x);
    if (!code) continue;
    if (NETWORK[code]) {
      const peer = peerOf(x);
      return new AcrTrustError(`A cloud connection failed: ${NETWORK[code]}${peer ? ` (${peer})` : ''} (${code}).`, {
        code,
        hint: 'Check that the endpoint is running and reachable (for a training room: is `acr-trust sim serve` up, and is this its address?), then run the command again: finished steps are kept.',
      });
    }
    if (TLS.test(code)) {
      return new AcrTrustError(`A cloud connection failed: its certificate is not trusted (${code}).`, {
        code,
        hint: 'For a simulated Azure or a training room, give its CA (--ca, or the join file of this room); for a corporate proxy, NODE_EXTRA_CA_CERTS.',
      });
    }
    if (LOCAL[code]) {
      const [why, hint] = LOCAL[code]!;
      const path = (x as { path?: unknown }).path;
      return new AcrTrustError(`acr-trust could not go on: ${why}${typeof path === 'string' ? ` (${path})` : ''} (${code}).`, { code, hint });
    }
    if (LOAD.test(code)) {
      return new AcrTrustError(`acr-trust's own files could not be loaded (${code}): the installation is incomplete, or being rebuilt or reinstalled right now.`, {
        code,
        hint: 'Wait for any install or build to finish and run the command again; if it persists, reinstall acr-trust.',
      });
    }
  }
  for (const x of all) {
    const status = (x as { statusCode?: unknown; status?: unknown })?.statusCode ?? (x as { status?: unknown })?.status;
    if (typeof status !== 'number') continue;
    if (status === 429 || status === 503) {
      const retry = retryAfterOf(x);
      return new AcrTrustError(`The cloud is busy (HTTP ${status}${retry ? `; it asked to wait ${retry} s` : ''}).`, {
        code: status === 429 ? 'TooManyRequests' : 'ServiceUnavailable',
        statusCode: status,
        hint: 'Wait a moment and run the command again: finished steps are kept.',
      });
    }
    if (status >= 500) {
      return new AcrTrustError(`The cloud failed to answer (HTTP ${status}).`, { statusCode: status, hint: 'Run the command again in a moment: finished steps are kept.' });
    }
  }
  return undefined;
}

function retryAfterOf(x: unknown): string | undefined {
  const headers = (x as { response?: { headers?: { get?: (k: string) => string | undefined } } })?.response?.headers;
  const v = typeof headers?.get === 'function' ? headers.get('retry-after') : undefined;
  return v && v !== '0' ? v : undefined;
}

/**
 * A bug's report for stderr: one line naming the error, and where to find more. The stack goes
 * to stderr only with `ACR_TRUST_DEBUG=1` (it names files of the install, not the user's problem).
 */
export function bugReport(e: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const err = e as Error;
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(e);
  const debug = env.ACR_TRUST_DEBUG === '1' && err instanceof Error ? `\n${err.stack ?? ''}` : '';
  return `acr-trust: unexpected error — ${what.split('\n')[0]!.slice(0, 500)}\n  This is a bug, please report it with the command line; \`ACR_TRUST_DEBUG=1 acr-trust …\` shows where it happened.${debug}\n`;
}
