/**
 * Decoding and validating network configurations: a plugin's stdin (one plugin
 * configuration object) and the runtime's `.conflist` (libcni ConfListFromBytes).
 * Decode failures are code 6, structural problems code 7, versions code 1.
 */
import { CniError, cniError } from '../errors.ts';
import type { NetConfList, PluginConf } from './types.ts';
import { SUPPORTED_VERSIONS, compareVersions, isSupportedVersion, requireSupported } from './version.ts';

/** Network names, as libcni validates them. */
export const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** JSON.parse with the spec's decode error. */
export function decodeJson(text: string, what = 'network config'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw cniError('DECODE_FAILURE', `error unmarshall ${what}: ${(e as Error).message}`);
  }
}

/**
 * A plugin's view of its stdin: an object with a string `cniVersion` (absent means
 * 0.1.0, as pkg/version's decoder has it), `name` and `type` strings when present.
 */
export function decodePluginConf(stdin: string): PluginConf {
  const raw = decodeJson(stdin);
  if (!isObject(raw)) throw cniError('DECODE_FAILURE', 'error unmarshall network config: not a JSON object');
  const v = raw['cniVersion'];
  if (v !== undefined && typeof v !== 'string') throw cniError('DECODE_FAILURE', 'error unmarshall network config: cniVersion must be a string');
  for (const k of ['name', 'type'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'string') throw cniError('INVALID_NETWORK_CONFIG', `invalid network config: "${k}" must be a string`);
  }
  for (const k of ['capabilities', 'runtimeConfig', 'args', 'ipam', 'dns'] as const) {
    if (raw[k] !== undefined && !isObject(raw[k])) throw cniError('INVALID_NETWORK_CONFIG', `invalid network config: "${k}" must be an object`);
  }
  const ipam = raw['ipam'];
  if (isObject(ipam) && ipam['type'] !== undefined && typeof ipam['type'] !== 'string') throw cniError('INVALID_NETWORK_CONFIG', 'invalid network config: "ipam.type" must be a string');
  return { ...raw, cniVersion: typeof v === 'string' && v !== '' ? v : '0.1.0', name: String(raw['name'] ?? ''), type: String(raw['type'] ?? '') } as PluginConf;
}

/**
 * Parse a `.conflist`. With 1.1.0's `cniVersions`, the highest version this
 * implementation supports is chosen (libcni does the same).
 */
export function parseConfList(text: string): NetConfList {
  const raw = decodeJson(text, 'configuration list');
  if (!isObject(raw)) throw cniError('DECODE_FAILURE', 'error parsing configuration list: not a JSON object');
  const name = raw['name'];
  if (typeof name !== 'string' || name === '') throw cniError('INVALID_NETWORK_CONFIG', 'error parsing configuration list: no name');
  if (!NETWORK_NAME_RE.test(name)) throw cniError('INVALID_NETWORK_CONFIG', `error parsing configuration list: invalid network name "${name}"`);
  let cniVersion = raw['cniVersion'];
  if (cniVersion !== undefined && typeof cniVersion !== 'string') throw cniError('INVALID_NETWORK_CONFIG', 'error parsing configuration list: invalid cniVersion type');
  const versions = raw['cniVersions'];
  if (versions !== undefined) {
    if (!Array.isArray(versions) || !versions.every((x) => typeof x === 'string')) throw cniError('INVALID_NETWORK_CONFIG', 'error parsing configuration list: invalid cniVersions type');
    const ok = (versions as string[]).filter(isSupportedVersion).sort(compareVersions);
    if (ok.length > 0) cniVersion = ok[ok.length - 1];
  }
  if (typeof cniVersion !== 'string' || cniVersion === '') throw cniError('INVALID_NETWORK_CONFIG', 'error parsing configuration list: no cniVersion');
  requireSupported(cniVersion, SUPPORTED_VERSIONS);
  for (const k of ['disableCheck', 'disableGC'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'boolean') throw cniError('INVALID_NETWORK_CONFIG', `error parsing configuration list: invalid ${k} type`);
  }
  const plugins = raw['plugins'];
  if (plugins === undefined) throw cniError('INVALID_NETWORK_CONFIG', "error parsing configuration list: no 'plugins' key");
  if (!Array.isArray(plugins)) throw cniError('INVALID_NETWORK_CONFIG', "error parsing configuration list: invalid 'plugins' type");
  if (plugins.length === 0) throw cniError('INVALID_NETWORK_CONFIG', 'error parsing configuration list: no plugins in list');
  const confs = plugins.map((p, i): PluginConf => {
    if (!isObject(p)) throw cniError('INVALID_NETWORK_CONFIG', `error parsing configuration list: plugin ${i} is not an object`);
    if (typeof p['type'] !== 'string' || p['type'] === '') throw cniError('INVALID_NETWORK_CONFIG', `error parsing configuration list: plugin ${i}: missing 'type'`);
    if (p['capabilities'] !== undefined && !isObject(p['capabilities'])) throw cniError('INVALID_NETWORK_CONFIG', `error parsing configuration list: plugin ${i}: invalid 'capabilities'`);
    return { ...p, cniVersion: cniVersion as string, name, type: p['type'] } as PluginConf;
  });
  return {
    cniVersion, name, plugins: confs,
    ...(versions !== undefined ? { cniVersions: versions as string[] } : {}),
    ...(raw['disableCheck'] !== undefined ? { disableCheck: raw['disableCheck'] as boolean } : {}),
    ...(raw['disableGC'] !== undefined ? { disableGC: raw['disableGC'] as boolean } : {}),
  };
}

/** A single-plugin `.conf` turned into a list of one (what libcni's ConfListFromConf does). */
export function confListFromConf(text: string): NetConfList {
  const raw = decodeJson(text, 'configuration');
  if (!isObject(raw)) throw cniError('DECODE_FAILURE', 'error parsing configuration: not a JSON object');
  const { name, cniVersion, ...rest } = raw;
  return parseConfList(JSON.stringify({ name, cniVersion, plugins: [rest] }));
}

/** Field accessors for plugin configs that answer with code 7 on a wrong type. */
export function optBool(conf: Record<string, unknown>, key: string): boolean | undefined {
  const v = conf[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new CniError(7, 'invalid network config', `"${key}" must be a boolean`);
  return v;
}

export function optString(conf: Record<string, unknown>, key: string): string | undefined {
  const v = conf[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new CniError(7, 'invalid network config', `"${key}" must be a string`);
  return v;
}

export function optInt(conf: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = conf[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new CniError(7, 'invalid network config', `"${key}" must be an integer in ${min}..${max}`);
  return v;
}

export function optObject(conf: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = conf[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new CniError(7, 'invalid network config', `"${key}" must be an object`);
  return v;
}

export { isObject };
