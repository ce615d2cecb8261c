/**
 * The nftables proxier around its transactions: a refused transaction changes nothing
 * in the node and makes the next sync a full one that catches up (upstream: the
 * change trackers were already drained, so only needFullSync can recover); a sync
 * without changes sends an empty transaction; the text it sends is what the fake
 * (and nft) read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../service-port.ts';
import type { EndpointSliceInfo } from '../service-port.ts';
import { CLUSTER_CIDR, NODE, NODE_IP, services, slices } from '../fixtures.ts';
import { NftablesProxier } from './proxier.ts';
import type { NftablesBackend } from './backend.ts';
import { FakeNftables } from './fake.ts';

const OPTS = { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR, serviceCIDRs: ['10.96.0.0/12'] };

function feed(p: NftablesProxier, upTo = services.length): void {
  for (const s of services.slice(0, upTo)) p.onServiceUpdate(undefined, serviceInfoFromApi(s));
  for (const s of slices) p.onEndpointSliceUpdate(endpointSliceInfoFromApi(s) as EndpointSliceInfo, false);
}

test('a refused transaction leaves the node as it was; the next sync is full and reaches the same table as a fresh proxier', () => {
  const nft = new FakeNftables();
  let refuse = false;
  const backend: NftablesBackend = {
    run: (tx) => {
      if (refuse) throw new Error('nft: Could not process rule: No such file or directory');
      nft.run(tx);
    },
    list: (kind) => nft.list(kind),
  };
  const p = new NftablesProxier(backend, OPTS);
  feed(p, 4);
  assert.equal(p.sync().full, true);
  const before = nft.dump();

  feed(p);
  refuse = true;
  assert.throws(() => p.sync(), /Could not process rule/);
  assert.equal(nft.dump(), before, 'nothing of the refused transaction applied');

  refuse = false;
  const r = p.sync();
  assert.equal(r.full, true, 'the sync after a failure is full');
  assert.match(r.nftText ?? '', /^add table ip kube-proxy \{ comment "rules for kube-proxy" ; \}$/m);

  const fresh = new FakeNftables();
  const q = new NftablesProxier(fresh, OPTS);
  feed(q);
  q.sync();
  assert.equal(nft.dump(), fresh.dump());
});

test('a sync with nothing changed is an empty transaction; one endpoint change rewrites only its service', () => {
  const nft = new FakeNftables();
  const p = new NftablesProxier(nft, OPTS);
  feed(p);
  p.sync();
  const r = p.sync();
  assert.equal(r.full, false);
  assert.equal(p.lastOperations, 0);
  assert.equal(r.nftText, '');

  const web = slices.find((s) => s.metadata.name.startsWith('web-')) as (typeof slices)[number];
  const moved = { ...web, endpoints: web.endpoints.map((e, i) => (i === 0 ? { ...e, addresses: ['10.244.1.99'] } : e)) };
  p.onEndpointSliceUpdate(endpointSliceInfoFromApi(moved) as EndpointSliceInfo, false);
  const t = p.sync().nftText ?? '';
  const chains = [...t.matchAll(/^add chain ip kube-proxy (\S+)$/gm)].map((m) => m[1] as string);
  assert.ok(chains.length > 0 && chains.every((c) => c.includes('shop/web/')), chains.join('\n'));
  assert.match(t, /^flush chain ip kube-proxy endpoint-\w{8}-shop\/web\/tcp\/http__10\.244\.1\.11\/8080$/m, 'the old endpoint chain is flushed');
});
