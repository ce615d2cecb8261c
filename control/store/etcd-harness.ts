/**
 * Test support: run a private single-member etcd on free loopback ports with its own
 * data directory, and stop it by pid. Never touches a system etcd (2379/2380, systemd).
 * `FailingEtcdProxy` stands in front of one and, from its Nth request on, fails the
 * way a loaded or dying etcd does.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Absolute path of `etcd` on PATH, or undefined. */
export function findEtcd(): string | undefined {
  const r = spawnSync('/bin/sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
}

export const ETCD_SKIP_REASON = 'etcd not installed (apt-get install etcd-server)';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export class LocalEtcd {
  private child: ChildProcess | undefined;
  private log = '';
  private readonly killOnExit = (): void => { this.child?.kill('SIGKILL'); };

  private constructor(readonly binary: string, readonly dataDir: string, readonly clientPort: number, readonly peerPort: number) {}

  get endpoint(): string { return `http://127.0.0.1:${this.clientPort}`; }
  get pid(): number | undefined { return this.child?.pid; }

  /** Start etcd with a data dir under `dir`; resolves once /health answers. */
  static async start(binary: string, dir: string): Promise<LocalEtcd> {
    const e = new LocalEtcd(binary, join(dir, 'etcd-data'), await freePort(), await freePort());
    await e.restart();
    return e;
  }

  /** (Re)start on the same ports and data dir. */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('etcd already running');
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (process.arch === 'arm64') env.ETCD_UNSUPPORTED_ARCH = 'arm64';
    const child = spawn(this.binary, [
      '--name', 'default', '--data-dir', this.dataDir,
      '--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `default=${peer}`, '--initial-cluster-state', 'new',
      '--logger', 'zap', '--log-level', 'warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.child = child;
    process.once('exit', this.killOnExit);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.log = (this.log + d).slice(-4000); });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${this.log}`);
      try {
        const r = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.ok && ((await r.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`etcd did not become healthy within 15 s: ${this.log}`);
  }

  /** Stop by pid: SIGTERM, then SIGKILL after 5 s (or right away with `signal`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    process.removeListener('exit', this.killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

/**
 * How a failing etcd answers: `timeout` is etcd's own answer under load (gRPC Unavailable
 * "etcdserver: request timed out", which the JSON gateway sends as HTTP 503); `refused`
 * drops the connection without an answer, as a killed etcd does mid-request.
 */
export type EtcdFailure = 'timeout' | 'refused';

/**
 * An HTTP proxy in front of a real etcd that forwards requests 1..N-1 and fails request
 * N and every later one (watches keep streaming: a watch is not where a timeout shows).
 */
export class FailingEtcdProxy {
  private served = 0;
  private readonly server: Server;
  /** `http://127.0.0.1:PORT` once started. */
  endpoint = '';

  private constructor(target: string, failFrom: number, how: EtcdFailure) {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (++this.served >= failFrom && req.url !== '/v3/watch') {
          if (how === 'refused') { req.socket.destroy(); return; }
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'etcdserver: request timed out', code: 14, message: 'etcdserver: request timed out' }));
          return;
        }
        void (async () => {
          try {
            const r = await fetch(target + (req.url ?? '/'), { method: req.method ?? 'POST', body: Buffer.concat(chunks), headers: { 'content-type': 'application/json' } });
            res.writeHead(r.status, { 'content-type': 'application/json' });
            if (r.body !== null) for await (const c of r.body) res.write(c);
            res.end();
          } catch {
            res.destroy();
          }
        })();
      });
    });
  }

  /** Requests seen so far (forwarded or failed). */
  get requests(): number { return this.served; }

  static async start(target: string, failFrom: number, how: EtcdFailure): Promise<FailingEtcdProxy> {
    const p = new FailingEtcdProxy(target, failFrom, how);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    const addr = p.server.address();
    p.endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
    return p;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
