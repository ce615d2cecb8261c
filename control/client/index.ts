/**
 * control/client: the typed HTTP client of the emulated API server and an Informer
 * (list + watch from the list's resourceVersion, relist on 410 Expired, periodic resync,
 * local cache, add/update/delete handlers) for kube-proxy, flanneld and the node agent.
 *
 * Not modelled: protobuf, client-side rate limiting, shared informer factories,
 * indexers beyond namespace/name, exponential backoff.
 */
export * from './client.ts';
export * from './informer.ts';
