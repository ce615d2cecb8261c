/**
 * Entry point serving the control plane alone (until `netsim up --listen` exists):
 *
 *   node --import tsx control/main.ts --listen 127.0.0.1:0 --state DIR [--nodes 2] [--token T | --anonymous] [--memory]
 *
 * Prints `API server listening on http://HOST:PORT`, runs the standard controllers and the
 * FakeKubelet (pods become Running with IPs from their node's podCIDR), and exits 0 on
 * SIGINT/SIGTERM after closing the store. Safe by default: plain HTTP on loopback only,
 * and a bearer token — `--token T`, else a random one written to STATE/token (0600) —
 * unless `--anonymous`. `netsim up` is the full server (TLS, kubeconfig).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Command } from 'commander';
import type { ObjectStore } from './store/object-store.ts';
import { MemoryStore } from './store/memory-store.ts';
import { FileStore } from './store/file-store.ts';
import { buildApp } from './server/app.ts';
import { RegistryControlApi, ControllerManager, standardControllers } from './controllers/index.ts';
import { findResource } from './resources/index.ts';
import type { Node } from './api/index.ts';

const program = new Command()
  .name('control')
  .option('--listen <host:port>', 'address to listen on', '127.0.0.1:6443')
  .option('--state <dir>', 'directory of the durable store', '.netsim/store')
  .option('--memory', 'keep state in memory only')
  .option('--nodes <n>', 'nodes to register (node-1..node-N)', '2')
  .option('--token <token>', 'require this bearer token (default: a random one in STATE/token)')
  .option('--anonymous', 'require no token')
  .option('--no-fake-kubelet', 'do not run the FakeKubelet')
  .parse();
const o = program.opts<{ listen: string; state: string; memory?: boolean; nodes: string; token?: string; anonymous?: boolean; fakeKubelet: boolean }>();

const m = /^(.*):(\d+)$/.exec(o.listen);
if (!m) { console.error(`--listen: expected HOST:PORT, got ${o.listen}`); process.exit(2); }
const host = m[1]!.replace(/^\[|\]$/g, '');
const port = Number(m[2]);
const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
if (!loopback) { console.error(`--listen: ${host} is not a loopback address; this entry point serves plain HTTP, which would carry the token in clear text (netsim up serves TLS)`); process.exit(2); }

let token = o.anonymous === true ? undefined : o.token;
if (o.anonymous !== true && token === undefined) {
  token = randomBytes(32).toString('base64url');
  mkdirSync(o.state, { recursive: true, mode: 0o700 });
  writeFileSync(join(o.state, 'token'), `${token}\n`, { mode: 0o600 });
}

const store: ObjectStore = o.memory ? new MemoryStore() : await FileStore.open({ dir: o.state });
const app = buildApp({ store, ...(token !== undefined ? { token } : {}), gracefulPodDeletion: o.fakeKubelet });
await app.ready();
const nodeR = findResource('', 'v1', 'nodes')!;
const n = Number(o.nodes) || 0;
for (let i = 1; i <= n; i++) {
  const name = `node-${i}`;
  if (await app.registry.getOrUndefined(nodeR, undefined, name)) continue;
  const node: Node = {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
    spec: {},
    status: { addresses: [{ type: 'InternalIP', address: `192.168.56.${10 + i}` }, { type: 'Hostname', address: name }] },
  };
  await app.registry.create(nodeR, undefined, node, { fieldManager: 'control-main' });
}
const api = new RegistryControlApi(app.registry);
const manager = new ControllerManager(api, standardControllers(api, { fakeKubelet: o.fakeKubelet }), {
  onError: (c, e) => console.error(`controller ${c}: ${(e as Error).message}`),
});
const address = await app.listen({ host, port });
console.log(`API server listening on ${address}`);
await manager.start();

let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await manager.stop();
  await app.close();
  await store.close();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
