/**
 * The sim's TLS identity: a private CA and a server certificate whose subject alternative names
 * cover every name and address the sim is reached by.
 *
 * The Azure SDK refuses bearer tokens over plain http, so the sim must speak https, and clients
 * must trust it without turning verification off. We mint a tiny CA whose PEM clients pass as
 * `tlsOptions.ca` (SDK) or `REQUESTS_CA_BUNDLE` (az CLI). The X.509 structures are built by
 * @peculiar/x509 over Node's WebCrypto (ECDSA P-256, SHA-256); the library is loaded only when a
 * certificate has to be minted, so a sim that reuses its files pays nothing for it.
 *
 * The CA's private key is never written anywhere: once the server certificate is signed it is
 * dropped, so the CA file on disk cannot be used to mint certificates for other hosts.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { loadBundle } from '../bundles.js';
import { usageError } from '../errors.js';
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
const CA_NAME = 'CN=acr-trust simulated Azure CA';

/** The names a certificate for loopback always carries. */
export const LOOPBACK_NAMES: readonly string[] = ['127.0.0.1', 'localhost'];

/**
 * The subject alternative names a sim listening on `host` needs: 127.0.0.1 and localhost always;
 * the listening address itself when it is a specific one; on a wildcard address (`0.0.0.0`, `::`)
 * every address of this machine's interfaces (`os.networkInterfaces()`, link-local IPv6 left out:
 * a URL cannot carry its zone) and its host name; then `extra` (`--san`). Order kept, duplicates
 * dropped, IPv6 in its canonical compressed form.
 */
export function subjectAltNamesFor(host: string, extra: readonly string[] = []): string[] {
  const names: string[] = [...LOOPBACK_NAMES];
  const wildcard = host === '0.0.0.0' || host === '::';
  if (wildcard) {
    names.push(hostname());
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) if (!(a.family === 'IPv6' && /^fe80:/i.test(a.address))) names.push(a.address);
    }
  } else names.push(host);
  names.push(...extra.map(checkSubjectAltName));
  const seen = new Set<string>();
  return names.map(canonicalName).filter((n) => (seen.has(n.toLowerCase()) ? false : (seen.add(n.toLowerCase()), true)));
}

/** A `--san` value: an IPv4 or IPv6 address or a DNS name (letters, digits, `-`, dots; a leading `*.` allowed). Exit 2 otherwise. */
export function checkSubjectAltName(value: string): string {
  const v = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(v)) return v;
  if (v.length <= 253 && /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i.test(v)) return v.replace(/\.$/, '');
  throw usageError(`Invalid --san '${value}': expected a host name (training-host.local) or an IP address (192.168.1.20, fd00::5).`, 'Give one --san per name or address the learners use to reach the sim.');
}

function canonicalName(n: string): string {
  // An IPv6 address in the form Node's checkIP and URLs use (`fd00::2`, not `fd00:0:0::2`).
  return isIP(n) === 6 ? new URL(`https://[${n}]/`).hostname.slice(1, -1) : n;
}

type X509Lib = typeof import('@peculiar/x509');
let x509: Promise<X509Lib> | undefined;
function library(): Promise<X509Lib> {
  // The build's one-file bundle (dist/x509.mjs: some 700 module loads made one) when it is
  // current, else the packages. @peculiar/x509 resolves its algorithm providers through tsyringe,
  // which needs the Reflect.metadata polyfill loaded first (the library's documented set-up; the
  // bundle imports it first too).
  return (x509 ??= loadBundle<X509Lib>('x509')
    .then((bundled) => bundled ?? import('reflect-metadata').then(() => import('@peculiar/x509')))
    .then((lib) => {
      lib.cryptoProvider.set(webcrypto as unknown as Crypto);
      return lib;
    }));
}

/**
 * Mints a fresh CA and a server certificate naming `names` (IP addresses and DNS names; default
 * 127.0.0.1 and localhost). The leaf's subject CN is the first name. Rejects an empty list.
 */
export async function generateSimCertificates(names: readonly string[] = LOOPBACK_NAMES): Promise<SimCertificates> {
  if (names.length === 0) throw new Error('A server certificate needs at least one subject alternative name.');
  const lib = await library();
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const [caKeys, serverKeys] = await Promise.all([
    webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as Promise<CryptoKeyPair>,
    webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as Promise<CryptoKeyPair>,
  ]);
  const now = Date.now();
  const notBefore = new Date(now - 3600_000); // tolerate small clock skew
  const serial = () => {
    const b = randomBytes(16);
    b[0] = (b[0]! & 0x7f) | 0x40; // positive, full length
    return b.toString('hex');
  };
  const ca = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: CA_NAME,
    notBefore,
    notAfter: new Date(now + 5 * 365 * DAY_MS),
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new lib.BasicConstraintsExtension(true, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      await lib.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leaf = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [names[0]!] }],
    issuer: ca.subject,
    notBefore,
    notAfter: new Date(now + 365 * DAY_MS),
    signingAlgorithm: alg,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
      new lib.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }))),
      await lib.SubjectKeyIdentifierExtension.create(serverKeys.publicKey),
      await lib.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey));
  const serverKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { caCert: ca.toString('pem') + '\n', serverCert: leaf.toString('pem') + '\n', serverKey };
}

/** True when the pair is usable: the server certificate is issued and signed by the CA, names
 *  every one of `names` (default 127.0.0.1 and localhost), matches its key, and is not about to expire. */
export function certificatesValid(c: SimCertificates, names: readonly string[] = LOOPBACK_NAMES, now = Date.now()): boolean {
  try {
    const ca = new X509Certificate(c.caCert);
    const leaf = new X509Certificate(c.serverCert);
    const covers = (n: string) => (isIP(n) ? leaf.checkIP(n) !== undefined : leaf.checkHost(n, { wildcards: false, subject: 'never' }) !== undefined);
    return (
      ca.ca &&
      leaf.checkIssued(ca) &&
      leaf.verify(ca.publicKey) &&
      names.every(covers) &&
      leaf.checkPrivateKey(createPrivateKey(c.serverKey)) &&
      Date.parse(leaf.validTo) - now > RENEW_MARGIN_MS &&
      Date.parse(ca.validTo) - now > RENEW_MARGIN_MS &&
      Date.parse(leaf.validFrom) <= now
    );
  } catch {
    return false;
  }
}

/** The DNS names and IP addresses a certificate (PEM) names, from its subjectAltName. */
export function namesInCertificate(pem: string): string[] {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  return san
    .split(/,\s*/)
    .map((part) => /^(?:DNS|IP Address):(.+)$/.exec(part)?.[1])
    .filter((n): n is string => Boolean(n))
    .map(canonicalName);
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
 * Reuses the certificate files if they exist, are valid and name every one of `names`; otherwise
 * mints and writes new ones (naming `names`). Reuse matters: a client (the az CLI's
 * REQUESTS_CA_BUNDLE, a resumed wizard, a learner's laptop) keeps trusting the same CA file
 * across sim restarts — as long as the sim is reached by the same names.
 */
export async function loadOrCreateCertificates(files: CertificateFiles, names: readonly string[] = LOOPBACK_NAMES): Promise<SimCertificates> {
  if (existsSync(files.caCertFile) && existsSync(files.serverFile)) {
    try {
      const caCert = readFileSync(files.caCertFile, 'utf8');
      const tls = readFileSync(files.serverFile, 'utf8');
      const serverKey = pemBlocks(tls, 'PRIVATE KEY')[0];
      const serverCert = pemBlocks(tls, 'CERTIFICATE')[0];
      if (serverKey && serverCert) {
        const found = { caCert, serverCert, serverKey };
        if (certificatesValid(found, names)) return found;
      }
    } catch {
      // unreadable: fall through and reissue
    }
  }
  // Every cloud gets its own CA: a client that trusts one sim never trusts another by accident.
  const fresh = await generateSimCertificates(names);
  // Server file first: a reader that sees the new CA also finds the matching server certificate.
  replaceFile(files.serverFile, fresh.serverKey + fresh.serverCert);
  replaceFile(files.caCertFile, fresh.caCert);
  return fresh;
}

function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----\\n?`, 'g');
  return text.match(re) ?? [];
}
