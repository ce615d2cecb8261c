/**
 * The twin's flanneld udp-backend proxy (flannel-proxy.c): compiled on demand with gcc
 * into a cache directory keyed by the source's hash, and started inside a namespace.
 * Touches the host (gcc, a child process), so it lives in raw/ and imports nothing of netsim.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sh } from './netns.ts';
import type { NetnsSession } from './netns.ts';

const SOURCE = fileURLToPath(new URL('./flannel-proxy.c', import.meta.url));

let built: { bin: string } | undefined;

/**
 * Owned by this user and writable by no one else. verify runs as root and executes the
 * cached binary: one that another local user could have put there (a directory they made
 * first in the shared temporary directory) must never be run.
 */
function ownedPrivately(path: string, dir: boolean): boolean {
  try {
    const st = lstatSync(path);
    return (dir ? st.isDirectory() : st.isFile()) && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The compiled proxy's path, or why it cannot be built here (no gcc, a compile error). */
export function buildFlannelProxy(): { bin: string } | { reason: string } {
  if (built !== undefined) return built;
  const src = readFileSync(SOURCE);
  const cache = join(tmpdir(), 'netsim-verify-bin');
  try {
    mkdirSync(cache, { mode: 0o700 });
  } catch {
    // It exists: used below only if it is ours alone.
  }
  // A cache directory that is not ours alone is passed over for a fresh private one.
  const dir = ownedPrivately(cache, true) ? cache : mkdtempSync(join(tmpdir(), 'netsim-verify-bin-'));
  const bin = join(dir, `flannel-proxy-${createHash('sha256').update(src).digest('hex').slice(0, 16)}`);
  if (ownedPrivately(bin, false)) return (built = { bin });
  if (sh('gcc', ['--version']).code !== 0) return { reason: 'gcc is not installed (it builds the twin\'s flanneld udp proxy, cluster/verify/raw/flannel-proxy.c)' };
  // Built under a private name and renamed: a concurrent run never executes a half-written file.
  const tmp = `${bin}.${process.pid}`;
  const r = sh('gcc', ['-O2', '-Wall', '-o', tmp, SOURCE]);
  if (r.code !== 0) return { reason: `gcc could not build ${SOURCE}: ${r.err.trim()}` };
  renameSync(tmp, bin);
  return (built = { bin });
}

export interface FlannelProxySpec {
  readonly tun: string;
  readonly tunAddr: string;
  readonly bindAddr: string;
  readonly port: number;
  /** `NET/LEN=PEER` per remote lease. */
  readonly routes: readonly string[];
}

/** Start the proxy in `ns` (stopped when the session is disposed); resolves once it is attached and bound. */
export function startFlannelProxy(bin: string, session: NetnsSession, ns: string, p: FlannelProxySpec): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, bin, p.tun, p.tunAddr, p.bindAddr, String(p.port), ...p.routes], { stdio: ['pipe', 'pipe', 'pipe'] });
  session.onDispose(() => {
    child.stdin.end();
    child.kill('SIGTERM');
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l === 'ready') resolve();
    });
    child.on('exit', (code) => reject(new Error(`flannel-proxy in ${ns} exited (${code ?? 'signal'}): ${err.trim()}`)));
    child.on('error', reject);
  });
}
