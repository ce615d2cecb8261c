// The live topology: what `GET /netsim/v1/topology` answers for the seed cluster
// (nodes with eth0, the bridge and flannel's device; every pod with its own netns,
// behind its veth, ready; the router and the outside client; Services with their
// endpoints), kube-ipvs0 and flannel.1 when the spec has them, a scale reaching it,
// and the route's authentication; the web UI's files need no token.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../cluster/cluster.ts';
import { seedSpec } from '../tests/support/spec-cluster.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import { buildTopology, deviceKind, POD_VIEW_PATH, registerTopologyRoute, TOPOLOGY_PATH } from './index.ts';
import type { Topology } from './index.ts';
import { serveWebUi } from '../cli/up/web-ui.ts';

const clusters: Cluster[] = [];
after(async () => { for (const c of clusters) await c.close(); });

async function seed(v: Parameters<typeof seedSpec>[0] = {}, token?: string): Promise<Cluster> {
  const c = await Cluster.build(seedSpec(v), token !== undefined ? { serving: { token } } : {});
  clusters.push(c);
  return c;
}

test('the seed cluster\'s topology: its nodes and devices, every pod behind its veth, the outside, Services with their endpoints', async () => {
  const c = await seed();
  const t = await buildTopology(c);
  assert.deepEqual(t.nodes.map((n) => n.name), [...c.clusterNodes.keys()]);
  for (const n of t.nodes) {
    assert.deepEqual(n.devices.map((d) => d.name).sort(), ['docker0', 'eth0', 'flannel0'], n.name);
    assert.equal(n.ip, formatIpv4(c.nodes.get(n.name)?.primaryAddress('eth0') ?? 0));
    assert.match(n.podSubnet ?? '', /^10\.244\.\d+\.1\/24$/);
  }
  assert.deepEqual(t.pods.map((p) => [p.key, p.ip, p.node]), [...c.pods.values()].map((p) => [p.key, formatIpv4(p.ip), p.node]));
  // The veths the topology names (from the pods' records, cluster/lazy-pods.ts) are the devices the nodes build.
  c.materialise();
  for (const p of t.pods) {
    assert.ok(p.ready, `${p.key} ready`);
    assert.ok(p.hostVeth !== undefined && c.nodes.get(p.node)?.device(p.hostVeth) !== undefined, `${p.key}: ${p.hostVeth} on ${p.node}`);
  }
  assert.deepEqual(t.pods.find((p) => p.name.startsWith('nginx-deployment-'))?.labels.app, 'nginx');
  assert.deepEqual(t.outside.map((o) => [o.name, o.kind]), [['router', 'router'], ['client', 'external']]);
  const nginx = t.services.find((s) => s.key === 'default/nginx-service');
  assert.equal(nginx?.clusterIP, formatIpv4(c.services.get('default/nginx-service')?.clusterIP ?? 0));
  assert.deepEqual(nginx?.endpoints.map((e) => e.pod).sort(), t.pods.filter((p) => p.name.startsWith('nginx-deployment-')).map((p) => p.key).sort());
  assert.ok(nginx?.endpoints.every((e) => e.ready));
  assert.deepEqual([t.flannelBackend, t.proxyMode, t.ipvsScheduler], ['udp', 'iptables', undefined]);
});

test('ipvs mode shows kube-ipvs0 with the VIPs; the vxlan backend flannel.1; the cni runtime cni0', async () => {
  const t = await buildTopology(await seed({ mode: 'ipvs', backend: 'vxlan', runtime: 'cni' }));
  const n = t.nodes[0];
  assert.deepEqual(n?.devices.map((d) => `${d.name}:${d.kind}`).sort(), ['cni0:bridge', 'eth0:nic', 'flannel.1:flannel', 'kube-ipvs0:ipvs']);
  const vips = t.services.map((s) => `${s.clusterIP}/32`);
  assert.ok(vips.every((v) => n?.devices.find((d) => d.name === 'kube-ipvs0')?.addresses.includes(v)), 'every VIP is on kube-ipvs0');
  assert.equal(t.ipvsScheduler, 'rr');
  assert.deepEqual(['eth0', 'ens3', 'docker0', 'cni0', 'flannel0', 'flannel.1', 'kube-ipvs0', 'tunl0'].map(deviceKind), ['nic', 'nic', 'bridge', 'bridge', 'flannel', 'flannel', 'ipvs', 'other']);
});

test('a scale through the API reaches the topology once the pods run; the route answers it with the token only', async () => {
  const c = await seed({}, 'sekret');
  registerTopologyRoute(c.control.app, c);
  const scale = await c.control.app.inject({ method: 'PATCH', url: '/apis/apps/v1/namespaces/default/deployments/nginx-deployment/scale', headers: { authorization: 'Bearer sekret', 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ spec: { replicas: 4 } }) });
  assert.equal(scale.statusCode, 200, scale.body);
  await c.runFor(5 * SECOND);
  const res = await c.control.app.inject({ method: 'GET', url: TOPOLOGY_PATH, headers: { authorization: 'Bearer sekret' } });
  assert.equal(res.statusCode, 200);
  const t = res.json() as Topology;
  assert.equal(t.pods.filter((p) => p.name.startsWith('nginx-deployment-')).length, 4);
  assert.equal(t.services.find((s) => s.key === 'default/nginx-service')?.endpoints.length, 4);
  const anon = await c.control.app.inject({ method: 'GET', url: TOPOLOGY_PATH });
  assert.equal(anon.statusCode, 401);

  // A pod's own namespace as `ip` prints it; bad input is a Status with the CLI's code.
  const web = t.pods.find((p) => p.key === 'default/webapp01');
  const view = (q: string): Promise<{ statusCode: number; body: string; json(): unknown }> => c.control.app.inject({ method: 'GET', url: `${POD_VIEW_PATH}?${q}`, headers: { authorization: 'Bearer sekret' } });
  const addr = await view('pod=default/webapp01&view=addr');
  assert.equal(addr.statusCode, 200);
  assert.match(addr.body, new RegExp(`inet ${web?.ip.replace(/\./g, '\\.')}/24 `));
  assert.match((await view('pod=webapp01&view=route')).body, /^default via 10\.244\.\d+\.1 dev eth0/m);
  for (const [q, code, reason] of [['pod=default/nope&view=addr', 404, 'NETSIM_ERR_UNKNOWN_POD'], ['pod=default/webapp01&view=iptables-save', 400, 'NETSIM_ERR_UNKNOWN_VIEW'], ['pod=default/webapp01&view=__proto__', 400, 'NETSIM_ERR_UNKNOWN_VIEW'], ['view=addr', 400, 'NETSIM_ERR_USAGE']] as const) {
    const r = await view(q);
    assert.equal(r.statusCode, code, q);
    assert.equal((r.json() as { details: { causes: Array<{ reason: string }> } }).details.causes[0]?.reason, reason, q);
  }

  // The UI's page and assets are public (code, no data); a path outside the list is 404, not a file.
  const before = await c.control.app.inject({ method: 'GET', url: '/' });
  assert.equal(before.statusCode, 404, 'no UI until one is served');
  await serveWebUi(c.control.app);
  const page = await c.control.app.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  assert.match(page.body, /<script type="module" src="\/ui\/app.js"><\/script>/);
  const js = await c.control.app.inject({ method: 'GET', url: '/ui/app.js' });
  assert.equal(js.statusCode, 200);
  assert.match(js.headers['content-type'] as string, /^text\/javascript/);
  const css = await c.control.app.inject({ method: 'GET', url: '/ui/style.css' });
  assert.equal(css.statusCode, 200);
  // Offline: nothing the page loads names another host.
  for (const body of [page.body, js.body, css.body]) assert.doesNotMatch(body, /(src|href)=["']?https?:|url\(["']?https?:|@import/);
  for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/index.html', '/ui/nope.js']) {
    const r = await c.control.app.inject({ method: 'GET', url: path });
    // A dot-dot path is normalised before routing (then it is an API path and needs the token); nothing escapes web/public.
    assert.ok(r.statusCode === 404 || r.statusCode === 401, `${path}: ${r.statusCode}`);
    assert.doesNotMatch(r.body, /"devDependencies"|<html/, path);
  }
});
