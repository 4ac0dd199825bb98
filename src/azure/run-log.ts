/**
 * Reads a task run's log blob from its SAS URL, trusting the same CA as the ARM clients. The URL is
 * a secret: it is used for the request and appears in no message, log or return value.
 */
import { request } from 'node:https';
import { AcrTrustError } from '../errors.js';

const TIMEOUT_MS = 30_000;
const MAX_BYTES = 16 * 1024 * 1024;

export function fetchRunLog(sasUrl: string, opts: { ca?: string; signal?: AbortSignal; doing: string }): Promise<string> {
  const url = new URL(sasUrl);
  if (url.protocol !== 'https:') {
    return Promise.reject(new AcrTrustError(`Could not ${opts.doing}: the log link is not HTTPS.`));
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca: opts.ca, signal: opts.signal, timeout: TIMEOUT_MS }, (res) => {
      const status = res.statusCode ?? 0;
      // Before the agent writes its first line the blob does not exist yet.
      if (status === 404) {
        res.resume();
        resolve('');
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        reject(new AcrTrustError(`Could not ${opts.doing}: the log storage answered HTTP ${status}.`, { statusCode: status }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BYTES) chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', (e) => reject(failure(e, opts.doing)));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(e.name === 'AbortError' ? e : failure(e, opts.doing)));
    req.end();
  });
}

/** Node's error messages can quote the URL; keep only the error code. */
function failure(e: Error & { code?: string }, doing: string): AcrTrustError {
  const code = e.code ?? 'unknown error';
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code);
  return new AcrTrustError(`Could not ${doing}: ${tls ? "the log storage's TLS certificate is not trusted" : 'the log storage could not be reached'} (${code}).`, {
    code,
  });
}
