/**
 * A node for the IPVS proxier's tests: a namespace with eth0 at the fixtures' node IP,
 * netsim's IPVS table, ipsets and iptables behind the proxier's adapters, and a proxier
 * for the fixtures' node (no Services fed yet).
 */
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Ipvs } from '../../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../../netsim/ipset/ipset.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { DummyDevice } from '../../netsim/link/dummy.ts';
import { IpvsProxier } from './proxier.ts';
import { netsimIpsets, netsimIpvs, netsimNetlink } from './netsim-adapters.ts';
import { netsimIptablesBackend } from '../iptables/netsim-backend.ts';
import { NODE, NODE_IP, CLUSTER_CIDR } from '../fixtures.ts';

export function ipvsFixtureNode(): { sim: Sim; ns: NetNamespace; ipvs: Ipvs; sets: Ipsets; ipt: Iptables; p: IpvsProxier } {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, NODE, NODE);
  ns.addDevice(new DummyDevice(sim, 'eth0', 0x0a0000000001));
  ns.addAddress('eth0', `${NODE_IP}/24`);
  const ipvs = new Ipvs(() => sim.clock.now());
  const sets = new Ipsets();
  const ipt = new Iptables();
  ipt.setExists = (n) => sets.has(n);
  const p = new IpvsProxier({ ipvs: netsimIpvs(ipvs), ipset: netsimIpsets(sets), netlink: netsimNetlink(ns), iptables: netsimIptablesBackend(ipt) }, { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR });
  return { sim, ns, ipvs, sets, ipt, p };
}
