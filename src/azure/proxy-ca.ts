/**
 * `--ca` through a proxy. The Azure SDK's pipeline (@azure/core-rest-pipeline 1.24, its
 * `proxyPolicy` from @typespec/ts-http-runtime) sends a request through HTTPS_PROXY with an
 * `HttpsProxyAgent` built from the proxy URL alone: the client's `tlsOptions` (our `--ca`) are
 * dropped — it logs "TLS settings are not supported in combination with custom Proxy" — so the
 * target's certificate is checked against Node's store only (NODE_EXTRA_CA_CERTS).
 *
 * `proxyCaPolicy()` runs right after the SDK's proxy policy (an `additionalPolicies` entry at
 * `perCall`: same phase, added later). Where that policy chose the proxy (HTTPS_PROXY set and the
 * host not in NO_PROXY — its decision, not ours) and the request carries TLS settings, it swaps the
 * agent for one through the same proxy that verifies the target (after CONNECT) with those
 * settings. The connection to the proxy itself keeps Node's store: a proxy with a public or
 * corporate certificate is trusted as before.
 *
 * https-proxy-agent 7 (the SDK's own) hands its constructor options only to the proxy connection;
 * the target's TLS options come from the request (`connect(req, opts)`), so they are added there.
 */
import type { Agent } from 'node:http';
import type { PipelinePolicy, PipelineRequest, SendRequest } from '@azure/core-rest-pipeline';

type TlsSettings = NonNullable<PipelineRequest['tlsSettings']>;
type HttpsProxyAgentModule = typeof import('https-proxy-agent');

export const PROXY_CA_POLICY_NAME = 'acrTrustProxyCaPolicy';

let agentModule: Promise<HttpsProxyAgentModule> | undefined;
/** One agent per proxy and TLS settings object (the SDK keys its own agents by the settings object too). */
const agents = new Map<string, WeakMap<TlsSettings, Agent>>();

/** The pipeline policy; add it with `additionalPolicies: [{ policy: proxyCaPolicy(), position: 'perCall' }]`. */
export function proxyCaPolicy(): PipelinePolicy {
  return {
    name: PROXY_CA_POLICY_NAME,
    async sendRequest(request: PipelineRequest, next: SendRequest) {
      const proxy = proxyOf(request.agent);
      if (proxy && request.tlsSettings && new URL(request.url).protocol === 'https:') {
        request.agent = await agentFor(proxy, request.tlsSettings);
      }
      return next(request);
    },
  };
}

/** The proxy URL of an agent the SDK's proxy policy set (https-proxy-agent keeps it as `proxy`). */
function proxyOf(agent: unknown): URL | undefined {
  const proxy = (agent as { proxy?: unknown } | undefined)?.proxy;
  return proxy instanceof URL && !(agent as { [TARGET_TLS]?: true })[TARGET_TLS] ? proxy : undefined;
}

const TARGET_TLS = Symbol('acr-trust target TLS');

async function agentFor(proxy: URL, tls: TlsSettings): Promise<Agent> {
  let byTls = agents.get(proxy.href);
  if (!byTls) agents.set(proxy.href, (byTls = new WeakMap()));
  let agent = byTls.get(tls);
  if (!agent) {
    const { HttpsProxyAgent } = await (agentModule ??= import('https-proxy-agent'));
    class TargetTlsProxyAgent extends HttpsProxyAgent<string> {
      readonly [TARGET_TLS] = true;
      override connect(req: Parameters<InstanceType<typeof HttpsProxyAgent>['connect']>[0], opts: Parameters<InstanceType<typeof HttpsProxyAgent>['connect']>[1]) {
        // The target's TLS (after CONNECT) verifies with the client's CA; the proxy's own keeps Node's store.
        return super.connect(req, { ...opts, ...tls } as typeof opts);
      }
    }
    agent = new TargetTlsProxyAgent(proxy.href);
    byTls.set(tls, agent);
  }
  return agent;
}
