/**
 * The knftables-style fake and the transaction text: operations render as knftables
 * writes them, a failing operation rolls the whole transaction back (upstream
 * TestFakeRun's "re-delete the same element" case), references to missing objects fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNftables, FakeNftError } from './fake.ts';
import { NftTransaction } from './transaction.ts';

const T = { family: 'ip', table: 'kube-proxy' } as const;

function base(): { nft: FakeNftables; tx: NftTransaction } {
  const nft = new FakeNftables();
  const tx = new NftTransaction(T);
  tx.add({ kind: 'table' });
  tx.add({ kind: 'chain', name: 'chain', comment: 'foo' });
  tx.add({ kind: 'rule', chain: 'chain', rule: 'ip daddr 10.0.0.0/8 drop' });
  tx.add({ kind: 'rule', chain: 'chain', rule: 'masquerade', comment: 'comment' });
  tx.add({ kind: 'map', name: 'map1', type: 'ipv4_addr . inet_proto . inet_service : verdict' });
  tx.add({ kind: 'element', container: 'map1', containerKind: 'map', key: ['192.168.0.1', 'tcp', '80'], value: ['goto chain'] });
  tx.add({ kind: 'element', container: 'map1', containerKind: 'map', key: ['192.168.0.2', 'tcp', '443'], value: ['goto chain'], comment: 'with a comment' });
  return { nft, tx };
}

test('transaction text is knftables\'s', () => {
  const { tx } = base();
  tx.add({ kind: 'chain', name: 'nat-output', type: 'nat', hook: 'output', priority: -100 });
  tx.add({ kind: 'set', name: 'aff', type: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeout: 10800 });
  tx.delete({ kind: 'element', container: 'map1', containerKind: 'map', key: ['192.168.0.1', 'tcp', '80'] });
  tx.flush({ kind: 'map', name: 'map1' });
  assert.equal(tx.toString(), [
    'add table ip kube-proxy',
    'add chain ip kube-proxy chain { comment "foo" ; }',
    'add rule ip kube-proxy chain ip daddr 10.0.0.0/8 drop',
    'add rule ip kube-proxy chain masquerade comment "comment"',
    'add map ip kube-proxy map1 { type ipv4_addr . inet_proto . inet_service : verdict ; }',
    'add element ip kube-proxy map1 { 192.168.0.1 . tcp . 80 : goto chain }',
    'add element ip kube-proxy map1 { 192.168.0.2 . tcp . 443 comment "with a comment" : goto chain }',
    'add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }',
    'add set ip kube-proxy aff { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }',
    'delete element ip kube-proxy map1 { 192.168.0.1 . tcp . 80 }',
    'flush map ip kube-proxy map1',
    '',
  ].join('\n'));
});

test('a failing operation leaves the table as it was', () => {
  const { nft, tx } = base();
  nft.run(tx);
  const before = nft.dump();
  const bad = new NftTransaction(T);
  bad.add({ kind: 'element', container: 'map1', containerKind: 'map', key: ['192.168.0.3', 'tcp', '80'], value: ['accept'] });
  bad.flush({ kind: 'chain', name: 'chain' });
  bad.delete({ kind: 'element', container: 'map1', containerKind: 'map', key: ['192.168.0.9', 'tcp', '80'] });
  assert.throws(() => nft.run(bad), (e: unknown) => e instanceof FakeNftError && e.notFound);
  assert.equal(nft.dump(), before);
  for (const rule of ['tcp dport 80 goto missingchain', 'tcp dport 80 vmap @missingmap', 'tcp dport @missingset drop']) {
    const t = new NftTransaction(T);
    t.add({ kind: 'rule', chain: 'chain', rule });
    assert.throws(() => nft.run(t), FakeNftError, rule);
  }
  const t = new NftTransaction(T);
  t.add({ kind: 'element', container: 'map1', containerKind: 'map', key: ['192.168.0.5', 'tcp', '80'], value: ['jump missingchain'] });
  assert.throws(() => nft.run(t), FakeNftError);
  assert.equal(nft.dump(), before);
});

test('dump: objects sorted by name, rules in order, a re-added element replaced', () => {
  const { nft, tx } = base();
  tx.add({ kind: 'chain', name: 'anotherchain' });
  tx.add({ kind: 'element', container: 'map1', containerKind: 'map', key: ['192.168.0.1', 'tcp', '80'], value: ['drop'] });
  nft.run(tx);
  assert.equal(nft.dump(), [
    'add table ip kube-proxy',
    'add chain ip kube-proxy anotherchain',
    'add chain ip kube-proxy chain { comment "foo" ; }',
    'add map ip kube-proxy map1 { type ipv4_addr . inet_proto . inet_service : verdict ; }',
    'add rule ip kube-proxy chain ip daddr 10.0.0.0/8 drop',
    'add rule ip kube-proxy chain masquerade comment "comment"',
    'add element ip kube-proxy map1 { 192.168.0.1 . tcp . 80 : drop }',
    'add element ip kube-proxy map1 { 192.168.0.2 . tcp . 443 comment "with a comment" : goto chain }',
    '',
  ].join('\n'));
  assert.deepEqual(nft.list('chains')?.sort(), ['anotherchain', 'chain']);
});
