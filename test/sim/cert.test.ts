import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateFilesFor, certificatesValid, checkSubjectAltName, generateSimCertificates, loadOrCreateCertificates, namesInCertificate, subjectAltNamesFor } from '../../src/sim/cert.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('sim certificates', () => {
  it('issues a CA and a server certificate for 127.0.0.1 and localhost', async () => {
    const c = await generateSimCertificates();
    const ca = new X509Certificate(c.caCert);
    const leaf = new X509Certificate(c.serverCert);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // Node exposes the extended key usage here: serverAuth
    expect(certificatesValid(c)).toBe(true);
  });

  it('names every address and host name given, IPv6 included, and only those', async () => {
    const names = ['127.0.0.1', 'localhost', '192.0.2.77', 'fd00::5', 'training-host.local'];
    const c = await generateSimCertificates(names);
    const leaf = new X509Certificate(c.serverCert);
    expect(namesInCertificate(c.serverCert)).toEqual(names);
    expect(leaf.checkIP('192.0.2.77')).toBe('192.0.2.77');
    expect(leaf.checkIP('fd00::5')).toBeDefined();
    expect(leaf.checkHost('training-host.local')).toBe('training-host.local');
    expect(leaf.checkIP('192.0.2.78')).toBeUndefined();
    expect(leaf.checkHost('other-host.local')).toBeUndefined();
    expect(certificatesValid(c, names)).toBe(true);
    expect(certificatesValid(c, [...names, '10.1.2.3'])).toBe(false);
  });

  it('derives the names from the listening address: loopback alone, one address, or every interface', () => {
    expect(subjectAltNamesFor('127.0.0.1')).toEqual(['127.0.0.1', 'localhost']);
    expect(subjectAltNamesFor('192.0.2.9', ['room.local'])).toEqual(['127.0.0.1', 'localhost', '192.0.2.9', 'room.local']);
    expect(subjectAltNamesFor('::1')).toEqual(['127.0.0.1', 'localhost', '::1']);
    const all = subjectAltNamesFor('0.0.0.0');
    const ips = Object.values(networkInterfaces()).flat().map((a) => a!.address).filter((a) => !/^fe80:/i.test(a));
    for (const ip of ips) expect(all).toContain(ip);
    expect(all).toContain(hostname());
    expect(checkSubjectAltName('[fd00::5]')).toBe('fd00::5');
    for (const bad of ['', 'under_score.local', 'a b', 'https://x', '-lead.local']) expect(() => checkSubjectAltName(bad)).toThrow(/Invalid --san/);
  });

  it('is accepted by `openssl verify` (strict X.509, TLS server purpose)', async () => {
    if (!hasOpenssl) return;
    const dir = mkdtempSync(join(tmpdir(), 'acr-trust-cert-'));
    const c = await generateSimCertificates(['127.0.0.1', 'localhost', 'fd00::5']);
    writeFileSync(join(dir, 'ca.pem'), c.caCert);
    writeFileSync(join(dir, 'server.pem'), c.serverCert);
    const r = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'server.pem')], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(`${join(dir, 'server.pem')}: OK`);
    expect(r.status).toBe(0);
  });

  it('reuses valid files, and replaces invalid ones or ones that miss a name now needed', async () => {
    const files = certificateFilesFor(join(mkdtempSync(join(tmpdir(), 'acr-trust-cert-')), 'state.json'));
    const first = await loadOrCreateCertificates(files);
    expect(statSync(files.serverFile).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateCertificates(files);
    expect(again.caCert).toBe(first.caCert);
    expect(again.serverCert).toBe(first.serverCert);
    // A CA that did not sign the server certificate is not reused.
    writeFileSync(files.caCertFile, (await generateSimCertificates()).caCert);
    const replaced = await loadOrCreateCertificates(files);
    expect(replaced.caCert).not.toBe(first.caCert);
    expect(certificatesValid(replaced)).toBe(true);
    expect(readFileSync(files.caCertFile, 'utf8')).toBe(replaced.caCert);
    writeFileSync(files.serverFile, 'garbage');
    expect(certificatesValid(await loadOrCreateCertificates(files))).toBe(true);
    // A room reached by a new name gets a certificate naming it.
    const wider = await loadOrCreateCertificates(files, ['127.0.0.1', 'localhost', 'room.local']);
    expect(namesInCertificate(wider.serverCert)).toContain('room.local');
    expect(namesInCertificate(readFileSync(files.serverFile, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*/)![0])).toContain('room.local');
  });
});
