/**
 * Upstream kube-proxy's IPVS proxier tests (pkg/proxy/ipvs/proxier_test.go), as data
 * (tests/upstream/kube-proxy/ipvs.yaml), run against the emulated kube-proxy writing
 * into the emulated kernel. What upstream compares through its fakes is read back
 * from the kernel here: the virtual and real servers (FakeIPVS, checkIPVS), the
 * ipsets' entries (checkIPSet), the rules of a chain in nat then filter with their
 * jump and --match-set (checkIptables), and kube-ipvs0's addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Ipvs } from '../../netsim/ipvs/ipvs.ts';
import type { IpvsProto, IpvsScheduler } from '../../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../../netsim/ipset/ipset.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { DummyDevice } from '../../netsim/link/dummy.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { IpvsProxier, DUMMY_DEVICE } from './proxier.ts';
import type { IpvsProxierOptions } from './proxier.ts';
import { netsimIpsets, netsimIpvs, netsimNetlink } from './netsim-adapters.ts';
import { netsimIptablesBackend } from '../iptables/netsim-backend.ts';
import { readSetEntries } from './ipsets.ts';
import { parseDump } from '../../tests/support/upstream-iptables.ts';
import { loadUpstreamCases, stepsOf, UpstreamObjects } from '../../tests/support/upstream-objects.ts';
import type { ObjectStep } from '../../tests/support/upstream-objects.ts';

/** One rule as upstream's checkIptables reads it: its jump, its --match-set (none when absent), and optionally -s and --random-fully. */
interface RuleExpectation {
  readonly jump: string;
  readonly set?: string;
  readonly source?: string;
  readonly randomFully?: boolean;
}

interface Step extends ObjectStep {
  /** Before the sync: set these real servers' weight ("PROTO ip:port" → weight), as a test reaching into the fake IPVS does. */
  readonly setWeights?: Readonly<Record<string, number>>;
  /** Before the sync: a new proxier on the same kernel (kube-proxy restarted; its first sync is an initial one). */
  readonly restart?: boolean;
  /** After the sync: the graceful-termination check (gracefuldeleteManager.tryDeleteRs). */
  readonly housekeeping?: boolean;
  /** The whole IPVS state (reflect.DeepEqual of FakeIPVS): "PROTO ip:port scheduler[ persistent N]" → real servers "ip:port" (weight 1) or "ip:port weight N". */
  readonly expectIPVS?: Readonly<Record<string, readonly string[]>>;
  /** The number of virtual servers (checkIPVS's VSNum, len(GetVirtualServers())). */
  readonly expectVirtualServerCount?: number;
  /** Some virtual servers' real servers ("PROTO ip:port" → servers), the others not compared. */
  readonly expectRealServers?: Readonly<Record<string, readonly string[]>>;
  /** Every virtual server's persistence timeout. */
  readonly expectPersistence?: number;
  /** Exactly these entries in each named set (entry.String() form). */
  readonly expectIPSets?: Readonly<Record<string, readonly string[]>>;
  /** Exactly these rules, in order, in each named chain (nat first, then filter). */
  readonly expectChains?: Readonly<Record<string, readonly RuleExpectation[]>>;
  /** The chains the restore input declares, per table, in order. */
  readonly expectChainDecls?: Readonly<Record<string, readonly string[]>>;
  /** kube-ipvs0's addresses (ListBindAddress). */
  readonly expectBound?: readonly string[];
}

interface Case extends Step {
  readonly name: string;
  /** The addresses on eth0 (NewFakeProxier's nodeIPs; other families ignored). */
  readonly nodeIPs?: readonly string[];
  readonly options?: Partial<IpvsProxierOptions>;
  /** Virtual servers someone made before kube-proxy's first sync ("PROTO ip:port scheduler" → real servers). */
  readonly existing?: Readonly<Record<string, readonly string[]>>;
  /** Addresses already on kube-ipvs0 before the first sync. */
  readonly existingBound?: readonly string[];
  readonly steps?: readonly Step[];
}

/** upstream NewFakeProxier (IPVS): node test-node, no local-traffic detector (so KUBE-CLUSTER-IP masquerades src,dst), rr, no --random-fully, no node IP. */
const FAKE_PROXIER: IpvsProxierOptions = { nodeName: 'test-node', randomFully: false };

function vsParts(key: string): { proto: IpvsProto; addr: string; port: number; scheduler: IpvsScheduler; persistent?: number } {
  const m = /^(TCP|UDP|SCTP) (\d+\.\d+\.\d+\.\d+):(\d+)(?: (\w+))?(?: persistent (\d+))?$/.exec(key);
  assert.ok(m !== null, `virtual server key "${key}"`);
  return { proto: m[1] as IpvsProto, addr: m[2] as string, port: Number(m[3]), scheduler: (m[4] ?? 'rr') as IpvsScheduler, ...(m[5] !== undefined ? { persistent: Number(m[5]) } : {}) };
}

function realParts(r: string): { addr: string; port: number; weight: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)(?: weight (\d+))?$/.exec(r);
  assert.ok(m !== null, `real server "${r}"`);
  return { addr: m[1] as string, port: Number(m[2]), weight: m[3] !== undefined ? Number(m[3]) : 1 };
}

/** The kernel's IPVS table as "PROTO ip:port scheduler[ persistent N]" → sorted "ip:port[ weight N]". */
function ipvsState(ipvs: Ipvs): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const v of netsimIpvs(ipvs).listVirtualServers()) {
    const key = `${v.protocol} ${v.address}:${v.port} ${v.scheduler}${v.persistentTimeout !== undefined ? ` persistent ${v.persistentTimeout}` : ''}`;
    const reals = netsimIpvs(ipvs).listRealServers(v).map((r) => `${r.address}:${r.port}${r.weight === 1 ? '' : ` weight ${r.weight}`}`);
    out.set(key, reals.sort());
  }
  return out;
}

/** upstream getRules: a chain's rules from `iptables-save` of nat, then filter. */
function chainRulesOf(ipt: Iptables, chain: string): RuleExpectation[] {
  const tables = parseDump(ipt.save());
  const rules: string[] = [];
  for (const t of ['nat', 'filter']) rules.push(...(tables.find((x) => x.name === t)?.chains.find((c) => c.name === chain)?.rules ?? []));
  return rules.map((r) => {
    const set = / --match-set (\S+)/.exec(r)?.[1];
    const source = / -s (\S+)/.exec(r)?.[1];
    return { jump: / -j (\S+)/.exec(r)?.[1] ?? '', ...(set !== undefined ? { set } : {}), ...(source !== undefined ? { source } : {}), randomFully: r.includes('--random-fully') };
  });
}

function runCase(c: Case): void {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, 'test-node', 'test-node');
  ns.addDevice(new DummyDevice(sim, 'eth0', 0x0a0000000001));
  for (const ip of c.nodeIPs ?? []) if (!ip.includes(':')) ns.addAddress('eth0', `${ip}/32`);
  const ipvs = new Ipvs(() => sim.clock.now());
  const sets = new Ipsets();
  const ipt = new Iptables();
  ipt.setExists = (n) => sets.has(n);
  for (const [key, reals] of Object.entries(c.existing ?? {})) {
    const v = vsParts(key);
    const vs = ipvs.addService(v.proto, parseIpv4(v.addr), v.port, v.scheduler, v.persistent);
    for (const r of reals.map(realParts)) ipvs.addReal(vs, parseIpv4(r.addr), r.port, r.weight);
  }
  const netlink = netsimNetlink(ns);
  if ((c.existingBound ?? []).length > 0) netlink.ensureDummyDevice(DUMMY_DEVICE);
  for (const a of c.existingBound ?? []) netlink.ensureAddressBind(a, DUMMY_DEVICE);
  const deps = { ipvs: netsimIpvs(ipvs), ipset: netsimIpsets(sets), netlink, iptables: netsimIptablesBackend(ipt) };
  const opts = { ...FAKE_PROXIER, ...c.options };
  let p = new IpvsProxier(deps, opts);
  const objects = new UpstreamObjects(p);
  stepsOf(c).forEach((s, i) => {
    const where = `${c.name} step ${i + 1}`;
    if (s.restart === true) {
      p = new IpvsProxier(deps, opts);
      objects.restart(p);
    }
    objects.apply(s, where);
    for (const [key, weight] of Object.entries(s.setWeights ?? {})) {
      const v = vsParts(key);
      const vs = ipvs.lookupService(v.proto, parseIpv4(v.addr), v.port);
      assert.ok(vs !== undefined, `${where}: no virtual server ${key}`);
      for (const r of [...vs.reals]) ipvs.setWeight(vs, r.addr, r.port, weight);
    }
    p.sync();
    if (s.housekeeping === true) p.housekeeping();
    const state = ipvsState(ipvs);
    if (s.expectIPVS !== undefined) {
      const want = new Map(Object.entries(s.expectIPVS).map(([k, v]) => [k, v.map((r) => { const x = realParts(r); return `${x.addr}:${x.port}${x.weight === 1 ? '' : ` weight ${x.weight}`}`; }).sort()]));
      assert.deepEqual(Object.fromEntries([...state].sort()), Object.fromEntries([...want].sort()), `${where}: IPVS`);
    }
    if (s.expectVirtualServerCount !== undefined) assert.equal(state.size, s.expectVirtualServerCount, `${where}: virtual servers ${[...state.keys()].join(', ')}`);
    for (const [key, reals] of Object.entries(s.expectRealServers ?? {})) {
      const got = [...state].find(([k]) => k === key || k.startsWith(`${key} `));
      assert.ok(got !== undefined, `${where}: no virtual server ${key} in ${[...state.keys()].join(', ')}`);
      assert.deepEqual(got[1], [...reals].sort(), `${where}: real servers of ${key}`);
    }
    if (s.expectPersistence !== undefined) {
      for (const v of netsimIpvs(ipvs).listVirtualServers()) assert.equal(v.persistentTimeout, s.expectPersistence, `${where}: persistence of ${v.protocol} ${v.address}:${v.port}`);
    }
    const entries = readSetEntries(sets.save());
    for (const [set, want] of Object.entries(s.expectIPSets ?? {})) {
      assert.deepEqual([...(entries.get(set) ?? [])].sort(), [...want].sort(), `${where}: ipset ${set}`);
    }
    for (const [chain, want] of Object.entries(s.expectChains ?? {})) {
      const got = chainRulesOf(ipt, chain);
      const shown = got.map((r) => ({ jump: r.jump, ...(r.set !== undefined ? { set: r.set } : {}) }));
      assert.equal(got.length, want.length, `${where}: ${chain} has ${got.length} rules, want ${want.length}: ${JSON.stringify(shown)}`);
      want.forEach((w, j) => {
        const g = got[j] as RuleExpectation;
        assert.equal(g.jump, w.jump, `${where}: ${chain} rule ${j + 1} jump`);
        assert.equal(g.set, w.set, `${where}: ${chain} rule ${j + 1} --match-set`);
        if (w.source !== undefined) assert.equal(g.source, w.source, `${where}: ${chain} rule ${j + 1} -s`);
        if (w.randomFully !== undefined) assert.equal(g.randomFully, w.randomFully, `${where}: ${chain} rule ${j + 1} --random-fully`);
      });
    }
    for (const [table, chains] of Object.entries(s.expectChainDecls ?? {})) {
      const declared = parseDump(p.lastText).find((t) => t.name === table)?.chains.filter((ch) => ch.declared).map((ch) => ch.name);
      assert.deepEqual(declared, chains, `${where}: ${table} chains`);
    }
    if (s.expectBound !== undefined) assert.deepEqual(netlink.boundAddresses(DUMMY_DEVICE).sort(), [...s.expectBound].sort(), `${where}: kube-ipvs0 addresses`);
  });
}

for (const c of loadUpstreamCases<Case>('ipvs.yaml')) test(`ipvs.yaml: ${c.name}`, () => runCase(c));
