/**
 * Upstream kube-proxy's iptables proxier tests, as data (tests/upstream/kube-proxy/),
 * run against the emulated kube-proxy writing into the emulated kernel: the restore
 * text after upstream's sortIPTablesRules, single chains, rule-jump consistency, and
 * packet flows through a tracer with upstream's semantics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import type { EndpointSlice, Service } from '../../control/api/service.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../service-port.ts';
import { IptablesProxier } from './proxier.ts';
import type { IptablesProxierOptions } from './proxier.ts';
import { netsimIptablesBackend } from './netsim-backend.ts';
import { NFACCT_COUNTERS } from './rules.ts';
import { checkIPTablesRuleJumps, chainRules, sortIPTablesRules } from '../../tests/support/upstream-iptables.ts';
import { tracePacketUpstream } from '../../tests/support/upstream-tracer.ts';
import type { PacketFlowTest } from '../../tests/support/upstream-tracer.ts';

interface SliceSpec {
  readonly ns: string;
  readonly svc: string;
  /** upstream makeTestEndpointSlice names slices "<svc>-<n>". */
  readonly n?: number;
  readonly addressType?: 'IPv4' | 'IPv6';
  readonly endpoints: EndpointSlice['endpoints'];
  readonly ports: NonNullable<EndpointSlice['ports']>;
}

interface Step {
  readonly services?: readonly Service[];
  readonly endpointSlices?: readonly SliceSpec[];
  readonly deleteServices?: readonly string[];
  readonly deleteEndpointSlices?: readonly string[];
  /** The whole restore text of this step's sync (sorted as upstream sorts it). */
  readonly expected?: string;
  readonly expectChains?: ReadonlyArray<{ table: string; chain: string; rules: string }>;
  readonly flows?: readonly PacketFlowTest[];
}

interface Case extends Step {
  readonly name: string;
  readonly options?: Partial<IptablesProxierOptions>;
  readonly steps?: readonly Step[];
}

/** upstream NewFakeProxier's environment (see the README's conventions). */
const TEST_NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
const FAKE_PROXIER: IptablesProxierOptions = {
  nodeName: 'test-node', nodeIP: '192.168.0.2', clusterCIDR: '10.0.0.0/8', localhostNodePorts: true,
  randomFully: false, nfacctCounters: NFACCT_COUNTERS, nodeIPs: ['127.0.0.1', ...TEST_NODE_IPS],
};

function toSlice(s: SliceSpec): EndpointSlice {
  return {
    metadata: { name: `${s.svc}-${s.n ?? 1}`, namespace: s.ns, labels: { 'kubernetes.io/service-name': s.svc } },
    addressType: s.addressType ?? 'IPv4',
    endpoints: s.endpoints,
    ports: s.ports,
  };
}

export function loadCases(file: string): Case[] {
  const doc = parse(readFileSync(new URL(`../../tests/upstream/kube-proxy/${file}`, import.meta.url), 'utf8')) as { cases: Case[] };
  return doc.cases;
}

function runCase(c: Case): void {
  const ipt = new Iptables();
  for (const n of NFACCT_COUNTERS) ipt.nfacct.set(n, { pkts: 0, bytes: 0 });
  const p = new IptablesProxier(netsimIptablesBackend(ipt), { ...FAKE_PROXIER, ...c.options });
  const services = new Map<string, Service>();
  const slices = new Map<string, EndpointSlice>();
  // Services and slices given at the case level belong to its first step.
  const steps: Step[] = c.steps !== undefined ? [...c.steps] : [c];
  if (c.steps !== undefined) steps[0] = { ...steps[0], services: [...(c.services ?? []), ...(steps[0]?.services ?? [])], endpointSlices: [...(c.endpointSlices ?? []), ...(steps[0]?.endpointSlices ?? [])] };
  steps.forEach((s, i) => {
    const where = `${c.name} step ${i + 1}`;
    for (const svc of s.services ?? []) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      const old = services.get(key);
      p.onServiceUpdate(old !== undefined ? serviceInfoFromApi(old) : undefined, serviceInfoFromApi(svc));
      services.set(key, svc);
    }
    for (const key of s.deleteServices ?? []) {
      const old = services.get(key);
      assert.ok(old !== undefined, `${where}: no service ${key}`);
      p.onServiceUpdate(serviceInfoFromApi(old), undefined);
      services.delete(key);
    }
    for (const spec of s.endpointSlices ?? []) {
      const sl = toSlice(spec);
      slices.set(`${spec.ns}/${sl.metadata.name}`, sl);
      const info = endpointSliceInfoFromApi(sl);
      if (info !== undefined) p.onEndpointSliceUpdate(info, false);
    }
    for (const key of s.deleteEndpointSlices ?? []) {
      const sl = slices.get(key);
      assert.ok(sl !== undefined, `${where}: no slice ${key}`);
      const info = endpointSliceInfoFromApi(sl);
      if (info !== undefined) p.onEndpointSliceUpdate(info, true);
      slices.delete(key);
    }
    const text = p.sync().iptablesText;
    if (s.expected !== undefined) {
      assert.equal(sortIPTablesRules(text), s.expected, `${where}: rules`);
      assert.equal(checkIPTablesRuleJumps(s.expected), undefined, `${where}: expected rules are consistent`);
    }
    for (const e of s.expectChains ?? []) assert.equal(chainRules(text, e.table, e.chain), e.rules, `${where}: ${e.table} ${e.chain}`);
    for (const f of s.flows ?? []) {
      const got = tracePacketUpstream(ipt, TEST_NODE_IPS, f);
      assert.deepEqual({ output: got.output, masq: got.masq }, { output: f.output, masq: f.masq ?? false }, `${where}: ${f.name}\n${got.matches.join('\n')}`);
    }
  });
}

for (const file of ['iptables.yaml', 'semantics.yaml']) {
  for (const c of loadCases(file)) test(`${file}: ${c.name}`, () => runCase(c));
}
