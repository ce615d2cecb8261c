/**
 * TLS of `netsim up`'s API server, on by default: kubectl (client-go's clientcmd) sends a
 * bearer token only over TLS, and anywhere off loopback the token would otherwise cross a
 * network in clear text — so plain HTTP is allowed on loopback only. The certificate is the user's
 * (`--tls-cert/--tls-key`, PEM) or generated at start with `selfsigned`: a CA (kubeadm's
 * `kubernetes` CA, 10 years) that signs a serving certificate (kube-apiserver's, 1 year) for
 * localhost, the loopback addresses, the host name and the listening address — every
 * interface address when it listens on a wildcard. The kubeconfig carries the CA
 * (certificate-authority-data), so kubectl verifies the server as it does with kubeadm's.
 *
 * Not modelled: client certificates, certificate rotation, keeping a generated CA across
 * restarts (each start makes a new one and rewrites the kubeconfig, like the token).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { generate } from 'selfsigned';
import { CliError } from '../cli-error.ts';

export interface TlsMaterial {
  /** PEM private key of the serving certificate. */
  readonly key: string;
  /** PEM serving certificate (chain). */
  readonly cert: string;
  /** PEM of what the kubeconfig tells clients to trust. */
  readonly ca: string;
}

/** 127.0.0.0/8, ::1 and `localhost`: the only addresses that may be served without TLS. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return /^::ffff:127\./.test(h);
}

/** 0.0.0.0 and :: listen on every interface. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/** The names a generated serving certificate covers for a listening host. */
function certificateNames(host: string): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc']);
  const ips = new Set(['127.0.0.1', '::1']);
  const name = hostname();
  if (name !== '' && isIP(name) === 0) dns.add(name);
  if (isWildcard(host)) {
    for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (!a.address.includes('%')) ips.add(a.address);
  } else if (isIP(host) !== 0) ips.add(host);
  else dns.add(host);
  return { dns: [...dns], ips: [...ips] };
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A CA and the serving certificate it signs, for `host` (EC P-256, SHA-256). */
export async function selfSignedTls(host: string, now = new Date()): Promise<TlsMaterial> {
  // Backdated a minute: a client whose clock is slightly behind still accepts it.
  const notBeforeDate = new Date(now.getTime() - 60_000);
  const ca = await generate([{ name: 'commonName', value: 'netsim-ca' }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate, notAfterDate: new Date(now.getTime() + 10 * YEAR_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const names = certificateNames(host);
  const serving = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate, notAfterDate: new Date(now.getTime() + YEAR_MS),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  return { key: serving.private, cert: serving.cert, ca: ca.cert };
}

/**
 * The user's certificate and key (PEM files), checked before listening: both readable,
 * parseable, and the key belonging to the certificate. The kubeconfig trusts the given
 * chain itself, which works for self-made and CA-issued certificates alike.
 */
export function loadTls(certFile: string, keyFile: string): TlsMaterial {
  const read = (f: string, what: string): string => {
    try { return readFileSync(f, 'utf8'); } catch (e) { throw new CliError('NETSIM_ERR_TLS', `${what} ${f}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  };
  const cert = read(certFile, '--tls-cert');
  const key = read(keyFile, '--tls-key');
  let x509: X509Certificate;
  try { x509 = new X509Certificate(cert); } catch (e) { throw new CliError('NETSIM_ERR_TLS', `--tls-cert ${certFile}: not a PEM certificate (${(e as Error).message})`); }
  let pk;
  try { pk = createPrivateKey(key); } catch (e) { throw new CliError('NETSIM_ERR_TLS', `--tls-key ${keyFile}: not a PEM private key (${(e as Error).message})`); }
  if (!x509.checkPrivateKey(pk)) throw new CliError('NETSIM_ERR_TLS', `--tls-key ${keyFile} is not the key of the certificate in ${certFile}`);
  return { key, cert, ca: cert };
}
