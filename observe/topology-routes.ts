/**
 * `GET /netsim/v1/topology`: the running cluster's picture (topology.ts) as JSON,
 * beside the API on its listener and behind its authentication. The web UI fetches
 * it on load and again whenever an API watch reports a change to pods, Services,
 * EndpointSlices or nodes.
 */
import type { FastifyInstance } from 'fastify';
import { addNetsimRoute } from '../control/server/app.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { buildTopology } from './topology-builder.ts';

export const TOPOLOGY_PATH = '/netsim/v1/topology';

export function registerTopologyRoute(app: FastifyInstance, cluster: Cluster): void {
  addNetsimRoute(app, 'GET', TOPOLOGY_PATH, async (_req, reply) => reply.code(200).header('cache-control', 'no-store').header('content-type', 'application/json').send(JSON.stringify(await buildTopology(cluster))));
}
