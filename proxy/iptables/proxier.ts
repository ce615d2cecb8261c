/**
 * kube-proxy in iptables mode on one node: ensure the hook jumps (each prepended to
 * its built-in chain when missing, as EnsureRule(Prepend) does), write the full ruleset
 * with one `iptables-restore --noflush`, and after the sync delete the UDP conntrack
 * entries that would keep sending traffic to endpoints that went away.
 */
import type { EndpointSlice, Service } from '../../control/api/service.ts';
import { servicePorts } from '../service-port.ts';
import type { ServicePortInfo } from '../service-port.ts';
import { buildSyncRules, JUMP_RULES } from './rules.ts';
import type { ProxierOptions } from './rules.ts';

/** The node's iptables as kube-proxy uses it. */
export interface IptablesBackend {
  restore(text: string, opts: { noflush: boolean }): void;
  /** `iptables -t T -S CHAIN` succeeds. */
  hasChain(table: 'filter' | 'nat', chain: string): boolean;
  /** `iptables -C`: does this rule exist in the chain? */
  hasRule(table: 'filter' | 'nat', chain: string, spec: string): boolean;
}

/** `conntrack -D` by filter. */
export interface ConntrackCleaner {
  deleteByFilter(f: { proto?: number; origDst?: number; origDport?: number; replySrc?: number }): number;
}

export interface SyncResult {
  readonly text: string;
  readonly servicePorts: readonly ServicePortInfo[];
  /** UDP conntrack entries deleted after the sync. */
  readonly conntrackDeleted: number;
}

function ip4(s: string): number {
  const p = s.split('.').map(Number);
  return ((((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0);
}

export class IptablesProxier {
  private lastUdp = new Map<string, Set<string>>();

  constructor(private readonly ipt: IptablesBackend, private readonly opts: ProxierOptions & { nodeName: string; conntrack?: ConntrackCleaner }) {}

  ensureJumps(): void {
    for (const j of JUMP_RULES) {
      // EnsureChain, then EnsureRule(Prepend).
      const target = /-j (\S+)$/.exec(j.spec)?.[1] as string;
      if (!this.ipt.hasChain(j.table, target)) this.ipt.restore(`*${j.table}\n:${target} - [0:0]\nCOMMIT\n`, { noflush: true });
      if (!this.ipt.hasRule(j.table, j.chain, j.spec)) this.ipt.restore(`*${j.table}\n-I ${j.chain} 1 ${j.spec}\nCOMMIT\n`, { noflush: true });
    }
  }

  sync(services: readonly Service[], slices: readonly EndpointSlice[]): SyncResult {
    this.ensureJumps();
    const ports = services.flatMap((s) => servicePorts(s, slices, this.opts.nodeName));
    const text = buildSyncRules(ports, this.opts);
    this.ipt.restore(text, { noflush: true });
    let deleted = 0;
    const now = new Map<string, Set<string>>();
    for (const sp of ports) {
      if (sp.protocol !== 'udp') continue;
      const eps = new Set(sp.endpoints.filter((e) => e.ready).map((e) => e.ip));
      now.set(`${sp.clusterIP}:${sp.port}`, eps);
      const before = this.lastUdp.get(`${sp.clusterIP}:${sp.port}`);
      if (this.opts.conntrack === undefined) continue;
      if (before === undefined || before.size === 0) {
        // A service that gains its first endpoint: entries black-holed by the REJECT era go.
        if (eps.size > 0) deleted += this.opts.conntrack.deleteByFilter({ proto: 17, origDst: ip4(sp.clusterIP), origDport: sp.port });
        continue;
      }
      for (const gone of before) if (!eps.has(gone)) deleted += this.opts.conntrack.deleteByFilter({ proto: 17, origDst: ip4(sp.clusterIP), origDport: sp.port, replySrc: ip4(gone) });
    }
    this.lastUdp = now;
    return { text, servicePorts: ports, conntrackDeleted: deleted };
  }
}
