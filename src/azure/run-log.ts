/**
 * Reads a task run's log blob from its SAS URL through the Azure SDK's own HTTP pipeline
 * (@azure/core-rest-pipeline, the one under the ARM clients): the same retries (transient 5xx,
 * 408, dropped connections with exponential back-off; 429 and 503 after their Retry-After), the
 * same proxy settings (HTTPS_PROXY, NO_PROXY), the same trusted CA, as every other request. No
 * bearer token: the SAS in the URL is the only credential blob storage gets.
 *
 * The URL is a secret: it is used for the request and appears in no message, log or return value
 * (the SDK's request log, AZURE_LOG_LEVEL, is left out of this pipeline).
 */
import type { Pipeline, HttpClient } from '@azure/core-rest-pipeline';
import { AcrTrustError } from '../errors.js';
import { proxyCaPolicy } from './proxy-ca.js';

const TIMEOUT_MS = 30_000;
const MAX_BYTES = 16 * 1024 * 1024;

export interface RunLogOptions {
  /** PEM of the CA to trust instead of the public roots (the simulated Azure's). */
  ca?: string;
  signal?: AbortSignal;
  /** What is being done, for messages: "read the log of run ca1 in registry r". */
  doing: string;
  /** The ARM clients' retry settings (the SDK's defaults when absent). */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

type RestPipeline = typeof import('@azure/core-rest-pipeline');
let sdk: Promise<RestPipeline> | undefined;
const pipelines = new Map<string, { pipeline: Pipeline; client: HttpClient }>();

/**
 * The log's text ('' when the blob does not exist yet: the agent has not written its first line).
 * At most 16 MiB are kept. Errors: AcrTrustError "Could not <doing>: …" with the HTTP status
 * (statusCode) or the network error's code; an abort rejects with the AbortError.
 */
export async function fetchRunLog(sasUrl: string, opts: RunLogOptions): Promise<string> {
  if (new URL(sasUrl).protocol !== 'https:') throw new AcrTrustError(`Could not ${opts.doing}: the log link is not HTTPS.`);
  // Loaded on first use: `acr-trust steps` imports this module's caller and never fetches.
  const rest = await (sdk ??= import('@azure/core-rest-pipeline'));
  const { pipeline, client } = pipelineFor(rest, opts);
  const request = rest.createPipelineRequest({
    url: sasUrl,
    method: 'GET',
    abortSignal: opts.signal,
    timeout: TIMEOUT_MS,
    streamResponseStatusCodes: new Set([200, 206]),
  });
  let response;
  try {
    response = await pipeline.sendRequest(client, request);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw failure(e as Error & { code?: string }, opts.doing);
  }
  const status = response.status;
  if (status === 404) {
    response.readableStreamBody?.resume();
    return '';
  }
  if (status < 200 || status >= 300) {
    response.readableStreamBody?.resume();
    throw new AcrTrustError(`Could not ${opts.doing}: the log storage answered HTTP ${status}.`, { statusCode: status });
  }
  const body = response.readableStreamBody;
  if (!body) return response.bodyAsText ?? '';
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const c = chunk as Buffer;
      if (size < MAX_BYTES) chunks.push(c.subarray(0, MAX_BYTES - size));
      size += c.length;
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw failure(e as Error & { code?: string }, opts.doing);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One pipeline (and keep-alive HTTP client) per CA and retry setting. */
function pipelineFor(rest: RestPipeline, opts: RunLogOptions): { pipeline: Pipeline; client: HttpClient } {
  const key = JSON.stringify([opts.ca ?? '', opts.retry ?? {}]);
  let p = pipelines.get(key);
  if (!p) {
    const pipeline = rest.createPipelineFromOptions({
      ...(opts.retry ? { retryOptions: opts.retry } : {}),
      ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
      userAgentOptions: { userAgentPrefix: 'acr-trust/0.1.0' },
    });
    // No form is ever sent; the policy's FormData check would load Node's fetch (see cloud.ts `lean`).
    pipeline.removePolicy({ name: 'formDataPolicy' });
    // The SDK's request log (AZURE_LOG_LEVEL=info) prints each URL, its SAS values redacted; the
    // log link stays out of it altogether.
    pipeline.removePolicy({ name: 'logPolicy' });
    // Through HTTPS_PROXY the SDK's proxy agent drops tlsOptions: put the CA back (proxy-ca.ts).
    if (opts.ca) pipeline.addPolicy(proxyCaPolicy());
    pipelines.set(key, (p = { pipeline, client: rest.createDefaultHttpClient() }));
  }
  return p;
}

/** Node's and the SDK's error messages can quote the URL; keep only the error code. */
function failure(e: Error & { code?: string }, doing: string): AcrTrustError {
  const code = e.code ?? 'unknown error';
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code);
  return new AcrTrustError(`Could not ${doing}: ${tls ? "the log storage's TLS certificate is not trusted" : 'the log storage could not be reached'} (${code}).`, {
    code,
  });
}
