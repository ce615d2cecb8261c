/**
 * The emulated kernel (netsim Ipvs, Ipsets, NetNamespace) behind the IPVS
 * proxier's interfaces.
 */
import type { Ipvs, IpvsScheduler } from '../../netsim/ipvs/ipvs.ts';
import type { Ipsets } from '../../netsim/ipset/ipset.ts';
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { DummyDevice } from '../../netsim/link/dummy.ts';
import { randomMac } from '../../netsim/topology.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import type { IpsetInterface, IpvsInterface, NetlinkHandle, VirtualServerSpec } from './interfaces.ts';

export function netsimIpvs(ipvs: Ipvs): IpvsInterface {
  const find = (v: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>) => ipvs.lookupService(v.protocol, parseIpv4(v.address), v.port);
  return {
    listVirtualServers: () => ipvs.listServices().map((s) => ({ address: formatIpv4(s.addr), port: s.port, protocol: s.proto, scheduler: s.scheduler, ...(s.persistent !== undefined ? { persistentTimeout: s.persistent } : {}) })),
    ensureVirtualServer: (vs) => {
      const s = find(vs);
      const sched = vs.scheduler as IpvsScheduler;
      if (s === undefined) ipvs.addService(vs.protocol, parseIpv4(vs.address), vs.port, sched, vs.persistentTimeout);
      else if (s.scheduler !== sched || s.persistent !== vs.persistentTimeout) ipvs.editService(vs.protocol, parseIpv4(vs.address), vs.port, sched, vs.persistentTimeout);
    },
    deleteVirtualServer: (vs) => {
      if (find(vs) !== undefined) ipvs.deleteService(vs.protocol, parseIpv4(vs.address), vs.port);
    },
    listRealServers: (vs) => (find(vs)?.reals ?? []).map((r) => ({ address: formatIpv4(r.addr), port: r.port, weight: r.weight, activeConn: r.activeConns, inactConn: r.inactConns })),
    ensureRealServer: (vs, address, port, weight) => {
      const s = find(vs);
      if (s === undefined) return;
      const a = parseIpv4(address);
      if (s.reals.some((r) => r.addr === a && r.port === port)) ipvs.setWeight(s, a, port, weight);
      else ipvs.addReal(s, a, port, weight);
    },
    deleteRealServer: (vs, address, port) => {
      const s = find(vs);
      const a = parseIpv4(address);
      if (s !== undefined && s.reals.some((r) => r.addr === a && r.port === port)) ipvs.deleteReal(s, a, port);
    },
    list: () => ipvs.list(),
    hasVirtualServer: (vs) => find(vs) !== undefined,
    generation: () => ipvs.generation,
  };
}

export function netsimIpsets(sets: Ipsets): IpsetInterface {
  return { restore: (text) => sets.restore(text), save: () => sets.save(), list: () => sets.list(), generation: () => sets.generation, testEntry: (set, entry) => sets.has(set) && sets.testElement(set, entry) };
}

export function netsimNetlink(ns: NetNamespace): NetlinkHandle {
  return {
    ensureDummyDevice: (name) => {
      if (!ns.devices.has(name)) ns.addDevice(new DummyDevice(ns.sim, name, randomMac(ns.sim)));
    },
    ensureAddressBind: (address, dev) => {
      if (ns.addressesOf(dev).some((a) => formatIpv4(a.addr) === address)) return false;
      ns.addAddress(dev, `${address}/32`);
      return true;
    },
    unbindAddress: (address, dev) => ns.delAddress(dev, `${address}/32`),
    boundAddresses: (dev) => (ns.devices.has(dev) ? ns.addressesOf(dev).map((a) => formatIpv4(a.addr)) : []),
    nodeAddresses: (exclude) => [...ns.devices.keys()].filter((d) => d !== exclude && ns.device(d).kind !== 'loopback').flatMap((d) => ns.addressesOf(d).map((a) => formatIpv4(a.addr))).filter((a) => !a.startsWith('127.')),
  };
}
