/**
 * Through a proxy (issue 15 §5): with HTTPS_PROXY set, every request of a whole workflow — ARM,
 * the sign-in, the run logs' blobs — goes through a CONNECT proxy on loopback (proxy-chain), as the
 * Azure SDK's pipeline does it; NO_PROXY takes a host out of it. The sim's CA is trusted through
 * `--ca` alone (no NODE_EXTRA_CA_CERTS): the SDK's proxy agent drops a client's CA, and
 * src/azure/proxy-ca.ts hands it back for ARM, the sign-in and the run logs.
 *
 * How "every request" is proven: the sim is reached by a name that does not resolve
 * (`sim.acr-trust.invalid`, RFC 2606), which only the proxy maps to the sim's address — a request
 * that went around the proxy cannot connect at all. The proxy counts its tunnels and their targets.
 */
import { lookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { readFileSync, writeFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { Server } from 'proxy-chain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync, expectNoStack, jsonLines, startCli, tempDir } from './helpers.js';

const HOST = 'sim.acr-trust.invalid';
const STEP_IDS = ['preflight', 'create-task', 'assign-role', 'add-credential', 'agent-pool', 'allow-trusted-services', 'allow-task-bypass', 'disable-public-access', 'run-task', 'disable-trusted-services', 'confirm-denied'];

let server: ReturnType<typeof startCli>;
let sim: { endpoint: string; caCertFile: string; subscriptionId: string };
let stateFile: string;
let proxy: Server;
const tunnels: string[] = [];

beforeAll(async () => {
  const dir = tempDir();
  stateFile = join(dir, 'cloud.json');
  server = startCli(['sim', 'serve', '--state', stateFile, '--speed', 'instant', '--san', HOST]);
  await server.afterLines(1);
  const line = JSON.parse(server.lines[0]!);
  sim = { ...line, endpoint: `https://${HOST}:${new URL(line.endpoint).port}` };
  proxy = new Server({
    port: 0,
    host: '127.0.0.1',
    prepareRequestFunction: ({ hostname, port, isHttp }) => {
      tunnels.push(`${isHttp ? 'http' : 'CONNECT'} ${hostname}:${port}`);
      // Only the proxy knows where the sim's name points.
      const dnsLookup = ((host: string, options: unknown, callback: unknown) => {
        const cb = (typeof options === 'function' ? options : callback) as (e: Error | null, a: string | LookupAddress[], f?: number) => void;
        if (host !== HOST) return cb(Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' }), '');
        return (options as { all?: boolean })?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
      }) as never;
      return { dnsLookup };
    },
  });
  await proxy.listen();
}, 60_000);

afterAll(async () => {
  await proxy?.close(true);
  server?.child.kill('SIGTERM');
  await server?.exit;
});

function envFor(extra: Record<string, string> = {}) {
  return {
    HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
    NO_PROXY: '',
    // A service principal at the sim's sign-in (tenant adfs): the sign-in goes through the proxy too.
    AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential',
    AZURE_CLIENT_ID: '5a1e7c3d-9b2f-4e6a-8c0d-1f3b5d7e9a2c',
    AZURE_CLIENT_SECRET: 'x',
    AZURE_TENANT_ID: 'adfs',
    AZURE_AUTHORITY_HOST: sim.endpoint,
    // The sim's CA is trusted through --ca alone: no NODE_EXTRA_CA_CERTS (src/azure/proxy-ca.ts
    // gives the SDK's proxy agent the CA it otherwise drops).
    NODE_EXTRA_CA_CERTS: '',
    ...extra,
  };
}

const args = (wd: string, ca = ['--ca', sim.caCertFile]) => ['run', '--target', 'azure', '--goal', 'demo', '--endpoint', sim.endpoint, ...ca, '--yes', '--subscription', sim.subscriptionId, '--resource-group', 'acr-trust-demo', '--registry', 'acrtrustdemo', '--workdir', wd, '--json'];

describe('HTTPS_PROXY', () => {
  it('carries the whole workflow — sign-in, ARM, run logs — through the proxy', async () => {
    await expect(lookup(HOST)).rejects.toThrow(); // nothing reaches the sim except through the proxy
    // --ca alone makes the sim's certificate trusted, through the proxy too (no NODE_EXTRA_CA_CERTS).
    tunnels.length = 0;
    const r = await cliAsync(args(join(tempDir(), 'wd')), { env: envFor() });
    expect(r.status, r.stderr).toBe(0);
    const events = jsonLines(r.stdout);
    expect(events.filter((e) => e.event === 'step').map((e) => e.id)).toEqual(STEP_IDS);
    expect(events.at(-1)).toMatchObject({ event: 'summary', outcome: 'complete' });
    // Every tunnel went to the sim's name; there were some.
    expect(tunnels.length).toBeGreaterThan(0);
    expect(new Set(tunnels)).toEqual(new Set([`CONNECT ${HOST}:${new URL(sim.endpoint).port}`]));
    // The sim saw the sign-in, ARM and the run logs' blob reads (all only reachable through the proxy).
    await new Promise((res) => setTimeout(res, 600)); // the served sim writes its request log every 250 ms
    const names = (JSON.parse(readFileSync(stateFile.replace(/\.json$/, '.requests.json'), 'utf8')) as { name: string }[]).map((x) => x.name);
    expect(names).toContain('signin.token');
    expect(names).toContain('registries.update');
    expect(names.filter((n) => n === 'logs.rawtext')).toHaveLength(2); // both runs' log blobs
    // At least one tunnel per connection the requests needed, every one to the sim's name.
    expect(tunnels.length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('--ca is what makes the sim trusted through the proxy: without it the sign-in fails on its certificate, clearly', async () => {
    tunnels.length = 0;
    // --endpoint without --ca is refused up front (usage); the CA must come from somewhere: give
    // another CA (Node's bundled roots), so the sim's certificate cannot verify through the proxy.
    const roots = join(tempDir(), 'public-roots.pem');
    writeFileSync(roots, `${rootCertificates.join('\n')}\n`);
    const r = await cliAsync(args(join(tempDir(), 'wd'), ['--ca', roots]), { env: envFor() });
    expect(r.status).toBe(1);
    expect(tunnels.length).toBeGreaterThan(0); // it did go through the proxy
    expect(r.stderr).toContain("Sign-in failed: the sign-in service (the cloud's authority host) could not be reached, or its certificate is not trusted.");
    expectNoStack(r);
  }, 120_000);

  it('NO_PROXY takes the host out: the request goes direct (and here cannot connect), with a clear message', async () => {
    tunnels.length = 0;
    const r = await cliAsync(args(join(tempDir(), 'wd')), { env: envFor({ NO_PROXY: HOST }) });
    expect(r.status).toBe(1);
    expect(tunnels).toEqual([]);
    expect(r.stderr).toContain("Sign-in failed: the sign-in service (the cloud's authority host) could not be reached, or its certificate is not trusted.");
    expect(r.stderr).toContain('Check the network and the proxy settings (HTTPS_PROXY, NO_PROXY)');
    expectNoStack(r);
  }, 120_000);
});
