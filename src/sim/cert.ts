/**
 * The sim's TLS identity: a private CA and a server certificate for 127.0.0.1 / localhost.
 *
 * The Azure SDK refuses bearer tokens over plain http, so the sim must speak https, and clients
 * must trust it without turning verification off. We mint a tiny CA whose PEM clients pass as
 * `tlsOptions.ca` (SDK) or `REQUESTS_CA_BUNDLE` (az CLI). No npm dependency: ECDSA P-256 keys and
 * signatures come from node:crypto, and the X.509 structure is encoded by the minimal DER writer
 * below (only the ASN.1 types a certificate needs).
 *
 * The CA's private key is never written anywhere: once the server certificate is signed it is
 * dropped, so the CA file on disk cannot be used to mint certificates for other hosts.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { replaceFile } from './state-file.js';

export interface SimCertificates {
  /** The CA certificate clients must trust (PEM). */
  caCert: string;
  /** The server certificate (PEM) and its private key (PEM, PKCS#8). */
  serverCert: string;
  serverKey: string;
}

const DAY_MS = 86_400_000;
/** Reissue when less than this remains, so a long-lived sim never serves an expired certificate. */
const RENEW_MARGIN_MS = 7 * DAY_MS;

// ---------------------------------------------------------------------------------------------
// Minimal DER writer.

function tlv(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
/** Context-specific constructed tag [n] EXPLICIT. */
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/** A non-negative INTEGER from big-endian bytes (a leading 0x00 keeps it positive). */
function uint(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let b = bytes.subarray(i);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let n = Math.floor(p / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

// ---------------------------------------------------------------------------------------------
// X.509.

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
};

const name = (cn: string) => seq(set(seq(oid(OID.commonName), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) =>
  critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. For a P-256 SPKI the key bits are the
 *  last 65 bytes (uncompressed point). */
function keyId(spki: Buffer): Buffer {
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

interface CertSpec {
  subject: string;
  issuer: string;
  spki: Buffer;
  issuerSpki: Buffer;
  signingKey: KeyObject;
  notAfter: Date;
  ca: boolean;
}

function certificate(spec: CertSpec): string {
  const sigAlg = seq(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f | 0x40; // positive, full length
  const extensions = [
    // CA: critical CA:true. Leaf: an empty sequence (CA:false by default), also critical.
    extension(OID.basicConstraints, true, spec.ca ? seq(bool(true)) : seq()),
    // CA: digitalSignature + keyCertSign + cRLSign (0x86, 1 unused bit). Leaf: digitalSignature (0x80, 7 unused).
    extension(OID.keyUsage, true, spec.ca ? bitString(Buffer.from([0x86]), 1) : bitString(Buffer.from([0x80]), 7)),
    extension(OID.subjectKeyIdentifier, false, octets(keyId(spec.spki))),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyId(spec.issuerSpki)))),
  ];
  if (!spec.ca) {
    extensions.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
    // [7] iPAddress 127.0.0.1, [2] dNSName localhost.
    extensions.push(extension(OID.subjectAltName, false, seq(tlv(0x87, Buffer.from([127, 0, 0, 1])), tlv(0x82, Buffer.from('localhost')))));
  }
  const notBefore = new Date(Date.now() - 3600_000); // tolerate small clock skew
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))), // v3
    uint(serial),
    sigAlg,
    name(spec.issuer),
    seq(time(notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.spki,
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, spec.signingKey); // DER-encoded ECDSA signature
  const der = seq(tbs, sigAlg, bitString(signature));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

/** Mints a fresh CA and a server certificate for 127.0.0.1 and localhost. */
export function generateSimCertificates(): SimCertificates {
  const ec = { namedCurve: 'prime256v1' } as const;
  const caKeys = generateKeyPairSync('ec', ec);
  const serverKeys = generateKeyPairSync('ec', ec);
  const caSpki = caKeys.publicKey.export({ type: 'spki', format: 'der' });
  const serverSpki = serverKeys.publicKey.export({ type: 'spki', format: 'der' });
  const now = Date.now();
  const caCert = certificate({
    subject: 'acr-trust simulated Azure CA',
    issuer: 'acr-trust simulated Azure CA',
    spki: caSpki,
    issuerSpki: caSpki,
    signingKey: caKeys.privateKey,
    notAfter: new Date(now + 5 * 365 * DAY_MS),
    ca: true,
  });
  const serverCert = certificate({
    subject: '127.0.0.1',
    issuer: 'acr-trust simulated Azure CA',
    spki: serverSpki,
    issuerSpki: caSpki,
    signingKey: caKeys.privateKey,
    notAfter: new Date(now + 365 * DAY_MS),
    ca: false,
  });
  const serverKey = serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { caCert, serverCert, serverKey };
}

/** True when the pair is usable: the server certificate is issued and signed by the CA, names
 *  127.0.0.1, matches its key, and is not about to expire. */
export function certificatesValid(c: SimCertificates, now = Date.now()): boolean {
  try {
    const ca = new X509Certificate(c.caCert);
    const leaf = new X509Certificate(c.serverCert);
    return (
      ca.ca &&
      leaf.checkIssued(ca) &&
      leaf.verify(ca.publicKey) &&
      leaf.checkIP('127.0.0.1') !== undefined &&
      leaf.checkPrivateKey(createPrivateKey(c.serverKey)) &&
      Date.parse(leaf.validTo) - now > RENEW_MARGIN_MS &&
      Date.parse(ca.validTo) - now > RENEW_MARGIN_MS &&
      Date.parse(leaf.validFrom) <= now
    );
  } catch {
    return false;
  }
}

export interface CertificateFiles {
  /** The CA certificate (PEM), for clients. */
  caCertFile: string;
  /** The server key and certificate (PEM, private to the user). */
  serverFile: string;
}

/** The file names used beside a state file `x.json`: `x.ca.pem` and `x.tls.pem`. */
export function certificateFilesFor(stateFile: string): CertificateFiles {
  const base = stateFile.replace(/\.json$/i, '');
  return { caCertFile: `${base}.ca.pem`, serverFile: `${base}.tls.pem` };
}

/**
 * Reuses the certificate files if they exist and are valid, otherwise mints and writes new ones.
 * Reuse matters: a client (the az CLI's REQUESTS_CA_BUNDLE, a resumed wizard) keeps trusting the
 * same CA file across sim restarts.
 */
export function loadOrCreateCertificates(files: CertificateFiles): SimCertificates {
  if (existsSync(files.caCertFile) && existsSync(files.serverFile)) {
    try {
      const caCert = readFileSync(files.caCertFile, 'utf8');
      const tls = readFileSync(files.serverFile, 'utf8');
      const serverKey = pemBlocks(tls, 'PRIVATE KEY')[0];
      const serverCert = pemBlocks(tls, 'CERTIFICATE')[0];
      if (serverKey && serverCert) {
        const found = { caCert, serverCert, serverKey };
        if (certificatesValid(found)) return found;
      }
    } catch {
      // unreadable: fall through and reissue
    }
  }
  const fresh = generateSimCertificates();
  // Server file first: a reader that sees the new CA also finds the matching server certificate.
  replaceFile(files.serverFile, fresh.serverKey + fresh.serverCert);
  replaceFile(files.caCertFile, fresh.caCert);
  return fresh;
}

function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----\\n?`, 'g');
  return text.match(re) ?? [];
}
