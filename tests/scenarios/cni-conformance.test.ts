/**
 * Conformance against the real plugins: with root, iproute2 and Debian's
 * containernetworking-plugins (/usr/lib/cni), the same configs and environment go to
 * the real bridge + host-local + portmap in real network namespaces and to ours in
 * the emulator; the results must have the same structure (interfaces cni0, host
 * veth, container eth0 with its sandbox; the .2 address with the .1 gateway; the
 * routes; the JSON field order), the errors the same code and message, and the nat
 * rules the same lines. Skipped, with the reason printed, where the machine lacks
 * any of that. Everything created is removed afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { MemoryFs, NetnsRegistry, RecordingRestorer } from '../../cni/host.ts';
import { createCniHost } from '../../cni/node-host.ts';
import { PLUGINS } from '../../cni/plugins/index.ts';
import type { PluginType } from '../../cni/plugins/index.ts';
import { ipLink } from '../../netsim/tools/ip.ts';

const CNI_DIR = '/usr/lib/cni';

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root for ip netns';
  for (const p of ['bridge', 'host-local', 'portmap']) if (!existsSync(join(CNI_DIR, p))) return `${join(CNI_DIR, p)} missing (apt install containernetworking-plugins)`;
  const probe = `cniconf-probe-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${(r.stderr || String(r.error)).trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

interface Out { stdout: string; code: number }

/** Run a real plugin inside the host namespace `hostNs`. */
function real(hostNs: string, type: string, env: Record<string, string>, stdin: string): Out {
  const args = ['netns', 'exec', hostNs, 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), join(CNI_DIR, type)];
  const r = spawnSync('ip', args, { input: stdin, encoding: 'utf8' });
  return { stdout: r.stdout, code: r.status ?? -1 };
}

/** The shape of a result: keys in order, names and MACs reduced to patterns. */
function shape(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(shape);
  if (typeof x === 'object' && x !== null) {
    return Object.entries(x).map(([k, v]) => {
      if (k === 'mac') return [k, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(String(v)) ? 'MAC' : v];
      if (k === 'name' && /^veth[0-9a-f]{8}$/.test(String(v))) return [k, 'vethXXXXXXXX'];
      return [k, shape(v)];
    });
  }
  return x;
}

const reason = skipReason();
if (reason !== undefined) console.log(`# cni-conformance skipped: ${reason}`);

test('real bridge + host-local + portmap vs ours: same result structure, errors and nat rules', { skip: reason }, () => {
  const tag = `${process.pid}`;
  const hostNs = `cniconf-h-${tag}`;
  const podNs = `cniconf-p-${tag}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'cniconf-'));
  spawnSync('ip', ['netns', 'add', hostNs]);
  spawnSync('ip', ['netns', 'add', podNs]);
  try {
    const sim = new Sim({ seed: 11 });
    const registry = new NetnsRegistry();
    const host = createCniHost(new NetNamespace(sim, 'node01'), { iptables: new RecordingRestorer(), fs: new MemoryFs(), netns: registry });
    const podPath = `/var/run/netns/${podNs}`;
    registry.add(podPath, new NetNamespace(sim, podNs, 'node01'));
    const ours = (type: PluginType, env: Record<string, string>, stdin: string): Out => PLUGINS[type]({ env, stdin, host });
    const env = (cmd: string, id: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: podPath, CNI_IFNAME: id.startsWith('conformance1') ? 'eth1' : 'eth0', CNI_PATH: CNI_DIR });

    for (const [i, version] of (['0.3.1', '1.0.0'] as const).entries()) {
      const id = `conformance${i}`;
      // What the flannel plugin hands to bridge for kube-flannel's cbr0 on a node with FLANNEL_SUBNET=10.244.1.1/24.
      const conf = JSON.stringify({
        cniVersion: version, name: `cbr${i}`, type: 'bridge', bridge: `cni${i}`, hairpinMode: true, isDefaultGateway: true, isGateway: true, ipMasq: true, mtu: 1472,
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: `10.24${i}.1.0/24` }]], routes: [{ dst: '10.244.0.0/16' }] },
      });
      const r = real(hostNs, 'bridge', env('ADD', id), conf);
      const o = ours('bridge', env('ADD', id), conf);
      assert.equal(r.code, 0, r.stdout);
      assert.equal(o.code, 0, o.stdout);
      const rj = JSON.parse(r.stdout) as { ips: Array<{ address: string; gateway: string }> };
      const oj = JSON.parse(o.stdout) as typeof rj;
      assert.deepEqual(shape(oj), shape(rj), `${version}: result structure`);
      assert.equal(oj.ips[0]?.address, `10.24${i}.1.2/24`);
      assert.equal(oj.ips[0]?.gateway, `10.24${i}.1.1`);

      // A second ADD for the same container interface fails the same way.
      const r2 = real(hostNs, 'bridge', env('ADD', id), conf);
      const o2 = ours('bridge', env('ADD', id), conf);
      assert.notEqual(r2.code, 0);
      assert.notEqual(o2.code, 0);
      const [re, oe] = [JSON.parse(r2.stdout), JSON.parse(o2.stdout)] as Array<{ code: number; msg: string }>;
      assert.deepEqual([oe?.code, oe?.msg], [re?.code, re?.msg]);

      // portmap chained after it writes the same nat rules.
      const pm = JSON.stringify({ cniVersion: version, name: `cbr${i}`, type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 8080 + i, containerPort: 80, protocol: 'tcp' }] }, prevResult: rj });
      const rp = real(hostNs, 'portmap', env('ADD', id), pm);
      const op = ours('portmap', env('ADD', id), JSON.stringify({ ...JSON.parse(pm), prevResult: oj }));
      assert.equal(rp.code, 0, rp.stdout);
      assert.equal(op.code, 0, op.stdout);
      assert.deepEqual(shape(JSON.parse(op.stdout)), shape(JSON.parse(rp.stdout)), 'portmap passes prevResult through');
    }
    const realNat = spawnSync('ip', ['netns', 'exec', hostNs, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' }).stdout;
    const rules = (s: string) => s.split('\n').filter((l) => l.startsWith('-A ') || /^:CNI-/.test(l)).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).sort();
    assert.deepEqual(rules(host.iptables.save({ table: 'nat' })), rules(realNat));
    // Order matters in POSTROUTING: portmap prepends its masquerade jump (before the bridges' masquerade rules).
    const post = (s: string) => s.split('\n').filter((l) => l.startsWith('-A POSTROUTING ')).map((l) => l.replace(/id: "[^"]*"/, 'id: X').replace(/CNI-[0-9a-f]{24}/, 'CNI-X'));
    assert.deepEqual(post(host.iptables.save({ table: 'nat' })), post(realNat));
    // route_localnet: on the bridge that routes to the container only, not for all.
    const sysctl = (k: string) => spawnSync('ip', ['netns', 'exec', hostNs, 'sysctl', '-n', k], { encoding: 'utf8' }).stdout.trim();
    assert.deepEqual([sysctl('net.ipv4.conf.all.route_localnet'), sysctl('net.ipv4.conf.cni0.route_localnet'), sysctl('net.ipv4.conf.cni1.route_localnet')], ['0', '1', '1']);
    assert.equal(host.ns.sysctl.routeLocalnet, false);
    // The host ends of the veths: txqueuelen 0 (no `qlen` printed), their peers in another namespace.
    const vethLines = (text: string) => text.split(/\n(?=\d+: )/).filter((l) => / master cni[01] /.test(l));
    const realLinks = vethLines(spawnSync('ip', ['-n', hostNs, 'link', 'show'], { encoding: 'utf8' }).stdout);
    const ourLinks = vethLines(ipLink(host.ns));
    assert.equal(realLinks.length, 2);
    assert.equal(ourLinks.length, 2);
    for (const l of [...realLinks, ...ourLinks]) {
      assert.ok(!/ qlen /.test(l), l);
      assert.match(l, /^\d+: veth[0-9a-f]{8}@if\d+: /);
    }
    assert.deepEqual([...host.ns.devRouteLocalnet].sort(), ['cni0', 'cni1']);

    // DEL, twice, in reverse order: both succeed and leave the same nat table behind.
    for (const [i, version] of (['0.3.1', '1.0.0'] as const).entries()) {
      const id = `conformance${i}`;
      const conf = JSON.stringify({ cniVersion: version, name: `cbr${i}`, type: 'bridge', bridge: `cni${i}`, ipMasq: true, ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: `10.24${i}.1.0/24` }]] } });
      const pm = JSON.stringify({ cniVersion: version, name: `cbr${i}`, type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 8080 + i, containerPort: 80, protocol: 'tcp' }] } });
      for (let k = 0; k < 2; k++) {
        for (const [type, stdin] of [['portmap', pm], ['bridge', conf]] as const) {
          assert.equal(real(hostNs, type, env('DEL', id), stdin).code, 0);
          assert.equal(ours(type, env('DEL', id), stdin).code, 0);
        }
      }
    }
    const realAfter = spawnSync('ip', ['netns', 'exec', hostNs, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' }).stdout;
    assert.deepEqual(rules(host.iptables.save({ table: 'nat' })), rules(realAfter));

    // loopback: the same result.
    const lo = JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' });
    const loEnv = { ...env('ADD', 'lo1'), CNI_IFNAME: 'lo' };
    const rl = real(hostNs, 'loopback', loEnv, lo);
    const ol = ours('loopback', loEnv, lo);
    assert.equal(rl.code, 0, rl.stdout);
    assert.deepEqual(JSON.parse(ol.stdout), JSON.parse(rl.stdout));

    // host-local exhaustion: the same message.
    const small = JSON.stringify({ cniVersion: '1.0.0', name: 'small', type: 'bridge', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.9.0.0/30' }]] } });
    for (const id of ['s1', 's2']) {
      const a = real(hostNs, 'host-local', env('ADD', id), small);
      const b = ours('host-local', env('ADD', id), small);
      assert.equal(a.code, b.code);
      if (a.code !== 0) assert.equal(JSON.parse(b.stdout).msg, JSON.parse(a.stdout).msg);
      else assert.deepEqual(shape(JSON.parse(b.stdout)), shape(JSON.parse(a.stdout)));
    }
  } finally {
    spawnSync('ip', ['netns', 'del', podNs]);
    spawnSync('ip', ['netns', 'del', hostNs]);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
