/**
 * How CLI commands reach a running `netsim up`: its URL, bearer token and CA, from
 * `--kubeconfig FILE` (what `netsim up` wrote) or `--server URL [--token T]`, and one
 * request helper over node:http/https — fetch cannot be given a CA, and the server's
 * certificate is usually netsim's own self-signed one.
 */
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError } from './cli-error.ts';
import { CodedError } from '../netsim/errors.ts';
import { readKubeconfig } from './up/kubeconfig.ts';
import type { KubeconfigEntry } from './up/kubeconfig.ts';

export interface RemoteArgs {
  readonly server?: string;
  readonly token?: string;
  readonly kubeconfig?: string;
}

/** The server to talk to, or undefined when neither --server nor --kubeconfig was given. */
export function resolveRemote(a: RemoteArgs): KubeconfigEntry | undefined {
  const fromFile = a.kubeconfig !== undefined ? readKubeconfig(a.kubeconfig) : undefined;
  const server = a.server ?? fromFile?.server;
  if (server === undefined) return undefined;
  const token = a.token ?? fromFile?.token;
  return { server: server.replace(/\/$/, ''), ...(token !== undefined ? { token } : {}), ...(fromFile?.caPem !== undefined ? { caPem: fromFile.caPem } : {}) };
}

export interface RemoteResponse {
  readonly status: number;
  readonly body: string;
}

/** A response whose body is read as it arrives (watches, flow streams). */
export interface RemoteStream {
  readonly status: number;
  readonly body: IncomingMessage;
}

function send(r: KubeconfigEntry, method: string, path: string, headers: Record<string, string>, onResponse: (res: IncomingMessage) => void, body?: string, signal?: AbortSignal): ClientRequest {
  let url: URL;
  try { url = new URL(r.server + path); } catch { throw new CliError('NETSIM_ERR_SERVER', `not a server URL: ${r.server}`); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('NETSIM_ERR_SERVER', `not a server URL: ${r.server} (http:// or https://)`);
  const h: Record<string, string> = { ...headers, ...(r.token !== undefined ? { authorization: `Bearer ${r.token}` } : {}) };
  if (body !== undefined) h['content-length'] = String(Buffer.byteLength(body));
  const opts = { method, headers: h, ...(signal !== undefined ? { signal } : {}) };
  return url.protocol === 'https:'
    ? httpsRequest(url, { ...opts, ...(r.caPem !== undefined ? { ca: r.caPem } : {}) }, onResponse)
    : httpRequest(url, opts, onResponse);
}

/** A GET whose body streams; `signal` ends it. A network failure is NETSIM_ERR_SERVER. */
export function remoteStream(r: KubeconfigEntry, path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<RemoteStream> {
  return new Promise((resolve, reject) => {
    const req = send(r, 'GET', path, headers, (res) => resolve({ status: res.statusCode ?? 0, body: res }), undefined, signal);
    req.on('error', (e) => reject(new CliError('NETSIM_ERR_SERVER', `cannot reach ${r.server}: ${e.message}`)));
    req.end();
  });
}

/** One request to the server; a network failure is NETSIM_ERR_SERVER. */
export function remoteRequest(r: KubeconfigEntry, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RemoteResponse> {
  return new Promise((resolve, reject) => {
    const req = send(r, method, path, headers, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    }, body);
    req.setTimeout(30_000, () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', (e) => reject(new CliError('NETSIM_ERR_SERVER', `cannot reach ${r.server}: ${e.message}`)));
    req.end(body);
  });
}

/** The remote a live-only command (observe, port-forward) talks to: its options, else $KUBECONFIG. */
export function requireRemote(a: RemoteArgs, command: string): KubeconfigEntry {
  const r = resolveRemote(a) ?? (process.env.KUBECONFIG !== undefined && process.env.KUBECONFIG !== '' ? resolveRemote({ ...a, kubeconfig: process.env.KUBECONFIG.split(':')[0] as string }) : undefined);
  if (r === undefined) throw new CliError('NETSIM_ERR_USAGE', `${command} works on a running cluster: give --kubeconfig FILE (what \`netsim up\` wrote), --server URL, or set KUBECONFIG`);
  return r;
}

/** The JSON body of a 2xx answer; a body that is no JSON (not a netsim API server) is NETSIM_ERR_SERVER. */
export function remoteJson<T>(r: KubeconfigEntry, res: RemoteResponse): T {
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new CliError('NETSIM_ERR_SERVER', `${r.server} answered ${res.status} with no JSON (${JSON.stringify(res.body.slice(0, 60))}): is it the API server of a \`netsim up\`?`);
  }
}

/** A failure the server reported with a stable code (its Status's first cause), so the CLI exits 2 as the batch command would. */
class RemoteError extends CodedError {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The error of a non-2xx answer: the Status's NETSIM_* code and message, else NETSIM_ERR_SERVER. */
export function remoteFailure(r: KubeconfigEntry, res: RemoteResponse): CodedError {
  let status: { message?: string; details?: { causes?: Array<{ reason?: string }> } } = {};
  try { status = JSON.parse(res.body) as typeof status; } catch { /* not a Status: the HTTP code says enough */ }
  const code = status.details?.causes?.[0]?.reason;
  if (res.status >= 400 && res.status < 500 && code !== undefined && /^NETSIM_[A-Z_]+$/.test(code)) return new RemoteError(code, status.message ?? `HTTP ${res.status}`);
  return new CliError('NETSIM_ERR_SERVER', `${r.server} answered ${res.status}: ${status.message ?? res.body.slice(0, 200)}`);
}
