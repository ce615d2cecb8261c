/**
 * Namespaces sharing their nf_tables lines (share.ts) show what namespaces of their own
 * show: kube-proxy's full and partial syncs on two nodes (one with Local endpoints of
 * its own) list the same rulesets, with handles and as JSON, and evaluate packets to
 * the same verdicts, counters and set updates; a batch that fails reports nft's error
 * at the whole text's location and changes nothing; random batches of good and bad
 * lines (property test) end the same either way. And the share engaged: the nodes hold
 * one copy of the statements and elements they have alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Nftables } from './nftables.ts';
import { NftShare } from './share.ts';
import { evaluateBaseChain } from './evaluate.ts';
import type { NftEnv } from './evaluate.ts';
import type { Chain, Table } from './model.ts';
import { NftablesProxier } from '../../../proxy/nftables/proxier.ts';
import { netsimNftablesBackend } from '../../../proxy/nftables/netsim-backend.ts';
import { CLUSTER_CIDR, NODE, scaleFixture } from '../../../proxy/fixtures.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../../../proxy/service-port.ts';
import { scaleFirstPackets } from '../../../bench/scale-packets.ts';
import { Rng } from '../../time/rng.ts';

/** Two nodes' kernels (node01 has Local endpoints of its own, node7 none), shared or not, programmed by their kube-proxies through churn. */
function twoNodes(share: NftShare | undefined): Nftables[] {
  const { services, slices } = scaleFixture(60, 2);
  const out: Nftables[] = [];
  for (const nodeName of [NODE, 'node7']) {
    const nft = new Nftables(() => 5e9, share);
    const p = new NftablesProxier(netsimNftablesBackend(nft), { nodeName, nodeIP: '192.168.50.11', clusterCIDR: CLUSTER_CIDR, serviceCIDRs: ['10.96.0.0/12'] });
    for (const s of services) p.onServiceUpdate(undefined, serviceInfoFromApi(s));
    for (const s of slices.slice(0, 40)) {
      const info = endpointSliceInfoFromApi(s);
      if (info !== undefined) p.onEndpointSliceUpdate(info, false);
    }
    p.sync();
    // Partial syncs: more endpoints, then Services going away.
    for (const s of slices.slice(40)) {
      const info = endpointSliceInfoFromApi(s);
      if (info !== undefined) p.onEndpointSliceUpdate(info, false);
    }
    p.sync();
    for (const s of services.slice(0, 7)) p.onServiceUpdate(serviceInfoFromApi(s), undefined);
    p.sync();
    out.push(nft);
  }
  return out;
}

const env = (): NftEnv => ({
  inDev: 'cni0', outDev: undefined, ctState: 8, ctStatus: 0, ctMark: 0, setCtMark: undefined, now: 6e9, rng: new Rng(3),
  addrType: () => 'UNICAST', onRule: undefined, onLog: undefined,
});

/** Every view of a kernel, and the verdicts of first packets to 8 Services (twice: affinity sets fill on the first). */
function views(nft: Nftables): string[] {
  const table = nft.ruleset.tables.get('ip kube-proxy') as Table;
  const e = env();
  const verdicts = [...scaleFirstPackets(60), ...scaleFirstPackets(60)].map((p) => JSON.stringify(evaluateBaseChain(table, table.chains.get('nat-prerouting') as Chain, p, e)));
  return [nft.listRuleset(), nft.listRuleset({ handles: true }), nft.listRulesetJson(), ...verdicts, nft.listRuleset({ handles: true })];
}

test('kube-proxy nftables mode on two nodes: the same rulesets, JSON, verdicts and set updates with the share as without', () => {
  const share = new NftShare();
  const on = twoNodes(share);
  const off = twoNodes(undefined);
  for (let i = 0; i < 2; i++) assert.deepEqual(views(on[i] as Nftables), views(off[i] as Nftables));
  assert.notEqual((on[0] as Nftables).listRuleset(), (on[1] as Nftables).listRuleset(), 'node01 has rules of its own');
  // The share engaged: most rules of node7 hold node01's statements, and lines were served from it.
  const [a, b] = on.map((n) => n.ruleset.tables.get('ip kube-proxy') as Table) as [Table, Table];
  let same = 0;
  let total = 0;
  for (const [name, ch] of b.chains) {
    const other = a.chains.get(name);
    ch.rules.forEach((r, i) => {
      total++;
      if (other?.rules[i]?.stmts === r.stmts) same++;
    });
  }
  assert.ok(same > total * 0.8, `${same} of ${total} rules share their statements`);
  const elemsA = a.sets.get('service-ips')?.elems;
  const elemsB = b.sets.get('service-ips')?.elems;
  const k = [...(elemsB?.keys() ?? [])][3] as string;
  assert.ok(elemsA?.get(k) !== undefined && elemsA.get(k) === elemsB?.get(k), 'a map element is one object for both nodes');
  assert.ok(share.stats().hits > share.stats().parsed);
});

test('a batch that fails with shared lines reports the whole text\'s error and location, and changes nothing', () => {
  const good = 'add table ip t\nadd chain ip t c\nadd rule ip t c ip daddr 10.0.0.1 counter accept\n';
  const bad = 'add chain ip t d\nadd rule ip t d jump nowhere\nadd rule ip t c ip daddr 10.0.0.2 drop\n';
  const share = new NftShare();
  const shared = [new Nftables(() => 0, share), new Nftables(() => 0, share)];
  const own = new Nftables();
  for (const n of [...shared, own]) n.apply(good);
  const want = own.tryApply(bad);
  assert.equal(want.ok, false);
  for (const n of shared) {
    assert.deepEqual(n.tryApply(bad), want);
    assert.equal(n.listRuleset({ handles: true }), own.listRuleset({ handles: true }));
  }
  if (!want.ok) assert.match(want.report, /^<cmdline>:2:|:2:/m);
});

test('text that is not a command a line (a block over several lines) is parsed whole, to the same ruleset', () => {
  const text = 'table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.1 }\n\t}\n\tchain c {\n\t\tip saddr @s accept\n\t}\n}\n';
  const share = new NftShare();
  const a = new Nftables(() => 0, share);
  const b = new Nftables();
  a.apply(text);
  b.apply(text);
  assert.equal(a.listRuleset({ handles: true }), b.listRuleset({ handles: true }));
  assert.equal(share.stats().parsed, 0);
});

/** Lines of knftables' shape, some refused by nft (missing objects, bad types, duplicates). */
const LINES = [
  'add table ip t',
  'add table ip t { comment "x" ; }',
  'add chain ip t a',
  'add chain ip t b',
  'add chain ip t base { type filter hook input priority 0 ; }',
  'flush chain ip t a',
  'delete chain ip t b',
  'add map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }',
  'add set ip t s { type ipv4_addr ; flags dynamic,timeout ; timeout 30s ; }',
  'add element ip t m { 10.0.0.1 . tcp . 80 : goto a }',
  'add element ip t m { 10.0.0.1 . tcp . 80 : goto b }',
  'add element ip t m { 10.0.0.2 . udp . 53 : jump b }',
  'delete element ip t m { 10.0.0.2 . udp . 53 }',
  'add element ip t s { 10.0.0.9 }',
  'add element ip t m { 10.0.0.3 }',
  'add rule ip t a ip daddr 10.0.0.1 counter accept',
  'add rule ip t b update @s { ip saddr }',
  'add rule ip t base ip daddr . meta l4proto . th dport vmap @m',
  'add rule ip t a jump b',
  'add rule ip t b jump a',
  'add rule ip t a numgen random mod 2 vmap { 0 : goto b, 1 : accept }',
  'add rule ip t nope accept',
  'flush ruleset',
];

test('property: random batches of good and bad lines end the same in namespaces sharing them as in namespaces of their own', () => {
  fc.assert(fc.property(fc.array(fc.array(fc.constantFrom(...LINES), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), (batches) => {
    const share = new NftShare();
    const shared = [new Nftables(() => 0, share), new Nftables(() => 0, share)];
    const own = new Nftables();
    for (const lines of batches) {
      const text = `${lines.join('\n')}\n`;
      const want = own.tryApply(text);
      for (const n of shared) assert.deepEqual(n.tryApply(text), want);
    }
    for (const n of shared) {
      assert.equal(n.listRuleset({ handles: true }), own.listRuleset({ handles: true }));
      assert.equal(n.listRulesetJson(), own.listRulesetJson());
    }
  }), { numRuns: 150 });
});
