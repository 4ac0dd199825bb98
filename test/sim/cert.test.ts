import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateFilesFor, certificatesValid, generateSimCertificates, loadOrCreateCertificates } from '../../src/sim/cert.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('sim certificates', () => {
  it('issues a CA and a server certificate for 127.0.0.1 and localhost', () => {
    const c = generateSimCertificates();
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

  it('is accepted by `openssl verify` (strict X.509, TLS server purpose)', () => {
    if (!hasOpenssl) return;
    const dir = mkdtempSync(join(tmpdir(), 'acr-trust-cert-'));
    const c = generateSimCertificates();
    writeFileSync(join(dir, 'ca.pem'), c.caCert);
    writeFileSync(join(dir, 'server.pem'), c.serverCert);
    const r = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'server.pem')], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(`${join(dir, 'server.pem')}: OK`);
    expect(r.status).toBe(0);
  });

  it('is quick to mint', () => {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) generateSimCertificates();
    expect((performance.now() - t0) / 5).toBeLessThan(50);
  });

  it('reuses valid files and replaces invalid ones', () => {
    const files = certificateFilesFor(join(mkdtempSync(join(tmpdir(), 'acr-trust-cert-')), 'state.json'));
    const first = loadOrCreateCertificates(files);
    expect(statSync(files.serverFile).mode & 0o777).toBe(0o600);
    const again = loadOrCreateCertificates(files);
    expect(again.caCert).toBe(first.caCert);
    expect(again.serverCert).toBe(first.serverCert);
    // A CA that did not sign the server certificate is not reused.
    writeFileSync(files.caCertFile, generateSimCertificates().caCert);
    const replaced = loadOrCreateCertificates(files);
    expect(replaced.caCert).not.toBe(first.caCert);
    expect(certificatesValid(replaced)).toBe(true);
    expect(readFileSync(files.caCertFile, 'utf8')).toBe(replaced.caCert);
    writeFileSync(files.serverFile, 'garbage');
    expect(certificatesValid(loadOrCreateCertificates(files))).toBe(true);
  });
});
