/**
 * flanneld's iptables rules (pkg/trafficmngr/iptables), as data rendered to
 * iptables-save lines:
 * - `--ip-masq`: nat `POSTROUTING -m comment --comment "flanneld masq" -j
 *   FLANNEL-POSTRTG`, and in FLANNEL-POSTRTG, in order: kube-proxy's marked traffic
 *   RETURN; pod→cluster RETURN; cluster→pod RETURN; outside→pod RETURN; cluster→not
 *   multicast MASQUERADE --random-fully; outside→cluster MASQUERADE --random-fully.
 * - forward rules (on by default): filter `FORWARD -m comment --comment "flanneld
 *   forward" -j FLANNEL-FWD` accepting from and to the flannel network (Docker's
 *   FORWARD policy is DROP).
 */
import type { IptablesRestorer } from '../host.ts';
import { NatPatch } from '../plugins/iptables-text.ts';

export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const FWD_CHAIN = 'FLANNEL-FWD';
const MASQ_COMMENT = '-m comment --comment "flanneld masq"';
const FWD_COMMENT = '-m comment --comment "flanneld forward"';

export interface ChainRules {
  readonly table: 'nat' | 'filter';
  readonly chain: string;
  /** The jump from the built-in chain. */
  readonly jump: { readonly from: string; readonly spec: string };
  readonly rules: readonly string[];
}

export function masqRules(clusterCidr: string, podCidr: string): ChainRules {
  return {
    table: 'nat', chain: MASQ_CHAIN,
    jump: { from: 'POSTROUTING', spec: `${MASQ_COMMENT} -j ${MASQ_CHAIN}` },
    rules: [
      `-m mark --mark 0x4000/0x4000 ${MASQ_COMMENT} -j RETURN`,
      `-s ${podCidr} -d ${clusterCidr} ${MASQ_COMMENT} -j RETURN`,
      `-s ${clusterCidr} -d ${podCidr} ${MASQ_COMMENT} -j RETURN`,
      `! -s ${clusterCidr} -d ${podCidr} ${MASQ_COMMENT} -j RETURN`,
      `-s ${clusterCidr} ! -d 224.0.0.0/4 ${MASQ_COMMENT} -j MASQUERADE --random-fully`,
      `! -s ${clusterCidr} -d ${clusterCidr} ${MASQ_COMMENT} -j MASQUERADE --random-fully`,
    ],
  };
}

export function forwardRules(clusterCidr: string): ChainRules {
  return {
    table: 'filter', chain: FWD_CHAIN,
    jump: { from: 'FORWARD', spec: `${FWD_COMMENT} -j ${FWD_CHAIN}` },
    rules: [`-s ${clusterCidr} ${FWD_COMMENT} -j ACCEPT`, `-d ${clusterCidr} ${FWD_COMMENT} -j ACCEPT`],
  };
}

/** iptables-restore text that installs `c` from scratch (for goldens and views). */
export function renderChainRules(c: ChainRules): string {
  return [`*${c.table}`, `:${c.chain} - [0:0]`, `-A ${c.jump.from} ${c.jump.spec}`, ...c.rules.map((r) => `-A ${c.chain} ${r}`), 'COMMIT', ''].join('\n');
}

/** Ensure the chain holds exactly `c.rules` and the jump exists (flannel's periodic "ensure"). */
export function ensureChainRules(ipt: IptablesRestorer, c: ChainRules): string {
  const p = new NatPatch(ipt, c.table);
  const lines: string[] = [];
  // Declaring the chain (re)creates it empty; its rules follow in order.
  lines.push(`:${c.chain} - [0:0]`, ...c.rules.map((r) => `-A ${c.chain} ${r}`));
  if (!p.hasRule(c.jump.from, c.jump.spec)) lines.push(`-A ${c.jump.from} ${c.jump.spec}`);
  const text = [`*${c.table}`, ...lines, 'COMMIT', ''].join('\n');
  ipt.restore(text, { noflush: true });
  return text;
}
