/**
 * The fastify application of the emulated kube-apiserver. `buildApp` never listens;
 * the caller does (`app.listen`), or tests use `app.inject()`.
 *
 * Plugins: health + version, discovery, openapi, one resource plugin per served
 * group-version (core/v1, apps/v1, discovery.k8s.io/v1) holding the routes of each kind
 * control/resources serves there (collection, object, declared subresources). Watches stream newline-delimited
 * JSON over HTTP and the same events over WebSocket: an Upgrade request on the same
 * collection URL (`ws://HOST/api/v1/namespaces/default/pods?watch=true`) gets one
 * watch-event JSON per text frame (kube-apiserver's `HandleWS` shape).
 *
 * Bodies are JSON, YAML or protobuf (protobuf/, as kubectl's typed commands send them);
 * a response is protobuf when Accept names protobuf first and the kind has a message,
 * JSON otherwise, and protobuf watches are length-prefixed WatchEvent frames (one
 * binary message each over WebSocket).
 */
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import YAML from 'yaml';
import type { ObjectStore, WatchHandle } from '../store/object-store.ts';
import type { KubeObject, ResourceInfo, WatchEvent, DeleteOptions, Status } from '../api/index.ts';
import { apiVersionOf } from '../api/index.ts';
import { findResource, groupVersions, kubernetesServiceIP, RESOURCES, toTable } from '../resources/index.ts';
import { ApiError, errBadRequest, errMethodNotAllowed, errPathNotFound, statusOf } from './errors.ts';
import { StoreError } from '../store/object-store.ts';
import { carriesToken, isPublicPath, UI_PREFIX, unauthorizedStatus } from './auth.ts';
import { Registry } from './registry.ts';
import type { PatchType, WriteOptions } from './registry.ts';
import { parseResourceVersion } from './registry.ts';
import { bracketDepth, MAX_DEPTH, valueDepth } from './limits.ts';
import { typeErrors } from './type-check.ts';
import { aggregatedDiscovery, aggregatedVersion, apiGroupList, apiResourceList, apiVersions, parseAccept, wantsTable } from './discovery.ts';
import { openapiDocument, openapiIndex, openapiV2 } from './openapi/index.ts';
import { duplicateJsonKeys, warningHeader } from './field-validation.ts';
import { PROTOBUF, PROTOBUF_WATCH, decodeObject, encodeObject, encodeWatchFrame, wantsProtobuf } from './protobuf/index.ts';

export interface BuildAppOptions {
  readonly store: ObjectStore;
  /** Wall clock for timestamps and ages (injectable for tests). */
  readonly clock?: () => Date;
  /** uid generator (default crypto.randomUUID). */
  readonly uid?: () => string;
  /** When set, every request but /healthz, /livez, /readyz needs `Authorization: Bearer <token>` (auth.ts). */
  readonly token?: string;
  /** Serve HTTPS with this PEM key and certificate chain when the caller listens. */
  readonly https?: { readonly key: string; readonly cert: string };
  /**
   * Bytes a watcher may leave unread before it is closed (default 4 MiB). kube-apiserver's
   * cacheWatcher is closed when its buffer is full ("Forcing watcher close due to
   * unresponsiveness"); the client sees the stream end and relists, and the server keeps
   * no unbounded queue for a client that stopped reading.
   */
  readonly watchBufferBytes?: number;
  /** Request body limit in bytes (default 3 MiB, kube-apiserver's limit). */
  readonly bodyLimit?: number;
  readonly serviceCIDR?: string;
  readonly nodePortRange?: { readonly base: number; readonly size: number };
  /** Interval of BOOKMARK events on watches with allowWatchBookmarks (default 60 s). */
  readonly bookmarkIntervalMs?: number;
  /** Create the default namespaces and the `default/kubernetes` service when ready (default true). */
  readonly bootstrap?: boolean;
  /**
   * The address other components reach this API server at (kube-apiserver's
   * --advertise-address, port 6443): with it, the bootstrap also writes the
   * `default/kubernetes` Endpoints and EndpointSlice, as the apiserver's endpoint
   * reconciler does, so kube-proxy programs the Service like any other.
   */
  readonly advertiseAddress?: string;
  readonly gracefulPodDeletion?: boolean;
  /** Fastify logger (default off). */
  readonly logger?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    registry: Registry;
  }
}

const JSON_TYPES = ['application/json', 'application/strategic-merge-patch+json', 'application/merge-patch+json', 'application/json-patch+json'];
const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

export const VERSION_INFO = {
  major: '1', minor: '32', gitVersion: 'v1.32.4', gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335', gitTreeState: 'clean',
  buildDate: '2025-04-22T16:02:27Z', goVersion: 'go1.23.6', compiler: 'gc', platform: 'linux/amd64',
};

type Query = Record<string, string | string[] | undefined>;

function q1(q: Query, k: string): string | undefined {
  const v = q[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function boolParam(q: Query, k: string): boolean {
  const v = q1(q, k);
  return v === 'true' || v === '1';
}

function parseBody(kind: 'json' | 'yaml', text: string): unknown {
  if (text.trim() === '') return undefined;
  if (kind === 'json') {
    if (bracketDepth(text) > MAX_DEPTH) throw errBadRequest(`error decoding request body: exceeded max depth (${MAX_DEPTH})`);
    try { return JSON.parse(text); } catch (e) { throw errBadRequest(`error decoding request body: ${(e as Error).message}`); }
  }
  if (bracketDepth(text, true) > MAX_DEPTH) throw errBadRequest(`error decoding YAML: exceeded max depth (${MAX_DEPTH})`);
  let value: unknown;
  try {
    const docs = YAML.parseAllDocuments(text, { version: '1.1' });
    if (docs.length !== 1) throw new Error('expected exactly one YAML document');
    const d = docs[0]!;
    if (d.errors.length) throw new Error(d.errors[0]!.message);
    value = d.toJS();
  } catch (e) {
    // The parser recurses: block nesting within the body limit can still exhaust the stack.
    const msg = (e as Error).message;
    throw errBadRequest(`error decoding YAML: ${e instanceof RangeError || msg.startsWith('Maximum call stack size exceeded') ? `exceeded max depth (${MAX_DEPTH})` : msg}`);
  }
  if (valueDepth(value) > MAX_DEPTH) throw errBadRequest(`error decoding YAML: exceeded max depth (${MAX_DEPTH})`);
  return value;
}

/**
 * A create or update body without a kind or apiVersion gets the URL's, as
 * kube-apiserver's handlers decode with the request's group-version-kind as the
 * default (handlers/create.go: `decoder.Decode(body, &defaultGVK, …)`): typed client
 * libraries (the JavaScript client, for one) send bodies without them. A kind that
 * disagrees with the URL is still refused by the registry.
 */
function defaultKind(body: unknown, r: ResourceInfo): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  const o = body as { kind?: unknown; apiVersion?: unknown };
  if (o.kind === undefined || o.kind === '') o.kind = r.kind;
  if (o.apiVersion === undefined || o.apiVersion === '') o.apiVersion = apiVersionOf(r);
}

interface ParsedPath {
  readonly r: ResourceInfo;
  readonly ns?: string;
  readonly name?: string;
  readonly sub?: string;
}

/**
 * The collection a WebSocket watch URL names (the part after the group-version prefix):
 * `namespaces/{ns}/{resource}` or `{resource}`. Upgrades bypass fastify's router, and
 * watches are only served on collections.
 */
function parseCollectionPath(group: string, version: string, rest: string): ParsedPath {
  const segs = rest.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  const find = (name: string | undefined): ResourceInfo => {
    const r = name === undefined ? undefined : findResource(group, version, name);
    if (!r) throw errPathNotFound();
    return r;
  };
  if (segs.length === 3 && segs[0] === 'namespaces') {
    const r = find(segs[2]);
    if (!r.namespaced) throw errPathNotFound();
    return { r, ns: segs[1]! };
  }
  if (segs.length === 1) return { r: find(segs[0]) };
  if (segs.length === 2 || (segs.length === 4 && segs[0] === 'namespaces')) throw errBadRequest('watch needs a collection URL');
  throw errPathNotFound();
}

interface WatchSink {
  /** A JSON line, or a length-prefixed protobuf frame. */
  send(data: string | Uint8Array): void;
  end(): void;
  onClose(cb: () => void): void;
}

/**
 * Endpoints beside the Kubernetes API on the same listener and behind the same
 * authentication, added after the app is ready (the cluster is built through
 * `inject`, which readies it): the emulator's own `/netsim/…` paths, and WebSocket
 * (Upgrade) endpoints such as the flow stream.
 */
export const NETSIM_PREFIX = '/netsim/';
/** Subresources served by a connecter rather than the store (kube-apiserver's rest.Connecter). */
const CONNECT_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward']);
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
export type ExtraHandler = (req: FastifyRequest, reply: FastifyReply) => unknown;
interface ExtraRoutes {
  readonly http: Array<{ readonly method: string; readonly path: string; readonly handle: ExtraHandler }>;
  /** The web UI: `GET /` and `GET /ui/…` (unset: 404 as any unknown path). */
  ui: ExtraHandler | undefined;
  readonly connect: Map<string, ConnectHandler>;
  readonly upgrade: Array<{ readonly match: (path: string) => boolean; readonly handle: UpgradeHandler }>;
}
const extraRoutes = new WeakMap<FastifyInstance, ExtraRoutes>();

function extrasOf(app: FastifyInstance): ExtraRoutes {
  const routes = extraRoutes.get(app);
  if (routes === undefined) throw new Error('not an app from buildApp');
  return routes;
}

/** Serve `method path` (under {@link NETSIM_PREFIX}) on an app built by {@link buildApp}, also once it is listening. */
export function addNetsimRoute(app: FastifyInstance, method: 'GET' | 'POST' | 'DELETE', path: string, handle: ExtraHandler): void {
  if (!path.startsWith(NETSIM_PREFIX)) throw new Error(`extra routes live under ${NETSIM_PREFIX}, got ${path}`);
  extrasOf(app).http.push({ method, path, handle });
}

/**
 * Serve the web UI's page (`GET /`) and assets (`GET /ui/…`, {@link UI_PREFIX}) with
 * `handle`, which may use `reply.sendFile(name, root)` (@fastify/static). These paths
 * need no token (auth.ts); the page's own requests do.
 */
export function setUiHandler(app: FastifyInstance, handle: ExtraHandler): void {
  extrasOf(app).ui = handle;
}

/**
 * kube-apiserver's "connect" subresources (pods/log, pods/exec, pods/portforward):
 * not stored objects but a line to whatever runs the pod. The control plane knows no
 * packets, so the composition root supplies the handler once the cluster runs;
 * until then (or for a verb nothing handles) the subresource answers as a pod
 * without a node does.
 */
export type ConnectHandler = (req: FastifyRequest, reply: FastifyReply, target: { readonly namespace: string; readonly name: string }) => unknown;

/** Handle `GET .../RESOURCE/NAME/SUB` (e.g. `pods`, `log`) on an app built by {@link buildApp}. */
export function addConnectHandler(app: FastifyInstance, resource: string, sub: string, handle: ConnectHandler): void {
  extrasOf(app).connect.set(`${resource}/${sub}`, handle);
}

/** Refuse an Upgrade request with a Kubernetes `Status` as a plain HTTP answer (the socket is not yet a WebSocket). */
export function refuseUpgrade(socket: Duplex, status: Status): void {
  const body = JSON.stringify(status);
  const text = STATUS_TEXT[status.code ?? 400] ?? 'Error';
  socket.end(`HTTP/1.1 ${status.code ?? 400} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
const STATUS_TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Serve Upgrade requests whose path `match`es (e.g. the flow stream, exec) on an app built by {@link buildApp}. */
export function addUpgradeRoute(app: FastifyInstance, match: (path: string) => boolean, handle: UpgradeHandler): void {
  extrasOf(app).upgrade.push({ match, handle });
}

export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const clock = opts.clock ?? (() => new Date());
  const tls = opts.https;
  // fastify types its instance by server class; an https.Server serves the same request events.
  const serverFactory = (handler: RequestListener): Server => (tls !== undefined ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) as unknown as Server : createHttpServer(handler));
  const app = Fastify({ logger: opts.logger ?? false, routerOptions: { ignoreTrailingSlash: true }, bodyLimit: opts.bodyLimit ?? 3 * 1024 * 1024, forceCloseConnections: true, return503OnClosing: false, serverFactory });
  const watchBufferBytes = opts.watchBufferBytes ?? DEFAULT_WATCH_BUFFER_BYTES;
  const registry = new Registry({
    store: opts.store, clock,
    ...(opts.uid ? { uid: opts.uid } : {}),
    ...(opts.serviceCIDR ? { serviceCIDR: opts.serviceCIDR } : {}),
    ...(opts.nodePortRange ? { nodePortRange: opts.nodePortRange } : {}),
    ...(opts.gracefulPodDeletion !== undefined ? { gracefulPodDeletion: opts.gracefulPodDeletion } : {}),
  });
  app.decorate('registry', registry);
  const bookmarkMs = opts.bookmarkIntervalMs ?? 60_000;
  const activeWatches = new Set<() => void>();
  /** Serialized watch lines, shared by every watcher that got the same (shared) event. */
  const lines = new WeakMap<object, string>();

  // ---------------------------------------------------------- body parsers
  app.removeAllContentTypeParsers();
  // Keys a JSON body repeats, for fieldValidation (JSON.parse keeps the last one silently).
  const duplicates = new WeakMap<object, string[]>();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (req, body, done) => {
    try {
      const parsed = parseBody('json', body as string);
      const dups = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? duplicateJsonKeys(body as string) : [];
      if (dups.length > 0) duplicates.set(req.raw, dups);
      done(null, parsed);
    } catch (e) { done(e as Error, undefined); }
  });
  app.addContentTypeParser(['application/yaml', 'application/apply-patch+yaml'], { parseAs: 'string' }, (_req, body, done) => {
    try { done(null, parseBody('yaml', body as string)); } catch (e) { done(e as Error, undefined); }
  });
  app.addContentTypeParser(PROTOBUF, { parseAs: 'buffer' }, (req, body, done) => {
    if ((body as Buffer).length === 0) { done(null, undefined); return; }
    try {
      done(null, decodeObject(body as Buffer));
    } catch (e) {
      // A URL no route serves is a 404 whatever the body holds (kube-apiserver routes
      // before it decodes); otherwise a decoder failure is the client's bytes: 400, never 500.
      if (req.is404) done(null, undefined);
      else done(errBadRequest(`the object provided is unrecognized: ${(e as Error).message}`), undefined);
    }
  });

  // ---------------------------------------------------------- errors and auth
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    let status: Status;
    if (err instanceof ApiError) status = err.toStatus();
    // A store that cannot answer (etcd down, a failed WAL) is the server's temporary state, not a bug: 503, retry.
    else if (err instanceof StoreError && (err.code === 'STORE_UNAVAILABLE' || err.code === 'STORE_CLOSED')) status = statusOf('ServiceUnavailable', err.message);
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') status = statusOf('RequestEntityTooLarge', 'Request entity too large: limit is ' + String(opts.bodyLimit ?? 3 * 1024 * 1024));
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') status = statusOf('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, ${PROTOBUF}`);
    else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) status = statusOf('BadRequest', err.message);
    else {
      app.log.error(err);
      status = statusOf('InternalError', `Internal error occurred: ${err.message}`);
    }
    // kube-apiserver's 503s (etcd unavailable, shutting down) carry Retry-After; client-go honours it.
    if (status.code === 503) void reply.header('retry-after', String(status.details?.retryAfterSeconds ?? 1));
    const pb = wantsProtobuf(req.headers.accept) ? encodeObject(status) : undefined;
    if (pb) void reply.code(status.code).header('content-type', PROTOBUF).send(Buffer.from(pb));
    else void reply.code(status.code).header('content-type', 'application/json').send(status);
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send(errPathNotFound().toStatus());
  });
  const extras: ExtraRoutes = { http: [], ui: undefined, upgrade: [], connect: new Map() };
  extraRoutes.set(app, extras);
  // Only the reply.sendFile decorator: the UI handler picks what to send (setUiHandler).
  void app.register(fastifyStatic, { serve: false });
  app.route({
    method: 'GET', url: '/',
    handler: (req, reply) => (extras.ui !== undefined ? extras.ui(req, reply) : reply.code(404).send(errPathNotFound().toStatus())),
  });
  app.route({
    method: 'GET', url: `${UI_PREFIX}*`,
    handler: (req, reply) => (extras.ui !== undefined ? extras.ui(req, reply) : reply.code(404).send(errPathNotFound().toStatus())),
  });
  app.route({
    method: ['GET', 'POST', 'DELETE'], url: `${NETSIM_PREFIX}*`,
    handler: (req, reply) => {
      const path = req.url.split('?')[0] ?? '';
      const r = extras.http.find((x) => x.path === path && x.method === req.method);
      if (r === undefined) return reply.code(404).send(errPathNotFound().toStatus());
      return r.handle(req, reply);
    },
  });
  const authorized = (header: string | undefined, protocols: string | undefined): boolean => opts.token === undefined || opts.token === '' || carriesToken(opts.token, header, protocols);
  app.addHook('onRequest', async (req, reply) => {
    if (isPublicPath(req.url.split('?')[0] ?? '')) return;
    if (!authorized(req.headers.authorization, undefined)) await reply.code(401).send(unauthorizedStatus());
  });

  // ---------------------------------------------------------- bootstrap
  if (opts.bootstrap !== false) {
    app.addHook('onReady', async () => {
      const nsR = findResource('', 'v1', 'namespaces')!;
      for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
        if (!(await registry.getOrUndefined(nsR, undefined, ns))) {
          await registry.create(nsR, undefined, { metadata: { name: ns } }, { fieldManager: 'kube-apiserver' }).catch((e: unknown) => { if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e; });
        }
      }
      const svcR = findResource('', 'v1', 'services')!;
      if (!(await registry.getOrUndefined(svcR, 'default', 'kubernetes'))) {
        await registry.create(svcR, 'default', {
          metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
          spec: { type: 'ClusterIP', clusterIP: kubernetesServiceIP(registry.alloc), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: APISERVER_PORT }], sessionAffinity: 'None' },
        }, { fieldManager: 'kube-apiserver' }).catch((e: unknown) => { if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e; });
      }
      if (opts.advertiseAddress !== undefined) await writeApiserverEndpoints(registry, opts.advertiseAddress);
    });
  }
  app.addHook('onClose', async () => {
    for (const stop of [...activeWatches]) stop();
  });

  // ---------------------------------------------------------- health, version, discovery, openapi
  void app.register(async (p) => {
    for (const path of ['/healthz', '/livez', '/readyz']) p.get(path, async (_req, reply) => reply.type('text/plain').send('ok'));
    p.get('/version', async () => VERSION_INFO);
  });

  void app.register(async (p) => {
    const serverAddress = (req: FastifyRequest): string => req.headers.host ?? '127.0.0.1';
    p.get('/api', async (req, reply) => {
      const v = aggregatedVersion(req.headers.accept);
      if (v) return reply.header('content-type', `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`).send(Buffer.from(JSON.stringify(aggregatedDiscovery(true, v))));
      return reply.type('application/json').send(apiVersions(serverAddress(req)));
    });
    p.get('/apis', async (req, reply) => {
      const v = aggregatedVersion(req.headers.accept);
      if (v) return reply.header('content-type', `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`).send(Buffer.from(JSON.stringify(aggregatedDiscovery(false, v))));
      return reply.type('application/json').send(apiGroupList());
    });
    p.get('/apis/:group', async (req, reply) => {
      const { group } = req.params as { group: string };
      const g = (apiGroupList() as { groups: { name: string }[] }).groups.find((x) => x.name === group);
      if (!g) throw errPathNotFound();
      return reply.send({ kind: 'APIGroup', apiVersion: 'v1', ...g });
    });
    p.get('/openapi/v2', async (req, reply) => {
      // Only JSON here; a client that accepts nothing but the protobuf form gets 406 and falls back.
      const types = parseAccept(req.headers.accept).map((m) => m.type);
      if (types.length > 0 && !types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*')) throw new ApiError('NotAcceptable', 'only application/json is served for /openapi/v2');
      return reply.type('application/json').send(openapiV2());
    });
    p.get('/openapi/v3', async () => openapiIndex());
    p.get('/openapi/v3/*', async (req, reply) => {
      const rest = ((req.params as { '*': string })['*'] ?? '').split('/');
      let doc: object | undefined;
      if (rest[0] === 'api' && rest.length === 2) doc = openapiDocument('', rest[1]!);
      else if (rest[0] === 'apis' && rest.length === 3) doc = openapiDocument(rest[1]!, rest[2]!);
      if (!doc) throw errPathNotFound();
      return reply.header('cache-control', 'public, immutable').type('application/json').send(doc);
    });
  });

  // ---------------------------------------------------------- resources
  const startWatch = async (pp: ParsedPath, q: Query, accept: string | undefined, sink: WatchSink): Promise<void> => {
    const table = wantsTable(accept);
    const protobuf = !table && wantsProtobuf(accept);
    const includeObject = (q1(q, 'includeObject') ?? 'Metadata') as 'None' | 'Metadata' | 'Object';
    let first = true;
    let handle: WatchHandle | undefined;
    let closed = false;
    const timers: NodeJS.Timeout[] = [];
    const stop = (): void => {
      if (closed) return;
      closed = true;
      handle?.cancel();
      for (const t of timers) clearTimeout(t);
      activeWatches.delete(stop);
      sink.end();
    };
    activeWatches.add(stop);
    sink.onClose(() => { closed = true; handle?.cancel(); for (const t of timers) clearTimeout(t); activeWatches.delete(stop); });
    const emit = (ev: WatchEvent): void => {
      if (closed) return;
      let out: WatchEvent = ev;
      if (table && (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')) {
        const obj = ev.object as KubeObject;
        out = { type: ev.type, object: toTable(pp.r, [obj], clock(), { resourceVersion: obj.metadata?.resourceVersion ?? '' }, includeObject, first) as unknown as KubeObject };
        first = false;
      }
      if (protobuf) {
        const frame = encodeWatchFrame(ev.type, ev.object);
        if (frame) { sink.send(frame); return; }
      }
      if (out !== ev) { sink.send(`${JSON.stringify(out)}\n`); return; }
      let line = lines.get(ev);
      if (line === undefined) { line = `${JSON.stringify(ev)}\n`; lines.set(ev, line); }
      sink.send(line);
    };
    const timeout = Number(q1(q, 'timeoutSeconds') ?? '0');
    if (timeout > 0) timers.push(setTimeout(stop, timeout * 1000));
    if (boolParam(q, 'allowWatchBookmarks')) {
      const tick = (): void => {
        emit({ type: 'BOOKMARK', object: { kind: pp.r.kind, apiVersion: apiVersionOf(pp.r), metadata: { resourceVersion: String(registry.store.revision()) } } });
        timers.push(setTimeout(tick, bookmarkMs));
      };
      timers.push(setTimeout(tick, bookmarkMs));
    }
    const wq = {
      ...(q1(q, 'labelSelector') !== undefined ? { labelSelector: q1(q, 'labelSelector')! } : {}),
      ...(q1(q, 'fieldSelector') !== undefined ? { fieldSelector: q1(q, 'fieldSelector')! } : {}),
      ...(q1(q, 'resourceVersion') !== undefined ? { resourceVersion: q1(q, 'resourceVersion')! } : {}),
      sendInitialEvents: boolParam(q, 'sendInitialEvents'),
    };
    const h = await registry.watch(pp.r, pp.ns, wq, emit, stop, { shared: true });
    if (closed) h.cancel(); else handle = h;
  };

  const writeOpts = (q: Query, req?: FastifyRequest): WriteOptions & { warnings: string[] } => {
    const dry = q1(q, 'dryRun');
    if (dry !== undefined && dry !== '' && dry !== 'All') throw errBadRequest(`Invalid dry run value: ${dry}: supported values: "All"`);
    const fv = q1(q, 'fieldValidation');
    if (fv !== undefined && !['Ignore', 'Warn', 'Strict', ''].includes(fv)) throw errBadRequest(`fieldValidation parameter unsupported: ${fv}`);
    return {
      dryRun: dry === 'All',
      ...(q1(q, 'fieldManager') !== undefined ? { fieldManager: q1(q, 'fieldManager')! } : {}),
      force: boolParam(q, 'force'),
      // kube-apiserver's default when the parameter is absent is Warn.
      fieldValidation: fv === undefined || fv === '' ? 'Warn' : fv,
      ...(req && duplicates.has(req.raw) ? { duplicateFields: duplicates.get(req.raw)! } : {}),
      warnings: [],
    };
  };
  const withWarnings = (reply: FastifyReply, wo: { warnings: string[] }): void => {
    if (wo.warnings.length > 0) void reply.header('warning', [...new Set(wo.warnings)].map(warningHeader));
  };

  const respond = (req: FastifyRequest, reply: FastifyReply, pp: ParsedPath, body: unknown, code = 200): FastifyReply => {
    const q = req.query as Query;
    if (wantsTable(req.headers.accept) && pp.sub === undefined && body && typeof body === 'object') {
      const b = body as { items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string }; kind?: string };
      const includeObject = (q1(q, 'includeObject') ?? 'Metadata') as 'None' | 'Metadata' | 'Object';
      const items = Array.isArray(b.items) ? b.items : [body as KubeObject];
      const meta: { resourceVersion?: string; continue?: string } = {};
      if (b.metadata?.resourceVersion) meta.resourceVersion = b.metadata.resourceVersion;
      if (Array.isArray(b.items) && b.metadata?.continue) meta.continue = b.metadata.continue;
      return reply.code(code).header('content-type', 'application/json;as=Table;v=v1;g=meta.k8s.io').send(Buffer.from(JSON.stringify(toTable(pp.r, items, clock(), meta, includeObject))));
    }
    const pb = wantsProtobuf(req.headers.accept) ? encodeObject(body) : undefined;
    if (pb) return reply.code(code).type(PROTOBUF).send(Buffer.from(pb));
    // A Buffer, not a string: Node then writes the headers on their own, as Latin-1, so a
    // Warning's UTF-8 bytes (warningHeader) reach the client as they are.
    return reply.code(code).type('application/json; charset=utf-8').send(Buffer.from(JSON.stringify(body)));
  };

  const handle = async (pp: ParsedPath, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const q = req.query as Query;
    const { r, ns, name, sub } = pp;
    const method = req.method;
    if (sub !== undefined && CONNECT_SUBRESOURCES.has(sub) && name !== undefined) {
      // Connect subresources need the object to exist first, as kube-apiserver's connecters look it up.
      await registry.get(r, ns, name);
      const connect = extras.connect.get(`${r.resource}/${sub}`);
      if (connect !== undefined && method === 'GET') return (await connect(req, reply, { namespace: ns ?? '', name })) as FastifyReply;
      if (sub === 'exec' || sub === 'portforward' || sub === 'attach') throw errBadRequest(`Upgrade request required: ${sub} speaks a streaming protocol (WebSocket ${sub === 'portforward' ? 'SPDY/3.1+portforward.k8s.io' : 'v5.channel.k8s.io'})`);
      throw errBadRequest(`${r.resource} "${name}" has no ${sub} here: nothing runs it yet`);
    }
    if (method === 'GET') {
      if (name === undefined) {
        if (boolParam(q, 'watch')) {
          // Refuse bad options with a plain 400 before the stream starts.
          registry.parseFilter(r, q1(q, 'labelSelector'), q1(q, 'fieldSelector'));
          const rv = q1(q, 'resourceVersion');
          if (rv !== undefined && rv !== '') parseResourceVersion(rv);
          reply.hijack();
          const raw = reply.raw;
          const ct = wantsTable(req.headers.accept) ? 'application/json;as=Table;v=v1;g=meta.k8s.io' : wantsProtobuf(req.headers.accept) ? PROTOBUF_WATCH : 'application/json';
          raw.writeHead(200, { 'content-type': ct, 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
          raw.flushHeaders();
          try {
            await startWatch(pp, q, req.headers.accept, {
              send: (line) => {
                // Past the bound the reader has stalled: drop the connection (ending it would wait for the unread bytes).
                if (raw.writableLength > watchBufferBytes) { raw.destroy(); return; }
                raw.write(line);
              },
              end: () => { raw.end(); },
              onClose: (cb) => { raw.on('close', cb); },
            });
          } catch (e) {
            const status = e instanceof ApiError ? e.toStatus() : statusOf('InternalError', (e as Error).message);
            raw.end(ct === PROTOBUF_WATCH ? encodeWatchFrame('ERROR', status) : `${JSON.stringify({ type: 'ERROR', object: status })}\n`);
          }
          return reply;
        }
        const list = await registry.list(r, ns, {
          ...(q1(q, 'labelSelector') !== undefined ? { labelSelector: q1(q, 'labelSelector')! } : {}),
          ...(q1(q, 'fieldSelector') !== undefined ? { fieldSelector: q1(q, 'fieldSelector')! } : {}),
          ...(q1(q, 'limit') !== undefined ? { limit: Number(q1(q, 'limit')) || 0 } : {}),
          ...(q1(q, 'continue') ? { continue: q1(q, 'continue')! } : {}),
          ...(q1(q, 'resourceVersion') !== undefined ? { resourceVersion: q1(q, 'resourceVersion')! } : {}),
          ...(q1(q, 'resourceVersionMatch') !== undefined ? { resourceVersionMatch: q1(q, 'resourceVersionMatch')! } : {}),
        });
        return respond(req, reply, pp, list);
      }
      if (sub === 'binding') throw errMethodNotAllowed();
      return respond(req, reply, pp, await registry.get(r, ns, name, sub));
    }
    if (method === 'POST') {
      if (name === undefined) {
        defaultKind(req.body, r);
        const wo = writeOpts(q, req);
        const created = await registry.create(r, ns, req.body, wo);
        withWarnings(reply, wo);
        return respond(req, reply, pp, created, 201);
      }
      if (sub === 'binding' && ns !== undefined) return respond(req, reply, pp, await registry.bind(ns, name, req.body, writeOpts(q)), 201);
      throw errMethodNotAllowed();
    }
    if (method === 'PUT') {
      if (name === undefined || sub === 'binding') throw errMethodNotAllowed();
      if (sub !== 'scale') defaultKind(req.body, r);
      const wo = writeOpts(q, req);
      const updated = await registry.update(r, ns, name, req.body, wo, sub);
      withWarnings(reply, wo);
      return respond(req, reply, pp, updated);
    }
    if (method === 'PATCH') {
      if (name === undefined || sub === 'binding') throw errMethodNotAllowed();
      const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const type = PATCH_TYPES[ct];
      if (!type) throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
      if (req.body === undefined) throw errBadRequest('the body of the request is empty');
      const wo = writeOpts(q, type === 'json' ? undefined : req);
      if (type === 'apply' && !wo.fieldManager) throw errBadRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
      const { obj, created } = await registry.patch(r, ns, name, type, req.body, wo, sub);
      withWarnings(reply, wo);
      return respond(req, reply, pp, obj, created ? 201 : 200);
    }
    if (method === 'DELETE') {
      if (sub !== undefined) throw errMethodNotAllowed();
      const body = (req.body ?? {}) as DeleteOptions;
      if (typeof body !== 'object' || Array.isArray(body)) throw errBadRequest('DeleteOptions must be an object');
      const typeErr = typeErrors(body as Record<string, unknown>, 'v1', 'DeleteOptions')[0];
      if (typeErr !== undefined) throw errBadRequest(`DeleteOptions in version "v1" cannot be handled as a DeleteOptions: ${typeErr.message}`);
      const dry = writeOpts(q).dryRun ?? false;
      const grace = q1(q, 'gracePeriodSeconds');
      if (grace !== undefined && !/^-?\d{1,18}$/.test(grace)) throw errBadRequest(`gracePeriodSeconds: invalid value ${JSON.stringify(grace)}: strconv.ParseInt: parsing ${JSON.stringify(grace)}: invalid syntax`);
      const { dryRun: bodyDry, ...rest } = body;
      const dopts: Omit<DeleteOptions, 'dryRun'> & { dryRun?: boolean } = { ...rest, dryRun: dry || (Array.isArray(bodyDry) && bodyDry.includes('All')) };
      if (grace !== undefined) dopts.gracePeriodSeconds = Number(grace);
      if (q1(q, 'propagationPolicy')) dopts.propagationPolicy = q1(q, 'propagationPolicy') as 'Orphan';
      if (name === undefined) {
        const list = await registry.list(r, ns, {
          ...(q1(q, 'labelSelector') !== undefined ? { labelSelector: q1(q, 'labelSelector')! } : {}),
          ...(q1(q, 'fieldSelector') !== undefined ? { fieldSelector: q1(q, 'fieldSelector')! } : {}),
        });
        const deleted: KubeObject[] = [];
        for (const item of list.items) {
          try { deleted.push(await registry.delete(r, item.metadata!.namespace, item.metadata!.name!, dopts)); } catch (e) { if (!(e instanceof ApiError && e.reason === 'NotFound')) throw e; }
        }
        return respond(req, reply, pp, { ...list, items: deleted });
      }
      return respond(req, reply, pp, await registry.delete(r, ns, name, dopts));
    }
    throw errMethodNotAllowed();
  };

  // One plugin per group-version, as the real apiserver installs one APIGroupInfo per group;
  // in it, the routes of each kind the registry serves there (collection, object, subresources).
  const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  type Params = { namespace?: string; name?: string };
  for (const { group, version } of groupVersions()) {
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    void app.register(async (p) => {
      p.get('/', async () => apiResourceList(group, version));
      for (const r of RESOURCES.filter((x) => x.group === group && x.version === version)) {
        const route = (url: string, sub?: string): void => {
          p.route({
            method: [...METHODS], url,
            handler: (req, reply) => {
              const { namespace, name } = req.params as Params;
              return handle({ r, ...(namespace !== undefined ? { ns: namespace } : {}), ...(name !== undefined ? { name } : {}), ...(sub !== undefined ? { sub } : {}) }, req, reply);
            },
          });
        };
        const bases = r.namespaced ? [`/namespaces/:namespace/${r.resource}`, `/${r.resource}`] : [`/${r.resource}`];
        for (const base of bases) {
          route(base);
          // Objects are addressed only inside their namespace; `/pods` is the all-namespaces collection.
          if (r.namespaced && !base.startsWith('/namespaces/')) continue;
          route(`${base}/:name`);
          for (const sub of r.subresources) route(`${base}/:name/${sub}`, sub);
        }
      }
    }, { prefix });
  }

  // ---------------------------------------------------------- WebSocket watches
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const fail = (code: number, status: Status): void => refuseUpgrade(socket, { ...status, code });
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!authorized(req.headers.authorization, req.headers['sec-websocket-protocol'])) { fail(401, unauthorizedStatus()); return; }
      const extra = extraRoutes.get(app)?.upgrade.find((r) => r.match(url.pathname));
      if (extra !== undefined) { extra.handle(req, socket, head); return; }
      const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(url.pathname);
      if (!m) { fail(404, errPathNotFound().toStatus()); return; }
      const group = m[2] ?? '';
      const version = m[1] ?? m[3]!;
      const pp = parseCollectionPath(group, version, m[4]!);
      const q: Query = {};
      for (const [k, v] of url.searchParams) q[k] = v;
      const accept = req.headers.accept;
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        startWatch(pp, q, accept, {
          // A WebSocket message is its own frame: a protobuf event goes without its length prefix (binary), as HandleWS sends it.
          send: (data) => {
            if (ws.bufferedAmount > watchBufferBytes) { ws.terminate(); return; }
            if (ws.readyState === ws.OPEN) ws.send(typeof data === 'string' ? data.trimEnd() : data.subarray(4));
          },
          end: () => { ws.close(1000); },
          onClose: (cb) => { ws.on('close', cb); },
        }).catch((e: unknown) => {
          const status = e instanceof ApiError ? e.toStatus() : statusOf('InternalError', (e as Error).message);
          ws.send(JSON.stringify({ type: 'ERROR', object: status }));
          ws.close(1000);
        });
        ws.on('error', () => ws.terminate());
      });
    } catch (e) {
      const status = e instanceof ApiError ? e.toStatus() : statusOf('BadRequest', (e as Error).message);
      fail(status.code, status);
    }
  };
  app.server.on('upgrade', onUpgrade);
  app.addHook('onClose', async () => {
    app.server.off('upgrade', onUpgrade);
    for (const c of wss.clients) c.terminate();
    wss.close();
  });

  return app;
}

/** Unread watch bytes before a watcher is closed (BuildAppOptions.watchBufferBytes). */
const DEFAULT_WATCH_BUFFER_BYTES = 4 * 1024 * 1024;

/** kube-apiserver's secure port: the `default/kubernetes` Service's targetPort. */
const APISERVER_PORT = 6443;

/**
 * The `default/kubernetes` Endpoints and its EndpointSlice (same name, only the
 * service-name label, as the apiserver's EndpointsAdapter writes them): the API
 * server at `address`:6443, ready. Rewritten when they differ (an address changed
 * between runs on a kept store).
 */
async function writeApiserverEndpoints(registry: Registry, address: string): Promise<void> {
  const port = { name: 'https', port: APISERVER_PORT, protocol: 'TCP' };
  const wanted: Array<[string, string, Record<string, unknown>]> = [
    ['', 'endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets: [{ addresses: [{ ip: address }], ports: [port] }] }],
    ['discovery.k8s.io', 'endpointslices', {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4', endpoints: [{ addresses: [address], conditions: { ready: true } }], ports: [port],
    }],
  ];
  for (const [group, name, body] of wanted) {
    const r = findResource(group, 'v1', name);
    if (r === undefined) throw new Error(`no resource ${name}`);
    const cur = await registry.getOrUndefined(r, 'default', 'kubernetes');
    const payload = (o: Record<string, unknown>): string => JSON.stringify({ s: o['subsets'], e: o['endpoints'], p: o['ports'] });
    if (cur === undefined) {
      await registry.create(r, 'default', body, { fieldManager: 'kube-apiserver' }).catch((e: unknown) => { if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e; });
    } else if (payload(cur as unknown as Record<string, unknown>) !== payload(body)) {
      await registry.update(r, 'default', 'kubernetes', { ...body, metadata: { ...(body['metadata'] as object), resourceVersion: cur.metadata?.resourceVersion } }, { fieldManager: 'kube-apiserver' });
    }
  }
}
