/**
 * `kubectl logs POD [-c C] [-f] [--tail N] [--since D|--since-time T] [--timestamps]`:
 * the pods/log subresource (core/v1 PodLogOptions) answered from the node agent's
 * container logs, as text/plain, streaming with follow=true until the client goes.
 * Errors read as kube-apiserver and the kubelet word them.
 *
 * Not modelled: previous=true (containers here never restart, so there is no
 * previous instance: it answers as for a first instance), limitBytes beyond a cut
 * at a line boundary.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { addConnectHandler } from '../control/server/app.ts';
import { errBadRequest } from '../control/server/errors.ts';
import type { ApiError } from '../control/server/errors.ts';
import type { Cluster } from './cluster.ts';
import type { LogLine } from './pod-logs.ts';

type Query = Record<string, string | undefined>;

function badRequest(message: string): ApiError {
  return errBadRequest(message);
}

function intParam(q: Query, name: string): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (!/^\d{1,12}$/.test(v)) throw badRequest(`${name}: Invalid value: "${v}": must be a non-negative integer`);
  return Number(v);
}

/** The RFC 3339 timestamp kubectl --timestamps shows (nanosecond precision). */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export function serveLogs(cluster: Cluster): void {
  addConnectHandler(cluster.control.app, 'pods', 'log', async (req: FastifyRequest, reply: FastifyReply, target) => {
    const q = req.query as Query;
    const running = [...cluster.clusterNodes.values()].flatMap((cn) => [...cn.agent.pods.values()]).find((p) => p.namespace === target.namespace && p.name === target.name && !p.stopped);
    const names = running?.logs.containerNames ?? [];
    let container = q.container;
    if (container === undefined) {
      if (names.length > 1) throw badRequest(`a container name must be specified for pod ${target.name}, choose one of: [${names.join(' ')}]`);
      container = names[0];
    }
    if (running === undefined || container === undefined) throw badRequest(`container "${container ?? ''}" in pod "${target.name}" is waiting to start: ContainerCreating`);
    const log = running.logs.container(container);
    if (log === undefined) throw badRequest(`container ${container} is not valid for pod ${target.name}`);
    const tail = intParam(q, 'tailLines');
    const sinceSeconds = intParam(q, 'sinceSeconds');
    const limitBytes = intParam(q, 'limitBytes');
    if (q.sinceTime !== undefined && sinceSeconds !== undefined) throw badRequest('at most one of `sinceTime` or `sinceSeconds` may be specified');
    let sinceMs: number | undefined;
    if (sinceSeconds !== undefined) sinceMs = cluster.now().getTime() - sinceSeconds * 1000;
    if (q.sinceTime !== undefined) {
      sinceMs = Date.parse(q.sinceTime);
      if (Number.isNaN(sinceMs)) throw badRequest(`sinceTime: Invalid value: "${q.sinceTime}": must be an RFC 3339 time`);
    }
    const timestamps = q.timestamps === 'true';
    const render = (l: LogLine): string => `${timestamps ? `${stamp(l.ms)} ` : ''}${l.text}\n`;
    let body = log.read({ ...(tail !== undefined ? { tail } : {}), ...(sinceMs !== undefined ? { sinceMs } : {}) }).map(render).join('');
    if (limitBytes !== undefined && Buffer.byteLength(body) > limitBytes) body = Buffer.from(body).subarray(0, limitBytes).toString('utf8');
    if (q.follow !== 'true') return reply.code(200).header('content-type', 'text/plain').send(body);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    raw.write(body);
    const stop = log.follow((l) => raw.write(render(l)));
    raw.on('close', stop);
    return reply;
  });
}
