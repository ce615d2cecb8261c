/**
 * Userspace views of a namespace, printed the way iproute2 prints them: `ip addr`,
 * `ip link`, `ip route [show table T]`, `ip route get`, `ip neigh`, and
 * `bridge fdb show`. These are how every layer above shows a node's state.
 */
import type { NetDevice } from '../link/net-device.ts';
import { Bridge } from '../link/bridge.ts';
import type { VethDevice } from '../link/veth.ts';
import type { TunDevice } from '../link/tun.ts';
import type { VxlanDevice } from '../overlay/vxlan-device.ts';
import type { NetNamespace } from '../stack/net-namespace.ts';
import { RT_TABLE_LOCAL, RT_TABLE_MAIN, formatRoute } from '../stack/routing-table.ts';
import { formatNeigh } from '../stack/neighbor-table.ts';
import { formatIpv4, formatMac } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';

function qdisc(d: NetDevice): string {
  switch (d.kind) {
    case 'ether': return 'fq_codel';
    case 'tun': return 'fq_codel';
    case 'dummy': return d.up ? 'noqueue' : 'noop';
    default: return 'noqueue';
  }
}

function operState(d: NetDevice): string {
  if (!d.up) return 'DOWN';
  if (d.kind === 'loopback' || d.kind === 'tun' || d.kind === 'dummy' || d.kind === 'vxlan') return d.carrier() ? 'UNKNOWN' : 'DOWN';
  return d.carrier() ? 'UP' : 'LOWERLAYERDOWN';
}

/**
 * The ids a namespace gives the other namespaces its links point into
 * (peernet2id_alloc): 0, 1, … in the order it first reports them.
 */
const netnsIds = new WeakMap<NetNamespace, Map<unknown, number>>();
function netnsId(ns: NetNamespace, peer: unknown): number {
  let ids = netnsIds.get(ns);
  if (ids === undefined) {
    ids = new Map();
    netnsIds.set(ns, ids);
  }
  let id = ids.get(peer);
  if (id === undefined) {
    id = ids.size;
    ids.set(peer, id);
  }
  return id;
}

function linkName(d: NetDevice, ns: NetNamespace): string {
  if (d.kind === 'veth') {
    const peer = (d as VethDevice).peer;
    if (peer.owner === ns) return `${d.name}@${peer.name}`;
    return `${d.name}@if${peer.ifindex}`;
  }
  return d.name;
}

function linkHeader(d: NetDevice, ns: NetNamespace, command: 'link' | 'addr'): string[] {
  // txqueuelen: 500 for TUN (tun.c), 1000 for everything else the kernel creates here;
  // iproute2 prints nothing for 0 (CNI's veths: netlink.LinkAttrs{} carries TxQLen 0),
  // after "group %s " — so such a line ends in a space (iproute2 6.1 print_linkinfo).
  const qlen = d.txQueueLen ?? (d.kind === 'tun' ? 500 : 1000);
  const extra = qlen > 0 ? `qlen ${qlen}` : '';
  const master = d.master !== undefined ? ` master ${d.master.name}` : '';
  // `ip link` prints the link mode (IFLA_LINKMODE, always DEFAULT here); `ip addr` does not.
  const mode = command === 'link' ? ' mode DEFAULT' : '';
  const lines = [`${d.ifindex}: ${linkName(d, ns)}: ${d.flags()} mtu ${d.mtu} qdisc ${qdisc(d)}${master} state ${operState(d)}${mode} group default ${extra}`];
  if (d.kind === 'loopback') lines.push('    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00');
  else if (d.linkType === 'raw-ip') lines.push('    link/none ');
  else {
    const peer = d.kind === 'veth' ? (d as VethDevice).peer : undefined;
    const netnsid = peer !== undefined && peer.owner !== undefined && peer.owner !== ns ? ` link-netnsid ${netnsId(ns, peer.owner)}` : '';
    lines.push(`    link/ether ${formatMac(d.mac)} brd ff:ff:ff:ff:ff:ff${netnsid}`);
  }
  return lines;
}

/** `ip addr` (or `ip addr show dev DEV`). */
export function ipAddr(ns: NetNamespace, dev?: string): string {
  const out: string[] = [];
  for (const d of sortedDevices(ns)) {
    if (dev !== undefined && d.name !== dev) continue;
    out.push(...linkHeader(d, ns, 'addr'));
    for (const a of ns.addressesOf(d.name)) {
      // The kernel configures lo without a broadcast address (its broadcast route exists regardless).
      const brd = a.broadcast !== undefined && a.showBroadcast ? ` brd ${formatIpv4(a.broadcast)}` : '';
      const sec = a.secondary ? ' secondary' : '';
      out.push(`    inet ${formatIpv4(a.addr)}/${a.prefixLen}${brd} scope ${a.scope}${sec} ${d.name}`);
      out.push('       valid_lft forever preferred_lft forever');
    }
  }
  return out.join('\n') + (out.length > 0 ? '\n' : '');
}

/** `ip link`. */
export function ipLink(ns: NetNamespace): string {
  return sortedDevices(ns).flatMap((d) => linkHeader(d, ns, 'link')).join('\n') + '\n';
}

/** `ip -br addr`. */
export function ipBriefAddr(ns: NetNamespace): string {
  return sortedDevices(ns).map((d) => {
    const addrs = ns.addressesOf(d.name).map((a) => `${formatIpv4(a.addr)}/${a.prefixLen}`).join(' ');
    return `${linkName(d, ns).padEnd(16)} ${operState(d).padEnd(14)} ${addrs}`.trimEnd();
  }).join('\n') + '\n';
}

/** `ip route` (main) or `ip route show table local|ID`. */
export function ipRoute(ns: NetNamespace, table: 'main' | 'local' | number = 'main'): string {
  const id = table === 'main' ? RT_TABLE_MAIN : table === 'local' ? RT_TABLE_LOCAL : table;
  const t = ns.tables.get(id);
  if (t === undefined) return '';
  const routes = t.list();
  if (id === RT_TABLE_LOCAL) {
    // `ip route show table local` lists by type-independent key order: address, then type.
    routes.sort((a, b) => a.dst.network - b.dst.network || a.dst.prefixLen - b.dst.prefixLen);
  }
  return routes.map((r) => {
    const dev = r.dev !== undefined ? ns.devices.get(r.dev) : undefined;
    const linkdown = dev !== undefined && dev.up && !dev.carrier();
    // iproute2 ends every route line with a space.
    return `${formatRoute(r, { showType: id === RT_TABLE_LOCAL || r.type !== 'unicast', linkdown })} `;
  }).join('\n') + (routes.length > 0 ? '\n' : '');
}

/** `ip route get ADDR`. */
export function ipRouteGet(ns: NetNamespace, dst: Ipv4Addr): string {
  return ns.routeGet(dst) + '\n';
}

/** `ip neigh [show dev DEV]`. */
export function ipNeigh(ns: NetNamespace, dev?: string): string {
  const entries = ns.neighbours(dev);
  return entries.map((e) => formatNeigh(e, dev === undefined)).join('\n') + (entries.length > 0 ? '\n' : '');
}

/**
 * The multicast addresses a device up in a Linux namespace holds (its `self permanent`
 * lines): IPv6 all-nodes, IPv4 all-hosts, and the solicited-node group of its EUI-64
 * link-local address; a bridge also joins the multicast-router-discovery groups
 * (224.0.0.106, ff02::6a) for snooping. The emulator models no IPv6, but `bridge fdb`
 * on a real node prints these, so they are printed here too, in the kernel's order.
 */
function selfMulticast(d: NetDevice): string[] {
  const low = formatMac(d.mac).slice(9);
  if (d.kind === 'bridge') return ['33:33:00:00:00:01', '01:00:5e:00:00:6a', '33:33:00:00:00:6a', '01:00:5e:00:00:01', `33:33:ff:${low}`];
  return ['33:33:00:00:00:01', '01:00:5e:00:00:01', `33:33:ff:${low}`];
}

/**
 * `bridge fdb show [br BRIDGE] [dev DEV]` as iproute2 prints the kernel's dump: device by
 * device in ifindex order; for a bridge port its bridge's entries on that port, newest
 * first (the bridge's hash list is filled at the head: learned ones, then the port's own
 * `permanent` address), then the port's `self permanent` multicast addresses; a bridge
 * its `self` entries, then its own address; other Ethernet devices their `self`
 * entries; VXLAN devices their FDB.
 */
export function bridgeFdb(ns: NetNamespace, opts: { br?: string; dev?: string } = {}): string {
  const now = ns.sim.clock.now();
  const lines: string[] = [];
  for (const d of sortedDevices(ns)) {
    if (opts.dev !== undefined && opts.dev !== d.name) continue;
    if (d.kind === 'vxlan') {
      if (opts.br !== undefined) continue;
      for (const e of (d as VxlanDevice).fdbEntries()) lines.push(`${formatMac(e.mac)} dev ${d.name} dst ${formatIpv4(e.dst)} self${e.permanent ? ' permanent' : ''}`);
      continue;
    }
    const master = d.master !== undefined ? ns.devices.get(d.master.name) : undefined;
    const inBridge = master instanceof Bridge ? master : undefined;
    if (opts.br !== undefined && !(d.kind === 'bridge' && d.name === opts.br) && inBridge?.name !== opts.br) continue;
    if (inBridge !== undefined) {
      for (const e of inBridge.fdb.list(now).filter((x) => x.port === d).reverse()) {
        // iproute2 prints the state after "master BR " — nothing for a learned entry (hence the trailing space).
        lines.push(`${formatMac(e.mac)} dev ${d.name} master ${inBridge.name} ${e.local ? 'permanent' : e.isStatic ? 'static' : ''}`);
      }
    }
    if (d.up && d.kind !== 'loopback' && d.linkType === 'ether' && !d.noArp) for (const m of selfMulticast(d)) lines.push(`${m} dev ${d.name} self permanent`);
    // A bridge's own address (an entry without a port) comes after its self lines (br_fdb_dump).
    if (d instanceof Bridge) for (const e of d.fdb.list(now).filter((x) => x.port === d).reverse()) lines.push(`${formatMac(e.mac)} dev ${d.name} master ${d.name} permanent`);
  }
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}

/** The TUN devices of a namespace with whether a reader holds them (for diagnostics). */
export function tunReaders(ns: NetNamespace): Array<{ name: string; attached: boolean }> {
  return sortedDevices(ns).filter((d) => d.kind === 'tun').map((d) => ({ name: d.name, attached: (d as TunDevice).carrier() }));
}

function sortedDevices(ns: NetNamespace): NetDevice[] {
  return [...ns.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
}
