/**
 * The `portmap` plugin (containernetworking/plugins plugins/meta/portmap), chained
 * after bridge with `capabilities: {portMappings: true}`. From
 * `runtimeConfig.portMappings` and the container addresses in prevResult it writes
 * the real plugin's nat rules:
 * - `PREROUTING`/`OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT`;
 * - per container and protocol `CNI-HOSTPORT-DNAT -p P -m comment --comment "dnat
 *   name: …" -m multiport --dports H1,H2 -j CNI-DN-<hash>`;
 * - in `CNI-DN-<hash>` per mapping: hairpin (`-s <container subnet>`) and localhost
 *   (`-s 127.0.0.1/32`) traffic jumps to `CNI-HOSTPORT-SETMARK` (mark 0x2000, bit 13),
 *   then `-j DNAT --to-destination C:P`;
 * - `POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j
 *   CNI-HOSTPORT-MASQ` inserted first (prependEntry), which masquerades the marked
 *   packets; route_localnet=1 on the host device that routes to the container (the
 *   bridge), so localhost can reach a hostPort.
 * DEL (given the mappings again in runtimeConfig, as libcni passes them) removes the
 * container's chain and the jumps to it; without mappings it does nothing, like the
 * reference plugin.
 *
 * Not modelled: IPv6, `conditionsV4`, `externalSetMarkChain`, the nftables backend,
 * conntrack flushing of UDP entries.
 */
import { CniError, cniError } from '../errors.ts';
import { pluginMain, prevResultOf } from '../plugin.ts';
import type { PluginContext } from '../plugin.ts';
import { isObject, optBool, optInt } from '../spec/config.ts';
import { Ipv4Interface, formatIpv4 } from '../../netsim/wire/addr.ts';
import { NatPatch, formatChainName, quoteComment } from './iptables-text.ts';
import { ipOrFail } from './addr-util.ts';
import { saveRules } from '../host.ts';

export const HOSTPORT_DNAT = 'CNI-HOSTPORT-DNAT';
export const HOSTPORT_SETMARK = 'CNI-HOSTPORT-SETMARK';
export const HOSTPORT_MASQ = 'CNI-HOSTPORT-MASQ';
/** portmap DefaultMarkBit. */
export const DEFAULT_MARK_BIT = 13;

export interface PortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly hostIP: string | undefined;
}

function parseMappings(ctx: PluginContext): PortMapping[] {
  const rc = ctx.conf.runtimeConfig;
  const raw = rc === undefined ? undefined : rc['portMappings'];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new CniError(7, 'invalid network config', 'runtimeConfig.portMappings must be a list');
  return raw.map((m) => {
    if (!isObject(m)) throw new CniError(7, 'invalid network config', 'port mapping must be an object');
    const hostPort = optInt(m, 'hostPort', 1, 65535);
    const containerPort = optInt(m, 'containerPort', 1, 65535);
    if (hostPort === undefined || containerPort === undefined) throw new CniError(7, 'invalid network config', 'Invalid host port number: 0');
    const protocol = String(m['protocol'] ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new CniError(7, 'invalid network config', `Invalid protocol ${protocol}`);
    const hostIP = m['hostIP'] === undefined || m['hostIP'] === '' ? undefined : formatIpv4(ipOrFail(m['hostIP'], 'hostIP'));
    return { hostPort, containerPort, protocol, hostIP };
  });
}

function markOf(ctx: PluginContext): string {
  const bit = optInt(ctx.conf, 'markMasqBit', 0, 31) ?? DEFAULT_MARK_BIT;
  const m = `0x${(2 ** bit).toString(16)}`;
  return `${m}/${m}`;
}

/** The rules for one container, as iptables-save prints them. */
export function portmapRules(network: string, containerId: string, containerIp: Ipv4Interface, mappings: readonly PortMapping[], opts: { snat: boolean; mark: string }): {
  dnChain: string; dnatJumps: string[]; dnRules: string[]; setmark: string; masq: string;
} {
  const dnChain = formatChainName('CNI-DN-', network, containerId);
  const comment = quoteComment(`dnat name: "${network}" id: "${containerId}"`);
  const protos: Array<PortMapping['protocol']> = [];
  for (const m of mappings) if (!protos.includes(m.protocol)) protos.push(m.protocol);
  const dnatJumps = protos.map((p) => `-p ${p} -m comment --comment ${comment} -m multiport --dports ${mappings.filter((m) => m.protocol === p).map((m) => m.hostPort).join(',')} -j ${dnChain}`);
  const dnRules: string[] = [];
  for (const m of mappings) {
    const dst = m.hostIP !== undefined ? `-d ${m.hostIP}/32 ` : '';
    const match = `-p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort}`;
    if (opts.snat) {
      dnRules.push(`-s ${containerIp.cidr.toString()} ${dst}${match} -j ${HOSTPORT_SETMARK}`);
      dnRules.push(`-s 127.0.0.1/32 ${dst}${match} -j ${HOSTPORT_SETMARK}`);
    }
    dnRules.push(`${dst}${match} -j DNAT --to-destination ${formatIpv4(containerIp.addr)}:${m.containerPort}`);
  }
  return {
    dnChain, dnatJumps, dnRules,
    setmark: `-m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${opts.mark}`,
    masq: `-m mark --mark ${opts.mark} -j MASQUERADE`,
  };
}

function add(ctx: PluginContext) {
  const prev = prevResultOf(ctx.conf);
  if (prev === undefined) throw cniError('INVALID_NETWORK_CONFIG', 'must be called as chained plugin');
  const mappings = parseMappings(ctx);
  if (mappings.length === 0) return prev;
  const ip = (prev.ips ?? []).map((i) => Ipv4Interface.parse(i.address))[0];
  if (ip === undefined) throw new CniError(999, 'no IPv4 address in prevResult for port mapping');
  const snat = optBool(ctx.conf, 'snat') ?? true;
  const r = portmapRules(ctx.conf.name, ctx.args.containerId, ip, mappings, { snat, mark: markOf(ctx) });
  const p = new NatPatch(ctx.host.iptables);
  if (snat) {
    p.ensureChain(HOSTPORT_SETMARK).appendUnique(HOSTPORT_SETMARK, r.setmark);
    p.ensureChain(HOSTPORT_MASQ).appendUnique(HOSTPORT_MASQ, r.masq);
    // prependEntry: first in POSTROUTING, or the bridge plugin's masquerade rules would stomp on it.
    p.insertUnique('POSTROUTING', `-m comment --comment "CNI portfwd requiring masquerade" -j ${HOSTPORT_MASQ}`);
    // enableLocalnetRouting(getRoutableHostIF(containerIP)): on the host device that routes to the container only.
    const hostIf = ctx.host.ns.lookupRoute(ip.addr)?.dev?.name;
    if (hostIf !== undefined) ctx.host.ns.devRouteLocalnet.add(hostIf);
  }
  p.ensureChain(HOSTPORT_DNAT);
  p.appendUnique('PREROUTING', `-m addrtype --dst-type LOCAL -j ${HOSTPORT_DNAT}`);
  p.appendUnique('OUTPUT', `-m addrtype --dst-type LOCAL -j ${HOSTPORT_DNAT}`);
  // The container's chain is rewritten whole: declaring it flushes it in a --noflush restore.
  const lines = [`*nat`];
  const body = p.text();
  if (body !== '') lines.push(...body.split('\n').slice(1, -2));
  lines.push(`:${r.dnChain} - [0:0]`);
  for (const d of r.dnRules) lines.push(`-A ${r.dnChain} ${d}`);
  for (const j of r.dnatJumps) if (!p.hasRule(HOSTPORT_DNAT, j)) lines.push(`-A ${HOSTPORT_DNAT} ${j}`);
  lines.push('COMMIT', '');
  ctx.host.iptables.restore(lines.join('\n'), { noflush: true });
  return prev;
}

function del(ctx: PluginContext): void {
  // As the reference plugin: nothing to undo unless the runtime passes the mappings (libcni does on every command).
  if (parseMappings(ctx).length === 0) return;
  const dnChain = formatChainName('CNI-DN-', ctx.conf.name, ctx.args.containerId);
  const save = ctx.host.iptables.save({ table: 'nat' });
  const p = new NatPatch(ctx.host.iptables);
  for (const spec of saveRules(save, HOSTPORT_DNAT)) if (spec.endsWith(`-j ${dnChain}`)) p.deleteIfPresent(HOSTPORT_DNAT, spec);
  p.removeChain(dnChain);
  p.apply();
}

export const portmap = pluginMain({
  add,
  del,
  check(ctx) {
    if (prevResultOf(ctx.conf) === undefined) throw cniError('INVALID_NETWORK_CONFIG', 'must be called as chained plugin');
    const mappings = parseMappings(ctx);
    if (mappings.length === 0) return;
    const dnChain = formatChainName('CNI-DN-', ctx.conf.name, ctx.args.containerId);
    if (saveRules(ctx.host.iptables.save({ table: 'nat' }), dnChain).length === 0) throw new CniError(999, `chain ${dnChain} is missing`);
  },
});
