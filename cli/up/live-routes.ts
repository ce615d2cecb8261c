/**
 * `netsim node`, `trace` and `capture` against a running `netsim up`: routes beside the
 * API on its listener, answering what the batch commands print on a fresh cluster, but
 * from the live one (`netsim get` needs none: it asks the API itself).
 *
 * - `GET /netsim/v1/nodeview?node=N&view=V`: the node view as text (cli/commands/node.ts).
 * - `POST /netsim/v1/trace` with `{from, to, proto?, port?, filter?}`: the probe runs in
 *   the live datapath (cluster/trace-runner.ts) and the answer is the report JSON that
 *   `netsim trace -o json` prints.
 * - `GET /netsim/v1/capture?duration-ms=D&count=N[&node=…][&interface=GLOB][&host=A]`:
 *   the live traffic of the selected interfaces for D wall-clock ms or until N packets
 *   (whichever comes first; at most {@link MAX_CAPTURE_MS}), answered as one pcapng file
 *   (cli/commands/capture.ts selects the interfaces as the batch command does).
 *
 * - `POST /netsim/v1/policy-matrix` with `{namespaces, ports, protocols}`: every pod of
 *   those namespaces probes every other through the live datapath and the answer is
 *   what `netsim policy matrix -o json` prints (cluster/policy-matrix/).
 *
 * Bad input (unknown node, view or endpoint, a malformed body) is a Kubernetes Status
 * 4xx whose `details.causes[0].reason` is the stable NETSIM_* code the batch command
 * would give, so the CLI exits 2 with the same code. A trace starts its probe once the
 * driver's tick is over (`idle`), then lets the driver move virtual time with the wall
 * clock (cli/up/live-trace.ts), so replies over the real underlay arrive in time.
 */
import type { FastifyReply } from 'fastify';
import { addNetsimRoute } from '../../control/server/app.ts';
import type { Cluster } from '../../cluster/cluster.ts';
import { CodedError } from '../../netsim/errors.ts';
import { nodeCommand, NODE_VIEW_PATH } from '../commands/node.ts';
import { TRACE_PATH } from '../commands/trace.ts';
import { liveTraceCommand } from './live-trace.ts';
import type { Crossing } from './live-trace.ts';
import { CAPTURE_PATH, openCapture } from '../commands/capture.ts';
import { isEmptyFilter, parseTraceFilter } from '../trace-filter.ts';
import { POLICY_MATRIX_PATH } from '../commands/policy.ts';
import { matrixJson, runPolicyMatrix } from '../../cluster/policy-matrix/index.ts';
import type { MatrixOptions } from '../../cluster/policy-matrix/index.ts';

/** The body of a trace request: the CLI's own option strings. */
export interface TraceRequest {
  readonly from: string;
  readonly to: string;
  readonly proto?: 'icmp' | 'udp' | 'tcp';
  readonly port?: number;
  readonly filter?: { node?: string; pod?: string; ip?: string; type?: string; verdict?: string };
}

function failure(reply: FastifyReply, code: number, netsimCode: string, message: string): FastifyReply {
  const reason = code === 404 ? 'NotFound' : 'BadRequest';
  return reply.code(code).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, details: { causes: [{ reason: netsimCode, message }] } });
}

/** An unknown thing is 404, anything else the user got wrong 400. */
function sendCoded(reply: FastifyReply, e: CodedError): FastifyReply {
  return failure(reply, /UNKNOWN/.test(e.code) ? 404 : 400, e.code, e.message);
}

/** Longest live capture (wall-clock ms): a forgotten request must not hold a subscription forever. */
export const MAX_CAPTURE_MS = 10 * 60 * 1000;

const STRING_FIELDS = ['node', 'pod', 'ip', 'type', 'verdict'] as const;

/** The request, checked field by field; a message for the first thing wrong. */
export function parseTraceRequest(body: unknown): TraceRequest | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object {from, to, proto?, port?, filter?}';
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['from', 'to', 'proto', 'port', 'filter'].includes(k)) return `unknown field "${k}"`;
  if (typeof b['from'] !== 'string' || b['from'] === '') return 'from: Required value: a non-empty string';
  if (typeof b['to'] !== 'string' || b['to'] === '') return 'to: Required value: a non-empty string';
  const proto = b['proto'];
  if (proto !== undefined && proto !== 'icmp' && proto !== 'udp' && proto !== 'tcp') return `proto: Unsupported value: ${JSON.stringify(proto)}: supported values: "icmp", "udp", "tcp"`;
  const port = b['port'];
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) return `port: Invalid value: ${JSON.stringify(port)}: must be between 1 and 65535, inclusive`;
  const filter = b['filter'];
  if (filter !== undefined) {
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) return 'filter: must be an object';
    for (const [k, v] of Object.entries(filter)) {
      if (!(STRING_FIELDS as readonly string[]).includes(k)) return `filter: unknown field "${k}"`;
      if (typeof v !== 'string') return `filter.${k}: must be a string`;
    }
  }
  return {
    from: b['from'], to: b['to'], ...(proto !== undefined ? { proto } : {}), ...(port !== undefined ? { port: port as number } : {}),
    ...(filter !== undefined ? { filter: filter as Record<string, string> } : {}),
  };
}

/** Serve the routes on the cluster's API listener. `idle` resolves when no driver tick is running. */
export function registerLiveRoutes(cluster: Cluster, idle: () => Promise<void> = () => Promise.resolve(), crossing?: Crossing): void {
  const app = cluster.control.app;
  addNetsimRoute(app, 'GET', NODE_VIEW_PATH, (req, reply) => {
    const q = new URL(req.url, 'http://localhost').searchParams;
    const node = q.get('node');
    const view = q.get('view');
    if (node === null || view === null) return failure(reply, 400, 'NETSIM_ERR_USAGE', 'query parameters node and view are required');
    let out = '';
    try {
      nodeCommand(cluster, node, view, (s) => { out += s; });
    } catch (e) {
      if (e instanceof CodedError) return sendCoded(reply, e);
      throw e;
    }
    return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(out);
  });

  addNetsimRoute(app, 'GET', CAPTURE_PATH, async (req, reply) => {
    const q = parseCaptureQuery(new URL(req.url, 'http://localhost').searchParams);
    if (typeof q === 'string') return failure(reply, 400, 'NETSIM_ERR_USAGE', q);
    let cap;
    try {
      cap = openCapture(cluster, q);
    } catch (e) {
      if (e instanceof CodedError) return sendCoded(reply, e);
      throw e;
    }
    cap.addNames(cluster.names());
    const started = Date.now();
    let gone = false;
    reply.raw.once('close', () => { gone = true; });
    // Wall-clock polling: the driver moves virtual time, this only watches what the capture saw.
    while (!gone && cap.packets < q.count && Date.now() - started < q.durationMs) await new Promise((r) => setTimeout(r, 20));
    cap.stop();
    return reply.code(200).header('content-type', 'application/x-pcapng').header('x-netsim-packets', String(cap.packets)).header('x-netsim-interfaces', cap.interfaceNames().join(',')).send(Buffer.from(cap.bytes()));
  });

  addNetsimRoute(app, 'POST', TRACE_PATH, async (req, reply) => {
    const r = parseTraceRequest(req.body);
    if (typeof r === 'string') return failure(reply, 400, 'NETSIM_ERR_USAGE', r);
    let out = '';
    try {
      const filter = parseTraceFilter(r.filter ?? {});
      await idle();
      await liveTraceCommand(cluster, { from: r.from, to: r.to, output: 'json', ...(r.proto !== undefined ? { proto: r.proto } : {}), ...(r.port !== undefined ? { port: r.port } : {}), ...(isEmptyFilter(filter) ? {} : { filter }) }, (s) => { out += s; }, crossing);
    } catch (e) {
      if (e instanceof CodedError) return sendCoded(reply, e);
      throw e;
    }
    return reply.code(200).header('content-type', 'application/json').send(out);
  });

  addNetsimRoute(app, 'POST', POLICY_MATRIX_PATH, async (req, reply) => {
    const o = parsePolicyMatrixRequest(req.body);
    if (typeof o === 'string') return failure(reply, 400, 'NETSIM_ERR_USAGE', o);
    const r = await runPolicyMatrix(cluster, o, idle);
    if (r.pods.length === 0) return failure(reply, 404, 'NETSIM_ERR_NAMESPACE', `no running pods in namespaces ${o.namespaces.join(', ')}`);
    return reply.code(200).header('content-type', 'application/json').send(JSON.stringify(matrixJson(r)));
  });
}

/** The body of a policy-matrix request, checked field by field; a message for the first thing wrong. */
export function parsePolicyMatrixRequest(body: unknown): MatrixOptions | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object {namespaces, ports, protocols}';
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['namespaces', 'ports', 'protocols'].includes(k)) return `unknown field "${k}"`;
  const list = (k: string, ok: (v: unknown) => boolean, what: string): string | undefined => {
    const v = b[k];
    if (!Array.isArray(v) || v.length === 0 || v.length > 64) return `${k}: Required value: a list of 1 to 64 ${what}`;
    const bad = v.find((x) => !ok(x));
    if (bad !== undefined) return `${k}: Invalid value: ${JSON.stringify(bad)}: not ${what}`;
    if (new Set(v).size !== v.length) return `${k}: Duplicate value`;
    return undefined;
  };
  const err = list('namespaces', (v) => typeof v === 'string' && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v), 'namespace names')
    ?? list('ports', (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535, 'ports between 1 and 65535')
    ?? list('protocols', (v) => v === 'TCP' || v === 'UDP' || v === 'SCTP', '"TCP", "UDP" or "SCTP"');
  if (err !== undefined) return err;
  return { namespaces: b['namespaces'] as string[], ports: b['ports'] as number[], protocols: b['protocols'] as MatrixOptions['protocols'] };
}

/** The query of a live capture; a message for the first thing wrong. */
export function parseCaptureQuery(q: URLSearchParams): { durationMs: number; count: number; nodes: string[]; interfaces: string[]; host?: string } | string {
  for (const k of q.keys()) if (!['duration-ms', 'count', 'node', 'interface', 'host'].includes(k)) return `unknown parameter "${k}"`;
  const int = (k: string, max: number): number | string | undefined => {
    const v = q.get(k);
    if (v === null) return undefined;
    return /^\d{1,9}$/.test(v) && Number(v) >= 1 && Number(v) <= max ? Number(v) : `${k}: Invalid value: "${v}": must be between 1 and ${max}, inclusive`;
  };
  const d = int('duration-ms', MAX_CAPTURE_MS);
  const c = int('count', 100_000_000);
  if (typeof d === 'string') return d;
  if (typeof c === 'string') return c;
  if (d === undefined && c === undefined) return 'give duration-ms, count, or both';
  const host = q.get('host');
  return { durationMs: d ?? MAX_CAPTURE_MS, count: c ?? Infinity, nodes: q.getAll('node'), interfaces: q.getAll('interface'), ...(host !== null ? { host } : {}) };
}
