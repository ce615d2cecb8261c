/**
 * The experiment file the runner reads (`netsim experiment FILE`): YAML, validated
 * with a JSON schema (ajv) and then by value, with located errors carrying stable
 * codes (`NETSIM_EXP_*`), the file, line, column and the field's path — the house
 * style of cluster/spec.ts.
 *
 * ```yaml
 * apiVersion: netsim/v1
 * kind: Experiment
 * metadata: { name: iptables-uniform }
 * cluster: ../seed-cluster.yaml          # cluster spec file, relative to this file (or an inline mapping)
 * seed: 1                                # default 1
 * clients:                               # at least one group
 *   - { name: pods, count: 20, nodes: [node01, node02] }        # client pods spread over these nodes
 *   - { name: reopen, count: 5, nodes: [node01], resolverOptions: [single-request-reopen] }  # dns: options added to resolv.conf
 *   - { name: direct, count: 5, nodes: [node01], nameservers: [10.96.0.10] }  # dns: resolv.conf's nameservers replaced (dnsPolicy None + dnsConfig)
 *   - { name: internet, count: 50, outside: client, sourceCIDR: 203.0.113.128/25 }  # from an outside host, one source address each
 * target: { kind: ClusterIP, service: default/nginx-service, port: 80 }
 *   # kind: ClusterIP | NodePort (node: NAME) | LoadBalancer | Pod (pod: NS/NAME instead of service)
 * modes: [iptables, ipvs-rr, ipvs-mh]    # compared in one run, each on a fresh cluster with the same seed
 * protocol: tcp                          # tcp | udp | dns (default tcp)
 * lookup: nginx-service                  # dns only: the name each client resolves (glibc-like stub resolver, the
 *                                        #   pod's resolv.conf: search path, A and AAAA, 5 s timeout); target = kube-dns
 * pattern: per-request                   # per-request: a new connection per request | keep-alive
 * requestsPerConnection: 10              # keep-alive only (default 10)
 * rate: 1000/s                           # connection arrivals, all clients together: N/s, N/ms or N/min
 * arrival: poisson                       # poisson | constant (default poisson)
 * duration: 10s                          # virtual time
 * connections: 10000                     # optional: exactly this many connections per mode (arrivals stop after the
 *                                        #   N-th, even if the random arrivals run past the duration)
 * window: 1s                             # time-series window (default duration/20)
 * service:                               # overrides applied to the target Service before the run
 *   sessionAffinity: ClientIP            # None | ClientIP
 *   affinityTimeout: 10800s
 *   externalTrafficPolicy: Local         # Cluster | Local
 *   internalTrafficPolicy: Cluster       # Cluster | Local
 * proxy: { conntrackCleanup: true, syncPeriod: 1s }   # kube-proxy knobs for the run
 * networkPolicy: { enforcer: kube-router }            # the NetworkPolicy enforcer for the run (default: the cluster spec's)
 * events:                                # timed churn, `at` within the duration
 *   - { at: 3s, action: scale, deployment: default/nginx, replicas: 5 }
 *   - { at: 5s, action: rolling-update, deployment: default/nginx }
 *   - { at: 6s, action: endpoint-fail, pod: default/nginx-abc }       # the app stops answering
 *   - { at: 6s, action: endpoint-unready, pod: default/nginx-abc }    # readiness false → removed from endpoints
 *   - { at: 7s, action: endpoint-ready, pod: default/nginx-abc }
 *   - { at: 7s, action: pod-delete, pod: default/nginx-abc }          # graceful termination
 *   - { at: 8s, action: node-down, node: node02 }
 *   - { at: 9s, action: node-up, node: node02 }
 *   - { at: 4s, action: proxy-sync-delay, node: node01, delay: 2s }   # that node's kube-proxy syncs late
 *   - at: 5s                                                          # add or change a NetworkPolicy (server-side apply)
 *     action: policy-apply
 *     manifest: { apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: { name: deny, namespace: default }, spec: { podSelector: {} } }
 *   - { at: 8s, action: policy-delete, policy: default/deny }
 *   # every event takes an optional label: shown on the charts (default: generated from the action)
 * ```
 * Durations: `50us`, `2ms`, `1.5s`, `2m` (virtual time). Names of nodes, pods and
 * Deployments are checked against the cluster by the runner, not here. The event kinds
 * (their fields, parsing and effect) live in experiments/events/.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { PROXY_MODES } from './results.ts';
import type { ProxyModeName } from './results.ts';
import { CodedError } from '../netsim/errors.ts';
import { tryParseIpv4 } from '../netsim/wire/addr.ts';
import { parseExperimentDuration } from './duration.ts';
import { EVENT_ACTIONS, EVENT_KINDS, eventKind, splitName } from './events/index.ts';
import type { EventAction, ExperimentEvent, NamespacedName, RawEvent } from './events/index.ts';

export { parseExperimentDuration, EVENT_ACTIONS };
export type { EventAction, ExperimentEvent, NamespacedName };

export type ExperimentErrorCode = 'NETSIM_EXP_YAML' | 'NETSIM_EXP_SCHEMA' | 'NETSIM_EXP_VALUE' | 'NETSIM_EXP_FILE';

export class ExperimentSpecError extends CodedError {
  constructor(readonly code: ExperimentErrorCode, message: string, readonly file: string, readonly path: string, readonly line?: number, readonly col?: number) {
    super(`${file}${line !== undefined ? `:${line}:${col ?? 1}` : ''}: ${path !== '' ? `${path}: ` : ''}${message}`);
    this.name = 'ExperimentSpecError';
  }
}

export type ClientPlacement = { readonly kind: 'nodes'; readonly nodes: readonly string[] } | { readonly kind: 'outside'; readonly host: string };

export interface ClientGroup {
  readonly name: string;
  readonly count: number;
  readonly placement: ClientPlacement;
  /** Source addresses for the clients, one each (outside clients); undefined = the runner picks. */
  readonly sourceCIDR: string | undefined;
  /** protocol dns: options added to the client pods' resolv.conf (`single-request-reopen`, `use-vc`, …). */
  readonly resolverOptions?: readonly string[] | undefined;
  /**
   * protocol dns: the client pods' resolv.conf nameservers instead of kubelet's (as `dnsPolicy: None`
   * with `dnsConfig.nameservers` would give them; e.g. kube-dns's ClusterIP where kubelet points pods
   * at a node-local cache).
   */
  readonly nameservers?: readonly string[] | undefined;
}

export type ExperimentTarget =
  | { readonly kind: 'ClusterIP' | 'LoadBalancer'; readonly service: NamespacedName; readonly port: number }
  | { readonly kind: 'NodePort'; readonly service: NamespacedName; readonly port: number; readonly node: string }
  | { readonly kind: 'Pod'; readonly pod: NamespacedName; readonly port: number };


/** The experiment after validation and defaulting; times in virtual nanoseconds. */
export interface ExperimentSpec {
  readonly name: string;
  /** The cluster spec: a path resolved against the experiment file's folder, or an inline mapping (validated by the runner with cluster/spec.ts). */
  readonly cluster: { readonly file: string } | { readonly inline: Readonly<Record<string, unknown>> };
  readonly seed: number;
  readonly clients: readonly ClientGroup[];
  readonly target: ExperimentTarget;
  readonly modes: readonly ProxyModeName[];
  readonly protocol: 'tcp' | 'udp' | 'dns';
  /** protocol dns: the name every lookup resolves. */
  readonly lookup?: string | undefined;
  readonly pattern: 'per-request' | 'keep-alive';
  readonly requestsPerConnection: number;
  /** Connection arrivals per second, all clients together. */
  readonly ratePerSecond: number;
  readonly arrival: 'poisson' | 'constant';
  readonly durationNs: number;
  /** Exactly this many connections per mode (arrivals stop after the N-th); undefined = as many as arrive within the duration. */
  readonly connections?: number | undefined;
  readonly windowNs: number;
  readonly service: {
    readonly sessionAffinity: 'None' | 'ClientIP' | undefined;
    readonly affinityTimeoutNs: number | undefined;
    readonly externalTrafficPolicy: 'Cluster' | 'Local' | undefined;
    readonly internalTrafficPolicy: 'Cluster' | 'Local' | undefined;
  };
  readonly proxy: { readonly conntrackCleanup: boolean; readonly syncPeriodNs: number | undefined };
  /** The NetworkPolicy enforcer for the run, overriding the cluster spec's `networkPolicy.enforcer` (undefined: the spec's). */
  readonly networkPolicy: { readonly enforcer: 'none' | 'kube-router' | undefined };
  /** Sorted by time (file order for ties). */
  readonly events: readonly ExperimentEvent[];
}


const DURATION = '^[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m)$';
const dns = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 };
const nsName = { type: 'string', pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 317 };
const duration = { type: 'string', pattern: DURATION };

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'clients', 'target', 'modes', 'rate', 'duration'],
  properties: {
    apiVersion: { const: 'netsim/v1' },
    kind: { const: 'Experiment' },
    metadata: { type: 'object', additionalProperties: false, properties: { name: dns } },
    cluster: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'object' }] },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    clients: {
      type: 'array', minItems: 1, maxItems: 100,
      items: {
        type: 'object', additionalProperties: false, required: ['count'],
        properties: {
          name: dns, count: { type: 'integer', minimum: 1, maximum: 1000000 },
          nodes: { type: 'array', minItems: 1, items: dns }, outside: dns, sourceCIDR: { type: 'string', pattern: '^[0-9.]+/[0-9]{1,2}$' },
          resolverOptions: { type: 'array', maxItems: 20, items: { type: 'string', pattern: '^[a-z][a-z0-9-]*(:[0-9]{1,2})?$' } },
          // glibc reads at most three nameservers (MAXNS).
          nameservers: { type: 'array', minItems: 1, maxItems: 3, items: { type: 'string' } },
        },
      },
    },
    target: {
      type: 'object', additionalProperties: false, required: ['kind', 'port'],
      properties: { kind: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'Pod'] }, service: nsName, pod: nsName, node: dns, port: { type: 'integer', minimum: 1, maximum: 65535 } },
    },
    modes: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...PROXY_MODES] } },
    protocol: { enum: ['tcp', 'udp', 'dns'] },
    lookup: { type: 'string', pattern: '^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9.])?$', maxLength: 253 },
    pattern: { enum: ['per-request', 'keep-alive'] },
    requestsPerConnection: { type: 'integer', minimum: 1, maximum: 1000000 },
    rate: { oneOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?/(s|ms|min)$' }] },
    arrival: { enum: ['poisson', 'constant'] },
    duration,
    connections: { type: 'integer', minimum: 1, maximum: 100000000 },
    window: duration,
    service: {
      type: 'object', additionalProperties: false,
      properties: {
        sessionAffinity: { enum: ['None', 'ClientIP'] }, affinityTimeout: duration,
        externalTrafficPolicy: { enum: ['Cluster', 'Local'] }, internalTrafficPolicy: { enum: ['Cluster', 'Local'] },
      },
    },
    proxy: { type: 'object', additionalProperties: false, properties: { conntrackCleanup: { type: 'boolean' }, syncPeriod: duration } },
    networkPolicy: { type: 'object', additionalProperties: false, properties: { enforcer: { enum: ['none', 'kube-router'] } } },
    events: {
      type: 'array', maxItems: 10000,
      items: {
        type: 'object', additionalProperties: false, required: ['at', 'action'],
        // Every kind's fields (experiments/events/); which of them an action takes is checked by value.
        properties: { at: duration, action: { enum: [...EVENT_ACTIONS] }, label: { type: 'string', maxLength: 200 }, ...Object.assign({}, ...Object.values(EVENT_KINDS).map((k) => k.fields)) },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true });
const validate = ajv.compile(schema);

/** `1000/s`, `5/ms`, `600/min` or a bare number (per second) → connections per second. */
export function parseRate(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^([0-9]+(?:\.[0-9]+)?)\/(s|ms|min)$/.exec(v);
  if (m === null) throw new RangeError(`bad rate "${v}" (use e.g. 1000/s)`);
  return Number(m[1]) * (m[2] === 's' ? 1 : m[2] === 'ms' ? 1000 : 1 / 60);
}

function locate(doc: Document, lc: LineCounter, path: readonly (string | number)[]): { line?: number; col?: number } {
  let node: unknown = doc.contents;
  let range: [number, number, number] | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (pair === undefined) break;
      range = (pair.key as { range?: [number, number, number] } | null)?.range;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(key)];
      range = (node as { range?: [number, number, number] } | undefined)?.range;
    } else break;
  }
  range ??= (node as { range?: [number, number, number] } | undefined | null)?.range;
  if (range === undefined) return {};
  const p = lc.linePos(range[0]);
  return { line: p.line, col: p.col };
}

function pathOf(e: ErrorObject): (string | number)[] {
  return e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

function schemaMessage(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  if (e.keyword === 'enum') return `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'required') return `missing required field "${String((e.params as { missingProperty: string }).missingProperty)}"`;
  if (e.keyword === 'pattern') return 'has the wrong format';
  if (e.keyword === 'oneOf') return 'has the wrong type or format';
  if (e.keyword === 'uniqueItems') return 'lists the same mode twice';
  return e.message ?? 'invalid';
}

function parseCidrSize(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (m === null) return undefined;
  if ([m[1], m[2], m[3], m[4]].some((o) => Number(o) > 255) || Number(m[5]) > 32) return undefined;
  return 2 ** (32 - Number(m[5]));
}

/**
 * Parse and validate an experiment document. `file` names it in errors and is the
 * base for a relative `cluster:` path. Throws only {@link ExperimentSpecError}.
 */
export function parseExperimentSpec(text: string, file = '<experiment>'): ExperimentSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, version: '1.1', prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const p = lc.linePos(e.pos[0]);
    throw new ExperimentSpecError('NETSIM_EXP_YAML', e.message.split('\n')[0] ?? 'YAML error', file, '', p.line, p.col);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ExperimentSpecError('NETSIM_EXP_YAML', e instanceof Error ? e.message : String(e), file, '');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ExperimentSpecError('NETSIM_EXP_SCHEMA', 'an experiment must be a mapping', file, '', 1, 1);
  }
  if (!validate(raw)) {
    // For a oneOf (rate, cluster) report the alternative as a whole, not its first branch's complaint.
    const errs = validate.errors ?? [];
    const e = errs.find((x) => x.keyword === 'oneOf') ?? errs[0]!;
    const path = pathOf(e);
    // An unknown field is located at its own key, not at the mapping holding it.
    const extra = e.keyword === 'additionalProperties' ? [String((e.params as { additionalProperty: string }).additionalProperty)] : [];
    const at = locate(doc, lc, [...path, ...extra]);
    throw new ExperimentSpecError('NETSIM_EXP_SCHEMA', schemaMessage(e), file, path.join('.'), at.line, at.col);
  }
  const r = raw as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const fail = (path: (string | number)[], msg: string): never => {
    const at = locate(doc, lc, path);
    throw new ExperimentSpecError('NETSIM_EXP_VALUE', msg, file, path.join('.'), at.line, at.col);
  };

  const durationNs = parseExperimentDuration(r['duration']);
  if (durationNs <= 0) fail(['duration'], 'must be longer than 0');
  const windowNs = r['window'] === undefined ? Math.max(1, Math.round(durationNs / 20)) : parseExperimentDuration(r['window']);
  if (windowNs <= 0) fail(['window'], 'must be longer than 0');
  if (windowNs > durationNs) fail(['window'], `is longer than the duration (${r['duration']})`);
  if (durationNs / windowNs > 100_000) fail(['window'], 'gives more than 100000 windows; use a wider window');
  const ratePerSecond = parseRate(r['rate']);
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) fail(['rate'], 'must be a positive number of connections per second');

  const names = new Set<string>();
  const clients: ClientGroup[] = (r['clients'] as Array<Record<string, any>>).map((c, i) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const name: string = c['name'] ?? `clients-${i + 1}`;
    if (names.has(name)) fail(['clients', i, 'name'], `duplicate client group name "${name}"`);
    names.add(name);
    const hasNodes = c['nodes'] !== undefined;
    const hasOutside = c['outside'] !== undefined;
    if (hasNodes === hasOutside) fail(['clients', i], 'give exactly one of "nodes" (client pods on those nodes) or "outside" (an outside host)');
    let sourceCIDR: string | undefined;
    if (c['sourceCIDR'] !== undefined) {
      if (!hasOutside) fail(['clients', i, 'sourceCIDR'], 'only outside clients take source addresses (pods get theirs from IPAM)');
      const size = parseCidrSize(c['sourceCIDR']);
      if (size === undefined) fail(['clients', i, 'sourceCIDR'], `not an IPv4 CIDR: "${String(c['sourceCIDR'])}"`);
      if ((size ?? 0) < c['count']) fail(['clients', i, 'sourceCIDR'], `${String(c['sourceCIDR'])} has ${size} addresses for ${String(c['count'])} clients`);
      sourceCIDR = c['sourceCIDR'];
    }
    const placement: ClientPlacement = hasNodes ? { kind: 'nodes', nodes: c['nodes'] } : { kind: 'outside', host: c['outside'] };
    for (const field of ['resolverOptions', 'nameservers']) {
      if (c[field] === undefined) continue;
      if ((r['protocol'] ?? 'tcp') !== 'dns') fail(['clients', i, field], 'only used with protocol: dns');
      if (!hasNodes) fail(['clients', i, field], 'only client pods have a resolv.conf here (use nodes:)');
    }
    (c['nameservers'] as string[] | undefined)?.forEach((a, j) => {
      if (tryParseIpv4(a) === undefined) fail(['clients', i, 'nameservers', j], `not an IPv4 address: "${a}"`);
    });
    return {
      name, count: c['count'], placement, sourceCIDR,
      ...(c['resolverOptions'] !== undefined ? { resolverOptions: c['resolverOptions'] as string[] } : {}),
      ...(c['nameservers'] !== undefined ? { nameservers: c['nameservers'] as string[] } : {}),
    };
  });

  const t = r['target'] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let target: ExperimentTarget;
  const need = (field: string, why: string): void => {
    if (t[field] === undefined) fail(['target'], `missing required field "${field}" (${why})`);
  };
  const forbid = (field: string): void => {
    if (t[field] !== undefined) fail(['target', field], `not used with kind ${String(t['kind'])}`);
  };
  if (t['kind'] === 'Pod') {
    need('pod', 'kind Pod targets a pod IP');
    forbid('service');
    forbid('node');
    target = { kind: 'Pod', pod: splitName(t['pod']), port: t['port'] };
  } else {
    need('service', `kind ${String(t['kind'])} targets a Service`);
    forbid('pod');
    if (t['kind'] === 'NodePort') {
      need('node', 'the node whose NodePort the clients hit');
      target = { kind: 'NodePort', service: splitName(t['service']), port: t['port'], node: t['node'] };
    } else {
      forbid('node');
      target = { kind: t['kind'], service: splitName(t['service']), port: t['port'] };
    }
  }

  const pattern = r['pattern'] ?? 'per-request';
  if (r['requestsPerConnection'] !== undefined && pattern !== 'keep-alive') fail(['requestsPerConnection'], 'only used with pattern: keep-alive');
  const protocol = r['protocol'] ?? 'tcp';
  if (protocol === 'dns') {
    if (r['lookup'] === undefined) fail(['protocol'], 'protocol dns needs "lookup": the name the clients resolve');
    if (target.kind !== 'ClusterIP') fail(['target', 'kind'], 'protocol dns: the target is the cluster DNS Service (kind ClusterIP, e.g. kube-system/kube-dns port 53), the pods\' nameserver');
    if (pattern !== 'per-request') fail(['pattern'], 'protocol dns: each lookup is one getaddrinfo (per-request)');
    if (clients.some((c) => c.placement.kind !== 'nodes')) fail(['clients'], 'protocol dns: clients are pods (nodes:), which have a resolv.conf');
  } else if (r['lookup'] !== undefined) fail(['lookup'], 'only used with protocol: dns');

  const svc = r['service'] ?? {};
  if (svc['affinityTimeout'] !== undefined && svc['sessionAffinity'] !== 'ClientIP') fail(['service', 'affinityTimeout'], 'only used with sessionAffinity: ClientIP');
  const affinityTimeoutNs = svc['affinityTimeout'] === undefined ? undefined : parseExperimentDuration(svc['affinityTimeout']);
  if (affinityTimeoutNs !== undefined && (affinityTimeoutNs < 1e9 || affinityTimeoutNs > 86400e9)) fail(['service', 'affinityTimeout'], 'must be between 1s and 86400s (Kubernetes limits)');
  if (svc['externalTrafficPolicy'] !== undefined && target.kind === 'Pod') fail(['service', 'externalTrafficPolicy'], 'the target is a pod, not a Service');
  const px = r['proxy'] ?? {};

  const events: ExperimentEvent[] = (r['events'] ?? []).map((e: RawEvent, i: number): ExperimentEvent => {
    const action = e['action'] as EventAction;
    const kind = eventKind(action);
    const fields = Object.keys(kind.fields);
    for (const f of kind.required) if (e[f] === undefined) fail(['events', i], `missing required field "${f}" for action ${action}`);
    for (const f of Object.keys(e)) if (!['at', 'action', 'label', ...fields].includes(f)) fail(['events', i, f], `not used with action ${action}`);
    const at = parseExperimentDuration(e['at']);
    if (at > durationNs) fail(['events', i, 'at'], `${String(e['at'])} is after the end of the run (${String(r['duration'])})`);
    const label: string = e['label'] ?? kind.defaultLabel(e);
    return kind.parse(e, { at, label }, (field, msg) => fail(['events', i, field], msg));
  });
  const order = events.map((e, i) => ({ e, i })).sort((a, b) => a.e.at - b.e.at || a.i - b.i).map((x) => x.e);

  const cluster = typeof r['cluster'] === 'string' ? { file: file.startsWith('<') ? r['cluster'] : resolve(dirname(file), r['cluster']) } : { inline: r['cluster'] as Record<string, unknown> };
  return {
    name: r['metadata']?.name ?? 'experiment',
    cluster,
    seed: r['seed'] ?? 1,
    clients,
    target,
    modes: r['modes'],
    protocol,
    ...(r['lookup'] !== undefined ? { lookup: r['lookup'] as string } : {}),
    pattern,
    requestsPerConnection: pattern === 'keep-alive' ? (r['requestsPerConnection'] ?? 10) : 1,
    ratePerSecond,
    arrival: r['arrival'] ?? 'poisson',
    durationNs,
    ...(r['connections'] !== undefined ? { connections: r['connections'] as number } : {}),
    windowNs,
    service: {
      sessionAffinity: svc['sessionAffinity'],
      affinityTimeoutNs,
      externalTrafficPolicy: svc['externalTrafficPolicy'],
      internalTrafficPolicy: svc['internalTrafficPolicy'],
    },
    proxy: { conntrackCleanup: px['conntrackCleanup'] ?? true, syncPeriodNs: px['syncPeriod'] === undefined ? undefined : parseExperimentDuration(px['syncPeriod']) },
    networkPolicy: { enforcer: r['networkPolicy']?.enforcer },
    events: order,
  };
}

/** Read and parse an experiment file. */
export function loadExperimentSpec(path: string): ExperimentSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ExperimentSpecError('NETSIM_EXP_FILE', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, path, '');
  }
  return parseExperimentSpec(text, path);
}
