/**
 * `sim serve --host`: a room reaches the sim on this machine's network addresses, over TLS that
 * the sim's CA verifies for the very name or address the client used — through the real binary,
 * the real Azure SDK and the real az CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { namesInCertificate } from '../../src/sim/cert.js';
import { sdkClients } from '../helpers/sim.js';
import { serve } from '../az/helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/acr-trust.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'acr-trust-host-'));

/** This machine's first address off loopback of a family (link-local IPv6 left out). */
function ownAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === family && !/^fe80:/i.test(a.address))?.address;
}

/** GET `path` at `address:port`, naming `servername` in TLS (SNI and the certificate check). */
function get(address: string, port: number, path: string, ca: string | undefined, servername: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, method: 'GET', ca, servername, headers: { host: `${address.includes(':') ? `[${address}]` : address}:${port}` }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sim serve --host', () => {
  it('on 0.0.0.0: reachable on this machine\'s own address, the CA and the names verified, links built for the address used', async () => {
    const ip = ownAddress('IPv4');
    expect(ip, 'this machine needs an IPv4 address off loopback').toBeDefined();
    const dir = tmp();
    const served = await serve(['--host', '0.0.0.0', '--san', 'room.example', '--state', join(dir, 'room.json')]);
    const line = served.line as any;
    const stop = served.stop;
    try {
      const port = Number(new URL(line.endpoint).port);
      const caCert = readFileSync(line.caCertFile, 'utf8');
      const names = namesInCertificate(readFileSync(join(dir, 'room.tls.pem'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*/)![0]);
      expect(names).toEqual(expect.arrayContaining(['127.0.0.1', 'localhost', ip!, 'room.example']));
      expect(line.endpoints).toContain(`https://${ip}:${port}`);

      // The real SDK at the machine's address: TLS verifies the address against the certificate.
      const endpoint = `https://${ip}:${port}`;
      const { registries } = sdkClients({ endpoint, caCert, subscriptionId: line.subscriptionId });
      await expect(registries.registries.get('acr-trust-demo', 'acrtrustdemo')).resolves.toMatchObject({ name: 'acrtrustdemo' });

      // A --san name is covered; a name the certificate does not carry, or no CA, is refused.
      const ok = await get(ip!, port, '/adfs/.well-known/openid-configuration', caCert, 'room.example');
      expect(ok.status).toBe(200);
      // The sign-in links point where the client came from, not at 127.0.0.1.
      expect(ok.body.token_endpoint).toBe(`https://${ip}:${port}/adfs/oauth2/token`);
      await expect(get(ip!, port, '/adfs/.well-known/openid-configuration', caCert, 'elsewhere.example')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      await expect(get(ip!, port, '/adfs/.well-known/openid-configuration', undefined, ip!)).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SELF_SIGNED|UNABLE/) });

      // The real az CLI, configured by `sim az-env` for the machine's address.
      const env = spawnSync(process.execPath, [bin, 'sim', 'az-env', '--endpoint', endpoint, '--ca', line.caCertFile, '--dir', join(dir, 'az'), '--json'], { encoding: 'utf8', cwd: dir });
      expect(env.status, env.stderr).toBe(0);
      const az = spawnSync('az', ['acr', 'show', '-n', 'acrtrustdemo', '--query', 'loginServer', '-o', 'tsv'], { encoding: 'utf8', cwd: dir, env: { ...process.env, ...JSON.parse(env.stdout).env } });
      expect(az.stderr).toBe('');
      expect(az.stdout.trim()).toBe('acrtrustdemo.azurecr.io');
    } finally {
      expect(await stop()).toBe(0);
    }
  }, 60_000);

  it('on one IPv6 address: reachable at [address], certificate naming it', async () => {
    const ip6 = ownAddress('IPv6') ?? '::1';
    const served = await serve(['--host', ip6, '--state', join(tmp(), 'v6.json')]);
    const line = served.line as any;
    const stop = served.stop;
    try {
      const port = Number(new URL(line.endpoint).port);
      expect(line.endpoint).toBe(`https://[${ip6}]:${port}`);
      const caCert = readFileSync(line.caCertFile, 'utf8');
      // (The Azure SDK for JS cannot dial a bracketed IPv6 literal — it resolves "[fd00::2]" as a
      // host name — so this checks the TLS name match with Node's own client.)
      const ok = await get(ip6, port, '/adfs/.well-known/openid-configuration', caCert, ip6);
      expect(ok.status).toBe(200);
      expect(ok.body.token_endpoint).toBe(`https://[${ip6}]:${port}/adfs/oauth2/token`);
      // Listening on that address only: loopback IPv4 is not served.
      await expect(get('127.0.0.1', port, '/adfs/.well-known/openid-configuration', caCert, '127.0.0.1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      expect(await stop()).toBe(0);
    }
  }, 30_000);

  it('refuses a host that is no address, an address this machine lacks, and a bad --san: one line, exit 2', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [bin, 'sim', 'serve', '--state', join(tmp(), 's.json'), ...args], { encoding: 'utf8', cwd: root, timeout: 20_000 });
    const cases: [string[], RegExp][] = [
      [['--host', 'training-host'], /Invalid --host 'training-host': expected an IP address/],
      [['--host', '203.0.113.250'], /no address 203\.0\.113\.250 to listen on/],
      [['--san', 'bad_name!'], /Invalid --san 'bad_name!'/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
  }, 60_000);
});
