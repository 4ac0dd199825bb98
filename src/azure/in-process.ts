/**
 * An HTTP client for the Azure SDK's pipeline that hands each request to a function in this
 * process instead of the network: the room board's checks reach the sim they run beside without a
 * socket, TLS or HTTP parsing, through the very same SDK clients, adapter and step checks as over
 * HTTPS (the sim answers them through its own routes and access check: `RunningSim.dispatch`).
 */
import type { HttpClient, HttpHeaders, PipelineRequest, PipelineResponse, RawHttpHeaders, RawHttpHeadersInput } from '@azure/core-rest-pipeline';

/** One request handed over, and its answer (the body as text). */
export type InProcessTransport = (request: { method: string; url: string; headers: Record<string, string>; body?: string | Uint8Array }) => Promise<{ status: number; headers: Record<string, string>; body: string }>;

/** The SDK's HttpClient over `transport`. Request bodies must be text or bytes (ARM's JSON); a stream is refused. */
export function inProcessHttpClient(transport: InProcessTransport): HttpClient {
  return {
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      if (request.abortSignal?.aborted) throw Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
      const body = request.body;
      if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        throw new Error('the in-process transport takes text or bytes as a request body, not a stream or a form');
      }
      const answer = await transport({ method: request.method, url: request.url, headers: request.headers.toJSON(), ...(body !== undefined && body !== null ? { body } : {}) });
      return { request, status: answer.status, headers: headersOf(answer.headers), bodyAsText: answer.body };
    },
  };
}

/** The SDK's HttpHeaders over a plain object (names case-insensitive). */
function headersOf(input: RawHttpHeadersInput): HttpHeaders {
  const map = new Map<string, { name: string; value: string }>();
  for (const [name, value] of Object.entries(input)) map.set(name.toLowerCase(), { name, value: String(value) });
  const headers: HttpHeaders = {
    get: (name) => map.get(name.toLowerCase())?.value,
    has: (name) => map.has(name.toLowerCase()),
    set: (name, value) => void map.set(name.toLowerCase(), { name, value: String(value) }),
    delete: (name) => void map.delete(name.toLowerCase()),
    toJSON: (options?: { preserveCase?: boolean }) => {
      const out: RawHttpHeaders = {};
      for (const [key, { name, value }] of map) out[options?.preserveCase ? name : key] = value;
      return out;
    },
    [Symbol.iterator]: function* () {
      for (const [key, { value }] of map) yield [key, value] as [string, string];
    },
  };
  return headers;
}
