/**
 * What `netsim capture` files must be for Wireshark users (issue 15): --split gives
 * one file per interface that tshark reads without expert errors; each packet's
 * comment names the hop and the decisions there; a TCP capture carries a request and
 * its response and closes with FINs; classic pcap is microsecond by default and
 * opens in tshark and in the independent `pcap-parser`; name records cover
 * ClusterIPs (svc.ns) and the nodes' docker0/flannel0 addresses; and the TCP abort a
 * trace ends with is Linux's RST|ACK acknowledging what was received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec } from '../../cluster/demo-flows.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { readCapture } from '../../pcaps/read-capture.ts';
import { EthernetFrame, EtherType } from '../../netsim/wire/ethernet.ts';
import { Ipv4Packet } from '../../netsim/wire/ipv4.ts';
import { TcpFlags, TcpSegment } from '../../netsim/wire/tcp.ts';

const hasTshark = spawnSync('tshark', ['--version']).status === 0;
const skip = hasTshark ? false : 'tshark not installed (apt-get install tshark; .ci/run installs it)';

function netsim(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/netsim.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tshark(file: string, args: string[]): string {
  const r = spawnSync('tshark', ['-r', file, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('--split: one file per interface, no expert error in any; comments name the hop; TCP carries request, response and FINs; names for ClusterIPs', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-split-'));
  try {
    const r = netsim(['capture', '--from', 'webapp01', '--to', 'service:default/nginx-service', '-w', join(dir, 'cap.pcapng'), '--split']);
    assert.equal(r.code, 0, r.err);
    const files = readdirSync(dir).sort();
    assert.ok(files.includes('cap-node01_docker0.pcapng') && files.includes('cap-default_webapp01_eth0.pcapng'), files.join(', '));
    for (const f of files) {
      const file = join(dir, f);
      assert.equal(readCapture(readFileSync(file)).interfaces.length, 1, `${f}: one interface`);
      const expert = tshark(file, ['-d', 'udp.port==8285,ip', '-q', '-z', 'expert,error']);
      assert.doesNotMatch(expert, /^\s*Error\b/m, `${f}: no expert error\n${expert}`);
      assert.equal(tshark(file, ['-d', 'udp.port==8285,ip', '-Y', '_ws.expert.severity == "error"']).trim(), '', `${f}: no packet with an expert error`);
    }
    const pod = join(dir, 'cap-default_webapp01_eth0.pcapng');
    const info = tshark(pod, ['-N', 'n', '-T', 'fields', '-e', 'ip.dst_host', '-e', 'http.request.method', '-e', 'http.response.code', '-e', 'tcp.flags.fin', '-Y', 'tcp']).trim().split('\n').map((l) => l.split('\t'));
    assert.ok(info.some((x) => x[1] === 'GET'), 'the request');
    assert.ok(info.some((x) => x[2] === '200'), 'its response');
    assert.ok(info.filter((x) => x[3] === 'True' || x[3] === '1').length >= 2, 'a FIN each way');
    assert.ok(info.some((x) => x[0] === 'nginx-service.default'), `the ClusterIP named svc.ns by the name resolution block: ${info.map((x) => x[0]).join(' ')}`);
    const comments = tshark(join(dir, 'cap-node01_docker0.pcapng'), ['-T', 'fields', '-e', 'frame.comment']).trim().split('\n');
    assert.ok(comments.every((c) => /^trace \d+: node01 docker0 (rx|tx)/.test(c)), comments.join('\n'));
    assert.ok(comments.some((c) => /^trace \d+: node01 docker0 (rx|tx) → .*FORWARD filter [A-Z-]+:\d+ ACCEPT/.test(c)), `a comment names the FORWARD verdict:\n${comments.join('\n')}`);
    const names = readCapture(readFileSync(join(dir, 'cap-node01_docker0.pcapng'))).names.flatMap((n) => n.names);
    for (const n of ['docker0.node01', 'flannel0.node01', 'node01', 'router', 'nginx-service.default', 'webapp01']) assert.ok(names.includes(n), `a name record for ${n}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface PcapParserPacket { header: { timestampSeconds: number; timestampMicroseconds: number }; data: Buffer }
const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(input: NodeJS.ReadableStream): { on(ev: string, f: (x: never) => void): unknown } };

test('--format pcap is microsecond pcap by default: tshark and pcap-parser read it; --time-precision ns writes the nanosecond magic', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-us-'));
  try {
    const us = join(dir, 'eth0.pcap');
    const r = netsim(['capture', '--from', 'webapp01', '--to', 'pod:default/backend', '--proto', 'tcp', '--port', '80', '-i', 'node01/eth0', '--format', 'pcap', '-w', us]);
    assert.equal(r.code, 0, r.err);
    const bytes = readFileSync(us);
    assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4, 'the microsecond magic');
    const ours = readCapture(bytes);
    const packets = await new Promise<PcapParserPacket[]>((resolve, reject) => {
      const got: PcapParserPacket[] = [];
      const p = pcapParser.parse(Readable.from([bytes])) as { on(ev: string, f: (x: never) => void): typeof p };
      p.on('packet', (x: PcapParserPacket) => got.push(x)).on('error', (e: Error) => reject(e)).on('end', () => resolve(got));
    });
    assert.equal(packets.length, ours.packets.length);
    assert.ok(packets.length > 8, 'handshake, request, response and close on the underlay');
    packets.forEach((p, i) => {
      assert.ok(Buffer.from(p.data).equals(Buffer.from(ours.packets[i]!.data)), `packet ${i}: same bytes`);
      assert.equal(BigInt(p.header.timestampSeconds) * 1_000_000_000n + BigInt(p.header.timestampMicroseconds) * 1000n, ours.packets[i]!.timestampNs);
    });
    if (hasTshark) assert.match(spawnSync('capinfos', [us], { encoding: 'utf8' }).stdout, /File timestamp precision:\s+microseconds \(6\)/);
    const ns = join(dir, 'ns.pcap');
    assert.equal(netsim(['capture', '--from', 'webapp01', '--to', 'pod:default/backend', '--proto', 'tcp', '--port', '80', '-i', 'node01/eth0', '--format', 'pcap', '--time-precision', 'ns', '-w', ns]).code, 0);
    assert.equal(readFileSync(ns).readUInt32LE(0), 0xa1b23c4d, 'the nanosecond magic');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the trace\'s TCP abort is an RST|ACK acknowledging the SYN-ACK (tcp_send_active_reset), not ack 0', async () => {
  const cluster = await Cluster.build(demoSpec());
  try {
    const run = runTrace(cluster, resolveEndpoint('pod:webapp01', cluster), resolveEndpoint('pod:backend', cluster), { proto: 'tcp', port: 80 });
    const segs = run.events
      .filter((e) => e.kind === 'tx' && e.netns === 'default/webapp01' && e.data !== undefined)
      .map((e) => EthernetFrame.checked((e as { data: Uint8Array }).data)).filter((f) => f.etherType === EtherType.IPV4)
      .map((f) => Ipv4Packet.checked(f.payload()))
      .filter((ip) => ip.protocol === 6)
      .map((ip) => TcpSegment.checked(ip.payload()));
    const synAck = run.events.filter((e) => e.kind === 'rx' && e.netns === 'default/webapp01' && e.data !== undefined)
      .map((e) => EthernetFrame.checked((e as { data: Uint8Array }).data)).filter((f) => f.etherType === EtherType.IPV4)
      .map((f) => Ipv4Packet.checked(f.payload()))
      .filter((ip) => ip.protocol === 6).map((ip) => TcpSegment.checked(ip.payload()))
      .find((s) => (s.flags & (TcpFlags.SYN | TcpFlags.ACK)) === (TcpFlags.SYN | TcpFlags.ACK));
    const rst = segs.find((s) => (s.flags & TcpFlags.RST) !== 0);
    assert.ok(synAck !== undefined && rst !== undefined);
    assert.equal(rst.flags & (TcpFlags.RST | TcpFlags.ACK), TcpFlags.RST | TcpFlags.ACK);
    assert.equal(rst.ack, (synAck.seq + 1) >>> 0, 'ack = the server\'s ISN + 1, what was received');
  } finally {
    await cluster.close();
  }
});
