/**
 * The web UI's reads of the running cluster, beside the API on its listener and behind
 * its authentication:
 * - `GET /netsim/v1/topology`: the picture (topology.ts) as JSON. The UI fetches it on
 *   load and again whenever an API watch reports a change to pods, Services,
 *   EndpointSlices or nodes.
 * - `GET /netsim/v1/podview?pod=NS/NAME&view=addr|link|route|neigh`: what `ip` prints
 *   inside the pod's network namespace (the node's views are `/netsim/v1/nodeview`).
 *   An unknown pod is a Status 404, an unknown view or a missing parameter 400.
 */
import type { FastifyInstance } from 'fastify';
import { addNetsimRoute } from '../control/server/app.ts';
import { statusOf } from '../control/server/errors.ts';
import type { Status } from '../control/api/index.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { ipAddr, ipLink, ipNeigh, ipRoute } from '../netsim/tools/ip.ts';
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { buildTopology } from './topology-builder.ts';

export const TOPOLOGY_PATH = '/netsim/v1/topology';
export const POD_VIEW_PATH = '/netsim/v1/podview';

/** The views of a pod's namespace, as `ip` prints them. */
const POD_VIEWS: Readonly<Record<string, (ns: NetNamespace) => string>> = { addr: ipAddr, link: ipLink, route: (ns) => ipRoute(ns), neigh: (ns) => ipNeigh(ns) };

/** A Status whose first cause carries the stable NETSIM_* code, as the live CLI routes answer. */
function failure(reason: 'BadRequest' | 'NotFound', code: string, message: string): Status {
  return statusOf(reason, message, { causes: [{ reason: code, message }] });
}

export function registerTopologyRoute(app: FastifyInstance, cluster: Cluster): void {
  addNetsimRoute(app, 'GET', TOPOLOGY_PATH, async (_req, reply) => reply.code(200).header('cache-control', 'no-store').header('content-type', 'application/json').send(JSON.stringify(await buildTopology(cluster))));
  addNetsimRoute(app, 'GET', POD_VIEW_PATH, (req, reply) => {
    const q = new URL(req.url, 'http://localhost').searchParams;
    const pod = q.get('pod');
    const view = q.get('view');
    if (pod === null || view === null) return reply.code(400).send(failure('BadRequest', 'NETSIM_ERR_USAGE', 'query parameters pod (NAMESPACE/NAME) and view are required'));
    const render = Object.hasOwn(POD_VIEWS, view) ? POD_VIEWS[view] : undefined;
    if (render === undefined) return reply.code(400).send(failure('BadRequest', 'NETSIM_ERR_UNKNOWN_VIEW', `unknown view "${view}" (views: ${Object.keys(POD_VIEWS).join(', ')})`));
    const p = cluster.pods.get(pod.includes('/') ? pod : `default/${pod}`);
    if (p === undefined) return reply.code(404).send(failure('NotFound', 'NETSIM_ERR_UNKNOWN_POD', `unknown pod "${pod}" (or it shares its node's network)`));
    return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(render(p.ns));
  });
}
