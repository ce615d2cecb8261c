/**
 * IPv4 ids from the real kernel, seen on the wire between two namespaces, against the
 * properties the emulator's generator (netsim/stack/ip-ident.ts) models: the SYN-ACK and
 * the RST for a closed port carry id 0 with DF, a connection's segments count up by
 * one, and ICMP echo replies to two sources take ids from separate per-destination
 * sequences (interleaved replies are not one counter's), and echo requests from an
 * unconnected socket carry DF with hashed ids, not 0. Needs root, `ip netns` and
 * python3; skips with the reason otherwise.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Netns, realToolSkipReason } from '../../netsim/netfilter/iptables/test-support.ts';

interface Seen { readonly out: boolean; readonly proto: number; readonly src: string; readonly dst: string; readonly id: number; readonly df: boolean; readonly flags: number }

// Sniffs va (AF_PACKET, both directions), then: a TCP exchange with b:80, a SYN to the
// closed b:81, and pings to b from two source addresses, interleaved.
const CLIENT = String.raw`
import socket, struct, json, time, select
snif = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
snif.bind(('va', 0))
c = socket.create_connection(('10.77.0.2', 80), timeout=2)
c.sendall(b'ping'); c.recv(16); c.close()
try:
    socket.create_connection(('10.77.0.2', 81), timeout=2)
except OSError:
    pass
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
icmp = {}
for src in ('10.77.0.1', '10.77.0.9'):
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.bind((src, 0)); icmp[src] = r
for seq in range(1, 5):
    for src, r in icmp.items():
        h = struct.pack('!BBHHH', 8, 0, 0, 0x4242, seq) + b'idtest'
        r.sendto(h[:2] + struct.pack('!H', csum(h)) + h[4:], ('10.77.0.2', 0))
time.sleep(0.3)
out = []
while select.select([snif], [], [], 0)[0]:
    data, addr = snif.recvfrom(65535)
    if addr[1] != 0x0800: continue
    ip = data
    hl = (ip[0] & 15) * 4
    flags = ip[hl + 13] if ip[9] == 6 else 0
    out.append({'out': addr[2] == 4, 'proto': ip[9], 'src': socket.inet_ntoa(ip[12:16]), 'dst': socket.inet_ntoa(ip[16:20]), 'id': struct.unpack('!H', ip[4:6])[0], 'df': bool(ip[6] & 0x40), 'flags': flags})
print(json.dumps(out))
`;
const SERVER = String.raw`
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('10.77.0.2', 80)); s.listen(1)
c, _ = s.accept(); c.recv(16); c.sendall(b'pong'); c.close()
`;

const skip = realToolSkipReason() ?? (spawnSync('python3', ['-c', 'import socket']).status !== 0 ? 'python3 missing' : undefined);
const netns = new Netns('fidipid');
after(() => netns.cleanup());

test('the real kernel: SYN-ACK and RST ids 0, a connection counts by one, echo replies per destination', { skip: skip ?? false }, async () => {
  const a = netns.fresh();
  const b = netns.fresh();
  const ip = (ns: string, args: string[]): void => {
    const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  ip(a, ['link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b]);
  ip(a, ['addr', 'add', '10.77.0.1/24', 'dev', 'va']);
  ip(a, ['addr', 'add', '10.77.0.9/24', 'dev', 'va']);
  ip(b, ['addr', 'add', '10.77.0.2/24', 'dev', 'vb']);
  for (const [ns, dev] of [[a, 'va'], [b, 'vb'], [a, 'lo'], [b, 'lo']] as const) ip(ns, ['link', 'set', dev, 'up']);
  const server = spawn('ip', ['netns', 'exec', b, 'python3', '-c', SERVER], { stdio: 'ignore' });
  try {
    await sleep(300);
    const r = netns.run(a, ['python3', '-c', CLIENT]);
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as Seen[];
    const tcp = seen.filter((s) => s.proto === 6);
    const synAck = tcp.filter((s) => !s.out && s.flags === 0x12);
    assert.equal(synAck.length, 1);
    assert.deepEqual({ id: synAck[0]?.id, df: synAck[0]?.df }, { id: 0, df: true }, 'SYN-ACK');
    const rst = tcp.filter((s) => !s.out && (s.flags & 0x04) !== 0);
    assert.ok(rst.length >= 1);
    for (const s of rst) assert.deepEqual({ id: s.id, df: s.df }, { id: 0, df: true }, 'RST');
    // The client's connection to :80 (the SYN to :81 is another socket).
    const conn = tcp.filter((s) => s.out && s.dst === '10.77.0.2' && s.flags !== 0x02).slice(0, 3);
    const syn = tcp.find((s) => s.out && s.flags === 0x02) as Seen;
    [syn, ...conn].forEach((s, i) => assert.equal(s.id, (syn.id + i) & 0xffff, `client segment ${i}`));
    const replies = (dst: string) => seen.filter((s) => !s.out && s.proto === 1 && s.dst === dst).map((s) => s.id);
    const to1 = replies('10.77.0.1');
    const to9 = replies('10.77.0.9');
    assert.equal(to1.length, 4);
    assert.equal(to9.length, 4);
    for (const ids of [to1, to9]) for (let i = 1; i < ids.length; i++) {
      const step = ((ids[i] as number) - (ids[i - 1] as number) + 0x10000) & 0xffff;
      assert.ok(step >= 1 && step < 200, `consecutive replies to one destination step by ${step}`);
    }
    assert.ok(to1.some((id, i) => Math.abs(id - (to9[i] as number)) > 2), `two sequences, not one counter: ${to1} / ${to9}`);
    // Echo requests from an unconnected raw socket: DF set, yet hashed ids (pmtudisc WANT lets the stack ignore DF).
    const requests = seen.filter((s) => s.out && s.proto === 1);
    assert.equal(requests.length, 8);
    assert.ok(requests.every((s) => s.df) && requests.some((s) => s.id !== 0), JSON.stringify(requests));
  } finally {
    server.kill();
  }
});
