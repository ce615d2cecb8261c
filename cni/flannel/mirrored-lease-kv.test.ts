import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../control/store/memory-store.ts';
import { Scheduler } from '../../netsim/time/scheduler.ts';
import { Rng } from '../../netsim/time/rng.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { MirroredLeaseKV } from './mirrored-lease-kv.ts';
import { KvSubnetManager } from './subnet-manager.ts';
import { LEASE_TTL } from './lease.ts';

/** Let the store's asynchronous watch deliveries run (wall-clock plumbing of the store, not virtual time). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => process.nextTick(r));
};

test('two nodes\' SubnetManagers over one control-plane store: leases visible to both, expiry deletes from the store', async () => {
  const store = new MemoryStore();
  await store.create('/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
  const clock = new Scheduler();
  const kv1 = await MirroredLeaseKV.open(store, '/coreos.com/network/', clock);
  const kv2 = await MirroredLeaseKV.open(store, '/coreos.com/network/', clock);
  const sm1 = new KvSubnetManager(kv1, clock, new Rng(1));
  const sm2 = new KvSubnetManager(kv2, clock, new Rng(2));
  const seen: string[] = [];
  sm2.watchLeases((e) => seen.push(`${e.type} ${e.lease.subnet.toString()}`));
  const l1 = sm1.acquireLease({ publicIp: parseIpv4('192.168.50.11'), backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:00:00:00:00:01' } });
  await kv1.flush();
  await settle();
  assert.deepEqual(seen, [`added ${l1.subnet.toString()}`]);
  const stored = await store.get(`/coreos.com/network/subnets/${l1.subnet.toString().replace('/', '-')}`);
  assert.equal(stored?.value, '{"PublicIP":"192.168.50.11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"}}');
  const l2 = sm2.acquireLease({ publicIp: parseIpv4('192.168.50.12'), backendType: 'vxlan', backendData: null });
  assert.notEqual(l2.subnet.toString(), l1.subnet.toString());
  await kv2.flush();
  await settle();
  assert.equal(sm1.leases().length, 2);
  clock.run(LEASE_TTL + 1);
  await kv1.flush();
  await kv2.flush();
  await settle();
  assert.equal((await store.list('/coreos.com/network/subnets/')).items.length, 0);
  assert.ok(seen.includes(`removed ${l1.subnet.toString()}`));
  kv1.close();
  kv2.close();
});
