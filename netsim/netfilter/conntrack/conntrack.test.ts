import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conntrack, formatEntry, invert } from './conntrack.ts';
import { parseIpv4 } from '../wire/addr.ts';
import { SECOND } from '../time/scheduler.ts';

const ip = parseIpv4;

test('conntrack -L lines as conntrack-tools 1.4.7 prints them', () => {
  let now = 0;
  const ct = new Conntrack(() => now);
  const udp = ct.create({ proto: 17, src: ip('10.244.1.2'), dst: ip('10.96.0.53'), sport: 53000, dport: 53, icmpType: 0 });
  udp.reply = { ...udp.reply, src: ip('10.244.2.7') };
  udp.dnat = true;
  ct.confirm(udp);
  const tcp = ct.create({ proto: 6, src: ip('10.244.1.2'), dst: ip('10.96.0.10'), sport: 40000, dport: 80, icmpType: 0 });
  tcp.reply = { ...tcp.reply, src: ip('10.244.2.3'), sport: 8080 };
  ct.confirm(tcp);
  ct.touch(tcp, 0, 0x02);
  ct.touch(tcp, 1, 0x12);
  ct.touch(tcp, 0, 0x10);
  now = 431880 * SECOND + 500_000_000;
  // 0.5 s into the 120th second before expiry, as the kernel's jiffies-based countdown prints.
  tcp.expires = now + 119.5 * SECOND;
  udp.expires = now + 29.9 * SECOND;
  assert.equal(formatEntry(udp, now), 'udp      17 29 src=10.244.1.2 dst=10.96.0.53 sport=53000 dport=53 [UNREPLIED] src=10.244.2.7 dst=10.244.1.2 sport=53 dport=53000 mark=0 use=1');
  assert.equal(formatEntry(tcp, now), 'tcp      6 119 ESTABLISHED src=10.244.1.2 dst=10.96.0.10 sport=40000 dport=80 src=10.244.2.3 dst=10.244.1.2 sport=8080 dport=40000 [ASSURED] mark=0 use=1');
});

test('timeouts: UDP 30 s unreplied, 120 s once replied; lookup and listing drop expired entries', () => {
  let now = 0;
  const ct = new Conntrack(() => now);
  const t = { proto: 17, src: ip('10.0.0.1'), dst: ip('10.0.0.2'), sport: 1, dport: 2, icmpType: 0 };
  const e = ct.create(t);
  ct.confirm(e);
  now = 29 * SECOND;
  assert.ok(ct.lookup(t) !== undefined);
  now = 31 * SECOND;
  assert.equal(ct.lookup(t), undefined, 'unreplied UDP expires after 30 s');
  const e2 = ct.create(t);
  ct.confirm(e2);
  ct.touch(e2, 1, 0);
  now += 100 * SECOND;
  assert.ok(ct.lookup(invert(t)) !== undefined, 'a replied UDP flow lives 120 s');
  now += 21 * SECOND;
  assert.equal(ct.size(), 0);
});

test('deleteByFilter removes only matching flows', () => {
  const ct = new Conntrack(() => 0);
  for (const [i, [dst, rs]] of ([['10.96.0.10', '10.244.1.5'], ['10.96.0.10', '10.244.1.6'], ['10.96.0.11', '10.244.1.5']] as const).entries()) {
    const e = ct.create({ proto: 17, src: ip('10.244.9.9'), dst: ip(dst), sport: 5000 + i, dport: 53, icmpType: 0 });
    e.reply = { ...e.reply, src: ip(rs) };
    ct.confirm(e);
  }
  assert.equal(ct.size(), 3);
  assert.equal(ct.deleteByFilter({ proto: 17, origDst: ip('10.96.0.10'), replySrc: ip('10.244.1.5') }), 1);
  assert.equal(ct.size(), 2);
});
