/**
 * Namespaces sharing their virtual services (share.ts) show what namespaces of their
 * own show: random ipvsadm operations (add and edit services, add, reweigh and delete
 * real servers, delete services; callers holding a service object across changes, as
 * ipvsadm's users may) and packets (new connections, replies, time passing), in any
 * order across three namespaces, leave every namespace's listings, stats, connections,
 * saved table, errors and chosen real servers as a namespace without a share has them.
 * And the share engaged: namespaces programming the same services hold one object
 * each until a packet uses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipvs } from './ipvs.ts';
import type { IpvsScheduler, VirtualService } from './ipvs.ts';
import { IpvsShare } from './share.ts';
import { parseIpv4 } from '../wire/addr.ts';

const VIPS = ['10.96.0.1', '10.96.0.2'].map(parseIpv4);
const REALS = ['10.244.1.2', '10.244.2.3', '10.244.3.4'].map(parseIpv4);
const CLIENTS = ['10.244.9.1', '10.244.9.2', '10.244.9.3'].map(parseIpv4);
const SCHEDS: IpvsScheduler[] = ['rr', 'wrr', 'sh', 'mh', 'lc'];

type Op =
  | { k: 'A'; vip: number; sched: IpvsScheduler; persistent: boolean }
  | { k: 'E'; vip: number; sched: IpvsScheduler }
  | { k: 'D'; vip: number }
  | { k: 'a' | 'e' | 'd'; vip: number; real: number; weight: number; held: boolean }
  | { k: 'in'; vip: number; client: number; flags: number }
  | { k: 'out'; real: number; client: number }
  | { k: 'time'; s: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('A' as const), vip: fc.nat(1), sched: fc.constantFrom(...SCHEDS), persistent: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('E' as const), vip: fc.nat(1), sched: fc.constantFrom(...SCHEDS) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('D' as const), vip: fc.nat(1) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constantFrom('a' as const, 'e' as const, 'd' as const), vip: fc.nat(1), real: fc.nat(2), weight: fc.nat(2), held: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('in' as const), vip: fc.nat(1), client: fc.nat(2), flags: fc.constantFrom(0x02, 0x10, 0x11, 0x04) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('out' as const), real: fc.nat(2), client: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('time' as const), s: fc.constantFrom(1, 30, 200) }) },
);

class Node {
  now = 0;
  readonly ipvs: Ipvs;
  /** Service objects as a caller got them from addService (and keeps using). */
  readonly held = new Map<number, VirtualService>();
  constructor(share: IpvsShare | undefined) {
    this.ipvs = new Ipvs(() => this.now, share);
  }

  run(o: Op): string {
    const vip = 'vip' in o ? (VIPS[o.vip] as number) : 0;
    const vs = (): VirtualService => ('held' in o && o.held ? this.held.get(vip) : undefined) ?? this.ipvs.service('TCP', vip, 80);
    try {
      switch (o.k) {
        case 'A': this.held.set(vip, this.ipvs.addService('TCP', vip, 80, o.sched, o.persistent ? 60 : undefined)); return 'ok';
        case 'E': this.ipvs.editService('TCP', vip, 80, o.sched); return 'ok';
        case 'D': this.ipvs.deleteService('TCP', vip, 80); return 'ok';
        case 'a': return String(this.ipvs.addReal(vs(), REALS[o.real] as number, 8080, o.weight + 1).weight);
        case 'e': this.ipvs.setWeight(vs(), REALS[o.real] as number, 8080, o.weight); return 'ok';
        case 'd': this.ipvs.deleteReal(vs(), REALS[o.real] as number, 8080); return 'ok';
        case 'in': {
          const r = this.ipvs.inbound('TCP', CLIENTS[o.client] as number, 40000, vip, 80, o.flags, 60);
          return r === undefined ? 'none' : `${r.rs.addr} ${r.isNew}`;
        }
        case 'out': return String(this.ipvs.outbound('TCP', REALS[o.real] as number, 8080, CLIENTS[o.client] as number, 40000, 0x10, 60)?.state);
        case 'time': this.now += o.s * 1e9; return 'ok';
      }
    } catch (e) {
      return (e as Error).message;
    }
  }

  view(): string[] {
    return [this.ipvs.list(), this.ipvs.listStats({ exact: true }), this.ipvs.listConnections(), this.ipvs.save()];
  }
}

test('property: namespaces sharing virtual services end as namespaces of their own, whatever each does', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(2), op), { minLength: 1, maxLength: 40 }), (steps) => {
    const share = new IpvsShare();
    const shared = [new Node(share), new Node(share), new Node(share)];
    const own = [new Node(undefined), new Node(undefined), new Node(undefined)];
    for (const [who, o] of steps) {
      assert.equal((shared[who] as Node).run(o), (own[who] as Node).run(o), JSON.stringify(o));
      for (let i = 0; i < 3; i++) assert.deepEqual((shared[i] as Node).view(), (own[i] as Node).view());
    }
  }), { numRuns: 300 });
});

test('namespaces programming the same services hold one object each until a packet uses it', () => {
  const share = new IpvsShare();
  const [a, b] = [new Ipvs(() => 0, share), new Ipvs(() => 0, share)];
  for (const ipvs of [a, b]) {
    const vs = ipvs.addService('TCP', VIPS[0] as number, 80, 'rr');
    for (const r of REALS) ipvs.addReal(vs, r, 8080);
  }
  const sa = a.service('TCP', VIPS[0] as number, 80);
  assert.equal(b.service('TCP', VIPS[0] as number, 80), sa);
  assert.equal(sa.reals.length, 3);
  assert.ok(share.stats().hits >= 1);
  b.inbound('TCP', CLIENTS[0] as number, 40000, VIPS[0] as number, 80, 0x02);
  assert.notEqual(b.service('TCP', VIPS[0] as number, 80), sa);
  assert.equal(a.service('TCP', VIPS[0] as number, 80), sa);
  assert.equal(sa.conns, 0);
  assert.equal(b.service('TCP', VIPS[0] as number, 80).conns, 1);
});
