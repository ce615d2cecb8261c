import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Iptables } from './iptables.ts';
import { IptablesError } from './errors.ts';
import { evalCtx, packet } from './test-support.ts';
import { ruleCounts } from './model.ts';

/** What kube-router (v2.6) writes for a pod firewall chain's log, mark and restore lines, with extra chain-line tokens. */
const KUBE_ROUTER_STYLE = [
  '*filter',
  ':INPUT ACCEPT [0:0] - [0:0]',
  ':FOO - [0:0] - [0:0]',
  ':BAR - [0:0]',
  '-I BAR 1 -j RETURN',
  '-A FOO -m comment --comment "x" -m mark ! --mark 0x10000/0x10000 -j NFLOG --nflog-group 100 -m limit --limit 10/minute --limit-burst 10',
  '-A FOO -j MARK --set-mark 0/0x10000',
  '-A FOO -j MARK --set-mark 0x20000/0x20000',
  '-A FOO -p tcp --dport 80:90 -j RETURN',
  '-A FOO -p icmp --icmp-type echo-request -j ACCEPT',
  'COMMIT',
  '',
].join('\n');

/** iptables-save v1.8.9 (nf_tables) after `iptables-restore -T filter` of KUBE_ROUTER_STYLE in a fresh namespace. */
const SAVED = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':BAR - [0:0]',
  ':FOO - [0:0]',
  '-A BAR -j RETURN',
  '-A FOO -m comment --comment x -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100',
  '-A FOO -j MARK --set-xmark 0x0/0x10000',
  '-A FOO -j MARK --set-xmark 0x20000/0x20000',
  '-A FOO -p tcp -m tcp --dport 80:90 -j RETURN',
  '-A FOO -p icmp -m icmp --icmp-type 8 -j ACCEPT',
  'COMMIT',
  '',
].join('\n');

test('limit match, NFLOG target and chain lines with trailing words restore and save as the real iptables-nft does', () => {
  const ipt = new Iptables();
  ipt.restore(KUBE_ROUTER_STYLE);
  assert.equal(ipt.save(), SAVED);
  // save → restore → save is stable.
  const again = new Iptables();
  again.restore(SAVED);
  assert.equal(again.save(), SAVED);
  assert.match(ipt.list('filter'), /limit: avg 10\/min burst 10 nflog-group 100\n/);
});

test('limit rates print in the largest unit that states them (libxt_limit print_rate); the default burst 5 is not printed', () => {
  const ipt = new Iptables();
  ipt.restore('*filter\n:X - [0:0]\n-A X -m limit --limit 3/hour -j ACCEPT\n-A X -m limit --limit 120/minute -j ACCEPT\n-A X -m limit --limit 5 -j ACCEPT\n-A X -m limit --limit 1/day --limit-burst 7 -j ACCEPT\nCOMMIT\n');
  const lines = ipt.save().split('\n').filter((l) => l.startsWith('-A X'));
  assert.deepEqual(lines, [
    '-A X -m limit --limit 3/hour -j ACCEPT',
    '-A X -m limit --limit 2/sec -j ACCEPT',
    '-A X -m limit --limit 5/sec -j ACCEPT',
    '-A X -m limit --limit 1/day --limit-burst 7 -j ACCEPT',
  ]);
  assert.throws(() => ipt.restore('*filter\n:Y - [0:0]\n-A Y -m limit --limit 0/sec -j ACCEPT\nCOMMIT\n'), (e: unknown) => e instanceof IptablesError && /Rate too fast/.test(e.message));
  assert.throws(() => ipt.restore('*filter\n:Y - [0:0]\n-A Y -m limit --limit 1/fortnight -j ACCEPT\nCOMMIT\n'), (e: unknown) => e instanceof IptablesError && /bad rate/.test(e.message));
});

test('limit is a token bucket on the virtual clock: the burst passes, then one packet per interval; NFLOG never ends the walk', () => {
  const ipt = new Iptables();
  ipt.restore('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m limit --limit 1/sec --limit-burst 2 -j NFLOG --nflog-group 5\n-A INPUT -m limit --limit 1/sec --limit-burst 2 -j DROP\nCOMMIT\n');
  const verdicts: string[] = [];
  for (const now of [0, 0, 0, 0.5e9, 1.0e9, 1.1e9, 3e9, 3e9, 3e9]) verdicts.push(ipt.evaluate('filter', packet({ src: '10.0.0.1', dst: '10.0.0.2' }), evalCtx({ hook: 'INPUT', now })).verdict);
  assert.deepEqual(verdicts, ['DROP', 'DROP', 'ACCEPT', 'ACCEPT', 'DROP', 'ACCEPT', 'DROP', 'DROP', 'ACCEPT']);
  // The NFLOG rule has its own bucket (the same shape: it matched the same five packets), and no packet ended there.
  const input = ipt.table('filter').chains.get('INPUT');
  assert.equal(input === undefined ? undefined : ruleCounts(input, 0).packets, 5);
});
