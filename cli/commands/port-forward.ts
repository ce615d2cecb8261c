/**
 * `netsim port-forward --server URL POD [LOCAL:]REMOTE...`: a real TCP port on
 * 127.0.0.1 bridged into the emulated pod, as `kubectl port-forward` does, so a real
 * curl or browser on this machine talks to the pod's emulated server. Each accepted
 * connection is one WebSocket to the server's /netsim/v1/portforward. Prints
 * `Forwarding from 127.0.0.1:LOCAL -> REMOTE` per port, like kubectl, and runs until
 * Ctrl-C (or `signal`).
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import WebSocket from 'ws';
import { CliError } from '../cli-error.ts';
import { remoteFailure, remoteJson, remoteRequest, requireRemote } from '../remote.ts';
import type { RemoteArgs } from '../remote.ts';

export interface PortForwardOptions extends RemoteArgs {
  readonly pod: string;
  readonly ports: readonly string[];
  readonly signal?: AbortSignal;
  /** Called once every port listens (tests). */
  readonly onReady?: (ports: ReadonlyArray<{ local: number; remote: number }>) => void;
}

const PATH = '/netsim/v1/portforward';

export function parsePortPairs(specs: readonly string[]): Array<{ local: number; remote: number }> {
  if (specs.length === 0) throw new CliError('NETSIM_ERR_FILTER', 'port-forward needs at least one [LOCAL:]REMOTE port');
  return specs.map((s) => {
    const m = /^(?:(\d{1,5})?:)?(\d{1,5})$/.exec(s);
    const local = m?.[1] !== undefined ? Number(m[1]) : m !== null && !s.startsWith(':') ? Number(m[2]) : 0;
    const remote = m !== null ? Number(m[2]) : NaN;
    if (m === null || !(remote >= 1 && remote <= 65535) || local > 65535) throw new CliError('NETSIM_ERR_FILTER', `"${s}" is not [LOCAL:]REMOTE with ports 1-65535 (LOCAL 0 or empty picks a free port)`);
    return { local, remote };
  });
}

export async function portForwardCommand(o: PortForwardOptions, print: (s: string) => void): Promise<number> {
  const pairs = parsePortPairs(o.ports);
  const remote = requireRemote(o, 'port-forward');
  let base: URL;
  try {
    base = new URL(PATH, remote.server.replace(/^http/, 'ws'));
  } catch {
    throw new CliError('NETSIM_ERR_SERVER', `not a server URL: ${remote.server}`);
  }
  // As kubectl does, the pod is asked for first: a dead server, a refused token or no such pod fails now, before any port listens.
  const [ns, name] = o.pod.includes('/') ? o.pod.split('/', 2) as [string, string] : ['default', o.pod];
  const pod = await remoteRequest(remote, 'GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`, { accept: 'application/json' });
  if (pod.status !== 200) throw remoteFailure(remote, pod);
  remoteJson<unknown>(remote, pod);
  const servers: Server[] = [];
  const bound: Array<{ local: number; remote: number }> = [];
  for (const p of pairs) {
    const server = createServer((sock) => {
      const url = new URL(base);
      url.searchParams.set('pod', o.pod);
      url.searchParams.set('port', String(p.remote));
      const ws = new WebSocket(url, { headers: remote.token !== undefined ? { authorization: `Bearer ${remote.token}` } : {}, ...(remote.caPem !== undefined ? { ca: remote.caPem } : {}) });
      print(`Handling connection for ${p.local === 0 ? (server.address() as { port: number }).port : p.local}\n`);
      ws.on('open', () => {
        sock.on('data', (d) => ws.send(d));
        sock.resume();
      });
      sock.pause();
      ws.on('message', (d: Buffer) => sock.write(d));
      ws.on('close', (code, reason) => {
        if (code !== 1000 && code !== 1005) process.stderr.write(`E netsim port-forward: ${reason.toString() || `closed (${code})`}\n`);
        sock.end();
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => {
          let message = body;
          try { message = (JSON.parse(body) as { message?: string }).message ?? body; } catch { /* not a Status */ }
          process.stderr.write(`E netsim port-forward: ${res.statusCode}: ${message}\n`);
          sock.destroy();
        });
      });
      ws.on('error', (e) => {
        process.stderr.write(`E netsim port-forward: ${e.message}\n`);
        sock.destroy();
      });
      sock.on('end', () => ws.close(1000));
      sock.on('error', () => ws.terminate());
    });
    await new Promise<void>((done, fail) => {
      server.once('error', (e: NodeJS.ErrnoException) => fail(new CliError('NETSIM_ERR_LISTEN', `unable to listen on 127.0.0.1:${p.local}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`)));
      server.listen(p.local, '127.0.0.1', () => done());
    });
    servers.push(server);
    const local = (server.address() as { port: number }).port;
    bound.push({ local, remote: p.remote });
    print(`Forwarding from 127.0.0.1:${local} -> ${p.remote}\n`);
  }
  o.onReady?.(bound);
  await new Promise<void>((done) => {
    if (o.signal?.aborted === true) return done();
    o.signal?.addEventListener('abort', () => done(), { once: true });
  });
  for (const s of servers) s.close();
  return 0;
}
