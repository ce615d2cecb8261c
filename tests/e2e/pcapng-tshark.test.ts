/**
 * Captures open in the real tshark: interface names and link types as intended,
 * nothing malformed, direction flags, nanosecond timestamps from the virtual clock,
 * trace ids in packet comments, pod names from the name resolution block; and the
 * same seed gives byte-identical pcapng.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec, runFlows, seedFlowPlans } from '../../cluster/demo-flows.ts';

async function demoFlows(seed: number) {
  const cluster = await Cluster.build({ ...demoSpec(), seed });
  const flows = await runFlows(cluster, seedFlowPlans(cluster));
  const ip = (key: string): string => cluster.podIp(key) ?? '?';
  const out = { flows, webapp01: ip('default/webapp01'), backend: ip('default/backend') };
  await cluster.close();
  return out;
}

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = hasTshark ? false : 'tshark not installed (apt-get install tshark; .ci/run installs it)';

function tshark(file: string, args: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

test('same seed → byte-identical pcapng; another seed differs', async () => {
  const a = (await demoFlows(5)).flows[1]!.pcapng;
  const b = (await demoFlows(5)).flows[1]!.pcapng;
  const c = (await demoFlows(6)).flows[1]!.pcapng;
  assert.deepEqual(Buffer.from(b), Buffer.from(a));
  assert.notDeepEqual(Buffer.from(c), Buffer.from(a));
});

test('tshark reads the demo capture: interfaces, link types, flannel UDP decoded, TTLs, comments, ns timestamps, pod names', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-pcap-'));
  try {
    const { flows, webapp01, backend } = await demoFlows(1);
    const flow = flows[1]!;
    const file = join(dir, 'flow.pcapng');
    writeFileSync(file, flow.pcapng);
    const malformed = tshark(file, ['-d', 'udp.port==8285,ip', '-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'tcp.analyze_sequence_numbers:FALSE', '-Y', '_ws.malformed']);
    assert.deepEqual(malformed, [], 'no malformed packets');
    const rows = tshark(file, ['-d', 'udp.port==8285,ip', '-T', 'fields', '-E', 'separator=|', '-e', 'frame.interface_name', '-e', 'frame.encap_type', '-e', 'frame.p2p_dir', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.ttl', '-e', 'udp.srcport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'frame.comment', '-e', 'frame.time_epoch']).map((l) => l.split('|'));
    assert.equal(rows.length, flow.events.filter((e) => e.kind === 'rx' || e.kind === 'tx').length, 'one record per rx/tx event');
    const byIface = new Map(rows.map((r) => [r[0], r[1]]));
    for (const n of ['default/webapp01/eth0', 'node01/docker0', 'node01/eth0', 'node02/eth0', 'default/backend/eth0']) assert.equal(byIface.get(n), '1', `${n} is Ethernet`);
    assert.equal(byIface.get('node01/flannel0'), '7', 'flannel0 is raw IP (LINKTYPE_RAW)');
    assert.equal(byIface.get('node02/flannel0'), '7');
    const syn = rows.filter((r) => r[7] === '1' && r[8] === '0');
    const at = (iface: string, dir: string) => syn.find((r) => r[0] === iface && r[2] === dir);
    // TTL: 64 sent; node01 forwards (63); flanneld (62) on the wire; flanneld in (61); node02 forwards (60).
    assert.equal(at('default/webapp01/eth0', '0')?.[5], '64');
    assert.equal(at('node01/flannel0', '0')?.[5], '63');
    const wire = at('node01/eth0', '0');
    assert.ok(wire !== undefined);
    assert.deepEqual([wire[3], wire[4], wire[5], wire[6]], [`192.168.50.11,${webapp01}`, `192.168.50.12,${backend}`, '64,62', '8285'], 'outer UDP 8285 between the nodes, the inner packet decoded with -d udp.port==8285,ip');
    assert.equal(at('default/backend/eth0', '1')?.[5], '60');
    assert.match(syn[0]![9] ?? '', /^trace \d+: default\/webapp01 eth0 tx/);
    // Virtual time in ns: the flow starts after 3 s of settling and flow 1's 10 s; the wire adds 50 µs latency + serialisation.
    const t0 = Number(wire[10]);
    const t1 = Number(at('node02/eth0', '1')?.[10]);
    assert.ok(t0 >= 13 && t1 - t0 > 0.00005 && t1 - t0 < 0.0001, `ns timestamps (${t0} → ${t1})`);
    const named = tshark(file, ['-N', 'n', '-T', 'fields', '-e', 'ip.src_host', '-Y', 'tcp.flags.syn==1 && tcp.flags.ack==0 && !udp']);
    assert.equal(named[0], 'webapp01', 'the name resolution block names pods');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
