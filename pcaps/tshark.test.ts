/**
 * tshark / capinfos as the oracle for our writers (skipped, with the reason
 * printed, when tshark is not installed). Field names verified against
 * `tshark -G fields` of tshark 4.0.17: frame.interface_name, frame.interface_id,
 * frame.interface_description, frame.encap_type (1 Ethernet, 7 Raw IP),
 * frame.comment, frame.time_epoch, frame.packet_flags_direction (mask 0x3,
 * printed 0x00000001 inbound / 0x00000002 outbound), frame.p2p_dir (1 inbound,
 * 0 outbound), ip.src / ip.dst / ip.src_host, _ws.malformed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngWriter } from './pcapng-writer.ts';
import { PcapWriter } from './pcap-writer.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './pcapng-constants.ts';
import { readCapture } from './read-capture.ts';
import { arpRequest, ethernet, icmpEcho, ipv4, udp } from './test-support.ts';

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
const hasCapinfos = spawnSync('capinfos', ['-h'], { encoding: 'utf8' }).status === 0;
const skip = hasTshark ? false : 'tshark not installed (apt-get install tshark)';

function run(cmd: string, args: string[]): string[] {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}
const tshark = (file: string, args: string[]): string[] => run('tshark', ['-r', file, ...args]);
const fields = (file: string, names: string[], extra: string[] = []): string[][] =>
  tshark(file, [...extra, '-T', 'fields', '-E', 'separator=|', ...names.flatMap((n) => ['-e', n])]).map((l) => l.split('|'));

const MAC_POD = '02:42:0a:f4:01:02';
const MAC_BRIDGE = '02:42:0a:f4:01:01';
const T0 = 1_700_000_000_123_456_789n;

/** Ethernet + raw-IP interfaces carrying ARP, ICMP, raw UDP, and flannel UDP 8285 with an inner ICMP packet. */
function sampleCapture(byteOrder: 'little' | 'big'): Uint8Array {
  const w = new PcapngWriter({ byteOrder, hardware: 'emulated', os: 'netsim', comment: 'flannel udp: tshark -d udp.port==8285,ip' });
  const eth = w.addInterface({ name: 'node01/eth0', linkType: LINKTYPE_ETHERNET, description: 'eth0 in node node01' });
  w.addNameRecords([{ ip: '10.244.1.2', names: ['default.web-1'] }, { ip: '10.244.2.3', names: ['default.nginx-2'] }]);
  w.writePacket({ interfaceId: eth, timestampNs: T0, data: arpRequest(MAC_POD, '10.244.1.2', '10.244.1.1'), direction: 'outbound', comment: 'trace 1 hop 1' });
  w.writePacket({ interfaceId: eth, timestampNs: T0 + 1n, data: ethernet(MAC_BRIDGE, MAC_POD, 0x0800, ipv4('10.244.1.2', '10.244.2.3', 1, icmpEcho(7, 1))), direction: 'inbound', comment: 'trace 2 hop 1' });
  // An interface added after packets were written.
  const tun = w.addInterface({ name: 'node01/flannel0', linkType: LINKTYPE_RAW, snaplen: 65535 });
  w.writePacket({ interfaceId: tun, timestampNs: T0 + 876_543_212n, data: ipv4('10.244.1.2', '10.244.2.3', 17, udp(40000, 40001, new TextEncoder().encode('netsim'))), direction: 'outbound', comment: 'trace 3 hop 2' });
  const inner = ipv4('10.244.1.2', '10.244.2.3', 1, icmpEcho(7, 2), 63);
  w.writePacket({ interfaceId: eth, timestampNs: T0 + 876_544_210n, data: ethernet('02:00:c0:a8:32:0c', '02:00:c0:a8:32:0b', 0x0800, ipv4('192.168.50.11', '192.168.50.12', 17, udp(8285, 8285, inner))), direction: 'outbound', comment: 'trace 4 hop 3' });
  return w.toBytes();
}

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pcaps-tshark-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tshark reads our pcapng: interfaces, encapsulations, addresses, comments, ns timestamps, directions', { skip }, () => {
  withDir((dir) => {
    for (const byteOrder of ['little', 'big'] as const) {
      const file = join(dir, `${byteOrder}.pcapng`);
      writeFileSync(file, sampleCapture(byteOrder));
      assert.deepEqual(tshark(file, ['-Y', '_ws.malformed']), [], 'nothing malformed');
      assert.deepEqual(tshark(file, ['-o', 'ip.check_checksum:TRUE', '-d', 'udp.port==8285,ip', '-Y', 'ip.checksum.status == "Bad" || icmp.checksum.status == "Bad"']), [], 'checksums good');
      const rows = fields(file, ['frame.interface_name', 'frame.interface_id', 'frame.encap_type', 'ip.src', 'ip.dst', 'frame.comment', 'frame.time_epoch', 'frame.packet_flags_direction', 'frame.p2p_dir', 'frame.interface_description', 'arp.src.proto_ipv4']);
      assert.deepEqual(rows, [
        ['node01/eth0', '0', '1', '', '', 'trace 1 hop 1', '1700000000.123456789', '0x00000002', '0', 'eth0 in node node01', '10.244.1.2'],
        ['node01/eth0', '0', '1', '10.244.1.2', '10.244.2.3', 'trace 2 hop 1', '1700000000.123456790', '0x00000001', '1', 'eth0 in node node01', ''],
        ['node01/flannel0', '1', '7', '10.244.1.2', '10.244.2.3', 'trace 3 hop 2', '1700000001.000000001', '0x00000002', '0', '', ''],
        ['node01/eth0', '0', '1', '192.168.50.11', '192.168.50.12', 'trace 4 hop 3', '1700000001.000000999', '0x00000002', '0', 'eth0 in node node01', ''],
      ]);
      // Flannel UDP has no dissector: -d udp.port==8285,ip shows the inner packet.
      const flannel = fields(file, ['ip.src', 'ip.dst', 'ip.ttl', 'icmp.type'], ['-d', 'udp.port==8285,ip', '-Y', 'udp.port == 8285']);
      assert.deepEqual(flannel, [['192.168.50.11,10.244.1.2', '192.168.50.12,10.244.2.3', '64,63', '8']]);
      // Pod names from the Name Resolution Block.
      assert.deepEqual(fields(file, ['ip.src_host', 'ip.dst_host'], ['-N', 'n', '-Y', 'icmp']), [['default.web-1', 'default.nginx-2']]);
      const io = tshark(file, ['-q', '-z', 'io,stat,0']).join('\n');
      assert.match(io, /\|\s+4 \|\s+\d+ \|/, 'io,stat counts 4 frames');
    }
  });
});

test('capinfos: two interfaces, per-packet encapsulation, nanosecond precision, section options', { skip: hasTshark && hasCapinfos ? false : 'capinfos not installed (apt-get install tshark)' }, () => {
  withDir((dir) => {
    const file = join(dir, 'c.pcapng');
    writeFileSync(file, sampleCapture('little'));
    const info = run('capinfos', [file]).join('\n');
    for (const re of [/File encapsulation:\s+Per packet/, /Number of interfaces in file: 2/, /File timestamp precision:\s+nanoseconds \(9\)/, /Number of packets:\s+4/, /Capture application: netsim/, /Capture hardware:\s+emulated/, /Capture comment:\s+flannel udp/, /Name = node01\/flannel0/, /Encapsulation = Raw IP/, /Number of resolved IPv4 addresses in file: 2/]) {
      assert.match(info, re);
    }
  });
});

test('tshark reads our classic pcap (ns and µs) with the same packets, and our reader reads tshark-converted pcapng', { skip }, () => {
  withDir((dir) => {
    for (const resolution of ['ns', 'us'] as const) {
      const file = join(dir, `${resolution}.pcap`);
      const w = new PcapWriter({ linkType: LINKTYPE_ETHERNET, resolution });
      w.writePacket({ timestampNs: T0, data: arpRequest(MAC_POD, '10.244.1.2', '10.244.1.1') });
      w.writePacket({ timestampNs: T0 + 1_001n, data: ethernet(MAC_BRIDGE, MAC_POD, 0x0800, ipv4('10.244.1.2', '10.244.2.3', 1, icmpEcho(9, 1))), originalLength: 1500 });
      writeFileSync(file, w.toBytes());
      assert.deepEqual(tshark(file, ['-Y', '_ws.malformed']), []);
      assert.deepEqual(fields(file, ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'ip.src']), [
        [resolution === 'ns' ? '1700000000.123456789' : '1700000000.123456000', '42', '42', ''],
        [resolution === 'ns' ? '1700000000.123457790' : '1700000000.123457000', '1500', '50', '10.244.1.2'],
      ]);
      // Round trip through a third-party writer: tshark rewrites it as pcapng, we read that back.
      const ng = join(dir, `${resolution}.pcapng`);
      run('tshark', ['-r', file, '-F', 'pcapng', '-w', ng]);
      const back = readCapture(readFileSync(ng));
      assert.equal(back.format, 'pcapng');
      assert.deepEqual(back.packets.map((p) => [p.timestampNs, p.data.length, p.originalLength]), [
        [resolution === 'ns' ? T0 : 1_700_000_000_123_456_000n, 42, 42],
        [resolution === 'ns' ? T0 + 1_001n : 1_700_000_000_123_457_000n, 50, 1500],
      ]);
    }
  });
});

