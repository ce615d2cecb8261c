/**
 * The helpers of upstream kube-proxy's nftables proxier tests
 * (pkg/proxy/nftables/helpers_test.go), with the same semantics:
 *
 * - sortNFTablesTransaction: blank lines and `#` comments dropped, lines ordered by
 *   object type (table, chain, rule, set, map, element), then object name; rules
 *   keep their order inside a chain, other lines are ordered by their text;
 * - tracePacket (nftablesTracer): runs filter-prerouting-pre-dnat, then
 *   nat-prerouting, then — with the destination rewritten by the first DNAT —
 *   filter-forward and filter-input (the newer tree splits the NodePort no-endpoint
 *   check into filter-input); nat-output/filter-output mirror the prerouting ones and
 *   masquerading is read off `jump mark-for-masquerade`. Rules are recognised piece by
 *   piece with the regexps upstream uses for the rules kube-proxy writes; a
 *   `numgen random mod N vmap` follows every branch; `ct state new` always matches;
 *   `fib … type local` means one of the node IPs. An unrecognised piece is an error.
 */
import type { FakeNftables } from '../../proxy/nftables/fake.ts';
import type { NftElement } from '../../proxy/nftables/transaction.ts';
import type { PacketFlowTest } from './upstream-tracer.ts';
import { cidrContains } from '../../proxy/iptables/rules.ts';

const ORDER: Record<string, number> = { table: 10, chain: 9, rule: 8, set: 7, map: 6, element: 5 };

export function sortNFTablesTransaction(tx: string): string {
  const lines = tx.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const keyed = lines.map((l, i) => ({ l, i, w: l.split(' ') }));
  keyed.sort((a, b) => {
    const ta = ORDER[a.w[1] ?? ''] ?? 0;
    const tb = ORDER[b.w[1] ?? ''] ?? 0;
    if (ta !== tb) return tb - ta;
    const na = a.w[4] ?? '';
    const nb = b.w[4] ?? '';
    if (na !== nb) return na < nb ? -1 : 1;
    if (a.w[1] === 'rule') return a.i - b.i;
    return a.l < b.l ? -1 : a.l > b.l ? 1 : a.i - b.i;
  });
  return keyed.map((k) => k.l).join('\n');
}

function addressMatches(ip: string, rule: string): boolean {
  return rule.includes('/') ? cidrContains(rule, ip) : ip === rule;
}

function noneMatch(ip: string, list: string): boolean {
  return list.replaceAll(' ', '').split(',').every((a) => !addressMatches(ip, a));
}

const RE = {
  destIPOnlyLookup: /^ip6* daddr @(\S+)/,
  destLookup: /^ip6* daddr \. meta l4proto \. th dport @(\S+)/,
  destPortLookup: /^meta l4proto \. th dport @(\S+)/,
  destDispatch: /^ip6* daddr \. meta l4proto \. th dport vmap @(\S+)$/,
  destPortDispatch: /^meta l4proto \. th dport vmap @(\S+)$/,
  destAddrSet: /^ip6* daddr (!= )?\{([^}]*)\}/,
  destAddr: /^ip6* daddr (!= )?(\S+)/,
  destAddrLocal: /^fib daddr type local/,
  destPort: /^(tcp|udp|sctp) dport (\d+)/,
  sourceAddrSetLookup: /^ip6* saddr @(\S+)/,
  sourceAddrSet: /^ip6* saddr (!= )?\{([^}]*)\}/,
  sourceAddr: /^ip6* saddr (!= )?(\S+)/,
  sourceAddrLocal: /^fib saddr type local/,
  endpointVMap: /^numgen random mod \d+ vmap \{(.*)\}$/,
  endpointVMapEntry: /\d+ : goto (\S+)/g,
  masquerade: /^jump mark-for-masquerade$/,
  jump: /^(jump|goto) (\S+)$/,
  ret: /^return$/,
  verdict: /^(drop|reject)$/,
  dnat: /^meta l4proto (tcp|udp|sctp) dnat to (\S+)$/,
  ignored: / *comment "[^"]*"$|^ct state new/g,
};

class NftablesTracer {
  readonly matches: string[] = [];
  readonly outputs: string[] = [];
  masq = false;
  readonly errors: string[] = [];

  constructor(private readonly nft: FakeNftables, private readonly nodeIPs: ReadonlySet<string>) {}

  private els(name: string): NftElement[] {
    return this.nft.elements(name) ?? [];
  }

  /** upstream runChain: true when a terminal verdict was reached. */
  runChain(chain: string, src: string, proto: string, dst: string, dport: string): boolean {
    const rules = this.nft.chainRules(chain);
    if (rules === undefined) {
      this.errors.push(`unknown chain ${chain}`);
      return true;
    }
    for (const ruleText of rules) {
      let rule = ruleText.replace(RE.ignored, '');
      while (rule !== '') {
        rule = rule.trimStart();
        let m: RegExpExecArray | null;
        const take = (re: RegExp): RegExpExecArray | null => {
          const r = re.exec(rule);
          if (r !== null) rule = rule.slice(r[0].length);
          return r;
        };
        if ((m = take(RE.destIPOnlyLookup)) !== null) {
          if (!this.els(m[1] as string).some((e) => e.key[0] === dst)) rule = '';
        } else if ((m = take(RE.destLookup)) !== null) {
          if (!this.els(m[1] as string).some((e) => e.key[0] === dst && e.key[1] === proto && e.key[2] === dport)) rule = '';
        } else if ((m = take(RE.destPortLookup)) !== null) {
          if (!this.els(m[1] as string).some((e) => e.key[0] === proto && e.key[1] === dport)) rule = '';
        } else if ((m = RE.destDispatch.exec(rule)) !== null) {
          const e = this.els(m[1] as string).find((x) => x.key[0] === dst && x.key[1] === proto && x.key[2] === dport);
          rule = e === undefined ? '' : (e.value?.[0] ?? '');
        } else if ((m = RE.destPortDispatch.exec(rule)) !== null) {
          const e = this.els(m[1] as string).find((x) => x.key[0] === proto && x.key[1] === dport);
          rule = e === undefined ? '' : (e.value?.[0] ?? '');
        } else if ((m = take(RE.destAddrSet)) !== null) {
          if (noneMatch(dst, m[2] as string) === (m[1] === undefined)) rule = '';
        } else if ((m = take(RE.destAddr)) !== null) {
          if (addressMatches(dst, m[2] as string) !== (m[1] === undefined)) rule = '';
        } else if (take(RE.destAddrLocal) !== null) {
          if (!this.nodeIPs.has(dst)) rule = '';
        } else if ((m = take(RE.destPort)) !== null) {
          if (m[1] !== proto || m[2] !== dport) rule = '';
        } else if ((m = take(RE.sourceAddrSetLookup)) !== null) {
          // Affinity sets start empty: a new connection never matches one.
          if (!this.els(m[1] as string).some((e) => e.key[0] === src)) rule = '';
        } else if ((m = take(RE.sourceAddrSet)) !== null) {
          if (noneMatch(src, m[2] as string) === (m[1] === undefined)) rule = '';
        } else if ((m = take(RE.sourceAddr)) !== null) {
          if (addressMatches(src, m[2] as string) !== (m[1] === undefined)) rule = '';
        } else if (take(RE.sourceAddrLocal) !== null) {
          if (!this.nodeIPs.has(src)) rule = '';
        } else if (take(RE.masquerade) !== null) {
          this.matches.push(ruleText);
          this.masq = true;
        } else if ((m = take(RE.jump)) !== null) {
          this.matches.push(ruleText);
          if (this.runChain(m[2] as string, src, proto, dst, dport)) return true;
          if (m[1] === 'goto') return false;
        } else if ((m = RE.verdict.exec(rule)) !== null) {
          this.matches.push(ruleText);
          this.outputs.push((m[1] as string).toUpperCase());
          return true;
        } else if (RE.ret.exec(rule) !== null) {
          this.matches.push(ruleText);
          return false;
        } else if ((m = RE.dnat.exec(rule)) !== null) {
          this.matches.push(ruleText);
          this.outputs.push(m[2] as string);
          return true;
        } else if ((m = RE.endpointVMap.exec(rule)) !== null) {
          for (const e of (m[1] as string).matchAll(RE.endpointVMapEntry)) {
            this.matches.push(ruleText);
            this.runChain(e[1] as string, src, proto, dst, dport);
          }
          return true;
        } else if (rule.startsWith('update @')) {
          // Affinity bookkeeping: no effect on this packet's fate.
          rule = rule.replace(/^update @\S+ \{ ip6* saddr \}/, '');
        } else {
          this.errors.push(`unmatched rule: ${ruleText}`);
          rule = '';
        }
      }
    }
    return false;
  }
}

/** upstream tracePacket: the rules matched, the outputs ("ip:port, …", DROP, REJECT or ""), and whether the packet is masqueraded. */
export function tracePacketNft(nft: FakeNftables, nodeIPs: readonly string[], t: PacketFlowTest): { matches: string[]; output: string; masq: boolean; errors: string[] } {
  const tracer = new NftablesTracer(nft, new Set(nodeIPs));
  const proto = t.protocol ?? 'tcp';
  const dport = String(t.destPort);
  let dst = t.destIP;
  const done = (): { matches: string[]; output: string; masq: boolean; errors: string[] } => ({ matches: tracer.matches, output: tracer.outputs.join(', '), masq: tracer.masq, errors: tracer.errors });
  if (tracer.runChain('filter-prerouting-pre-dnat', t.sourceIP, proto, dst, dport)) return done();
  tracer.runChain('nat-prerouting', t.sourceIP, proto, dst, dport);
  if (tracer.outputs.length > 0) dst = (tracer.outputs[0] as string).split(':')[0] as string;
  if (!tracer.runChain('filter-forward', t.sourceIP, proto, dst, dport)) tracer.runChain('filter-input', t.sourceIP, proto, dst, dport);
  return done();
}
