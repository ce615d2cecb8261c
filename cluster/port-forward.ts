/**
 * Port forwarding into an emulated pod, for `netsim port-forward` (and anything that
 * speaks WebSocket): `GET /netsim/v1/portforward?pod=NS/NAME&port=N` upgraded to a
 * WebSocket is one TCP connection from inside the pod's network namespace to
 * 127.0.0.1:N — what the kubelet's port forwarder does (it enters the pod's netns and
 * dials localhost). Binary messages carry the stream both ways; either side closing
 * closes the other. A refused connection closes the WebSocket with code 1011 and the
 * reason, so the client can report it.
 *
 * Why not kubectl's own protocol: kubectl 1.32 port-forward tunnels SPDY/3.1 inside
 * the WebSocket (`SPDY/3.1+portforward.k8s.io`: SPDY frames with zlib-compressed
 * header blocks), which this server does not speak; kubectl's fallback is a plain
 * SPDY upgrade, which neither.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { addUpgradeRoute, refuseUpgrade } from '../control/server/app.ts';
import type { StatusReason } from '../control/api/index.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import type { Cluster } from './cluster.ts';

export const PORT_FORWARD_PATH = '/netsim/v1/portforward';
const LOCALHOST = parseIpv4('127.0.0.1');

function refuse(socket: Duplex, code: number, reason: StatusReason, message: string): void {
  refuseUpgrade(socket, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** Serve port forwarding on the cluster's API listener; returns a function that closes open tunnels. */
export function servePortForward(cluster: Cluster): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const key = url.searchParams.get('pod') ?? '';
    const portText = url.searchParams.get('port') ?? '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) return refuse(socket, 400, 'BadRequest', `port: Invalid value: "${portText}": must be between 1 and 65535, inclusive`);
    const pod = cluster.pods.get(key.includes('/') ? key : `default/${key}`);
    if (pod === undefined) return refuse(socket, 404, 'NotFound', `pods "${key}" not found or not running`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = pod.ns.tcp.connect(LOCALHOST, port);
      const early: Buffer[] = [];
      let open = false;
      conn.onConnect = () => {
        open = true;
        for (const b of early.splice(0)) conn.send(new Uint8Array(b));
      };
      conn.onData = (data) => {
        if (ws.readyState === ws.OPEN) ws.send(data);
      };
      conn.onEnd = () => ws.close(1000);
      conn.onClose = (reason) => {
        if (ws.readyState === ws.OPEN) ws.close(reason === 'closed' ? 1000 : 1011, reason === 'refused' ? `connection refused: nothing listens on port ${port} in pod ${pod.key}` : `connection ${reason}`);
      };
      ws.on('message', (data: Buffer) => {
        if (open) conn.send(new Uint8Array(data));
        else early.push(data);
      });
      ws.on('close', () => conn.end());
      ws.on('error', () => {
        conn.abort();
        ws.terminate();
      });
    });
  };
  addUpgradeRoute(cluster.control.app, (path) => path === PORT_FORWARD_PATH, handle);
  return () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  };
}
