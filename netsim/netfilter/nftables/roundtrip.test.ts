/**
 * `nft list ruleset` against the real nft 1.0.6. For each representative ruleset (the
 * fixtures: kube-proxy's shapes, sets and maps of every modelled type, expressions,
 * the block syntax; and kube-proxy-shaped rulesets of 10 and 1 000 Services, and of
 * 10 000 for the round trip alone: the real nft takes most of a minute to load it):
 *   - the emulator's listing equals real nft's listing of the same input;
 *   - the emulator's listing, loaded by the real `nft -f` in a fresh namespace, lists
 *     back identically (the round trip the issue asks for);
 *   - the emulator parses its own listing back to the same listing (no root needed).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Netns } from '../iptables/test-support.ts';
import { Nftables } from './nftables.ts';
import { assertSameText, batches, kubeProxyRuleset, listRealNft, realNft, realNftSkipReason } from './test-support.ts';

const dir = join(import.meta.dirname, 'fixtures');
const cases: Array<[string, string]> = [
  ...readdirSync(dir).filter((f) => f.endsWith('.nft')).sort().map((f): [string, string] => [f, readFileSync(join(dir, f), 'utf8')]),
  ['kube-proxy, 10 Services', kubeProxyRuleset({ services: 10, noEndpointsEvery: 5, affinityEvery: 4 })],
  ['kube-proxy, 1 000 Services', kubeProxyRuleset({ services: 1000, endpointsPer: 3, noEndpointsEvery: 9, affinityEvery: 7 })],
];

function emulate(text: string, handles = false): string {
  const n = new Nftables();
  for (const b of batches(text)) n.apply(b);
  return n.listRuleset({ handles });
}

for (const [name, text] of cases) {
  test(`${name}: the emulator reads its own listing back unchanged`, () => {
    const listed = emulate(text);
    assert.ok(listed.length > 0);
    assert.equal(emulate(listed), listed);
  });
}

const skip = realNftSkipReason();
if (skip !== undefined) console.log(`# real nft round trips skipped: ${skip}`);
const netns = new Netns('nsim-nft');
after(() => netns.cleanup());

for (const [name, text] of cases) {
  test(`${name}: real nft lists the input and the emulator's listing exactly as the emulator does`, { skip }, () => {
    const ns = netns.fresh();
    const listed = emulate(text);
    const direct = realNft(ns, text);
    assert.ok(direct.ok, direct.stderr);
    assertSameText(listed, direct.listed, 'same listing of the same input');
    const back = realNft(ns, listed);
    assert.ok(back.ok, back.stderr);
    assertSameText(back.listed, listed, "the emulator's listing round-trips through the real nft");
  });

  test(`${name}: handles (nft -a) and JSON (nft -j) are the kernel's, in a fresh namespace`, { skip }, () => {
    const ns = netns.fresh();
    const direct = realNft(ns, text, ['-a']);
    assert.ok(direct.ok, direct.stderr);
    assertSameText(emulate(text, true), direct.listed, 'nft -a');
    const n = new Nftables();
    for (const b of batches(text)) n.apply(b);
    const json = listRealNft(ns, ['-j', 'list', 'ruleset']);
    assert.equal(json.status, 0, json.stderr);
    assertSameText(n.listRulesetJson(), json.stdout, 'nft -j');
  });
}

test('kube-proxy, 10 000 Services: the emulator\'s listing round-trips through the real nft', { skip, timeout: 600_000 }, () => {
  const listed = emulate(kubeProxyRuleset({ services: 10_000, endpointsPer: 2, noEndpointsEvery: 11, affinityEvery: 13 }));
  const back = realNft(netns.fresh(), listed);
  assert.ok(back.ok, back.stderr);
  assertSameText(back.listed, listed, "the emulator's listing round-trips through the real nft");
});
