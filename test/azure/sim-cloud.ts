/**
 * The adapter pointed at a running simulated Azure: the same `connect` the CLI uses, with the sim's
 * endpoint, its CA (verified for real) and the fixed sim token.
 */
import { connect, simCredential, type Cloud } from '../../src/azure/index.js';
import type { RunningSim } from '../../src/sim/index.js';

export function simCloud(sim: Pick<RunningSim, 'endpoint' | 'caCert' | 'subscriptionId'>): Cloud {
  return connect({
    subscriptionId: sim.subscriptionId,
    credential: simCredential(),
    endpoint: sim.endpoint,
    ca: sim.caCert,
    pollIntervalMs: 5,
    // The SDK's retry count, without its multi-second backoff (fault-injection tests).
    retry: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });
}

export const RG = 'acr-trust-demo';
export const REGISTRY = 'acrtrustdemo';
export const TARGET = 'acrtrusttarget';

/** The rejection of a promise that must fail (one helper for every suite). */
export { rejection } from '../helpers/sim.js';
