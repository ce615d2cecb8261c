/**
 * The matrix measures the datapath, not the policies: with no enforcer involved, a DROP
 * and a REJECT written into the nodes' FORWARD chains by hand turn exactly the cells they
 * match into X (and the comparison with the — policy-free — expectation reports them),
 * while SCTP cells stay unmeasured. Also the table layout of upstream's truthtable.go
 * and the JSON round trip a live `netsim up` answer takes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../cluster.ts';
import { loadClusterSpec } from '../spec.ts';
import { matrixFromJson, matrixJson, matrixText, modelManifests, runPolicyMatrix, TruthTable } from './index.ts';

let c: Cluster;
before(async () => {
  c = await Cluster.build(loadClusterSpec('examples/empty-cluster.yaml'), { manifests: modelManifests(['x', 'y']) });
});
after(async () => {
  await c?.close();
});

test('truth tables print as upstream PrettyPrint: tab-separated, "-" corner, . X and ? cells', () => {
  const t = new TruthTable(['x/a', 'x/b']);
  t.set('x/a', 'x/a', true);
  t.set('x/a', 'x/b', false);
  t.set('x/b', 'x/a', true);
  assert.equal(t.render(), '-\tx/a\tx/b\nx/a\t.\tX\nx/b\t.\t?');
});

test('hand-written DROP and REJECT rules show in exactly their cells; SCTP is not measured', async () => {
  const ip = (k: string): string => c.podIp(k) as string;
  for (const n of c.clusterNodes.values()) {
    n.netfilter.iptables.restore(`*filter\n-I FORWARD 1 -d ${ip('x/a')}/32 -p tcp -m tcp --dport 80 -j DROP\n-I FORWARD 1 -s ${ip('y/b')}/32 -p udp -m udp --dport 81 -j REJECT\nCOMMIT\n`, { noflush: true });
  }
  const r = await runPolicyMatrix(c, { namespaces: ['x', 'y'], ports: [80, 81], protocols: ['TCP', 'UDP', 'SCTP'] });
  assert.deepEqual(r.pods, ['x/a', 'x/b', 'x/c', 'y/a', 'y/b', 'y/c']);
  const tcp80 = r.cases.find((k) => k.protocol === 'TCP' && k.port === 80)!;
  for (const from of r.pods) for (const to of r.pods) {
    // The pod's own address is local delivery: it never crosses FORWARD.
    assert.equal(tcp80.observed.get(from, to), to !== 'x/a' || from === 'x/a', `TCP/80 ${from} -> ${to}`);
  }
  assert.equal(tcp80.incorrect, 5);
  const udp81 = r.cases.find((k) => k.protocol === 'UDP' && k.port === 81)!;
  for (const to of r.pods) assert.equal(udp81.observed.get('y/b', to), to === 'y/b', `UDP/81 y/b -> ${to}`);
  assert.equal(udp81.observed.get('y/a', 'x/a'), true);
  const udp80 = r.cases.find((k) => k.protocol === 'UDP' && k.port === 80)!;
  assert.equal(udp80.incorrect, 0);
  const sctp = r.cases.find((k) => k.protocol === 'SCTP' && k.port === 80)!;
  assert.equal(sctp.measured, false);
  assert.equal(sctp.observed.get('x/a', 'x/b'), undefined);
  assert.equal(r.disagreements, 5 + 5);
  const text = matrixText(r);
  assert.match(text, /^TCP\/80: reachability: correct:25, incorrect:5, result=false/m);
  assert.match(text, /SCTP\/80: not measured/);
  assert.match(text, /10 cells disagree with the policies/);
  const j = matrixJson(r);
  assert.equal(j.cells.length, 6 * 6 * 6);
  assert.deepEqual(j.cells.find((x) => x.from === 'x/b' && x.to === 'x/a' && x.port === 80 && x.protocol === 'TCP'), { from: 'x/b', to: 'x/a', port: 80, protocol: 'TCP', reachable: false, expected: true });
  assert.equal(j.cells.find((x) => x.protocol === 'SCTP')?.reachable, null);
  // What a live `netsim up` answers renders the same text.
  assert.equal(matrixText(matrixFromJson(JSON.parse(JSON.stringify(j)), [80, 81], ['TCP', 'UDP', 'SCTP'])), text);
});
