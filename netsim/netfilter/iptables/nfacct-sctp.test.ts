import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Iptables } from './iptables.ts';
import { IptablesError } from './errors.ts';
import { evalCtx, Netns, packet, realToolSkipReason } from './test-support.ts';

const SCTP_RULES = '*filter\n:X - [0:0]\n-A X -p sctp -m sctp --dport 53 -j ACCEPT\n-A X -p sctp --sport 1:5 -j ACCEPT\nCOMMIT\n';
/** What iptables-save v1.8.9 (nf_tables) printed for SCTP_RULES in a fresh namespace. */
const SCTP_SAVED = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:X - [0:0]\n-A X -p sctp -m sctp --dport 53 -j ACCEPT\n-A X -p sctp -m sctp --sport 1:5 -j ACCEPT\nCOMMIT\n';
const NFACCT_RULE = '*filter\n:X - [0:0]\n-A X -m nfacct --nfacct-name foo -j DROP\nCOMMIT\n';

const strip = (s: string): string => s.split('\n').filter((l) => !l.startsWith('#')).join('\n');

test('sctp matches (kube-proxy SCTP services) restore and save as the real iptables does, the implicit `-p sctp --sport` too', () => {
  const ipt = new Iptables();
  ipt.restore(SCTP_RULES);
  assert.equal(strip(ipt.save()), SCTP_SAVED);
  assert.match(ipt.list('filter'), /sctp dpt:53\n/);
  assert.match(ipt.list('filter'), /sctp spts:1:5\n/);
  assert.throws(() => ipt.restore('*filter\n-A INPUT -m sctp --dport 1 -j ACCEPT\nCOMMIT\n'), (e: unknown) => e instanceof IptablesError && /requires '-p sctp'/.test(e.message));
});

test('nfacct: a rule naming a missing counter is refused (ENOENT) as the kernel does; an existing one counts every packet it sees', () => {
  const ipt = new Iptables();
  assert.throws(() => ipt.restore(NFACCT_RULE), (e: unknown) => e instanceof IptablesError && e.code === 'IPT_NO_NFACCT' && e.line === 3 && /RULE_APPEND failed \(No such file or directory\): rule in chain X/.test(e.message));
  ipt.nfacct.set('foo', { pkts: 0, bytes: 0 });
  ipt.nfacct.set('bar', { pkts: 0, bytes: 0 });
  ipt.restore('*filter\n:X - [0:0]\n-A INPUT -j X\n-A X -m nfacct --nfacct-name foo -j DROP\nCOMMIT\n');
  assert.match(ipt.save(), /\n-A X -m nfacct --nfacct-name foo -j DROP\n/);
  assert.match(ipt.list('filter'), /nfacct-name foo\n/);
  const pkt = packet({ src: '10.0.0.1', dst: '192.168.0.10', dport: 80 });
  assert.equal(ipt.evaluate('filter', pkt, evalCtx({ hook: 'INPUT' })).verdict, 'DROP');
  assert.equal(ipt.evaluate('filter', pkt, evalCtx({ hook: 'INPUT' })).verdict, 'DROP');
  assert.deepEqual(ipt.nfacct.get('foo'), { pkts: 2, bytes: 2 * pkt.len });
  assert.equal(ipt.nfacctList(), `{ pkts = 00000000000000000000, bytes = 00000000000000000000 } = bar;\n{ pkts = 00000000000000000002, bytes = ${String(2 * pkt.len).padStart(20, '0')} } = foo;\n`);
});

const skip = realToolSkipReason();
const netns = new Netns('fidnfacct');
after(() => netns.cleanup());
test('the real kernel: sctp rules save the same; a missing nfacct counter is refused on the same line', { skip: skip ?? false }, () => {
  const ns = netns.fresh();
  const r = netns.run(ns, ['iptables-restore'], SCTP_RULES);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(strip(netns.run(ns, ['iptables-save']).stdout), SCTP_SAVED);
  const bad = netns.run(ns, ['iptables-restore', '--noflush'], NFACCT_RULE);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /line 3: RULE_APPEND failed \(No such file or directory\): rule in chain X/);
});
