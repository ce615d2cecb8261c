// Service ClusterIP/nodePort allocation: the Registry's allocation index (ServiceAllocations)
// gives what allocating against every stored Service gave (the former O(n) allocator, kept
// below as the reference), through creates, updates, type changes, deletes, namespace
// deletion, dry runs, failed store writes and writes by another Registry on the same store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FieldError, Service } from '../api/index.ts';
import { invalid } from '../api/index.ts';
import { resourceByName } from '../resources/index.ts';
import type { KeyValue, ListOptions, ListResult, ObjectStore, StoreWatchEvent, WatchHandle } from '../store/object-store.ts';
import { StoreError } from '../store/object-store.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { Registry } from './registry.ts';
import { NamespaceController } from '../controllers/namespace.ts';
import { RegistryControlApi } from '../controllers/registry-api.ts';
import type { AllocatorConfig } from '../resources/service-alloc.ts';
import { allocateService, cidrContains, cidrSize, formatIpv4, parseCidr, parseIpv4, ServiceAllocations } from '../resources/service-alloc.ts';

const svcR = resourceByName('services')!;
const nsR = resourceByName('namespaces')!;

/** The allocator before the index: the same rules, checked against a list of the other Services. */
function reference(svc: Service, others: readonly Service[], cfg: AllocatorConfig, old?: Service): FieldError[] {
  const errs: FieldError[] = [];
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  const cidr = parseCidr(cfg.serviceCIDR);
  if (old) {
    const oldIP = old.spec.clusterIP;
    const newIP = spec.clusterIP;
    if (oldIP && (newIP === undefined || newIP === '') && type !== 'ExternalName') {
      spec.clusterIP = oldIP;
      spec.clusterIPs = old.spec.clusterIPs ?? [oldIP];
    } else if (oldIP && newIP && newIP !== oldIP && old.spec.type !== 'ExternalName' && type !== 'ExternalName') {
      errs.push(invalid('spec.clusterIPs[0]', [newIP], 'may not change once set'));
    }
  }
  if (type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
  } else if (!old || !old.spec.clusterIP || old.spec.type === 'ExternalName' || spec.clusterIP !== old.spec.clusterIP) {
    const used = new Set(others.map((s) => s.spec.clusterIP).filter((x): x is string => !!x && x !== 'None'));
    if (spec.clusterIP) {
      const n = parseIpv4(spec.clusterIP);
      if (n === undefined || !cidrContains(cidr, n) || n === cidr.base || n === cidr.base + cidrSize(cidr) - 1) {
        errs.push(invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${cfg.serviceCIDR}`));
      } else if (used.has(spec.clusterIP)) {
        errs.push(invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`));
      }
    } else {
      const size = cidrSize(cidr);
      const band = Math.min(Math.max(16, Math.floor(size / 16)), 256);
      let ip: string | undefined;
      const tryRange = (from: number, to: number): void => {
        for (let off = from; off < to && ip === undefined; off++) {
          const cand = formatIpv4(cidr.base + off);
          if (!used.has(cand)) ip = cand;
        }
      };
      tryRange(band, size - 1);
      if (ip === undefined) tryRange(1, band);
      if (ip === undefined) errs.push(invalid('spec.clusterIPs', [], 'failed to allocate a serviceIP: range is full'));
      else { spec.clusterIP = ip; spec.clusterIPs = [ip]; }
    }
    if (spec.clusterIP && !spec.clusterIPs) spec.clusterIPs = [spec.clusterIP];
  }
  const wantsNodePorts = type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
  const ports = spec.ports ?? [];
  if (!wantsNodePorts) {
    if (old && (old.spec.type === 'NodePort' || old.spec.type === 'LoadBalancer')) for (const p of ports) delete p.nodePort;
    return errs;
  }
  const used = new Set<number>();
  for (const s of others) for (const p of s.spec.ports ?? []) if (p.nodePort) used.add(p.nodePort);
  const oldPorts = new Map<string, number>();
  if (old) for (const p of old.spec.ports ?? []) if (p.nodePort) oldPorts.set(`${p.port}/${p.protocol ?? 'TCP'}`, p.nodePort);
  const ownOld = new Set(oldPorts.values());
  const mine = new Set<number>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      if (used.has(p.nodePort)) errs.push(invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
      mine.add(p.nodePort);
    }
  });
  const band = Math.min(Math.max(16, Math.floor(cfg.nodePortSize / 32)), 128);
  ports.forEach((p) => {
    if (p.nodePort) return;
    const keep = oldPorts.get(`${p.port}/${p.protocol ?? 'TCP'}`);
    if (keep !== undefined && !mine.has(keep)) { p.nodePort = keep; mine.add(keep); return; }
    const pick = (from: number, to: number): number | undefined => {
      for (let n = cfg.nodePortBase + from; n < cfg.nodePortBase + to; n++) if (!used.has(n) && !mine.has(n) && !ownOld.has(n)) return n;
      return undefined;
    };
    const n = pick(band, cfg.nodePortSize) ?? pick(0, band);
    if (n === undefined) errs.push(invalid('spec.ports', p.port, 'failed to allocate a nodePort: range is full'));
    else { p.nodePort = n; mine.add(n); }
  });
  return errs;
}

// ------------------------------------------------------------ property: index = reference

type Op =
  | { op: 'write'; key: number; type: string; ip: string | undefined; ports: { port: number; nodePort: number | undefined }[]; lbNoPorts: boolean; force: boolean; reserve: boolean }
  | { op: 'delete'; key: number };

test('property: the index allocates exactly as the reference over random creates, updates, type changes, deletes', () => {
  // Small ranges so that bands fill up: IPs dynamic .16-.30 then static .1-.15; ports 30016-30019 then 30000-30015.
  const cfg: AllocatorConfig = { serviceCIDR: '10.0.0.0/27', nodePortBase: 30000, nodePortSize: 20 };
  const ipArb = fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 33 }).map((n) => `10.0.0.${n}`) },
    { weight: 1, arbitrary: fc.constantFrom('None', '', '10.0.0.017', '10.0.1.5', 'fd00::1') },
  );
  const portsArb = fc.array(fc.record({ port: fc.integer({ min: 1, max: 4 }), nodePort: fc.option(fc.integer({ min: 29999, max: 30020 }), { nil: undefined }) }), { maxLength: 3 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), key: fc.integer({ min: 0, max: 9 }), type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'), ip: ipArb, ports: portsArb, lbNoPorts: fc.boolean(), force: fc.boolean(), reserve: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 9 }) }) },
  );
  fc.assert(fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
    const stored = new Map<string, Service>();
    const held = new ServiceAllocations(cfg);
    let rev = 1;
    for (const o of ops) {
      const key = `/registry/services/default/s${o.key}`;
      if (o.op === 'delete') {
        if (stored.delete(key)) held.remove(key, ++rev);
        continue;
      }
      const spec: Service['spec'] = { type: o.type as NonNullable<Service['spec']['type']>, ports: o.ports.map((p) => (p.nodePort === undefined ? { port: p.port } : { port: p.port, nodePort: p.nodePort })) };
      if (o.ip !== undefined) spec.clusterIP = o.ip;
      if (o.lbNoPorts) spec.allocateLoadBalancerNodePorts = false;
      const mk = (): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${o.key}`, namespace: 'default' }, spec: structuredClone(spec) });
      const old = stored.get(key);
      const want = mk();
      const wantErrs = reference(want, [...stored].filter(([k]) => k !== key).map(([, s]) => s), cfg, old && structuredClone(old));
      // A pending reservation of another Service's values must not change this allocation once released.
      const release = o.reserve ? held.reserve('/registry/services/default/other', want) : undefined;
      release?.();
      const got = mk();
      const gotErrs = allocateService(got, key, held, old && structuredClone(old));
      assert.deepEqual(gotErrs, wantErrs);
      assert.deepEqual(got, want);
      // `force` stores even a rejected Service, as racing writers can: values held twice.
      if (wantErrs.length === 0 || o.force) {
        stored.set(key, got);
        held.put(key, structuredClone(got), ++rev);
      }
    }
    // An index loaded from the final state allocates as the one kept up to date.
    const fresh = new ServiceAllocations(cfg);
    fresh.load([...stored].map(([key, svc]) => ({ key, svc, rev: 1 })), rev);
    const a: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'n' }, spec: { type: 'NodePort', ports: [{ port: 1 }, { port: 2 }] } };
    const b = structuredClone(a);
    assert.deepEqual(allocateService(a, 'n', held), allocateService(b, 'n', fresh));
    assert.deepEqual(a, b);
  }), { numRuns: 300 });
});

// ------------------------------------------------------------ through the Registry

/** A MemoryStore whose next write can fail, and whose watch events can be held back (etcd's arrive late). */
class TestStore implements ObjectStore {
  readonly inner = new MemoryStore();
  failNext: 'create' | 'update' | undefined;
  lateWatch = false;
  private readonly held: (() => void)[] = [];
  get(key: string): Promise<KeyValue | undefined> { return this.inner.get(key); }
  list(prefix: string, opts?: ListOptions): Promise<ListResult> { return this.inner.list(prefix, opts); }
  create(key: string, value: string): Promise<KeyValue> { return this.fail('create') ?? this.inner.create(key, value); }
  update(key: string, value: string, rev?: number): Promise<KeyValue> {
    // A lost race: another writer rewrites the object first (so a retry sees a new resourceVersion).
    const lost = this.fail('update');
    return lost ? this.inner.get(key).then((kv) => this.inner.update(key, kv!.value)).then(() => lost) : this.inner.update(key, value, rev);
  }
  delete(key: string, rev?: number): Promise<KeyValue> { return this.inner.delete(key, rev); }
  watch(prefix: string, after: number, onEvent: (ev: StoreWatchEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    return this.inner.watch(prefix, after, (ev) => {
      if (this.lateWatch) this.held.push(() => onEvent(ev)); else onEvent(ev);
    }, onError);
  }
  /** Deliver the `n` oldest held-back watch events. */
  deliver(n = Infinity): void {
    for (const f of this.held.splice(0, n)) f();
  }
  revision(): number { return this.inner.revision(); }
  close(): Promise<void> { return this.inner.close(); }
  private fail(op: 'create' | 'update'): Promise<KeyValue> | undefined {
    if (this.failNext !== op) return undefined;
    this.failNext = undefined;
    return Promise.reject(new StoreError('STORE_CONFLICT', 'injected conflict'));
  }
}

type Svc = { metadata: { name: string; resourceVersion: string }; spec: { type?: string; clusterIP?: string; clusterIPs?: string[]; ports: { port: number; nodePort?: number }[] } };

async function cluster(store: ObjectStore = new MemoryStore(), opts: { nodePortSize?: number } = {}): Promise<{ reg: Registry; create: (name: string, spec?: object, ns?: string, dryRun?: boolean) => Promise<Svc> }> {
  const reg = new Registry({ store, serviceCIDR: '10.96.0.0/12', ...(opts.nodePortSize ? { nodePortRange: { base: 30000, size: opts.nodePortSize } } : {}) });
  if (!(await reg.getOrUndefined(nsR, undefined, 'default'))) await reg.create(nsR, undefined, { metadata: { name: 'default' } });
  const create = async (name: string, spec: object = {}, ns = 'default', dryRun = false): Promise<Svc> =>
    await reg.create(svcR, ns, { metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } }, { dryRun }) as unknown as Svc;
  return { reg, create };
}

test('Registry: lowest free ClusterIP, reused after a delete; collisions are the same 422s; dry run allocates nothing', async () => {
  const { reg, create } = await cluster();
  assert.equal((await create('a')).spec.clusterIP, '10.96.1.0');
  assert.equal((await create('b')).spec.clusterIP, '10.96.1.1');
  assert.equal((await create('c')).spec.clusterIP, '10.96.1.2');
  await reg.delete(svcR, 'default', 'b');
  assert.equal((await create('dry', {}, 'default', true)).spec.clusterIP, '10.96.1.1');
  assert.equal((await create('d')).spec.clusterIP, '10.96.1.1', 'the dry run held nothing; the deleted one is reused');
  assert.equal((await create('e')).spec.clusterIP, '10.96.1.3');
  // User-chosen: from the static band, then a collision.
  assert.equal((await create('dns', { clusterIP: '10.96.0.10' })).spec.clusterIP, '10.96.0.10');
  await assert.rejects(create('dns2', { clusterIP: '10.96.1.0' }), (e: Error) => e.message === 'Service "dns2" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.1.0"}: failed to allocate IP 10.96.1.0: provided IP is already allocated');
  await assert.rejects(create('far', { clusterIP: '10.200.0.1' }), (e: Error) => e.message === 'Service "far" is invalid: spec.clusterIPs: Invalid value: []string{"10.200.0.1"}: failed to allocate IP 10.200.0.1: the provided IP (10.200.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12');
  // A user-chosen address in the dynamic band is skipped by later allocations.
  assert.equal((await create('pick', { clusterIP: '10.96.1.4' })).spec.clusterIP, '10.96.1.4');
  assert.equal((await create('f')).spec.clusterIP, '10.96.1.5');
  // nodePorts: lowest of the dynamic band (30000 + 86), a chosen one collides.
  const np = await create('np', { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 30000 }] });
  assert.deepEqual(np.spec.ports.map((p) => p.nodePort), [30086, 30000]);
  await assert.rejects(create('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30086 }] }), (e: Error) => e.message === 'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 30086: provided port is already allocated');
  assert.equal((await create('np3', { type: 'NodePort', ports: [{ port: 80 }] })).spec.ports[0]!.nodePort, 30087);
  // Dry-run update to ClusterIP does not release the ports.
  const toClusterIP = { spec: { type: 'ClusterIP', externalTrafficPolicy: null, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } };
  const dry = await reg.patch(svcR, 'default', 'np', 'merge', toClusterIP, { dryRun: true });
  assert.deepEqual((dry.obj as unknown as Svc).spec.ports.map((p) => p.nodePort), [undefined, undefined]);
  await assert.rejects(create('np4', { type: 'NodePort', ports: [{ port: 80, nodePort: 30086 }] }), /provided port is already allocated/);
});

test('Registry: type changes, namespace deletion and failed store writes keep the index right', async () => {
  const store = new TestStore();
  const { reg, create } = await cluster(store);
  await reg.create(nsR, undefined, { metadata: { name: 'team' } });
  assert.equal((await create('a')).spec.clusterIP, '10.96.1.0');
  const np = await create('np', { type: 'NodePort' });
  assert.deepEqual([np.spec.clusterIP, np.spec.ports[0]!.nodePort], ['10.96.1.1', 30086]);
  // ExternalName drops the ClusterIP; NodePort -> ClusterIP drops the nodePort: both free again.
  const a = await reg.get(svcR, 'default', 'a') as unknown as Svc;
  const ext = await reg.update(svcR, 'default', 'a', { ...a, spec: { type: 'ExternalName', externalName: 'example.com', ports: a.spec.ports } }) as unknown as Svc;
  assert.equal(ext.spec.clusterIP, undefined);
  await reg.patch(svcR, 'default', 'np', 'merge', { spec: { type: 'ClusterIP', externalTrafficPolicy: null, ports: [{ port: 80 }] } });
  const b = await create('b', { type: 'NodePort' });
  assert.deepEqual([b.spec.clusterIP, b.spec.ports[0]!.nodePort], ['10.96.1.0', 30086]);
  // ExternalName -> ClusterIP allocates again.
  const back = await reg.patch(svcR, 'default', 'a', 'merge', { spec: { type: 'ClusterIP', externalName: null } });
  assert.equal((back.obj as unknown as Svc).spec.clusterIP, '10.96.1.2');
  // Deleting a namespace releases its Services once the namespace controller removed them.
  assert.equal((await create('t1', {}, 'team')).spec.clusterIP, '10.96.1.3');
  assert.equal((await create('t2', { type: 'NodePort' }, 'team')).spec.ports[0]!.nodePort, 30087);
  await reg.delete(nsR, undefined, 'team');
  const nsc = new NamespaceController(new RegistryControlApi(reg), { deletionGraceMs: 0 });
  while (await nsc.sync() > 0);
  assert.equal(await reg.getOrUndefined(nsR, undefined, 'team'), undefined);
  const c = await create('c', { type: 'NodePort' });
  assert.deepEqual([c.spec.clusterIP, c.spec.ports[0]!.nodePort], ['10.96.1.3', 30087]);
  // A create the store rejects, or an update pinned to a resourceVersion that loses a race, holds nothing.
  store.failNext = 'create';
  await assert.rejects(create('lost', { type: 'NodePort' }), (e: Error & { reason?: string }) => e.reason === 'Conflict');
  store.failNext = 'update';
  const npNow = await reg.get(svcR, 'default', 'np') as unknown as Svc;
  await assert.rejects(reg.update(svcR, 'default', 'np', { ...npNow, spec: { ...npNow.spec, type: 'NodePort' } }), (e: Error & { reason?: string }) => e.reason === 'Conflict');
  await assert.rejects(create('b', {}), (e: Error & { reason?: string }) => e.reason === 'AlreadyExists');
  const d = await create('d', { type: 'NodePort' });
  assert.deepEqual([d.spec.clusterIP, d.spec.ports[0]!.nodePort], ['10.96.1.4', 30088]);
});

test('Registry: Services written by another Registry on the store, before and after, are taken', async () => {
  const store = new TestStore();
  const one = await cluster(store);
  assert.equal((await one.create('a')).spec.clusterIP, '10.96.1.0');
  assert.equal((await one.create('b')).spec.clusterIP, '10.96.1.1');
  // A second apiserver on the same store: loads what is there, and each sees the other's writes.
  const two = await cluster(store);
  assert.equal((await two.create('c')).spec.clusterIP, '10.96.1.2');
  assert.equal((await one.create('d')).spec.clusterIP, '10.96.1.3');
  await two.reg.delete(svcR, 'default', 'a');
  assert.equal((await one.create('e')).spec.clusterIP, '10.96.1.0');
});

test('Registry: watch events that arrive after the writer\'s own result (etcd) neither double-count nor revive', async () => {
  const store = new TestStore();
  const { reg, create } = await cluster(store);
  assert.equal((await create('a')).spec.clusterIP, '10.96.1.0');
  assert.equal((await create('b')).spec.clusterIP, '10.96.1.1');
  store.lateWatch = true;
  await reg.delete(svcR, 'default', 'b');
  assert.equal((await create('f')).spec.clusterIP, '10.96.1.1');
  await reg.delete(svcR, 'default', 'f');
  store.deliver(2); // DELETE b, PUT f: f was deleted since
  assert.equal((await create('g')).spec.clusterIP, '10.96.1.1');
  store.deliver();
  assert.equal((await create('h')).spec.clusterIP, '10.96.1.2');
  // A late event older than the writer's own update (ClusterIP -> ExternalName) does not hold the IP again.
  store.deliver();
  const k = await create('k');
  assert.equal(k.spec.clusterIP, '10.96.1.3');
  await reg.update(svcR, 'default', 'k', { metadata: { name: 'k' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
  store.deliver(1); // PUT k (ClusterIP)
  assert.equal((await create('l')).spec.clusterIP, '10.96.1.3');
  store.lateWatch = false;
  store.deliver();
  await reg.delete(svcR, 'default', 'g');
  assert.equal((await create('m')).spec.clusterIP, '10.96.1.1');
  assert.equal((await create('n')).spec.clusterIP, '10.96.1.4');
});

test('Registry: concurrent creates get distinct addresses and ports', async () => {
  const { create } = await cluster();
  const made = await Promise.all(Array.from({ length: 40 }, (_, i) => create(`s${i}`, { type: 'NodePort' })));
  assert.equal(new Set(made.map((s) => s.spec.clusterIP)).size, 40);
  assert.equal(new Set(made.map((s) => s.spec.ports[0]!.nodePort)).size, 40);
});

test('Registry: 5 000 Services get the 5 000 lowest addresses of the dynamic band', async () => {
  // ~8 s when every create looked at every stored Service, ~0.4 s with the index (2-core dev box).
  const { create } = await cluster();
  const ips: string[] = [];
  for (let i = 0; i < 5000; i++) ips.push((await create(`s${i}`)).spec.clusterIP!);
  const base = parseIpv4('10.96.1.0')!;
  assert.deepEqual(ips, ips.map((_, i) => formatIpv4(base + i)));
});

test('Registry: healthCheckNodePort for LoadBalancer Services with externalTrafficPolicy Local — allocated from the NodePort range, kept, released when no longer needed; refused elsewhere', async () => {
  const { reg, create } = await cluster();
  type Hc = Svc & { spec: { healthCheckNodePort?: number } };
  const lb = await create('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }) as Hc;
  const np = lb.spec.ports[0]!.nodePort!;
  const hc = lb.spec.healthCheckNodePort!;
  assert.ok(hc >= 30000 && hc <= 32767 && hc !== np, `nodePort ${np}, healthCheckNodePort ${hc}`);
  // Taken: neither a nodePort nor another health check may reuse it.
  const other = await create('other', { type: 'NodePort' });
  assert.ok(![np, hc].includes(other.spec.ports[0]!.nodePort!));
  await assert.rejects(create('lb2', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: hc }), (e: Error) => e.message === `Service "lb2" is invalid: spec.healthCheckNodePort: Invalid value: ${hc}: provided port is already allocated`);
  await assert.rejects(create('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: hc }] }), /provided port is already allocated/);
  // A user-chosen one.
  assert.equal((await create('lb3', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }) as Hc).spec.healthCheckNodePort, 32000);
  // Kept across updates; released (and cleared) when the policy becomes Cluster.
  const same = await reg.patch(svcR, 'default', 'lb', 'merge', { metadata: { labels: { a: 'b' } } });
  assert.equal((same.obj as unknown as Hc).spec.healthCheckNodePort, hc);
  const cluster2 = await reg.patch(svcR, 'default', 'lb', 'merge', { spec: { externalTrafficPolicy: 'Cluster' } });
  assert.equal((cluster2.obj as unknown as Hc).spec.healthCheckNodePort, undefined);
  assert.equal((await create('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: hc }] })).spec.ports[0]!.nodePort, hc, 'released');
  // Not a LoadBalancer with Local policy: may not be set.
  await assert.rejects(create('cip', { healthCheckNodePort: 31000 }), /spec\.healthCheckNodePort: Invalid value: 31000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'/);
});
