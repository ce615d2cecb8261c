/**
 * The nftables-mode transactions checked against the real `nft` (1.0.6 on the
 * reference machines) in a fresh network namespace, for 10, 1 000 and 10 000
 * Services of every kind (proxy/fixtures.ts scaleFixture): every transaction the
 * proxier sends goes to the kernel too (the first also through `nft -c -f` below
 * 10 000 Services); a partial sync after churn (endpoints
 * moved, a Service deleted, one added) applies on top of it; and the kernel then
 * holds exactly the chains, sets and map elements the knftables-style fake holds.
 * Skips (printing why) without root, `ip netns` or nft.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Netns, realToolSkipReason } from '../../netsim/netfilter/iptables/test-support.ts';
import { listRealNft } from '../../netsim/netfilter/nftables/test-support.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../service-port.ts';
import { NODE, NODE_IP, CLUSTER_CIDR, scaleFixture } from '../fixtures.ts';
import { NftablesProxier } from './proxier.ts';
import { FakeNftables } from './fake.ts';
import type { NftablesBackend } from './backend.ts';

function skipReason(): string | undefined {
  const r = realToolSkipReason();
  if (r !== undefined && r !== 'iptables-save is not installed' && !r.startsWith('the goldens')) return r;
  const v = spawnSync('nft', ['--version'], { encoding: 'utf8' });
  return v.status === 0 ? undefined : 'nft is not installed';
}

const skip = skipReason();
if (skip !== undefined) console.log(`# skipping real nft checks: ${skip}`);

interface NftJson { nftables: Array<Record<string, { name?: string; elem?: unknown[] } | undefined>> }

function kernelObjects(name: string): { chains: string[]; sets: string[]; serviceIps: number } {
  const r = listRealNft(name, ['-j', 'list', 'table', 'ip', 'kube-proxy']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as NftJson;
  const chains: string[] = [];
  const sets: string[] = [];
  let serviceIps = 0;
  for (const o of j.nftables) {
    if (o.chain?.name !== undefined) chains.push(o.chain.name);
    if (o.set?.name !== undefined) sets.push(o.set.name);
    if (o.map?.name === 'service-ips') serviceIps = o.map.elem?.length ?? 0;
  }
  return { chains: chains.sort(), sets: sets.sort(), serviceIps };
}

// 10 000 Services with one endpoint each is ~20 000 chains: the real kernel takes ~25 s
// to load them (its time grows faster than linearly with the chain count).
for (const [n, endpoints] of [[10, 10], [1000, 5], [10_000, 1]] as const) {
  test(`real nft accepts kube-proxy's transactions for ${n} Services × ${endpoints} endpoints, full then partial`, { skip: skip !== undefined, timeout: 600_000 }, () => {
    const fake = new FakeNftables();
    const netns = new Netns('nsim-nftkp');
    const ns = netns.fresh();
    // Every transaction (the stale-chain deletions too) goes to the fake and to the real kernel.
    const texts: string[] = [];
    const tee: NftablesBackend = {
      run: (tx) => {
        const text = tx.toString();
        if (texts.length === 0 && n <= 1000) {
          const check = netns.run(ns, ['nft', '-c', '-f', '-'], text);
          assert.equal(check.status, 0, `nft -c refused the full sync: ${check.stderr.slice(0, 2000)}`);
        }
        const r = netns.run(ns, ['nft', '-f', '-'], text);
        assert.equal(r.status, 0, `nft -f refused transaction ${texts.length + 1}: ${r.stderr.slice(0, 2000)}\n${text.slice(0, 2000)}`);
        texts.push(text);
        fake.run(tx);
      },
      list: (kind) => fake.list(kind),
    };
    let now = 0;
    const p = new NftablesProxier(tee, { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR, serviceCIDRs: ['10.96.0.0/12'], nodePortAddresses: ['192.168.50.0/24'], nodeIPs: ['127.0.0.1', NODE_IP] }, { nowMs: () => now });
    const { services, slices } = scaleFixture(n, endpoints);
    for (const s of services) p.onServiceUpdate(undefined, serviceInfoFromApi(s));
    for (const s of slices) p.onEndpointSliceUpdate(endpointSliceInfoFromApi(s) as NonNullable<ReturnType<typeof endpointSliceInfoFromApi>>, false);
    try {
      p.sync();
      const full = p.lastText;

      // Churn: endpoints of the first services move, one Service goes, a new one comes.
      const moved = scaleFixture(n, endpoints, 1);
      for (const s of moved.slices.slice(0, 5)) p.onEndpointSliceUpdate(endpointSliceInfoFromApi(s) as NonNullable<ReturnType<typeof endpointSliceInfoFromApi>>, false);
      p.onServiceUpdate(serviceInfoFromApi(services[2] as (typeof services)[number]), undefined);
      const extra = scaleFixture(n + 4, endpoints);
      for (const i of [n, n + 3]) {
        const s = extra.services[i];
        if (s !== undefined) p.onServiceUpdate(undefined, serviceInfoFromApi(s));
      }
      now += 500;
      p.sync();
      assert.ok(p.lastText.length < full.length / 2 || n < 100, 'a partial sync writes much less than a full one');
      // Stale chains are deleted a second later, in their own transaction.
      now += 2000;
      p.sync();
      assert.equal(texts.length, 4, 'full, partial, stale-chain deletion, empty partial');

      const k = kernelObjects(ns);
      assert.deepEqual(k.chains, [...(fake.list('chains') ?? [])].sort(), 'chains');
      assert.deepEqual(k.sets, [...(fake.list('sets') ?? [])].sort(), 'sets');
      assert.equal(k.serviceIps, fake.elements('service-ips')?.length, 'service-ips elements');
    } finally {
      netns.cleanup();
    }
  });
}
