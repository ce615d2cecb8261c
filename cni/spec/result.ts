/**
 * Results across versions: plugins build a 1.1.0-shaped {@link CniResult} and print
 * it converted to the configuration's cniVersion (containernetworking pkg/types:
 * 0.3.x/0.4.0 add `"version":"4"` to each IP; 0.1.0/0.2.0 are the legacy `ip4`
 * form; 1.0.0 has no route mtu/advmss/priority/table/scope); prevResult in any of
 * those forms is read back to the 1.x shape.
 */
import { cniError } from '../errors.ts';
import type { CniResult, Dns, ResultInterface, ResultIp, ResultRoute } from './types.ts';
import { compareVersions } from './version.ts';
import { isObject } from './config.ts';

function cleanRoute(r: ResultRoute, v11: boolean): ResultRoute {
  const out: ResultRoute = { dst: r.dst };
  if (r.gw !== undefined) out.gw = r.gw;
  if (v11) {
    if (r.mtu !== undefined) out.mtu = r.mtu;
    if (r.advmss !== undefined) out.advmss = r.advmss;
    if (r.priority !== undefined) out.priority = r.priority;
    if (r.table !== undefined) out.table = r.table;
    if (r.scope !== undefined) out.scope = r.scope;
  }
  return out;
}

/** The JSON object a plugin prints for `result` at `version` (field order as the Go structs marshal). */
export function resultForVersion(result: CniResult, version: string): Record<string, unknown> {
  if (compareVersions(version, '0.3.0') < 0) {
    const ip = result.ips?.[0];
    const out: Record<string, unknown> = { cniVersion: version };
    if (ip !== undefined) {
      out['ip4'] = {
        ip: ip.address,
        ...(ip.gateway !== undefined ? { gateway: ip.gateway } : {}),
        ...(result.routes !== undefined && result.routes.length > 0 ? { routes: result.routes.map((r) => cleanRoute(r, false)) } : {}),
      };
    }
    out['dns'] = result.dns;
    return out;
  }
  const v1 = compareVersions(version, '1.0.0') >= 0;
  const v11 = compareVersions(version, '1.1.0') >= 0;
  const out: Record<string, unknown> = { cniVersion: version };
  if (result.interfaces !== undefined && result.interfaces.length > 0) out['interfaces'] = result.interfaces.map((i) => ({ ...i }));
  if (result.ips !== undefined && result.ips.length > 0) {
    out['ips'] = result.ips.map((ip) => (v1
      ? { ...(ip.interface !== undefined ? { interface: ip.interface } : {}), address: ip.address, ...(ip.gateway !== undefined ? { gateway: ip.gateway } : {}) }
      : { version: '4', ...(ip.interface !== undefined ? { interface: ip.interface } : {}), address: ip.address, ...(ip.gateway !== undefined ? { gateway: ip.gateway } : {}) }));
  }
  if (result.routes !== undefined && result.routes.length > 0) out['routes'] = result.routes.map((r) => cleanRoute(r, v11));
  out['dns'] = result.dns;
  return out;
}

/** Pretty JSON as the reference plugins print it (Go's json.MarshalIndent with four spaces). */
export function printJson(x: unknown): string {
  return JSON.stringify(x, null, 4);
}

function str(x: unknown, what: string): string {
  if (typeof x !== 'string') throw cniError('DECODE_FAILURE', 'could not parse prevResult', `${what} must be a string`);
  return x;
}

function parseDns(x: unknown): Dns {
  if (!isObject(x)) return {};
  const d: Dns = {};
  if (Array.isArray(x['nameservers'])) d.nameservers = x['nameservers'].map((s) => str(s, 'dns.nameservers[]'));
  if (typeof x['domain'] === 'string') d.domain = x['domain'];
  if (Array.isArray(x['search'])) d.search = x['search'].map((s) => str(s, 'dns.search[]'));
  if (Array.isArray(x['options'])) d.options = x['options'].map((s) => str(s, 'dns.options[]'));
  return d;
}

function parseRoute(x: unknown): ResultRoute {
  if (!isObject(x)) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'route must be an object');
  const r: ResultRoute = { dst: str(x['dst'], 'routes[].dst') };
  if (x['gw'] !== undefined) r.gw = str(x['gw'], 'routes[].gw');
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (typeof x[k] === 'number') r[k] = x[k];
  return r;
}

/** Read a result (prevResult or cached) in any supported version into the 1.x shape. */
export function parseResult(x: unknown): CniResult {
  if (!isObject(x)) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'not an object');
  const cniVersion = typeof x['cniVersion'] === 'string' ? x['cniVersion'] : '0.1.0';
  if (x['ip4'] !== undefined) {
    const ip4 = x['ip4'];
    if (!isObject(ip4)) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'ip4 must be an object');
    const ip: ResultIp = { address: str(ip4['ip'], 'ip4.ip') };
    if (ip4['gateway'] !== undefined) ip.gateway = str(ip4['gateway'], 'ip4.gateway');
    return { cniVersion, ips: [ip], routes: Array.isArray(ip4['routes']) ? ip4['routes'].map(parseRoute) : [], dns: parseDns(x['dns']) };
  }
  const out: CniResult = { cniVersion, dns: parseDns(x['dns']) };
  if (x['interfaces'] !== undefined) {
    if (!Array.isArray(x['interfaces'])) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'interfaces must be a list');
    out.interfaces = x['interfaces'].map((i): ResultInterface => {
      if (!isObject(i)) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'interface must be an object');
      const r: ResultInterface = { name: str(i['name'], 'interfaces[].name') };
      if (i['mac'] !== undefined) r.mac = str(i['mac'], 'interfaces[].mac');
      if (typeof i['mtu'] === 'number') r.mtu = i['mtu'];
      if (i['sandbox'] !== undefined) r.sandbox = str(i['sandbox'], 'interfaces[].sandbox');
      return r;
    });
  }
  if (x['ips'] !== undefined) {
    if (!Array.isArray(x['ips'])) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'ips must be a list');
    out.ips = x['ips'].map((i): ResultIp => {
      if (!isObject(i)) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'ip must be an object');
      const r: ResultIp = { address: str(i['address'], 'ips[].address') };
      if (i['gateway'] !== undefined) r.gateway = str(i['gateway'], 'ips[].gateway');
      if (typeof i['interface'] === 'number') r.interface = i['interface'];
      return r;
    });
  }
  if (x['routes'] !== undefined) {
    if (!Array.isArray(x['routes'])) throw cniError('DECODE_FAILURE', 'could not parse prevResult', 'routes must be a list');
    out.routes = x['routes'].map(parseRoute);
  }
  return out;
}
