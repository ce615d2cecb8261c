import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListInformer } from './list-informer.ts';
import type { Listed } from './list-informer.ts';
import type { ControlApi } from '../control/controllers/index.ts';

type Obj = Listed & { metadata: { name: string; namespace: string; uid: string; resourceVersion: string } };
const o = (name: string, uid: string, rv: string, namespace = 'default'): Obj => ({ metadata: { name, namespace, uid, resourceVersion: rv } });

test('a poll delivers adds, updates and deletes in namespace/name order; a recreated object is delete + add', async () => {
  let items: Obj[] = [];
  const api = { list: async () => items } as unknown as ControlApi;
  const inf = new ListInformer<Obj>(api, 'services');
  const log: string[] = [];
  inf.on({ add: (x) => log.push(`add ${x.metadata.name}`), update: (a, b) => log.push(`update ${a.metadata.name} ${a.metadata.resourceVersion}→${b.metadata.resourceVersion}`), delete: (x) => log.push(`delete ${x.metadata.name}`) });
  assert.equal(inf.hasSynced, false);
  items = [o('b', 'u2', '5'), o('a', 'u1', '4'), o('z', 'u0', '3', 'alpha')];
  assert.equal(await inf.poll(), 3);
  assert.deepEqual(log.splice(0), ['add z', 'add a', 'add b'], 'alpha/z sorts before default/a');
  assert.equal(inf.hasSynced, true);
  assert.equal(await inf.poll(), 0, 'nothing changed, nothing delivered');
  items = [o('a', 'u1', '7'), o('b', 'u9', '8')];
  assert.equal(await inf.poll(), 4);
  assert.deepEqual(log.splice(0), ['delete z', 'delete b', 'update a 4→7', 'add b']);
  assert.deepEqual([...inf.items.keys()], ['default/a', 'default/b']);
});
