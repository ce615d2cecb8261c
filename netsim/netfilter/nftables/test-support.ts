/**
 * Test and bench helpers: a kube-proxy-shaped ruleset of N Services written as
 * knftables writes kube-proxy's transactions (upstream pkg/proxy/nftables, hashed
 * chain names, verdict maps, numgen endpoint selection, affinity sets), and the real
 * `nft` in a fresh network namespace. Test-only; not exported by index.ts.
 */
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** hashAndTruncate's prefix: the first 8 base32 characters of the name's SHA-256. */
function hashPrefix(name: string): string {
  const h = createHash('sha256').update(name).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of h) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 8) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 8) break;
  }
  return out;
}

function ip(base: number, i: number): string {
  const v = (base + i) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export interface KubeRulesetOptions {
  readonly services: number;
  readonly endpointsPer?: number;
  /** Every how many Services one has no endpoints (0: none). */
  readonly noEndpointsEvery?: number;
  /** Every how many Services one has ClientIP affinity (0: none). */
  readonly affinityEvery?: number;
}

/** The text kube-proxy's nftables proxier would hand `nft -f` for a full sync. */
export function kubeProxyRuleset(o: KubeRulesetOptions): string {
  const L: string[] = [];
  const add = (s: string) => L.push(s);
  const T = 'ip kube-proxy';
  add(`add table ${T} { comment "rules for kube-proxy" ; }`);
  const base: Array<[string, string, string, number]> = [
    ['filter-prerouting', 'filter', 'prerouting', -110], ['filter-input', 'filter', 'input', -110], ['filter-forward', 'filter', 'forward', -110],
    ['filter-output', 'filter', 'output', -110], ['filter-output-post-dnat', 'filter', 'output', -90],
    ['nat-prerouting', 'nat', 'prerouting', -100], ['nat-output', 'nat', 'output', -100], ['nat-postrouting', 'nat', 'postrouting', 100],
  ];
  for (const [n, t, h, p] of base) {
    add(`add chain ${T} ${n} { type ${t} hook ${h} priority ${p} ; }`);
    add(`flush chain ${T} ${n}`);
  }
  for (const c of ['service-endpoints-check', 'nodeport-endpoints-check', 'firewall-check', 'services', 'masquerading', 'mark-for-masquerade', 'cluster-ips-check']) {
    add(`add chain ${T} ${c}`);
    add(`flush chain ${T} ${c}`);
  }
  add(`add rule ${T} filter-forward ct state new jump service-endpoints-check`);
  add(`add rule ${T} filter-input ct state new jump nodeport-endpoints-check`);
  add(`add rule ${T} filter-input ct state new jump service-endpoints-check`);
  add(`add rule ${T} filter-output ct state new jump service-endpoints-check`);
  add(`add rule ${T} filter-prerouting ct state new jump firewall-check`);
  add(`add rule ${T} filter-output ct state new jump firewall-check`);
  add(`add rule ${T} filter-output-post-dnat ct state new jump cluster-ips-check`);
  add(`add rule ${T} nat-output jump services`);
  add(`add rule ${T} nat-prerouting jump services`);
  add(`add rule ${T} nat-postrouting jump masquerading`);
  add(`add rule ${T} mark-for-masquerade mark set mark or 0x4000`);
  add(`add rule ${T} masquerading mark and 0x4000 == 0 return`);
  add(`add rule ${T} masquerading mark set mark xor 0x4000`);
  add(`add rule ${T} masquerading masquerade fully-random`);
  add(`add set ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`);
  add(`add set ${T} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`);
  add(`flush set ${T} nodeport-ips`);
  add(`add element ${T} nodeport-ips { 192.168.0.2 }`);
  add(`add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`);
  add(`add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`);
  add(`add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`);
  add(`flush chain ${T} reject-chain`);
  add(`add rule ${T} reject-chain reject`);
  add(`add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`);
  add(`add rule ${T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`);
  add(`add map ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`);
  add(`add rule ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`);
  add(`add rule ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`);
  add(`add rule ${T} cluster-ips-check ip daddr { 172.30.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"`);
  add(`add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`);
  add(`add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`);
  add(`add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`);
  add(`add rule ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`);
  for (const m of ['firewall-ips', 'no-endpoint-services', 'no-endpoint-nodeports', 'service-ips', 'service-nodeports']) add(`flush map ${T} ${m}`);
  const eps = o.endpointsPer ?? 2;
  const clusterBase = (172 << 24) | (30 << 16);
  const podBase = (10 << 24) | (180 << 16);
  for (let s = 0; s < o.services; s++) {
    const ns = `ns${s % 7}`;
    const svc = `svc${s}`;
    const proto = s % 5 === 4 ? 'udp' : 'tcp';
    const port = 80 + (s % 3);
    const cip = ip(clusterBase, s + 1);
    // NodePorts are 30000-32767: the first 2768 Services get one.
    const nodePort = s < 2768 ? 30000 + s : undefined;
    const spn = `${ns}/${svc}/${proto}/p${port}`;
    add(`add element ${T} cluster-ips { ${cip} }`);
    if (o.noEndpointsEvery !== undefined && o.noEndpointsEvery > 0 && s % o.noEndpointsEvery === o.noEndpointsEvery - 1) {
      add(`add element ${T} no-endpoint-services { ${cip} . ${proto} . ${port} comment "${ns}/${svc}:p${port}" : goto reject-chain }`);
      continue;
    }
    const svcChain = `service-${hashPrefix(spn)}-${spn}`;
    const extChain = `external-${hashPrefix(spn)}-${spn}`;
    const epChains: string[] = [];
    const affinity = o.affinityEvery !== undefined && o.affinityEvery > 0 && s % o.affinityEvery === 0;
    for (let e = 0; e < eps; e++) {
      const epIp = ip(podBase, s * eps + e + 1);
      const epName = `${spn}__${epIp}/${port + 8000}`;
      const chain = `endpoint-${hashPrefix(epName)}-${epName}`;
      epChains.push(chain);
      add(`add chain ${T} ${chain}`);
      add(`flush chain ${T} ${chain}`);
      if (affinity) add(`add set ${T} affinity-${hashPrefix(epName)}-${epName} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }`);
    }
    add(`add chain ${T} ${svcChain}`);
    add(`flush chain ${T} ${svcChain}`);
    add(`add chain ${T} ${extChain}`);
    add(`flush chain ${T} ${extChain}`);
    add(`add element ${T} service-ips { ${cip} . ${proto} . ${port} : goto ${svcChain} }`);
    if (nodePort !== undefined) add(`add element ${T} service-nodeports { ${proto} . ${nodePort} : goto ${extChain} }`);
    add(`add rule ${T} ${svcChain} ip daddr ${cip} ${proto} dport ${port} ip saddr != 10.0.0.0/8 jump mark-for-masquerade`);
    if (affinity) {
      epChains.forEach((c) => {
        const setName = c.replace(/^endpoint-/, 'affinity-');
        add(`add rule ${T} ${svcChain} ip saddr @${setName} goto ${c}`);
      });
    }
    add(`add rule ${T} ${svcChain} numgen random mod ${eps} vmap { ${epChains.map((c, i) => `${i} : goto ${c}`).join(' , ')} }`);
    add(`add rule ${T} ${extChain} jump mark-for-masquerade`);
    add(`add rule ${T} ${extChain} goto ${svcChain}`);
    epChains.forEach((c, e) => {
      const epIp = ip(podBase, s * eps + e + 1);
      add(`add rule ${T} ${c} ip saddr ${epIp} jump mark-for-masquerade`);
      if (affinity) add(`add rule ${T} ${c} update @${c.replace(/^endpoint-/, 'affinity-')} { ip saddr }`);
      add(`add rule ${T} ${c} meta l4proto ${proto} dnat to ${epIp}:${port + 8000}`);
    });
  }
  return L.join('\n') + '\n';
}

/** Why the real `nft` comparisons cannot run here, or undefined when they can (root, `ip netns`, nft 1.0.6). */
export function realNftSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const v = spawnSync('nft', ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) return 'nft is not installed';
  if (!/v1\.0\.6\b/.test(v.stdout)) return `the printer follows nft 1.0.6; this is ${v.stdout.trim()}`;
  const probe = `nsim-nft-${process.pid}-probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${(r.stderr ?? '').trim() || String(r.error?.message)}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

/** A fixture's batches: `# commit` lines separate them. */
export function batches(text: string): string[] {
  return text.split(/^# commit$/m);
}

/**
 * `nft ARGS` (a listing: `list ruleset` by default) in namespace `ns`, repeated until two in a row
 * agree. A set's elements live in an rhashtable that the kernel grows by deferred work
 * after a large load (rht_deferred_worker); a netlink dump that spans a resize can
 * repeat or skip elements (nft_rhash_walk restarts on -EAGAIN, and each dump part
 * skips as many elements as it already sent). On a loaded machine the worker runs
 * late, so a listing taken right after `nft -f` can be wrong once.
 */
export function listRealNft(ns: string, args: readonly string[] = ['list', 'ruleset']): { status: number | null; stdout: string; stderr: string } {
  let last: { status: number | null; stdout: string; stderr: string } | undefined;
  for (let i = 0; i < 8; i++) {
    const l = spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const now = { status: l.status, stdout: l.stdout, stderr: l.stderr };
    if (last !== undefined && last.status === 0 && now.status === 0 && last.stdout === now.stdout) return now;
    last = now;
  }
  return last as { status: number | null; stdout: string; stderr: string };
}

/**
 * Loads `text` with the real `nft -f -` in namespace `ns` (flushed first), batch by
 * batch; whether every batch applied and was listed, the listing and stderr.
 */
export function realNft(ns: string, text: string, listFlags: readonly string[] = []): { ok: boolean; listed: string; stderr: string } {
  spawnSync('ip', ['netns', 'exec', ns, 'nft', 'flush', 'ruleset']);
  let ok = true;
  let stderr = '';
  for (const b of batches(text)) {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { encoding: 'utf8', input: b, maxBuffer: 1 << 30 });
    ok &&= r.status === 0;
    stderr += r.stderr;
  }
  const l = listRealNft(ns, [...listFlags, 'list', 'ruleset']);
  return { ok: ok && l.status === 0, listed: l.stdout, stderr: stderr + l.stderr };
}

/**
 * Equal texts, or an assertion that says where they first part (line, and 200
 * characters either side in both), instead of printing a megabyte listing whole.
 */
export function assertSameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  const line = actual.slice(0, i).split('\n').length;
  const around = (t: string): string => JSON.stringify(t.slice(Math.max(0, i - 200), i + 200));
  throw new assert.AssertionError({
    message: `${what}: the texts part at line ${line} (lengths ${actual.length} and ${expected.length} expected)\n actual:   ${around(actual)}\n expected: ${around(expected)}`,
    actual: actual.slice(i, i + 200),
    expected: expected.slice(i, i + 200),
    operator: 'strictEqual',
  });
}
