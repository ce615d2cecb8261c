/**
 * The flow stream on the API server's listener: `GET /netsim/v1/flows` answers
 * NDJSON (one flow per line; `follow=true` keeps the response open and streams), and
 * an Upgrade on the same path streams the same records over WebSocket, one message
 * each. Filters are query parameters (flow-filter.ts) applied on the server. The API
 * server's authentication covers both. A bad filter is a Kubernetes `Status` 400.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import { addNetsimRoute, addUpgradeRoute, refuseUpgrade } from '../control/server/app.ts';
import type { Status } from '../control/api/index.ts';
import type { Flow } from './flow.ts';
import type { FlowHub } from './flow-hub.ts';
import type { FlowQuery } from './flow-filter.ts';
import { FlowQueryError, flowMatches, parseFlowQuery } from './flow-filter.ts';

export const FLOWS_PATH = '/netsim/v1/flows';

/** Bytes a reader may have unsent before new flows are counted as lost to it. */
const MAX_UNSENT = 4 * 1024 * 1024;

function badRequest(e: FlowQueryError): Status {
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: 'BadRequest', code: 400,
    details: { causes: [{ reason: e.code, field: e.field, message: e.message }] },
  };
}

/** The backlog a query asks for: `last` flows (20 by default without follow, none with). */
function backlog(hub: FlowHub, q: FlowQuery): Flow[] {
  const n = q.last ?? (q.follow ? 0 : 20);
  return n === 0 ? [] : hub.ring.last(n, (f) => flowMatches(q.filter, f));
}

/** A sink that never blocks the hub: past its bound it counts, then reports, what it lost. */
function lossySender(write: (line: string) => void, unsent: () => number): (f: Flow) => boolean {
  let lost = 0;
  return (f) => {
    if (unsent() > MAX_UNSENT) {
      lost++;
      return false;
    }
    if (lost > 0) {
      write(JSON.stringify({ lost }));
      lost = 0;
    }
    write(JSON.stringify(f));
    return true;
  };
}

/** Serve the stream; the returned function closes every open WebSocket (call it before the app closes). */
export function registerFlowRoutes(app: FastifyInstance, hub: FlowHub): () => void {
  const parse = (url: string): FlowQuery => parseFlowQuery([...new URL(url, 'http://localhost').searchParams], Date.now());

  addNetsimRoute(app, 'GET', FLOWS_PATH, (req, reply) => {
    let q: FlowQuery;
    try {
      q = parse(req.url);
    } catch (e) {
      if (e instanceof FlowQueryError) return reply.code(400).send(badRequest(e));
      throw e;
    }
    const raw: ServerResponse = reply.raw;
    reply.hijack();
    raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    for (const f of backlog(hub, q)) raw.write(JSON.stringify(f) + '\n');
    if (!q.follow) {
      raw.end();
      return;
    }
    const send = lossySender((line) => raw.write(line + '\n'), () => raw.writableLength);
    const stop = hub.subscribe({ filter: q.filter, hops: q.hops, send });
    raw.on('close', stop);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  addUpgradeRoute(app, (path) => path === FLOWS_PATH, (req, socket, head) => {
    let q: FlowQuery;
    try {
      q = parse(req.url ?? '/');
    } catch (e) {
      if (!(e instanceof FlowQueryError)) throw e;
      refuseUpgrade(socket, badRequest(e));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      for (const f of backlog(hub, q)) ws.send(JSON.stringify(f));
      if (!q.follow) {
        ws.close(1000);
        return;
      }
      const send = lossySender((line) => ws.send(line), () => ws.bufferedAmount);
      const stop = hub.subscribe({ filter: q.filter, hops: q.hops, send });
      ws.on('close', stop);
      ws.on('error', () => ws.terminate());
    });
  });
  return () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  };
}
