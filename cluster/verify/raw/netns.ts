/**
 * Real Linux network namespaces for the verifier and the replay helper: creation
 * with a unique `nsv-` prefix, commands inside them (`ip -n NS -batch -`,
 * `sysctl`, `iptables-restore`), and removal of every namespace a session made —
 * on dispose, on process exit, and on SIGINT/SIGTERM.
 *
 * Only this file and raw-agent.ts touch the host; they import nothing of netsim.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface ShResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Run a command synchronously; never throws for a non-zero exit. */
export function sh(cmd: string, args: readonly string[], input?: string): ShResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: input ?? '', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) return { code: 127, out: '', err: r.error.message };
  return { code: r.status ?? 128, out: r.stdout, err: r.stderr };
}

export class NetnsCommandError extends Error {
  constructor(readonly ns: string, readonly command: string, readonly stderr: string) {
    super(`in netns ${ns}: ${command}: ${stderr.trim()}`);
    this.name = 'NetnsCommandError';
  }
}

/**
 * Why real namespaces cannot be used here, or undefined when they can: root, the
 * `ip` tool with netns support, iptables-restore, and the raw-socket addon.
 */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN and CAP_NET_RAW) for ip netns and raw sockets';
  const probe = `nsv-probe-${process.pid}`;
  const add = sh('ip', ['netns', 'add', probe]);
  if (add.code !== 0) return `ip netns add failed: ${(add.err || add.out).trim() || `exit ${add.code}`}`;
  sh('ip', ['netns', 'del', probe]);
  const ipt = sh('iptables-restore', ['--version']);
  if (ipt.code !== 0) return 'iptables-restore is not installed (Debian package iptables)';
  try {
    createRequire(import.meta.url)('raw-socket');
  } catch (e) {
    return `the raw-socket native addon does not load: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}

const live = new Set<NetnsSession>();
let hooked = false;

function hookProcess(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const s of [...live]) s.dispose();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      for (const s of [...live]) s.dispose();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A process's start time in clock ticks since boot (/proc/PID/stat field 22), or undefined when it does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** `nsv-<pid>.<start time>.<random>[-tag]-`: the owner is in the name, so a later run can tell whether it still lives. */
const OWNER = /^nsv-(\d+)\.(\d+)\./;

/** The owner of a verify namespace, from its name (undefined for names of another shape). */
export function namespaceOwner(name: string): { pid: number; start: string } | undefined {
  const m = OWNER.exec(name);
  return m === null ? undefined : { pid: Number(m[1]), start: m[2] as string };
}

/** A set of namespaces created together and removed together. */
export class NetnsSession {
  /** e.g. `nsv-4711.918273.3f-`: the owning process (pid and start time) and a random part. */
  readonly prefix: string;
  private readonly names: string[] = [];
  private readonly cleanups: Array<() => void> = [];
  private disposed = false;

  constructor(tag = '') {
    const rnd = Math.floor(Math.random() * 0xfff).toString(16);
    this.prefix = `nsv-${process.pid}.${processStartTime(process.pid) ?? '0'}.${rnd}${tag !== '' ? `-${tag}` : ''}-`;
    live.add(this);
    hookProcess();
  }

  /** Create the namespace `prefix + short` with its loopback up. */
  create(short: string): string {
    const name = `${this.prefix}${short}`;
    const r = sh('ip', ['netns', 'add', name]);
    if (r.code !== 0) throw new NetnsCommandError(name, 'ip netns add', r.err);
    this.names.push(name);
    this.ip(name, ['link set lo up']);
    return name;
  }

  /** Run `ip` commands (one per line, no leading `ip`) in the namespace through `ip -batch`. */
  ip(ns: string, lines: readonly string[], opts: { force?: boolean } = {}): void {
    if (lines.length === 0) return;
    const r = sh('ip', ['-n', ns, ...(opts.force === true ? ['-force'] : []), '-batch', '-'], lines.join('\n') + '\n');
    if (r.code !== 0) throw new NetnsCommandError(ns, `ip -batch (${lines.length} commands)`, r.err || r.out);
  }

  /** Run `bridge` commands (one per line, no leading `bridge`) in the namespace through `bridge -batch`. */
  bridge(ns: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const r = sh('ip', ['netns', 'exec', ns, 'bridge', '-batch', '-'], lines.join('\n') + '\n');
    if (r.code !== 0) throw new NetnsCommandError(ns, `bridge -batch (${lines.length} commands)`, r.err || r.out);
  }

  /** `sysctl -w` each key=value inside the namespace; keys that do not exist are an error. */
  sysctl(ns: string, kv: Readonly<Record<string, string | number>>): void {
    const args = Object.entries(kv).map(([k, v]) => `${k}=${v}`);
    if (args.length === 0) return;
    const r = sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...args]);
    if (r.code !== 0) throw new NetnsCommandError(ns, `sysctl ${args.join(' ')}`, r.err);
  }

  /** Load an iptables-save text with the real `iptables-restore`. */
  iptablesRestore(ns: string, text: string): void {
    const r = sh('ip', ['netns', 'exec', ns, 'iptables-restore'], text);
    if (r.code !== 0) throw new NetnsCommandError(ns, 'iptables-restore', r.err);
  }

  /** `ipset restore` in the namespace (ipsets are per network namespace). */
  ipsetRestore(ns: string, text: string): void {
    const r = sh('ip', ['netns', 'exec', ns, 'ipset', 'restore'], text);
    if (r.code !== 0) throw new NetnsCommandError(ns, 'ipset restore', r.err);
  }

  /** `nft -f -` in the namespace. */
  nftLoad(ns: string, text: string): void {
    const r = sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], text);
    if (r.code !== 0) throw new NetnsCommandError(ns, 'nft -f', r.err);
  }

  /** Run a command inside the namespace and return its result (no throw). */
  exec(ns: string, cmd: string, args: readonly string[], input?: string): ShResult {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
  }

  /** Something to undo before the namespaces go (e.g. killing helper processes). */
  onDispose(f: () => void): void {
    this.cleanups.push(f);
  }

  namespaces(): readonly string[] {
    return this.names;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    live.delete(this);
    for (const f of this.cleanups.reverse()) {
      try {
        f();
      } catch {
        // best effort: the namespaces must still go
      }
    }
    for (const n of this.names.reverse()) sh('ip', ['netns', 'del', n]);
  }
}

/** Every verify namespace on the host (`nsv-…`), live or not. */
export function verifyNamespaces(): string[] {
  const r = sh('ip', ['netns', 'list']);
  if (r.code !== 0) return [];
  return r.out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith('nsv-'));
}

/**
 * Namespaces left behind by verifier runs whose process is gone (SIGKILLed: no exit
 * hook ran) — the pid in the name does not exist, or exists with another start time
 * (a reused pid). Names without an owner mark (older releases, the availability
 * probe) are never touched: nothing says whose they are.
 */
export function staleVerifyNamespaces(): string[] {
  return verifyNamespaces().filter((n) => {
    const o = namespaceOwner(n);
    return o !== undefined && processStartTime(o.pid) !== o.start;
  });
}

/** Remove the stale namespaces (run before a new verification); returns their names. */
export function cleanStaleVerifyNamespaces(): string[] {
  const stale = staleVerifyNamespaces();
  for (const n of stale) sh('ip', ['netns', 'del', n]);
  return stale;
}
