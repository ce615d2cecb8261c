/**
 * Upstream kube-proxy's iptables proxier tests, as data (tests/upstream/kube-proxy/),
 * run against the emulated kube-proxy writing into the emulated kernel: the restore
 * text after upstream's sortIPTablesRules, single chains, rule-jump consistency, and
 * packet flows through a tracer with upstream's semantics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { IptablesProxier } from './proxier.ts';
import type { IptablesProxierOptions } from './proxier.ts';
import { netsimIptablesBackend } from './netsim-backend.ts';
import { NFACCT_COUNTERS } from './rules.ts';
import { checkIPTablesRuleJumps, chainRules, sortIPTablesRules } from '../../tests/support/upstream-iptables.ts';
import { tracePacketUpstream } from '../../tests/support/upstream-tracer.ts';
import type { PacketFlowTest } from '../../tests/support/upstream-tracer.ts';
import { loadUpstreamCases, stepsOf, UpstreamObjects } from '../../tests/support/upstream-objects.ts';
import type { ObjectStep } from '../../tests/support/upstream-objects.ts';

interface Step extends ObjectStep {
  /** The whole restore text of this step's sync (sorted as upstream sorts it). */
  readonly expected?: string;
  readonly expectChains?: ReadonlyArray<{ table: string; chain: string; rules: string }>;
  readonly flows?: readonly PacketFlowTest[];
  /** Rules put into the kernel behind the proxier's back before this step's sync (`iptables-restore --noflush`). */
  readonly kernelRestore?: string;
  /** The sync's restore is refused (upstream: a partial restore failure, so the next sync is full). */
  readonly syncFails?: boolean;
  /** nat chains that must exist in the kernel before this step's sync and, when it fails, after it. */
  readonly kernelChains?: readonly string[];
}

interface Case extends Step {
  readonly name: string;
  /** `localDetector: false` is upstream's NoOpLocalDetector: no pod CIDR to tell pod traffic by. */
  readonly options?: Partial<IptablesProxierOptions> & { localDetector?: boolean };
  /** Per-flow outcomes that differ from `flows` (TestInternalExternalMasquerade's overrides). */
  readonly flowOverrides?: Readonly<Record<string, { output?: string; masq?: boolean }>>;
  /**
   * false: every sync rebuilds and restores, as upstream's proxier does. The emulator's quiet
   * sync (nothing changed: `-Z` on the chains the last restore wrote, not a rebuild) is proved
   * equivalent in tests/scenarios/kube-proxy-quiet-sync.test.ts.
   */
  readonly quietSyncs?: boolean;
  readonly steps?: readonly Step[];
}

/** upstream NewFakeProxier's environment (see the README's conventions). */
const TEST_NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
const FAKE_PROXIER: IptablesProxierOptions = {
  nodeName: 'test-node', nodeIP: '192.168.0.2', clusterCIDR: '10.0.0.0/8', localhostNodePorts: true,
  randomFully: false, nfacctCounters: NFACCT_COUNTERS, nodeIPs: ['127.0.0.1', ...TEST_NODE_IPS],
};

function runCase(c: Case): void {
  const ipt = new Iptables();
  for (const n of NFACCT_COUNTERS) ipt.nfacct.set(n, { pkts: 0, bytes: 0 });
  const { localDetector, ...opts } = c.options ?? {};
  const options: IptablesProxierOptions = { ...FAKE_PROXIER, ...opts };
  if (localDetector === false) delete (options as { clusterCIDR?: string }).clusterCIDR;
  const p = new IptablesProxier(netsimIptablesBackend(ipt), options);
  if (c.quietSyncs === false) p.quietSyncs = false;
  checkOverrides(c);
  const objects = new UpstreamObjects(p);
  stepsOf(c).forEach((s, i) => {
    const where = `${c.name} step ${i + 1}`;
    objects.apply(s, where);
    if (s.kernelRestore !== undefined) ipt.restore(s.kernelRestore, { noflush: true });
    for (const name of s.kernelChains ?? []) assert.ok(ipt.chain('nat', name) !== undefined, `${where}: nat ${name} exists before the sync`);
    if (s.syncFails === true) {
      assert.throws(() => p.sync(), `${where}: the restore is refused`);
      for (const name of s.kernelChains ?? []) assert.ok(ipt.chain('nat', name) !== undefined, `${where}: nat ${name} is left in place`);
      return;
    }
    const { iptablesText: text, full } = p.sync();
    if (s.expected !== undefined) {
      assert.equal(sortIPTablesRules(text), s.expected, `${where}: rules`);
      // A partial sync's text jumps to chains it does not write (upstream checks consistency of full syncs only).
      if (full) assert.equal(checkIPTablesRuleJumps(s.expected), undefined, `${where}: expected rules are consistent`);
    }
    for (const e of s.expectChains ?? []) assert.equal(chainRules(text, e.table, e.chain), e.rules, `${where}: ${e.table} ${e.chain}`);
    for (const f0 of s.flows ?? []) {
      const f = { ...f0, ...(c.flowOverrides?.[f0.name] ?? {}) };
      const got = tracePacketUpstream(ipt, TEST_NODE_IPS, f);
      assert.deepEqual({ output: got.output, masq: got.masq }, { output: f.output, masq: f.masq ?? false }, `${where}: ${f.name}\n${got.matches.join('\n')}`);
    }
  });
}

/** As upstream: every override names a flow of the case and changes its outcome. */
function checkOverrides(c: Case): void {
  const flows = new Map(stepsOf(c).flatMap((s) => s.flows ?? []).map((f) => [f.name, f]));
  for (const [name, o] of Object.entries(c.flowOverrides ?? {})) {
    const base = flows.get(name);
    assert.ok(base !== undefined, `${c.name}: override "${name}" names no flow`);
    if (o.masq !== undefined) assert.notEqual(o.masq, base.masq ?? false, `${c.name}: override "${name}" masq is the base value`);
    if (o.output !== undefined) assert.notEqual(o.output, base.output, `${c.name}: override "${name}" output is the base value`);
  }
}

for (const file of ['iptables.yaml', 'semantics.yaml']) {
  for (const c of loadUpstreamCases<Case>(file)) test(`${file}: ${c.name}`, () => runCase(c));
}
