/**
 * The `bridge` plugin (containernetworking/plugins plugins/main/bridge): a Linux
 * bridge on the node (default `cni0`), a veth pair per container (`veth` + 8 random
 * hex characters on the bridge, CNI_IFNAME inside CNI_NETNS, both with random MACs as
 * the kernel gives them), addresses and routes from the IPAM plugin.
 * - `isGateway`: the gateway (IPAM's, else network + 1) goes on the bridge and
 *   ip_forward is switched on; `isDefaultGateway` implies it and adds
 *   `0.0.0.0/0 via <gateway>` to the result and the container.
 * - `ipMasq`: nat chain `CNI-<sha512(name+id)>` with `-d <subnet> -j ACCEPT` and
 *   `! -d 224.0.0.0/4 -j MASQUERADE`, jumped to from `POSTROUTING -s <ip>/32`, each
 *   rule commented `name: "<net>" id: "<cid>"`.
 * - `hairpinMode` sets hairpin on the host veth; `promiscMode` puts the bridge in
 *   promiscuous mode (the two exclude each other); `mtu` applies to bridge and veths.
 * - A second ADD for the same container interface fails as the real plugin does:
 *   code 999 "container veth name provided (eth0) already exists".
 * - DEL releases the IPAM address first, then deletes the veth and the masquerade
 *   rules; a missing namespace or interface is success.
 *
 * Not modelled (code 2 if asked for): VLANs, macspoofchk, the nftables masquerade
 * backend, port isolation. IPv6 is not modelled.
 */
import { CniError, cniError } from '../errors.ts';
import { delegateAdd, delegateCheck, delegateDel, execPlugin, pluginMain, prevResultOf } from '../plugin.ts';
import type { PluginContext } from '../plugin.ts';
import type { CniResult, ResultIp, ResultRoute } from '../spec/types.ts';
import { optBool, optInt, optString } from '../spec/config.ts';
import { Bridge } from '../../netsim/link/bridge.ts';
import { NetsimError } from '../../netsim/errors.ts';
import { createVethPair } from '../../netsim/link/veth.ts';
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Ipv4Interface, formatIpv4, formatMac } from '../../netsim/wire/addr.ts';
import { deleteVethPair, randomHex, randomMac } from './link-util.ts';
import { NatPatch, formatChainName, quoteComment } from './iptables-text.ts';
import { ipOrFail } from './addr-util.ts';

export const DEFAULT_BRIDGE = 'cni0';

export interface BridgeConf {
  readonly bridge: string;
  readonly isGateway: boolean;
  readonly isDefaultGateway: boolean;
  readonly forceAddress: boolean;
  readonly ipMasq: boolean;
  readonly mtu: number | undefined;
  readonly hairpinMode: boolean;
  readonly promiscMode: boolean;
  readonly ipamType: string | undefined;
}

export function parseBridgeConf(ctx: PluginContext): BridgeConf {
  const c = ctx.conf;
  const unsupported: Array<[string, boolean]> = [
    ['vlan', c['vlan'] !== undefined && c['vlan'] !== 0],
    ['vlanTrunk', c['vlanTrunk'] !== undefined],
    ['preserveDefaultVlan', c['preserveDefaultVlan'] !== undefined],
    ['macspoofchk', c['macspoofchk'] === true],
    ['ipMasqBackend', c['ipMasqBackend'] !== undefined && c['ipMasqBackend'] !== 'iptables'],
    ['portIsolation', c['portIsolation'] === true],
    ['enabledad', c['enabledad'] === true],
  ];
  for (const [field, bad] of unsupported) if (bad) throw cniError('UNSUPPORTED_FIELD', 'unsupported field in network configuration', `bridge: "${field}" is not modelled by this emulator`);
  const bridge = optString(c, 'bridge') ?? DEFAULT_BRIDGE;
  if (bridge === '' || bridge.length > 15) throw new CniError(7, 'invalid network config', `bridge name "${bridge}" must be 1-15 characters`);
  const isDefaultGateway = optBool(c, 'isDefaultGateway') ?? false;
  const hairpinMode = optBool(c, 'hairpinMode') ?? false;
  const promiscMode = optBool(c, 'promiscMode') ?? false;
  if (hairpinMode && promiscMode) throw new CniError(7, 'invalid network config', 'cannot set hairpin mode and promiscuous mode at the same time.');
  const mtu = optInt(c, 'mtu', 0, 65536);
  return {
    bridge,
    isGateway: (optBool(c, 'isGateway') ?? false) || isDefaultGateway,
    isDefaultGateway,
    forceAddress: optBool(c, 'forceAddress') ?? false,
    ipMasq: optBool(c, 'ipMasq') ?? false,
    mtu: mtu === undefined || mtu === 0 ? undefined : mtu,
    hairpinMode,
    promiscMode,
    ipamType: c.ipam?.type !== undefined && c.ipam.type !== '' ? c.ipam.type : undefined,
  };
}

function openNetns(ctx: PluginContext): NetNamespace {
  const path = ctx.args.netns;
  const ns = ctx.host.netns.get(path);
  if (ns === undefined) throw new CniError(999, `failed to open netns "${path}": failed to Statfs "${path}": no such file or directory`);
  return ns;
}

/** setupBridge: find or create the bridge, up, with MTU and promiscuous mode. */
function ensureBridge(ctx: PluginContext, conf: BridgeConf): Bridge {
  const host = ctx.host.ns;
  const existing = host.devices.get(conf.bridge);
  if (existing !== undefined) {
    if (!(existing instanceof Bridge)) throw new CniError(999, `could not set up bridge "${conf.bridge}": "${conf.bridge}" already exists but is not a bridge`);
    if (conf.promiscMode) existing.promisc = true;
    if (!existing.up) host.setUp(conf.bridge, true);
    return existing;
  }
  const br = new Bridge(host.sim, conf.bridge, randomMac(ctx.host.rng), conf.mtu ?? 1500);
  host.addDevice(br);
  br.promisc = conf.promiscMode;
  host.setUp(conf.bridge, true);
  return br;
}

function vethName(ctx: PluginContext): string {
  for (;;) {
    const name = `veth${randomHex(ctx.host.rng, 8)}`;
    if (!ctx.host.ns.devices.has(name)) return name;
  }
}

/** The masquerade rules of one container address (utils.SetupIPMasq / TeardownIPMasq). */
export function ipMasqRules(network: string, containerId: string, ip: Ipv4Interface): { chain: string; comment: string; jump: string; rules: string[] } {
  const chain = formatChainName('CNI-', network, containerId);
  const comment = quoteComment(`name: "${network}" id: "${containerId}"`);
  return {
    chain, comment,
    jump: `-s ${formatIpv4(ip.addr)}/32 -m comment --comment ${comment} -j ${chain}`,
    rules: [
      `-d ${ip.cidr.toString()} -m comment --comment ${comment} -j ACCEPT`,
      `! -d 224.0.0.0/4 -m comment --comment ${comment} -j MASQUERADE`,
    ],
  };
}

function setupIpMasq(ctx: PluginContext, ips: readonly Ipv4Interface[]): void {
  const patch = new NatPatch(ctx.host.iptables);
  for (const ip of ips) {
    const m = ipMasqRules(ctx.conf.name, ctx.args.containerId, ip);
    patch.ensureChain(m.chain);
    for (const r of m.rules) patch.appendUnique(m.chain, r);
    patch.appendUnique('POSTROUTING', m.jump);
  }
  patch.apply();
}

function teardownIpMasq(ctx: PluginContext, ips: readonly Ipv4Interface[]): void {
  const patch = new NatPatch(ctx.host.iptables);
  for (const ip of ips) {
    const m = ipMasqRules(ctx.conf.name, ctx.args.containerId, ip);
    patch.deleteIfPresent('POSTROUTING', m.jump);
    patch.removeChain(m.chain);
  }
  patch.apply();
}

/** ensureAddr: the gateway on the bridge; another IPv4 address there is an error unless forceAddress. */
function ensureBridgeAddr(host: NetNamespace, br: Bridge, gw: Ipv4Interface, force: boolean): void {
  for (const a of host.addressesOf(br.name)) {
    if (a.addr === gw.addr && a.prefixLen === gw.prefixLen) return;
    if (!force) throw new CniError(999, `failed to set bridge addr: "${br.name}" already has an IP address different from ${gw.toString()}`);
    host.delAddress(br.name, new Ipv4Interface(a.addr, a.prefixLen));
  }
  host.addAddress(br.name, gw, { broadcast: true });
}

function add(ctx: PluginContext): CniResult {
  const conf = parseBridgeConf(ctx);
  const host = ctx.host.ns;
  const br = ensureBridge(ctx, conf);
  const pod = openNetns(ctx);
  const ifName = ctx.args.ifName;
  if (pod.devices.has(ifName)) throw new CniError(999, `container veth name provided (${ifName}) already exists`);

  // setupVeth: the pair is created in the container namespace and the host end moved out.
  const mtu = conf.mtu ?? 1500;
  const hostName = vethName(ctx);
  const [cont, hostVeth] = createVethPair(host.sim, { name: ifName, mac: randomMac(ctx.host.rng), mtu }, { name: hostName, mac: randomMac(ctx.host.rng), mtu });
  // ip.SetupVeth builds netlink.Veth{LinkAttrs: {Name, MTU}}: TxQLen 0 reaches the kernel for both ends.
  cont.txQueueLen = 0;
  hostVeth.txQueueLen = 0;
  pod.addDevice(cont);
  host.addDevice(hostVeth);
  host.setUp(hostName, true);
  br.addPort(hostVeth, { hairpin: conf.hairpinMode });

  const result: CniResult = {
    cniVersion: ctx.conf.cniVersion,
    interfaces: [
      { name: br.name, mac: formatMac(br.mac) },
      { name: hostName, mac: formatMac(hostVeth.mac) },
      { name: ifName, mac: formatMac(cont.mac), sandbox: ctx.args.netns },
    ],
    dns: {},
  };
  if (conf.ipamType === undefined) {
    pod.setUp(ifName, true);
    return result;
  }

  const ipamResult = delegateAdd(ctx, conf.ipamType, JSON.parse(ctx.stdin) as unknown);
  try {
    const ips = ipamResult.ips ?? [];
    if (ips.length === 0) throw new CniError(999, 'IPAM plugin returned missing IP config');
    const addrs: Ipv4Interface[] = [];
    const outIps: ResultIp[] = ips.map((ip) => {
      let ifc: Ipv4Interface;
      try {
        ifc = Ipv4Interface.parse(ip.address);
      } catch {
        throw new CniError(999, `IPAM returned an invalid address ${ip.address}`);
      }
      addrs.push(ifc);
      let gateway = ip.gateway;
      if (gateway === undefined && conf.isGateway) gateway = formatIpv4(ifc.cidr.network + 1);
      return { interface: 2, address: ip.address, ...(gateway !== undefined ? { gateway } : {}) };
    });
    const routes: ResultRoute[] = [...(ipamResult.routes ?? [])];
    if (conf.isDefaultGateway) {
      for (const ip of outIps) {
        if (ip.gateway === undefined) continue;
        const def = routes.find((r) => r.dst === '0.0.0.0/0');
        if (def !== undefined) {
          if (def.gw !== undefined && def.gw !== ip.gateway) throw new CniError(999, `isDefaultGateway ineffective because IPAM sets default route via ${def.gw}`);
        }
        routes.push({ dst: '0.0.0.0/0', gw: ip.gateway });
      }
    }
    // ipam.ConfigureIface: link up, addresses, then the routes (a route without gw goes via the IP's gateway).
    pod.setUp(ifName, true);
    for (const a of addrs) pod.addAddress(ifName, a, { broadcast: true });
    const gw4 = outIps.find((i) => i.gateway !== undefined)?.gateway;
    for (const r of routes) {
      const via = r.gw ?? gw4;
      const spec = { dst: r.dst, dev: ifName, ...(via !== undefined ? { via } : {}) };
      try {
        pod.addRoute(spec);
      } catch (e) {
        // "we skip over duplicate routes as we assume the first one wins" (ipam.ConfigureIface)
        if (e instanceof NetsimError && e.code === 'NETSIM_ERR_ROUTE_EXISTS') continue;
        throw new CniError(999, `failed to add route '${r.dst} via ${via ?? '<nil>'} dev ${ifName}': ${(e as Error).message}`);
      }
    }
    if (conf.isGateway) {
      for (let i = 0; i < outIps.length; i++) {
        const g = outIps[i]?.gateway;
        const a = addrs[i] as Ipv4Interface;
        if (g !== undefined) ensureBridgeAddr(host, br, new Ipv4Interface(ipOrFail(g, 'gateway'), a.prefixLen), conf.forceAddress);
      }
      host.sysctl.ipForward = true;
    }
    if (conf.ipMasq) setupIpMasq(ctx, addrs);
    result.ips = outIps;
    result.routes = routes;
    // The bridge's MAC as it is now (the real plugin reads the link back).
    (result.interfaces as NonNullable<CniResult['interfaces']>)[0] = { name: br.name, mac: formatMac(br.mac) };
    return result;
  } catch (e) {
    try {
      delegateDel(ctx, conf.ipamType, JSON.parse(ctx.stdin) as unknown);
    } catch {
      // best effort, as the real plugin's deferred release
    }
    deleteVethPair(pod, host, ifName);
    throw e;
  }
}

function del(ctx: PluginContext): void {
  const conf = parseBridgeConf(ctx);
  if (conf.ipamType !== undefined) delegateDel(ctx, conf.ipamType, JSON.parse(ctx.stdin) as unknown);
  if (ctx.args.netns === '') return;
  const pod = ctx.host.netns.get(ctx.args.netns);
  if (pod === undefined) return;
  const addrs = pod.addressesOf(ctx.args.ifName).map((a) => new Ipv4Interface(a.addr, a.prefixLen));
  if (deleteVethPair(pod, ctx.host.ns, ctx.args.ifName) === undefined) return;
  if (conf.ipMasq) teardownIpMasq(ctx, addrs);
}

function check(ctx: PluginContext): void {
  const conf = parseBridgeConf(ctx);
  const prev = prevResultOf(ctx.conf);
  if (prev === undefined) throw cniError('INVALID_NETWORK_CONFIG', 'Required prevResult missing');
  if (conf.ipamType !== undefined) delegateCheck(ctx, conf.ipamType, JSON.parse(ctx.stdin) as unknown);
  const br = ctx.host.ns.devices.get(conf.bridge);
  if (!(br instanceof Bridge)) throw new CniError(999, `bridge ${conf.bridge} not found`);
  const pod = openNetns(ctx);
  const cont = pod.devices.get(ctx.args.ifName);
  if (cont === undefined) throw new CniError(999, `Error: Link ${ctx.args.ifName} not found in netns ${ctx.args.netns}`);
  const want = prev.interfaces?.find((i) => i.name === ctx.args.ifName && i.sandbox !== undefined);
  if (want === undefined) throw new CniError(999, `expected interface ${ctx.args.ifName} in prevResult`);
  if (want.mac !== undefined && want.mac !== formatMac(cont.mac)) throw new CniError(999, `Interface ${ctx.args.ifName} Mac ${want.mac} doesn't match container Mac: ${formatMac(cont.mac)}`);
  for (const ip of prev.ips ?? []) {
    const ifc = Ipv4Interface.parse(ip.address);
    if (!pod.addressesOf(ctx.args.ifName).some((a) => a.addr === ifc.addr && a.prefixLen === ifc.prefixLen)) {
      throw new CniError(999, `Failed to match addr ${ip.address} on interface ${ctx.args.ifName}`);
    }
  }
  const hostIf = prev.interfaces?.find((i) => i.sandbox === undefined && i.name !== conf.bridge);
  if (hostIf !== undefined) {
    const hv = ctx.host.ns.devices.get(hostIf.name);
    if (hv === undefined || hv.master !== br) throw new CniError(999, `host veth ${hostIf.name} is not a port of ${conf.bridge}`);
  }
}

export const bridge = pluginMain({
  add,
  del,
  check,
  gc(ctx) {
    const conf = parseBridgeConf(ctx);
    if (conf.ipamType === undefined) return;
    const out = execPlugin(ctx.host, conf.ipamType, { ...ctx.env, CNI_COMMAND: 'GC' }, ctx.stdin);
    if (out.code !== 0) throw CniError.fromJson(JSON.parse(out.stdout) as unknown);
  },
  status(ctx) {
    const conf = parseBridgeConf(ctx);
    if (conf.ipamType === undefined) return;
    const out = execPlugin(ctx.host, conf.ipamType, { ...ctx.env, CNI_COMMAND: 'STATUS' }, ctx.stdin);
    if (out.code !== 0) throw CniError.fromJson(JSON.parse(out.stdout) as unknown);
  },
});
