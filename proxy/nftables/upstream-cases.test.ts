/**
 * Upstream kube-proxy's nftables proxier tests, as data (tests/upstream/kube-proxy/
 * nftables.yaml), run against the emulated nftables-mode kube-proxy writing into a
 * knftables-style fake (and, transaction by transaction, into the emulated kernel's
 * nf_tables, which must accept each and hold the same chains and sets): the dump after each sync (compared after upstream's
 * sortNFTablesTransaction), the operation count of the last transaction (partial
 * syncs), the stale chains, and packet flows through upstream's nftablesTracer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NftablesProxier } from './proxier.ts';
import type { NftablesProxierOptions } from './proxier.ts';
import { FakeNftables } from './fake.ts';
import type { NftablesBackend } from './backend.ts';
import { netsimNftablesBackend } from './netsim-backend.ts';
import { Nftables } from '../../netsim/netfilter/nftables/nftables.ts';
import { sortNFTablesTransaction, tracePacketNft } from '../../tests/support/upstream-nftables.ts';
import type { PacketFlowTest } from '../../tests/support/upstream-tracer.ts';
import { loadUpstreamDoc, stepsOf, UpstreamObjects } from '../../tests/support/upstream-objects.ts';
import type { ObjectStep } from '../../tests/support/upstream-objects.ts';

interface Step extends ObjectStep {
  /** Virtual time passing before the step (stale chains age). */
  readonly advanceMs?: number;
  /** The dump after this step's sync, after `baseRules` (sorted as upstream sorts it). */
  readonly expected?: string;
  readonly expectOperations?: number;
  readonly expectStaleChains?: readonly string[];
  readonly expectElements?: ReadonlyArray<{ container: string; key: string; present: boolean }>;
  readonly flows?: readonly PacketFlowTest[];
  readonly flowOverrides?: Readonly<Record<string, { output?: string; masq?: boolean }>>;
}

interface Case extends Step {
  readonly name: string;
  readonly options?: Partial<NftablesProxierOptions> & { localDetector?: boolean };
  readonly steps?: readonly Step[];
}

/** upstream NewFakeProxier (IPv4): node IPs on eth0, --nodeport-addresses 192.168.0.2/32, pod CIDR 10.0.0.0/8, service CIDR 172.30.0.0/16, mark 0x4000. */
const TEST_NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
const FAKE_PROXIER: NftablesProxierOptions = {
  nodeName: 'test-node', nodeIP: '192.168.0.2', clusterCIDR: '10.0.0.0/8', serviceCIDRs: ['172.30.0.0/16'],
  nodePortAddresses: ['192.168.0.2/32', '2001:db8::1/128'], nodeIPs: ['127.0.0.1', ...TEST_NODE_IPS],
};

const doc = loadUpstreamDoc<{ baseRules: string; cases: Case[] }>('nftables.yaml');

function runCase(c: Case): void {
  const nft = new FakeNftables();
  let now = 0;
  const { localDetector, ...opts } = c.options ?? {};
  const options: NftablesProxierOptions = { ...FAKE_PROXIER, ...opts };
  if (localDetector === false) delete (options as { clusterCIDR?: string }).clusterCIDR;
  // Every transaction also goes to the emulated kernel's nf_tables, which must accept it and end up with the same objects.
  const kernel = netsimNftablesBackend(new Nftables());
  const both: NftablesBackend = {
    run: (tx) => {
      nft.run(tx);
      kernel.run(tx);
    },
    list: (kind) => nft.list(kind),
  };
  const p = new NftablesProxier(both, options, { nowMs: () => now });
  const objects = new UpstreamObjects(p);
  stepsOf(c).forEach((s, i) => {
    const where = `${c.name} step ${i + 1}`;
    now += s.advanceMs ?? 0;
    objects.apply(s, where);
    p.sync();
    for (const kind of ['chains', 'sets'] as const) assert.deepEqual(kernel.list(kind)?.sort(), nft.list(kind)?.sort(), `${where}: kernel ${kind}`);
    if (s.expected !== undefined) assert.equal(sortNFTablesTransaction(nft.dump()), sortNFTablesTransaction(doc.baseRules + s.expected), `${where}: dump`);
    if (s.expectOperations !== undefined) assert.equal(p.lastOperations, s.expectOperations, `${where}: operations\n${p.lastText}`);
    if (s.expectStaleChains !== undefined) assert.deepEqual([...p.staleChains.keys()].sort(), [...s.expectStaleChains].sort(), `${where}: stale chains`);
    for (const e of s.expectElements ?? []) {
      assert.equal((nft.elements(e.container) ?? []).some((x) => x.key.join(' . ') === e.key), e.present, `${where}: ${e.container} { ${e.key} }`);
    }
    for (const f0 of s.flows ?? []) {
      const f = { ...f0, ...(c.flowOverrides?.[f0.name] ?? {}) };
      const got = tracePacketNft(nft, TEST_NODE_IPS, f);
      assert.deepEqual(got.errors, [], `${where}: ${f.name}: tracer errors`);
      assert.deepEqual({ output: got.output, masq: got.masq }, { output: f.output, masq: f.masq ?? false }, `${where}: ${f.name}\n${got.matches.join('\n')}`);
    }
  });
}

for (const c of doc.cases) test(`nftables.yaml: ${c.name}`, () => runCase(c));
