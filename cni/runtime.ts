/**
 * The container runtime's side of CNI (libcni's shape): runs a network
 * configuration list against a container, plugin by plugin, through the plugin
 * protocol only (environment + stdin in, stdout + exit status out).
 * - ADD: plugins in order, each given the previous one's result as `prevResult` and
 *   the `runtimeConfig` its `capabilities` ask for; the final result is cached at
 *   `/var/lib/cni/results/<network>-<containerID>-<ifname>`.
 * - DEL: plugins in reverse order, each with the cached result as prevResult
 *   (≥ 0.4.0); the cache entry is removed. Idempotent: a second DEL succeeds.
 * - CHECK: needs the cached result (code 3 without one) and ≥ 0.4.0; skipped with
 *   `disableCheck`.
 * - GC (≥ 1.1.0, not with `disableGC`): cached attachments missing from the valid
 *   list are deleted, then every plugin gets `cni.dev/valid-attachments`.
 * - STATUS (≥ 1.1.0) asks every plugin; VERSION asks one.
 * Errors are {@link CniError}s carrying the failing plugin's code and message.
 */
import { CniError, cniError } from './errors.ts';
import type { CniHost } from './host.ts';
import { execPlugin } from './plugin.ts';
import type { PluginOutput } from './plugin.ts';
import { parseResult, resultForVersion } from './spec/result.ts';
import type { Attachment, CniCommand, CniResult, NetConfList, PluginConf } from './spec/types.ts';
import { compareVersions } from './spec/version.ts';

export interface RuntimeConf {
  readonly containerId: string;
  /** CNI_NETNS, e.g. /var/run/netns/<name>. */
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS pairs, e.g. [['K8S_POD_NAMESPACE','default'], …]. */
  readonly args?: ReadonlyArray<readonly [string, string]>;
  /** Values for capabilities, e.g. `{ portMappings: [...] }`. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

export interface Invocation {
  readonly type: string;
  readonly env: Record<string, string>;
  readonly stdin: string;
  readonly out: PluginOutput;
}

export const DEFAULT_CNI_PATH = ['/opt/cni/bin'];
export const DEFAULT_CACHE_DIR = '/var/lib/cni';

interface CacheEntry {
  kind: 'cniCacheV1';
  containerId: string;
  ifName: string;
  networkName: string;
  config: string;
  result: unknown;
}

export class CniRuntime {
  readonly cniPath: string[];
  readonly cacheDir: string;
  /** Every plugin invocation, in order (for tests and traces). */
  readonly invocations: Invocation[] = [];

  constructor(readonly host: CniHost, opts: { cniPath?: string[]; cacheDir?: string } = {}) {
    this.cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
    this.cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  }

  private env(command: CniCommand, rt: Partial<RuntimeConf>): Record<string, string> {
    const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: this.cniPath.join(':') };
    if (rt.containerId !== undefined) env['CNI_CONTAINERID'] = rt.containerId;
    if (rt.netns !== undefined) env['CNI_NETNS'] = rt.netns;
    if (rt.ifName !== undefined) env['CNI_IFNAME'] = rt.ifName;
    if (rt.args !== undefined && rt.args.length > 0) env['CNI_ARGS'] = rt.args.map(([k, v]) => `${k}=${v}`).join(';');
    return env;
  }

  /** libcni buildOneConfig + injectRuntimeConfig. */
  private pluginStdin(list: NetConfList, p: PluginConf, rt: Partial<RuntimeConf>, prev: CniResult | undefined, extra: Record<string, unknown> = {}): string {
    const conf: Record<string, unknown> = { ...p, name: list.name, cniVersion: list.cniVersion, ...extra };
    if (prev !== undefined) conf['prevResult'] = resultForVersion(prev, list.cniVersion);
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(p.capabilities ?? {})) {
      if (on === true && rt.capabilityArgs !== undefined && Object.prototype.hasOwnProperty.call(rt.capabilityArgs, cap)) runtimeConfig[cap] = rt.capabilityArgs[cap];
    }
    if (Object.keys(runtimeConfig).length > 0) conf['runtimeConfig'] = runtimeConfig;
    return JSON.stringify(conf);
  }

  private exec(type: string, env: Record<string, string>, stdin: string): PluginOutput {
    const out = execPlugin(this.host, type, env, stdin);
    this.invocations.push({ type, env, stdin, out });
    if (out.code !== 0) {
      let j: unknown;
      try {
        j = JSON.parse(out.stdout);
      } catch {
        throw new CniError(999, `netplugin failed: "${out.stdout}"`);
      }
      throw CniError.fromJson(j);
    }
    return out;
  }

  private cachePath(network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>): string {
    return `${this.cacheDir}/results/${network}-${rt.containerId}-${rt.ifName}`;
  }

  /** The cached ADD result of an attachment. */
  cachedResult(list: NetConfList, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>): CniResult | undefined {
    const text = this.host.fs.read(this.cachePath(list.name, rt));
    if (text === undefined) return undefined;
    return parseResult((JSON.parse(text) as CacheEntry).result);
  }

  addNetworkList(list: NetConfList, rt: RuntimeConf): CniResult {
    let prev: CniResult | undefined;
    for (const p of list.plugins) {
      const out = this.exec(p.type, this.env('ADD', rt), this.pluginStdin(list, p, rt, prev));
      try {
        prev = parseResult(JSON.parse(out.stdout) as unknown);
      } catch (e) {
        throw e instanceof CniError ? e : cniError('DECODE_FAILURE', `failed to parse result of plugin ${p.type}`, (e as Error).message);
      }
    }
    const result = prev as CniResult;
    const entry: CacheEntry = { kind: 'cniCacheV1', containerId: rt.containerId, ifName: rt.ifName, networkName: list.name, config: JSON.stringify(list), result: resultForVersion(result, list.cniVersion) };
    this.host.fs.write(this.cachePath(list.name, rt), JSON.stringify(entry));
    return { ...result, cniVersion: list.cniVersion };
  }

  delNetworkList(list: NetConfList, rt: RuntimeConf): void {
    const cached = compareVersions(list.cniVersion, '0.4.0') >= 0 ? this.cachedResult(list, rt) : undefined;
    for (const p of [...list.plugins].reverse()) this.exec(p.type, this.env('DEL', rt), this.pluginStdin(list, p, rt, cached));
    this.host.fs.remove(this.cachePath(list.name, rt));
  }

  checkNetworkList(list: NetConfList, rt: RuntimeConf): void {
    if (list.disableCheck === true) return;
    if (compareVersions(list.cniVersion, '0.4.0') < 0) throw cniError('INCOMPATIBLE_VERSION', `configuration version "${list.cniVersion}" does not support the CHECK command`);
    const cached = this.cachedResult(list, rt);
    if (cached === undefined) throw cniError('UNKNOWN_CONTAINER', `no cached result for network "${list.name}" container "${rt.containerId}" interface "${rt.ifName}"`);
    for (const p of list.plugins) this.exec(p.type, this.env('CHECK', rt), this.pluginStdin(list, p, rt, cached));
  }

  /** Attachments with a cached result for this network. */
  cachedAttachments(list: NetConfList): Attachment[] {
    const dir = `${this.cacheDir}/results`;
    const out: Attachment[] = [];
    for (const name of this.host.fs.list(dir)) {
      if (!name.startsWith(`${list.name}-`)) continue;
      const text = this.host.fs.read(`${dir}/${name}`);
      if (text === undefined) continue;
      const e = JSON.parse(text) as CacheEntry;
      if (e.networkName === list.name) out.push({ containerID: e.containerId, ifname: e.ifName });
    }
    return out;
  }

  gcNetworkList(list: NetConfList, valid: readonly Attachment[]): void {
    if (list.disableGC === true) return;
    const keep = new Set(valid.map((a) => `${a.containerID}\u0000${a.ifname}`));
    for (const a of this.cachedAttachments(list)) {
      if (keep.has(`${a.containerID}\u0000${a.ifname}`)) continue;
      // The namespace of a stale attachment is unknown: DEL with an empty CNI_NETNS, as libcni does.
      const rt: RuntimeConf = { containerId: a.containerID, ifName: a.ifname, netns: '' };
      const cached = this.cachedResult(list, rt);
      for (const p of [...list.plugins].reverse()) {
        const env = this.env('DEL', rt);
        delete env['CNI_NETNS'];
        this.exec(p.type, env, this.pluginStdin(list, p, rt, cached));
      }
      this.host.fs.remove(this.cachePath(list.name, rt));
    }
    if (compareVersions(list.cniVersion, '1.1.0') < 0) return;
    for (const p of list.plugins) {
      this.exec(p.type, this.env('GC', {}), this.pluginStdin(list, p, {}, undefined, { 'cni.dev/valid-attachments': valid.map((a) => ({ ...a })) }));
    }
  }

  getStatusNetworkList(list: NetConfList): void {
    if (compareVersions(list.cniVersion, '1.1.0') < 0) return;
    for (const p of list.plugins) this.exec(p.type, this.env('STATUS', {}), this.pluginStdin(list, p, {}, undefined));
  }

  getVersionInfo(type: string): { cniVersion: string; supportedVersions: string[] } {
    const out = this.exec(type, this.env('VERSION', {}), '{"cniVersion":"1.1.0"}');
    return JSON.parse(out.stdout) as { cniVersion: string; supportedVersions: string[] };
  }
}
