/**
 * Test helpers: a minimal IPv4 packet (no checksums — rules never read them), an
 * EvalContext with a fixed set of local addresses, and a fresh network namespace
 * for comparisons with the real iptables. Test-only; not exported by index.ts.
 */
import { spawnSync } from 'node:child_process';
import { Packet } from '../../packet/packet.ts';
import { Rng } from '../../time/rng.ts';
import { parseIpv4 } from '../../wire/addr.ts';
import type { AddrType, EvalContext } from '../eval-types.ts';
import type { NfHook } from '../../stack/netfilter-hooks.ts';

export interface TestPacket {
  src: string;
  dst: string;
  proto?: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
  /** TCP flags byte (default SYN). */
  flags?: number;
  icmpType?: number;
  icmpCode?: number;
  ttl?: number;
  mark?: number;
}

export function packet(p: TestPacket): Packet {
  const proto = p.proto ?? 'tcp';
  const l4 = proto === 'tcp' ? 20 : 8;
  const b = new Uint8Array(16 + 20 + l4);
  const o = 16;
  b[o] = 0x45;
  b[o + 2] = (20 + l4) >> 8;
  b[o + 3] = (20 + l4) & 0xff;
  b[o + 8] = p.ttl ?? 64;
  b[o + 9] = proto === 'tcp' ? 6 : proto === 'udp' ? 17 : 1;
  const w32 = (at: number, v: number) => { b[at] = v >>> 24; b[at + 1] = v >>> 16; b[at + 2] = v >>> 8; b[at + 3] = v; };
  w32(o + 12, parseIpv4(p.src));
  w32(o + 16, parseIpv4(p.dst));
  const l = o + 20;
  if (proto === 'icmp') {
    b[l] = p.icmpType ?? 8;
    b[l + 1] = p.icmpCode ?? 0;
  } else {
    const sp = p.sport ?? 40000, dp = p.dport ?? 80;
    b[l] = sp >> 8; b[l + 1] = sp & 0xff; b[l + 2] = dp >> 8; b[l + 3] = dp & 0xff;
    if (proto === 'tcp') { b[l + 12] = 0x50; b[l + 13] = p.flags ?? 0x02; }
  }
  const pkt = new Packet(1, b, o, 20 + l4);
  pkt.mark = p.mark ?? 0;
  return pkt;
}

export interface TestCtxOptions {
  hook?: NfHook;
  inDev?: string;
  outDev?: string;
  now?: number;
  rng?: Rng;
  ctState?: number;
  local?: readonly string[];
  hits?: string[];
}

export function evalCtx(o: TestCtxOptions = {}): EvalContext {
  const local = new Set((o.local ?? ['192.168.0.10', '127.0.0.1']).map(parseIpv4));
  const hits = o.hits;
  return {
    hook: o.hook ?? 'PREROUTING',
    inDev: o.inDev ?? 'eth0',
    outDev: o.outDev,
    now: o.now ?? 0,
    rng: o.rng ?? new Rng(1),
    ctState: o.ctState ?? 1,
    addrType: (a): AddrType => (local.has(a) ? 'LOCAL' : 'UNICAST'),
    ipsets: undefined,
    ...(hits ? { onRuleHit: (t, c, n, target) => { hits.push(`${t} ${c}:${n} ${target}`); } } : {}),
  };
}

/**
 * Why the real-tool comparisons cannot run here, or undefined when they can: they need
 * root, `ip netns` and iptables-restore/iptables-save (1.8, nf_tables).
 */
export function realToolSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `nsipt-${process.pid}-probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${(r.stderr ?? '').trim() || String(r.error?.message)}`;
  spawnSync('ip', ['netns', 'del', probe]);
  const save = spawnSync('iptables-save', ['--version'], { encoding: 'utf8' });
  if (save.status !== 0) return 'iptables-save is not installed';
  if (!/nf_tables/.test(save.stdout + save.stderr)) return `the goldens come from iptables-nft; this is ${(save.stdout + save.stderr).trim()}`;
  return undefined;
}

/** Fresh network namespaces for one test file; `cleanup()` deletes them all. */
export class Netns {
  private readonly made: string[] = [];
  private seq = 0;
  constructor(private readonly prefix: string) {}

  fresh(): string {
    const ns = `${this.prefix}-${process.pid}-${this.seq++}`;
    const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
    this.made.push(ns);
    return ns;
  }

  /** Run a command in the namespace; returns exit status, stdout and stderr. */
  run(ns: string, cmd: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  cleanup(): void {
    for (const ns of this.made.splice(0)) spawnSync('ip', ['netns', 'del', ns]);
  }
}
