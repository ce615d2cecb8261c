/**
 * `netsim capture` selections as a user writes them: interfaces by node and glob,
 * a host filter, repeated exchanges, classic pcap for one interface — each file
 * read back by the real tshark (and by our reader where tshark is missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../pcaps/read-capture.ts';

const hasTshark = spawnSync('tshark', ['--version']).status === 0;
if (!hasTshark) console.log('# cli-capture: tshark missing, files are checked with our reader only');

function netsim(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/netsim.mjs', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('capture --node/--host, -i with --format pcap and --count, and a pcap selection that is too wide', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-cap-'));
  try {
    const ng = join(dir, 'node02.pcapng');
    const a = netsim(['capture', '--from', 'webapp01', '--to', 'pod:backend', '--proto', 'tcp', '--port', '80', '-w', ng, '--node', 'node02', '--host', '10.244.58.2']);
    assert.equal(a.code, 0, a.err);
    const fa = readCapture(readFileSync(ng));
    const names = fa.interfaces.map((i) => i.name ?? '');
    assert.ok(names.length > 0 && names.every((n) => n.startsWith('node02/') || n === 'default/backend/eth0'), `only node02's interfaces and its pods': ${names.join(', ')}`);
    assert.ok(names.includes('node02/eth0'), '--host looks inside flannel\'s encapsulation: the pod\'s packets on the underlay NIC are kept');
    if (hasTshark) {
      const inner = spawnSync('tshark', ['-r', ng, '-d', 'udp.port==8285,ip', '-Y', 'frame.interface_name == "node02/eth0"', '-T', 'fields', '-e', 'ip.addr'], { encoding: 'utf8' });
      assert.equal(inner.status, 0, inner.stderr);
      const rows = inner.stdout.trim().split('\n');
      assert.ok(rows.length >= 3, 'handshake and exchange on node02/eth0');
      for (const r of rows) assert.match(r, /10\.244\.58\.2/, 'every kept packet has the pod inside');
    }

    const pcap = join(dir, 'eth0.pcap');
    const b = netsim(['capture', '--from', 'webapp01', '--to', 'pod:backend', '--proto', 'tcp', '--port', '80', '-w', pcap, '-i', 'node0?/eth0', '--node', 'node02', '--format', 'pcap', '--count', '3']);
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /^\d+ packets on 1 interfaces written to .* \(3\/3 delivered\)$/m);
    const fb = readCapture(readFileSync(pcap));
    assert.equal(fb.format, 'pcap');
    assert.equal(fb.interfaces[0]?.linkType, 1, 'Ethernet');
    if (hasTshark) {
      const syns = spawnSync('tshark', ['-r', pcap, '-d', 'udp.port==8285,ip', '-Y', 'tcp.flags.syn==1 && tcp.flags.ack==0', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'udp.dstport'], { encoding: 'utf8' });
      assert.equal(syns.status, 0, syns.stderr);
      const rows = syns.stdout.trim().split('\n');
      assert.equal(rows.length, 3, 'three SYNs, one per exchange');
      for (const r of rows) assert.match(r, /^192\.168\.50\.11,10\.244\.\d+\.\d+\t192\.168\.50\.12,10\.244\.58\.2\t8285$/);
    }

    const wide = netsim(['capture', '--from', 'webapp01', '--to', 'pod:backend', '-w', join(dir, 'x.pcap'), '--format', 'pcap']);
    assert.equal(wide.code, 2);
    assert.match(wide.err, /^netsim: NETSIM_ERR_FILTER: --format pcap holds one interface; the selection has \d+ /);
    const noIface = netsim(['capture', '--from', 'webapp01', '--to', 'pod:backend', '-w', join(dir, 'z.pcapng'), '-i', 'nosuch/*']);
    assert.equal(noIface.code, 2, 'an interface glob that matches nothing is refused, not an empty file');
    assert.match(noIface.err, /^netsim: NETSIM_ERR_FILTER: -i nosuch\/\*: matches no interface/);
    const badNode = netsim(['capture', '--from', 'webapp01', '--to', 'pod:backend', '-w', join(dir, 'y.pcapng'), '--node', 'node9']);
    assert.equal(badNode.code, 2);
    assert.match(badNode.err, /unknown node "node9" \(nodes: node01, node02\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
