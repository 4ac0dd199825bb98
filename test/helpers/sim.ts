/**
 * Test helpers for the simulated Azure: start a sim, and build the REAL Azure SDK clients pointed
 * at it. The clients trust the sim's CA through core-rest-pipeline's `tlsOptions.ca` — TLS is
 * verified for real (no NODE_TLS_REJECT_UNAUTHORIZED), and a client without the CA is refused.
 *
 *   const sim = await startSim();                      // or: await withSim({}, async (sim) => …)
 *   const { registries, authorization } = sdkClients(sim);
 *   await registries.registries.get('acr-trust-demo', 'acrtrustdemo');
 */
import type { TokenCredential } from '@azure/core-auth';
import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ResourceManagementClient } from '@azure/arm-resources';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import { afterAll, beforeAll } from 'vitest';
import { startSim, type RunningSim, type StartSimOptions } from '../../src/sim/index.js';

/** Any bearer token is the sim's caller. */
export const simCredential: TokenCredential = {
  getToken: async () => ({ token: 'sim', expiresOnTimestamp: Date.now() + 3600e3 }),
};

/** Client options for any @azure/arm-* client: the sim's endpoint, its CA, and fast retries. */
export function simClientOptions(sim: Pick<RunningSim, 'endpoint' | 'caCert'>) {
  return {
    endpoint: sim.endpoint,
    credentialScopes: [`${sim.endpoint}/.default`],
    tlsOptions: { ca: sim.caCert },
    // Keep the SDK's retry count (3) but not its multi-second backoff: tests inject 500s.
    retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  };
}

export function sdkClients(sim: Pick<RunningSim, 'endpoint' | 'caCert' | 'subscriptionId'>) {
  const options = simClientOptions(sim);
  return {
    registries: new ContainerRegistryManagementClient(simCredential, sim.subscriptionId, options),
    authorization: new AuthorizationManagementClient(simCredential, sim.subscriptionId, options),
    resources: new ResourceManagementClient(simCredential, sim.subscriptionId, options),
    subscriptions: new SubscriptionClient(simCredential, options),
  };
}

/** Runs `fn` against a fresh sim and stops it afterwards, even when `fn` throws. */
export async function withSim<T>(opts: StartSimOptions, fn: (sim: RunningSim) => Promise<T>): Promise<T> {
  const sim = await startSim(opts);
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}

/** One sim for a whole test file: started in beforeAll, stopped in afterAll. Read `.sim` inside tests. */
export function useSim(opts: StartSimOptions = {}): { readonly sim: RunningSim; readonly clients: ReturnType<typeof sdkClients> } {
  let sim: RunningSim | undefined;
  let clients: ReturnType<typeof sdkClients> | undefined;
  beforeAll(async () => {
    sim = await startSim(opts);
    clients = sdkClients(sim);
  });
  afterAll(async () => {
    await sim?.stop();
  });
  return {
    get sim() {
      if (!sim) throw new Error('useSim: the sim is not started yet (use it inside a test)');
      return sim;
    },
    get clients() {
      if (!clients) throw new Error('useSim: the sim is not started yet (use it inside a test)');
      return clients;
    },
  };
}

/** The error `p` rejects with; throws when it resolves instead. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Every item of an async iterable (an SDK pager such as `runs.list`), in order. */
export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A raw HTTPS request to the sim (for what the SDK cannot send: missing auth, bad api-versions). */
export async function rawRequest(
  sim: Pick<RunningSim, 'endpoint' | 'caCert'>,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: unknown; auth?: boolean } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any; text: string }> {
  const { request } = await import('node:https');
  const url = new URL(sim.endpoint);
  const payload = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        ca: sim.caCert,
        headers: {
          ...(init.auth === false ? {} : { authorization: 'Bearer sim' }),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: any;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
