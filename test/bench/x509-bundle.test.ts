/**
 * The one-file @peculiar/x509 bundle (src/azure/bundle-sdk.ts → dist/x509.mjs, loaded by
 * src/bundles.ts): it builds with a manifest naming every package it holds at its installed
 * version; the sim's certificates minted from it verify (a CA, a server certificate naming the
 * addresses, its key) — in a fresh process, as the CLI mints them; a stale manifest is refused,
 * and without the bundle (from src/) the certificates come from the packages, as good.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCurrent } from '../../src/bundles.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'dist');

/** Mints in a fresh Node process through dist's cert.js; says where the library came from. */
function mintInFreshProcess(): { valid: boolean; names: string[]; bundled: boolean } {
  const code = `
const { loadBundle } = await import(${JSON.stringify(pathToFileURL(join(dist, 'src/bundles.js')).href)});
const cert = await import(${JSON.stringify(pathToFileURL(join(dist, 'src/sim/cert.js')).href)});
const c = await cert.generateSimCertificates(['127.0.0.1', 'localhost', 'room.example']);
console.log(JSON.stringify({ valid: cert.certificatesValid(c, ['127.0.0.1', 'localhost', 'room.example']), names: cert.namesInCertificate(c.serverCert), bundled: Boolean(await loadBundle('x509')) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd: root });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('the X.509 bundle', () => {
  beforeAll(() => {
    const r = spawnSync(process.execPath, [join(dist, 'src/azure/bundle-sdk.js')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  it('names @peculiar/x509 and its ASN.1 stack at their installed versions, and mints certificates that verify', () => {
    const manifest = readFileSync(join(dist, 'x509.json'), 'utf8');
    const packages = Object.keys(JSON.parse(manifest).packages as Record<string, string>).map((p) => p.replace(/^node_modules\//, '').replace(/\/package\.json$/, ''));
    for (const pkg of ['@peculiar/x509', '@peculiar/asn1-x509', '@peculiar/asn1-schema', 'tsyringe', 'reflect-metadata']) expect(packages).toContain(pkg);
    expect(bundleCurrent(manifest)).toBe(true);
    expect(mintInFreshProcess()).toEqual({ valid: true, names: ['127.0.0.1', 'localhost', 'room.example'], bundled: true });
  }, 60_000);

  it('is refused when stale; without it the certificates come from the packages, as good', async () => {
    const manifest = JSON.parse(readFileSync(join(dist, 'x509.json'), 'utf8')) as { packages: Record<string, string> };
    expect(bundleCurrent(JSON.stringify({ packages: { ...manifest.packages, 'node_modules/@peculiar/x509/package.json': '0.0.0-other' } }))).toBe(false);
    // From src/ (no bundle beside it) the library loads from the packages.
    const { loadBundle } = await import('../../src/bundles.js');
    expect(await loadBundle('x509')).toBeUndefined();
    const cert = await import('../../src/sim/cert.js');
    const c = await cert.generateSimCertificates(['127.0.0.1', 'localhost', 'room.example']);
    expect(cert.certificatesValid(c, ['127.0.0.1', 'localhost', 'room.example'])).toBe(true);
  }, 60_000);
});
