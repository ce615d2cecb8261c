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
import { runPacketDemo } from '../../cluster/packet-demo.ts';

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = hasTshark ? false : 'tshark not installed (apt-get install tshark; .ci/run installs it)';

function tshark(file: string, args: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

test('same seed → byte-identical pcapng; another seed differs', () => {
  const a = runPacketDemo(5).flows[1]!.pcapng;
  const b = runPacketDemo(5).flows[1]!.pcapng;
  const c = runPacketDemo(6).flows[1]!.pcapng;
  assert.deepEqual(Buffer.from(b), Buffer.from(a));
  assert.notDeepEqual(Buffer.from(c), Buffer.from(a));
});

test('tshark reads the demo capture: interfaces, directions, TTLs, comments, ns timestamps, pod names', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-pcap-'));
  try {
    const { flows } = runPacketDemo(1);
    const flow = flows[1]!;
    const file = join(dir, 'flow.pcapng');
    writeFileSync(file, flow.pcapng);
    const malformed = tshark(file, ['-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'tcp.analyze_sequence_numbers:FALSE', '-Y', '_ws.malformed']);
    assert.deepEqual(malformed, [], 'no malformed packets');
    const rows = tshark(file, ['-T', 'fields', '-E', 'separator=|', '-e', 'frame.interface_name', '-e', 'frame.encap_type', '-e', 'frame.p2p_dir', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.ttl', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'frame.comment', '-e', 'frame.time_epoch']).map((l) => l.split('|'));
    assert.equal(rows.length, flow.events.filter((e) => e.kind === 'rx' || e.kind === 'tx').length, 'one record per rx/tx event');
    const names = new Set(rows.map((r) => r[0]));
    for (const n of ['default/webapp01/eth0', 'node01/docker0', 'node01/eth0', 'node02/eth0', 'default/backend/eth0']) assert.ok(names.has(n), `interface ${n}`);
    assert.ok(rows.every((r) => r[1] === '1'), 'all Ethernet interfaces (encap type 1)');
    // The SYN: sent by webapp01 with TTL 64, on node01's wire with 63, at the backend with 62.
    const syn = rows.filter((r) => r[6] === '1' && r[7] === '0');
    const at = (iface: string, dir: string) => syn.find((r) => r[0] === iface && r[2] === dir);
    assert.deepEqual([at('default/webapp01/eth0', '0')?.[5], at('node01/eth0', '0')?.[5], at('default/backend/eth0', '1')?.[5]], ['64', '63', '62']);
    assert.equal(at('node01/eth0', '0')?.[3], '10.244.1.2');
    assert.match(syn[0]![8] ?? '', /^trace \d+$/);
    // Virtual time in ns: the flow starts after flow 1's 5 s; the wire hop adds 50 µs latency + serialisation.
    const t0 = Number(at('node01/eth0', '0')?.[9]);
    const t1 = Number(at('node02/eth0', '1')?.[9]);
    assert.ok(t0 >= 5 && t1 - t0 > 0.00005 && t1 - t0 < 0.0001, `ns timestamps (${t0} → ${t1})`);
    const named = tshark(file, ['-N', 'n', '-T', 'fields', '-e', 'ip.src_host', '-Y', 'tcp.flags.syn==1 && tcp.flags.ack==0']);
    assert.equal(named[0], 'webapp01', 'the name resolution block names pods');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
