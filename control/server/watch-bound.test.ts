// Slow watchers (kube-apiserver's cacheWatcher "Forcing watcher close due to
// unresponsiveness"): clients that stop reading are closed once their unread bytes pass
// the bound, so the server's memory stays bounded however much is written; a watcher that
// reads receives every event, and the stalled ones see their stream cut (and would relist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from './app.ts';

const BOUND = 256 * 1024;
const STALLED = 8;
const UPDATES = 120;
/** ~64 KiB per event: 120 updates are ~7.7 MiB per watcher, far past the bound and the kernel's socket buffers. */
const PAYLOAD = 'x'.repeat(64 * 1024);

test('stalled watchers (HTTP and WebSocket) are closed past the buffer bound; server memory stays bounded; a reading watcher gets every event', { timeout: 120_000 }, async () => {
  const app = buildApp({ store: new MemoryStore(), watchBufferBytes: BOUND });
  const serverSockets = new Set<Socket>();
  app.server.on('connection', (s: Socket) => { serverSockets.add(s); s.on('close', () => serverSockets.delete(s)); });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const path = '/api/v1/namespaces/default/services?watch=true';
  const stalled: Array<{ closed: boolean; socket: Socket }> = [];
  let ws: WebSocket | undefined;
  try {
    const created = await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/services', payload: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'big' }, spec: { ports: [{ port: 80 }] } } });
    assert.equal(created.statusCode, 201, created.body);

    // Stalled HTTP watchers: raw sockets that send the request and never read.
    for (let i = 0; i < STALLED; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      const w = { closed: false, socket };
      socket.on('close', () => { w.closed = true; });
      socket.on('error', () => { w.closed = true; });
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      socket.pause();
      stalled.push(w);
    }
    // A stalled WebSocket watcher.
    ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    await new Promise<void>((r, j) => { ws!.once('open', () => r()); ws!.once('error', j); });
    let wsClosed = false;
    ws.on('close', () => { wsClosed = true; });
    ws.pause();

    // A watcher that reads: every MODIFIED event arrives.
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: ac.signal });
    let seen = 0;
    const reading = (async () => {
      let buf = '';
      const dec = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += dec.decode(chunk, { stream: true });
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const ev = JSON.parse(buf.slice(0, i)) as { type: string };
            if (ev.type === 'MODIFIED') seen++;
            buf = buf.slice(i + 1);
          }
          if (seen === UPDATES) break;
        }
      } catch (e) { if (!ac.signal.aborted) throw e; }
    })();
    await new Promise((r) => setTimeout(r, 200));

    let maxBuffered = 0;
    const heapBefore = process.memoryUsage();
    for (let n = 0; n < UPDATES; n++) {
      const r = await app.inject({ method: 'PATCH', url: '/api/v1/namespaces/default/services/big', headers: { 'content-type': 'application/merge-patch+json' }, payload: { metadata: { annotations: { n: String(n), pad: PAYLOAD } } } });
      assert.equal(r.statusCode, 200, r.body);
      let buffered = 0;
      for (const s of serverSockets) buffered += s.writableLength;
      maxBuffered = Math.max(maxBuffered, buffered);
      if (n % 10 === 0) await new Promise((r2) => setImmediate(r2));
    }
    await Promise.race([reading, new Promise((r) => setTimeout(r, 20_000))]);
    assert.equal(seen, UPDATES, 'the reading watcher received every event');

    // Unbounded, the server would hold ~7.7 MiB per stalled watcher (~69 MiB); bounded it holds at most
    // the bound plus one event per watcher.
    const perWatcher = BOUND + PAYLOAD.length + 8 * 1024;
    assert.ok(maxBuffered <= (STALLED + 2) * perWatcher, `server send buffers peaked at ${maxBuffered} bytes`);
    const grew = process.memoryUsage().rss - heapBefore.rss;
    console.log(`# watch-bound: server send buffers peaked at ${(maxBuffered / 1048576).toFixed(2)} MiB for ${STALLED + 1} stalled watchers; rss grew ${(grew / 1048576).toFixed(1)} MiB`);

    // The stalled watchers were closed by the server.
    const deadline = Date.now() + 10_000;
    while ((stalled.some((w) => !w.closed) || !wsClosed) && Date.now() < deadline) {
      // Reading now drains what the kernel held; a closed stream then ends instead of waiting for more events.
      for (const w of stalled) w.socket.resume();
      ws.resume();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(stalled.map((w) => w.closed), stalled.map(() => true), 'every stalled HTTP watcher was closed');
    assert.ok(wsClosed, 'the stalled WebSocket watcher was closed');
    ac.abort();
    await reading;

    // A new watcher afterwards works as usual (the client's relist-and-rewatch path).
    const again = await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/services/big' });
    assert.equal(again.statusCode, 200);
  } finally {
    for (const w of stalled) w.socket.destroy();
    ws?.terminate();
    await app.close();
  }
});
