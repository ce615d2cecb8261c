/**
 * CNI error results: every failure leaves a plugin as the spec's error JSON
 * `{"cniVersion","code","msg","details"}` with a non-zero exit, carrying the spec's
 * codes (1 version, 2 unsupported field, 3 unknown container, 4 env, 6 decode,
 * 7 invalid config); random configs never make a plugin throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { MemoryFs, RecordingRestorer } from '../../cni/host.ts';
import { createCniHost, createSandbox } from '../../cni/node-host.ts';
import { PLUGINS } from '../../cni/plugins/index.ts';
import type { PluginType } from '../../cni/plugins/index.ts';
import { CniRuntime } from '../../cni/runtime.ts';
import { parseConfList } from '../../cni/spec/config.ts';
import { CniError } from '../../cni/errors.ts';

function host() {
  const sim = new Sim({ seed: 7 });
  const h = createCniHost(new NetNamespace(sim, 'node01'), { iptables: new RecordingRestorer(), fs: new MemoryFs() });
  const sb = createSandbox(h, 'pod');
  return { h, sb };
}

const ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc123', CNI_NETNS: '/var/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

function run(type: PluginType, env: Record<string, string>, stdin: string) {
  const { h } = host();
  return PLUGINS[type]({ env, stdin, host: h });
}

function assertErrorJson(out: { stdout: string; code: number }): { cniVersion: string; code: number; msg: string; details?: string } {
  assert.notEqual(out.code, 0);
  const j = JSON.parse(out.stdout) as { cniVersion: string; code: number; msg: string; details?: string };
  assert.equal(typeof j.cniVersion, 'string');
  assert.equal(typeof j.code, 'number');
  assert.equal(typeof j.msg, 'string');
  assert.ok(j.details === undefined || typeof j.details === 'string');
  assert.deepEqual(Object.keys(j).filter((k) => !['cniVersion', 'code', 'msg', 'details'].includes(k)), []);
  return j;
}

const bridgeConf = (extra: object = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'bridge', ipam: { type: 'host-local', subnet: '10.244.1.0/24' }, ...extra });

test('env problems are code 4; undecodable config code 6; unknown versions code 1; CHECK/GC below their version code 1', () => {
  const missing = assertErrorJson(run('bridge', { CNI_COMMAND: 'ADD', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' }, bridgeConf()));
  assert.deepEqual([missing.code, missing.msg], [4, 'required env variables [CNI_CONTAINERID,CNI_PATH] missing']);
  assert.equal(assertErrorJson(run('bridge', { ...ENV, CNI_COMMAND: 'FOO' }, bridgeConf())).code, 4);
  assert.equal(assertErrorJson(run('bridge', { ...ENV, CNI_CONTAINERID: '-bad id' }, bridgeConf())).code, 4);
  assert.equal(assertErrorJson(run('bridge', { ...ENV, CNI_IFNAME: 'a-very-long-interface-name' }, bridgeConf())).code, 4);
  assert.equal(assertErrorJson(run('bridge', { ...ENV, CNI_ARGS: 'novalue' }, bridgeConf())).code, 6);
  assert.equal(assertErrorJson(run('bridge', ENV, '{bad')).code, 6);
  assert.equal(assertErrorJson(run('bridge', ENV, '[1,2]')).code, 6);
  const v = assertErrorJson(run('bridge', ENV, bridgeConf({ cniVersion: '9.0.0' })));
  assert.deepEqual([v.code, v.msg], [1, 'incompatible CNI versions']);
  assert.equal(v.details, 'config is "9.0.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]');
  assert.equal(assertErrorJson(run('bridge', { ...ENV, CNI_COMMAND: 'CHECK' }, bridgeConf({ cniVersion: '0.3.1' }))).code, 1);
  assert.equal(assertErrorJson(run('bridge', { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, bridgeConf())).code, 1);
  const ver = run('bridge', { CNI_COMMAND: 'VERSION' }, '');
  assert.equal(ver.code, 0);
  assert.deepEqual(JSON.parse(ver.stdout), { cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
});

test('invalid config is code 7, unsupported fields code 2, CHECK without prevResult code 7', () => {
  assert.equal(assertErrorJson(run('bridge', ENV, bridgeConf({ hairpinMode: true, promiscMode: true }))).code, 7);
  assert.equal(assertErrorJson(run('bridge', ENV, bridgeConf({ mtu: 'big' }))).code, 7);
  assert.equal(assertErrorJson(run('bridge', ENV, bridgeConf({ vlan: 100 }))).code, 2);
  assert.equal(assertErrorJson(run('host-local', ENV, bridgeConf({ ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.0.1/32' }]] } }))).code, 7);
  assert.equal(assertErrorJson(run('host-local', ENV, bridgeConf({ ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.0.5/24' }]] } }))).details, 'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0');
  assert.equal(assertErrorJson(run('host-local', ENV, JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'host-local' }))).code, 7);
  assert.equal(assertErrorJson(run('bridge', { ...ENV, CNI_COMMAND: 'CHECK' }, bridgeConf())).code, 7);
  assert.equal(assertErrorJson(run('portmap', ENV, JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'portmap' }))).msg, 'must be called as chained plugin');
  const fl = assertErrorJson(run('flannel', ENV, JSON.stringify({ cniVersion: '0.3.1', name: 'cbr0', type: 'flannel' })));
  assert.match(fl.msg, /^failed to load flannel 'subnet\.env' file: open \/run\/flannel\/subnet\.env: no such file or directory/);
});

test('runtime: conflist errors carry codes 6, 7 and 1; CHECK of an unknown attachment code 3; DEL of an unknown one succeeds', () => {
  const code = (text: string): number => {
    try {
      parseConfList(text);
      return 0;
    } catch (e) {
      assert.ok(e instanceof CniError);
      return e.code;
    }
  };
  assert.equal(code('{'), 6);
  assert.equal(code('{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}'), 7);
  assert.equal(code('{"cniVersion":"1.0.0","name":"n"}'), 7);
  assert.equal(code('{"cniVersion":"1.0.0","name":"n","plugins":[{}]}'), 7);
  assert.equal(code('{"cniVersion":"7.0.0","name":"n","plugins":[{"type":"bridge"}]}'), 1);
  assert.equal(parseConfList('{"cniVersions":["0.4.0","1.1.0","2.0.0"],"name":"n","plugins":[{"type":"loopback"}]}').cniVersion, '1.1.0');
  const { h, sb } = host();
  const rt = new CniRuntime(h);
  const list = parseConfList('{"cniVersion":"1.1.0","name":"lo","plugins":[{"type":"loopback"}]}');
  assert.throws(() => rt.checkNetworkList(list, { containerId: 'c1', netns: sb.path, ifName: 'lo' }), (e: CniError) => e.code === 3);
  rt.delNetworkList(list, { containerId: 'c1', netns: sb.path, ifName: 'lo' });
  assert.throws(() => rt.addNetworkList(parseConfList('{"cniVersion":"1.1.0","name":"x","plugins":[{"type":"nope"}]}'), { containerId: 'c1', netns: sb.path, ifName: 'eth0' }), /failed to find plugin "nope" in path \[\/opt\/cni\/bin\]/);
});

const fieldValues = fc.oneof(fc.boolean(), fc.integer({ min: -2, max: 70000 }), fc.string({ maxLength: 12 }), fc.constant(null), fc.constantFrom('10.244.1.0/24', '10.0.0.0/31', '10.1.2.3', 'cni0', '1.0.0', '0.3.1', '9.9.9'), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }));
const FIELDS = ['cniVersion', 'name', 'type', 'bridge', 'isGateway', 'isDefaultGateway', 'ipMasq', 'mtu', 'hairpinMode', 'promiscMode', 'vlan', 'ipam', 'prevResult', 'runtimeConfig', 'capabilities', 'delegate', 'subnetFile', 'dataDir', 'snat', 'markMasqBit'];
const ipamLike = fc.record({ type: fc.constantFrom('host-local', 'nope', ''), subnet: fieldValues, ranges: fc.oneof(fieldValues, fc.constant([[{ subnet: '10.9.0.0/24', rangeStart: '10.9.0.9' }]])), routes: fieldValues, gateway: fieldValues }, { requiredKeys: [] });
const confLike = fc.record(Object.fromEntries(FIELDS.map((f) => [f, f === 'ipam' ? fc.oneof(ipamLike, fieldValues) : fieldValues])) as Record<string, fc.Arbitrary<unknown>>, { requiredKeys: [] });
const stdin = fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), confLike.map((v) => JSON.stringify(v)));

test('property: random configs and environments give a result or a CNI error JSON, never an exception', () => {
  const types = Object.keys(PLUGINS) as PluginType[];
  const envArb = fc.record({
    CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION', 'BOGUS'),
    CNI_CONTAINERID: fc.constantFrom('abc123', '', '!!', 'c-2'),
    CNI_NETNS: fc.constantFrom('/var/run/netns/pod', '/var/run/netns/missing', ''),
    CNI_IFNAME: fc.constantFrom('eth0', 'lo', '', 'x/y'),
    CNI_PATH: fc.constantFrom('/opt/cni/bin', ''),
    CNI_ARGS: fc.constantFrom('', 'IgnoreUnknown=1;K8S_POD_NAME=p', 'broken'),
  }, { requiredKeys: ['CNI_COMMAND'] });
  fc.assert(fc.property(fc.constantFrom(...types), envArb, stdin, (type, env, input) => {
    const { h } = host();
    const out = PLUGINS[type]({ env: env as Record<string, string>, stdin: input, host: h });
    if (out.code === 0) {
      if (out.stdout !== '') JSON.parse(out.stdout);
      return;
    }
    const j = assertErrorJson(out);
    assert.ok([1, 2, 3, 4, 5, 6, 7, 11, 50, 51, 999].includes(j.code), `unexpected code ${j.code}: ${j.msg}`);
  }), { numRuns: 400, seed: 42 });
});
