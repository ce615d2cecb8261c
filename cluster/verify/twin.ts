/**
 * The real twin of one emulated node: a plan (pure data, testable anywhere) of the
 * Linux namespaces, devices, addresses, routes, neighbours, sysctls and iptables
 * and nftables text that reproduce the node, and the code that builds it with `ip`,
 * `sysctl`, the real `iptables-restore` and the real `nft -f`.
 *
 * What the twin contains:
 * - the node namespace: every device of the emulated node with its name, MAC and
 *   MTU (bridges, veths, dummies), its addresses (`noprefixroute`; the routes come
 *   from the emulator's tables verbatim), every route of every table but `local`
 *   (the kernel derives that one from the addresses), the neighbour entries, the
 *   sysctls the emulator models, the ipsets (`ipset save` → `ipset restore`, before
 *   the rules that match them), the iptables ruleset the emulator holds and its
 *   nf_tables ruleset (`nft list ruleset`, kube-proxy's nftables mode) loaded with
 *   `nft -f`;
 * - one namespace per pod behind a veth of the node (same names, MACs, addresses,
 *   routes and neighbours);
 * - in underlay mode (the default of verify, {@link TwinOptions.underlay}), flannel's
 *   devices as real ones: a real VXLAN device with flanneld's FDB entries, a real TUN
 *   read by a real flanneld-like proxy (raw/flannel-proxy.c, started by verify.ts);
 * - one *sink* namespace per device that leaves the node (the underlay NIC; without
 *   underlay mode the flannel TUN and VXLAN device too): in the twin each becomes a veth whose peer lives in
 *   the sink, which answers ARP for every address and locally delivers every packet
 *   arriving from the node (policy rule `iif up0 lookup 100` with `local 0.0.0.0/0`),
 *   so a raw socket there sees what left the node; its iptables OUTPUT drops
 *   everything the kernel itself would answer with (RST, ICMP errors, echo replies),
 *   because the emulator side swallows egress at the same point. The emulated TUN
 *   (no link layer, NOARP) becomes a NOARP veth whose two ends share one MAC, so
 *   frames the kernel addresses to its own MAC are accepted by the sink.
 *   Neighbour entries on egress devices are copied with the sink's MAC.
 *
 * Sysctls the twin sets because the emulator does not model the behaviour (see
 * netsim/stack/net-namespace.ts): rp_filter 0, send_redirects 0, ICMP rate limits off.
 */
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { NetDevice } from '../../netsim/link/net-device.ts';
import { VethDevice } from '../../netsim/link/veth.ts';
import { Bridge } from '../../netsim/link/bridge.ts';
import { VxlanDevice } from '../../netsim/overlay/vxlan-device.ts';
import { formatRoute, RT_TABLE_LOCAL } from '../../netsim/stack/routing-table.ts';
import { formatIpv4, formatMac, maskOf } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr, MacAddr } from '../../netsim/wire/addr.ts';
import type { EmulatedCluster } from '../emulated-cluster.ts';
import type { NetnsSession } from './raw/netns.ts';
import type { FlannelProxySpec } from './raw/flannel-proxy.ts';

export type TwinRole = 'node' | 'pod' | 'sink';

export interface TwinNamespace {
  /** Short name, appended to the session prefix (`n`, `p0`, `s0`, …). */
  readonly short: string;
  readonly role: TwinRole;
  /** Label used in observations: 'node', the pod key, or `egress:DEV`. */
  readonly label: string;
  /** The emulated namespace (absent for sinks). */
  readonly emu: NetNamespace | undefined;
  /** For sinks: the node device it stands behind. */
  readonly egressDev?: NetDevice;
  readonly sysctls: Record<string, string | number>;
  /** `ip` commands (without `ip`), run in order with `-batch`; `{NS:short}` is replaced by a namespace's full name. */
  readonly ip: string[];
  /** `ip` commands run after every namespace's `ip` list (routes need the peers up). */
  readonly ipLate: string[];
  /** `bridge` commands (without `bridge`), run after `ipLate`: a VXLAN device's FDB entries. */
  readonly bridge?: string[];
  /** iptables-restore input, if any. */
  readonly iptables?: string;
  /** `ipset restore` input (the node's `ipset save`), loaded before the rules that match the sets. */
  readonly ipset?: string;
  /** `nft -f` input (the emulator's `nft list ruleset`), if it holds any table. */
  readonly nft?: string;
  /** Per-device sysctls, set once the devices exist (e.g. portmap's route_localnet on the bridge). */
  readonly lateSysctls?: Record<string, string | number>;
}

export interface TwinPlan {
  readonly node: string;
  readonly namespaces: TwinNamespace[];
  /** Emulated egress devices (NetDevice → sink label) for the emulator-side tap. */
  readonly egress: ReadonlyArray<{ readonly dev: NetDevice; readonly label: string; readonly sinkMac: MacAddr }>;
  /** Pod and node namespaces with their labels. */
  readonly stacks: ReadonlyArray<{ readonly ns: NetNamespace; readonly label: string }>;
  /** Things the twin cannot reproduce on this machine (e.g. IPVS). */
  readonly notVerifiable: string[];
  /** Underlay mode: the flanneld udp proxies to start in the node namespace once the twin is built. */
  readonly flannelProxies: readonly FlannelProxySpec[];
}

/** Sysctls every twin namespace gets before its devices exist (default.* then applies to them). */
const TWIN_SYSCTLS = {
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.default.rp_filter': 0,
  'net.ipv4.conf.all.send_redirects': 0,
  'net.ipv4.conf.default.send_redirects': 0,
  'net.ipv4.conf.all.accept_redirects': 0,
  'net.ipv4.conf.default.accept_redirects': 0,
  'net.ipv4.icmp_ratelimit': 0,
  'net.ipv4.icmp_ratemask': 0,
  'net.ipv4.icmp_msgs_per_sec': 100000,
} as const;

/** Locally administered MACs for the sinks' ends: 02:5e:00:00:00:NN. */
export function sinkMac(i: number): MacAddr {
  return 0x025e_0000_0000 + i + 1;
}

function stackSysctls(ns: NetNamespace, bridges: boolean): Record<string, string | number> {
  const s = ns.sysctl;
  const out: Record<string, string | number> = {
    ...TWIN_SYSCTLS,
    'net.ipv4.ip_forward': s.ipForward ? 1 : 0,
    'net.ipv4.conf.all.route_localnet': s.routeLocalnet ? 1 : 0,
    'net.ipv4.conf.all.arp_ignore': s.arpIgnore,
    'net.ipv4.ip_default_ttl': s.defaultTtl,
    'net.ipv4.icmp_echo_ignore_all': s.icmpEchoIgnoreAll ? 1 : 0,
    'net.ipv4.ip_local_port_range': `${s.localPortRange[0]} ${s.localPortRange[1]}`,
  };
  if (bridges) out['net.bridge.bridge-nf-call-iptables'] = s.bridgeNfCallIptables ? 1 : 0;
  return out;
}

function addrCmds(ns: NetNamespace, dev: string): string[] {
  return ns.addressesOf(dev).map((a) => {
    const brd = a.showBroadcast && a.broadcast !== undefined ? ` broadcast ${formatIpv4(a.broadcast)}` : '';
    return `addr add ${formatIpv4(a.addr)}/${a.prefixLen}${brd} scope ${a.scope} dev ${dev} noprefixroute`;
  });
}

function routeCmds(ns: NetNamespace): string[] {
  const out: string[] = [];
  for (const [id, t] of ns.tables) {
    if (id === RT_TABLE_LOCAL) continue;
    // Routes through a gateway after the link routes that make the gateway reachable.
    const rs = [...t.list()].sort((a, b) => (a.gateway === undefined ? 0 : 1) - (b.gateway === undefined ? 0 : 1));
    for (const r of rs) out.push(`route add ${formatRoute(r)}${id === 254 ? '' : ` table ${id}`}`);
  }
  return out;
}

function neighCmds(ns: NetNamespace, macFor: (dev: string, mac: MacAddr) => MacAddr): string[] {
  const out: string[] = [];
  for (const e of ns.neighbours()) {
    if (e.mac === undefined || e.state === 'INCOMPLETE' || e.state === 'FAILED' || e.state === 'NOARP') continue;
    const dev = ns.devices.get(e.dev);
    if (dev === undefined || dev.noArp) continue;
    out.push(`neigh replace ${formatIpv4(e.ip)} lladdr ${formatMac(macFor(e.dev, e.mac))} dev ${e.dev} nud ${e.state === 'PERMANENT' ? 'permanent' : 'stale'}`);
  }
  return out;
}

/** The gateways reached through `dev` (candidate addresses for a sink to own). */
function gatewaysVia(ns: NetNamespace, dev: string): Ipv4Addr[] {
  const out = new Set<Ipv4Addr>();
  for (const [id, t] of ns.tables) {
    if (id === RT_TABLE_LOCAL) continue;
    for (const r of t.list()) if (r.dev === dev && r.gateway !== undefined) out.add(r.gateway);
  }
  return [...out];
}

export interface TwinOptions {
  /**
   * Reproduce flannel's devices as real ones instead of sinks, so what leaves the node is
   * the encapsulated packet on the underlay NIC, compared header by header with the
   * emulator's (compare.ts): the VXLAN device as a real `flannel.1` (same VNI, port, local
   * address, MAC and MTU, `nolearning`, with flanneld's permanent neighbour and FDB
   * entries); the udp backend's TUN as a real `flannel0` (same MTU, addresses and routes)
   * read by a real flanneld-like proxy (raw/flannel-proxy.c) with the emulated proxy's
   * socket and lease routes (the `flannel-proxy` node view).
   */
  readonly underlay?: boolean;
}

/**
 * `ip link add` for the real twin of an emulated VXLAN device (flannel's
 * pkg/backend/vxlan newVXLANDevice: `nolearning`, `local` = the node's address, `dev` =
 * the device holding it), and the `bridge fdb` lines of its FDB (flanneld's
 * `bridge fdb append MAC dev flannel.1 dst PUBLIC_IP self permanent` per remote lease).
 */
function vxlanCmds(ns: NetNamespace, d: VxlanDevice): { ip: string[]; bridge: string[] } {
  const local = formatIpv4(d.local);
  const under = [...ns.devices.keys()].find((n) => n !== d.name && ns.addressesOf(n).some((a) => a.addr === d.local));
  const ip = [
    `link add ${d.name} type vxlan id ${d.vni} local ${local}${under !== undefined ? ` dev ${under}` : ''} dstport ${d.port} ${d.learning ? 'learning' : 'nolearning'}`,
    `link set ${d.name} address ${formatMac(d.mac)} mtu ${d.mtu}`,
  ];
  const bridge = d.fdbEntries().map((e) => `fdb append ${formatMac(e.mac)} dev ${d.name} dst ${formatIpv4(e.dst)} self permanent`);
  return { ip, bridge };
}

/** The `flannel-proxy` node view (`listen A:P`, then `NET/LEN → PEER:P` per lease) as the proxy's arguments. */
export function parseFlannelProxyView(tun: string, tunAddr: Ipv4Addr, view: string): FlannelProxySpec {
  const lines = view.split('\n').filter((l) => l !== '');
  const listen = /^listen ([0-9.]+):(\d+)$/.exec(lines[0] ?? '');
  if (listen === null) throw new Error(`flannel-proxy view: no listen line in ${JSON.stringify(view)}`);
  const routes = lines.slice(1).map((l) => {
    const m = /^([0-9.]+\/\d+) → ([0-9.]+):\d+$/.exec(l);
    if (m === null) throw new Error(`flannel-proxy view: bad route line ${JSON.stringify(l)}`);
    return `${m[1]}=${m[2]}`;
  });
  return { tun, tunAddr: formatIpv4(tunAddr), bindAddr: listen[1] as string, port: Number(listen[2]), routes };
}

/** Build the plan for `node` of `cluster`; throws for an unknown node. */
export function planTwin(cluster: EmulatedCluster, node: string, opts: TwinOptions = {}): TwinPlan {
  const nodeNs = cluster.nodes.get(node);
  if (nodeNs === undefined) throw new Error(`no node "${node}" (nodes: ${[...cluster.nodes.keys()].join(', ')})`);
  // The twin copies the node's devices as they are: its pods kept as records are built first.
  cluster.materialise?.(node);
  const podLabel = new Map<NetNamespace, string>();
  for (const p of cluster.pods.values()) podLabel.set(p.ns, p.key);
  const notVerifiable: string[] = [];
  const namespaces: TwinNamespace[] = [];
  const egress: Array<{ dev: NetDevice; label: string; sinkMac: MacAddr }> = [];
  const stacks: Array<{ ns: NetNamespace; label: string }> = [{ ns: nodeNs, label: 'node' }];
  const hasBridge = [...nodeNs.devices.values()].some((d) => d.kind === 'bridge');
  const nodeIp: string[] = [];
  const nodeLate: string[] = [];
  const egressMac = new Map<string, MacAddr>();
  const pods: TwinNamespace[] = [];
  const sinks: TwinNamespace[] = [];
  const nodeBridge: string[] = [];
  /** Real VXLAN devices, created once every other device (their underlay NIC) exists. */
  const vxlans: VxlanDevice[] = [];
  const flannelProxies: FlannelProxySpec[] = [];
  const proxyView = opts.underlay === true ? cluster.nodeView?.(node, 'flannel-proxy') : undefined;
  // In ifindex order, as the node made them: the kernel's source-address choice for a
  // device without one (inet_select_addr, e.g. MASQUERADE out lo) takes the first device
  // in creation order. Ports are enslaved in a second pass, once every device exists.
  const devs = [...nodeNs.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
  for (const d of devs) {
    if (d.kind === 'loopback') continue;
    const common = `address ${formatMac(d.mac)} mtu ${d.mtu}`;
    if (d.kind === 'bridge') {
      nodeIp.push(`link add ${d.name} type bridge`, `link set ${d.name} ${common}`);
    } else if (d.kind === 'dummy') {
      nodeIp.push(`link add ${d.name} type dummy`, `link set ${d.name} ${common}`);
      if (d.name === 'kube-ipvs0') notVerifiable.push('IPVS virtual servers (kube-ipvs0): this kernel has no ip_vs module, IPVS probes are not verifiable here');
    } else if (d instanceof VethDevice && d.peer.owner instanceof NetNamespace && d.peer.owner !== nodeNs) {
      const podNs = d.peer.owner;
      const short = `p${pods.length}`;
      const peer = d.peer;
      nodeIp.push(`link add ${d.name} type veth peer name ${peer.name} netns {NS:${short}}`, `link set ${d.name} ${common}`);
      const podCmds = [`link set ${peer.name} address ${formatMac(peer.mac)} mtu ${peer.mtu}`, ...addrCmds(podNs, peer.name)];
      if (peer.up) podCmds.push(`link set ${peer.name} up`);
      // Other devices of the pod (rare): dummies only.
      for (const od of podNs.devices.values()) {
        if (od === peer || od.kind === 'loopback') continue;
        if (od.kind === 'dummy') podCmds.push(`link add ${od.name} type dummy`, `link set ${od.name} address ${formatMac(od.mac)} mtu ${od.mtu}`, ...addrCmds(podNs, od.name), ...(od.up ? [`link set ${od.name} up`] : []));
        else notVerifiable.push(`${podLabel.get(podNs) ?? podNs.name}: device ${od.name} (${od.kind}) is not reproduced in the twin`);
      }
      const label = podLabel.get(podNs) ?? podNs.name;
      pods.push({ short, role: 'pod', label, emu: podNs, sysctls: stackSysctls(podNs, false), ip: podCmds, ipLate: [...routeCmds(podNs), ...neighCmds(podNs, (_d, m) => m)] });
      stacks.push({ ns: podNs, label });
    } else if (opts.underlay === true && d instanceof VxlanDevice) {
      vxlans.push(d);
    } else if (d.kind === 'tun' && proxyView !== undefined && nodeNs.primaryAddress(d.name) !== undefined) {
      // A persistent TUN the proxy attaches to (TUNSETIFF) once the twin is built.
      nodeIp.push(`tuntap add dev ${d.name} mode tun`, `link set ${d.name} mtu ${d.mtu}`);
      flannelProxies.push(parseFlannelProxyView(d.name, nodeNs.primaryAddress(d.name) as Ipv4Addr, proxyView));
    } else if (d.kind === 'veth' && d instanceof VethDevice && d.peer.owner === nodeNs) {
      // A veth pair inside the node: create it from the end with the lower ifindex.
      if (d.ifindex < d.peer.ifindex) nodeIp.push(`link add ${d.name} type veth peer name ${d.peer.name}`);
      nodeIp.push(`link set ${d.name} ${common}`);
    } else {
      // Leaves the node: underlay NIC, TUN, VXLAN (or a veth to a namespace of another node).
      const i = sinks.length;
      const short = `s${i}`;
      const mac = sinkMac(i);
      const label = `egress:${d.name}`;
      const ownMac = d.linkType === 'raw-ip' ? mac : d.mac;
      nodeIp.push(`link add ${d.name} type veth peer name up0 netns {NS:${short}}`, `link set ${d.name} address ${formatMac(ownMac)} mtu ${d.mtu}`);
      if (d.noArp) nodeIp.push(`link set ${d.name} arp off`);
      egressMac.set(d.name, mac);
      // The sink's own addresses carry no prefix route: an outside probe to another host of the
      // underlay (another node, its host-network pods) must enter the node as it does in the
      // emulator, which injects outside probes at the node's device, not be delivered on-link.
      const owned = gatewaysVia(nodeNs, d.name).map((g) => {
        const a = nodeNs.addressesOf(d.name).find((x) => ((x.addr ^ g) & maskOf(x.prefixLen)) === 0);
        return `addr add ${formatIpv4(g)}/${a !== undefined ? a.prefixLen : 32} dev up0 noprefixroute`;
      });
      if (owned.length === 0) {
        const a = nodeNs.addressesOf(d.name)[0];
        if (a !== undefined && a.prefixLen < 31) {
          const last = ((a.addr & maskOf(a.prefixLen)) | (~maskOf(a.prefixLen) >>> 0)) - 1;
          owned.push(`addr add ${formatIpv4(last >>> 0)}/${a.prefixLen} dev up0 noprefixroute`);
        }
      }
      // Outside probes leave the sink toward any address: through the node. `onlink`, because the
      // node's address need not be inside any prefix the sink holds (flannel.1's is a /32 of the
      // pod network: without it the kernel says "Nexthop has invalid gateway").
      const nodeAddr = nodeNs.primaryAddress(d.name);
      const late = owned.length > 0 && nodeAddr !== undefined ? [`route add default via ${formatIpv4(nodeAddr)} dev up0 onlink`] : [];
      const sink: TwinNamespace = {
        short, role: 'sink', label, emu: undefined, egressDev: d,
        sysctls: { ...TWIN_SYSCTLS, 'net.ipv4.ip_forward': 0 },
        ip: [`link set up0 address ${formatMac(mac)} mtu ${d.mtu}`, ...(d.noArp ? ['link set up0 arp off'] : []), ...owned, 'link set up0 up', 'rule add iif up0 lookup 100 pref 100', 'route add local 0.0.0.0/0 dev lo table 100'],
        ipLate: late,
        iptables: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --uid-owner 0 -j ACCEPT\n-A OUTPUT -j DROP\nCOMMIT\n',
      };
      sinks.push(sink);
      egress.push({ dev: d, label, sinkMac: mac });
    }
  }
  for (const v of vxlans) {
    const c = vxlanCmds(nodeNs, v);
    nodeIp.push(...c.ip);
    nodeBridge.push(...c.bridge);
  }
  // Ports, addresses, up, in a second pass (bridges and veths exist now).
  for (const d of devs) {
    if (d.kind === 'loopback') continue;
    if (d.master !== undefined) {
      nodeIp.push(`link set ${d.name} master ${d.master.name}`);
      const br = nodeNs.devices.get(d.master.name);
      if (br instanceof Bridge && br.config(d)?.hairpin === true) nodeIp.push(`link set ${d.name} type bridge_slave hairpin on`);
    }
    nodeIp.push(...addrCmds(nodeNs, d.name));
  }
  for (const d of devs) {
    if (d.kind === 'bridge') nodeIp.push(`link set ${d.name} mtu ${d.mtu}`);
    if (d.kind !== 'loopback' && d.up) nodeIp.push(`link set ${d.name} up`);
  }
  nodeLate.push(...routeCmds(nodeNs), ...neighCmds(nodeNs, (dev, m) => egressMac.get(dev) ?? m));
  const iptables = cluster.nodeView?.(node, 'iptables-save');
  const ipset = cluster.nodeView?.(node, 'ipset-save');
  if (nodeNs.hooks !== undefined && iptables === undefined) notVerifiable.push(`${node} has netfilter hooks but the cluster offers no iptables-save view`);
  if (cluster.nodeView?.(node, 'ipvsadm') !== undefined && cluster.nodeView(node, 'ipvsadm')?.includes('->') === true) {
    notVerifiable.push('IPVS virtual servers: this kernel has no ip_vs module, IPVS probes are not verifiable here');
  }
  // nf_tables tables loaded with nft (not iptables-nft's, which iptables-restore recreates).
  const nftRuleset = cluster.nodeView?.(node, 'nft');
  const nft = nftRuleset !== undefined && nftRuleset.trim() !== '' ? nftRuleset : undefined;
  const devSysctls: Record<string, number> = {};
  for (const d of nodeNs.devRouteLocalnet) if (nodeNs.devices.has(d)) devSysctls[`net.ipv4.conf.${d}.route_localnet`] = 1;
  namespaces.push({
    short: 'n', role: 'node', label: 'node', emu: nodeNs, sysctls: stackSysctls(nodeNs, hasBridge), ip: nodeIp, ipLate: nodeLate, lateSysctls: devSysctls,
    ...(nodeBridge.length > 0 ? { bridge: nodeBridge } : {}),
    ...(iptables !== undefined ? { iptables } : {}), ...(ipset !== undefined && ipset !== '' ? { ipset } : {}),
    ...(nft !== undefined ? { nft } : {}),
  }, ...pods, ...sinks);
  return { node, namespaces, egress, stacks, notVerifiable: [...new Set(notVerifiable)], flannelProxies };
}

/** The built twin: full namespace names by label. */
export interface Twin {
  readonly plan: TwinPlan;
  readonly nsByLabel: ReadonlyMap<string, string>;
}

/** Create the plan's namespaces in `session` (which removes them on dispose, error or signal). */
export function buildTwin(plan: TwinPlan, session: NetnsSession): Twin {
  const full = new Map<string, string>();
  for (const n of plan.namespaces) full.set(n.short, session.create(n.short));
  const subst = (l: string): string => l.replace(/\{NS:([a-z0-9]+)\}/g, (_m, s: string) => full.get(s) ?? s);
  // Sysctls first: default.* values then apply to the devices created next.
  for (const n of plan.namespaces) session.sysctl(full.get(n.short) as string, n.sysctls);
  // Sinks and pods before the node: the node's `link add … netns X` needs X to exist, and the
  // peers' configuration needs the devices, so pods/sinks are configured after the node creates them.
  const node = plan.namespaces.filter((n) => n.role === 'node');
  const rest = plan.namespaces.filter((n) => n.role !== 'node');
  for (const n of [...node, ...rest]) session.ip(full.get(n.short) as string, n.ip.map(subst));
  for (const n of [...rest, ...node]) session.ip(full.get(n.short) as string, n.ipLate.map(subst));
  for (const n of plan.namespaces) if (n.bridge !== undefined) session.bridge(full.get(n.short) as string, n.bridge);
  for (const n of plan.namespaces) if (n.lateSysctls !== undefined) session.sysctl(full.get(n.short) as string, n.lateSysctls);
  for (const n of plan.namespaces) if (n.ipset !== undefined) session.ipsetRestore(full.get(n.short) as string, n.ipset);
  for (const n of plan.namespaces) if (n.iptables !== undefined) session.iptablesRestore(full.get(n.short) as string, n.iptables);
  for (const n of plan.namespaces) if (n.nft !== undefined) session.nftLoad(full.get(n.short) as string, n.nft);
  const nsByLabel = new Map<string, string>();
  for (const n of plan.namespaces) nsByLabel.set(n.label, full.get(n.short) as string);
  return { plan, nsByLabel };
}
