/**
 * The `flannel` meta-plugin (flannel-io/cni-plugin): reads the node's
 * `/run/flannel/subnet.env` and delegates to `bridge` (by default) with
 * - `mtu = FLANNEL_MTU`, `ipMasq = !FLANNEL_IPMASQ` (flanneld masquerades when it
 *   does), `isGateway = true`, `name` and `cniVersion` of this network, and
 * - `ipam = {type: host-local, ranges: [[{subnet: FLANNEL_SUBNET's network}]],
 *   routes: [{dst: FLANNEL_NETWORK}]}`, merged over any user ipam settings;
 * whatever the conflist's `delegate` object sets wins. The delegate's config is kept
 * in `<dataDir>/<containerID>` (default /var/lib/cni/flannel) so DEL can replay it;
 * DEL without that file is success.
 */
import { CniError } from '../errors.ts';
import { delegateAdd, delegateCheck, delegateDel, pluginMain } from '../plugin.ts';
import type { PluginContext } from '../plugin.ts';
import { isObject, optObject, optString } from '../spec/config.ts';
import { parseSubnetEnv } from '../flannel/subnet-env.ts';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_FLANNEL_DATA_DIR = '/var/lib/cni/flannel';

function loadSubnetEnv(ctx: PluginContext): ReturnType<typeof parseSubnetEnv> {
  const file = optString(ctx.conf, 'subnetFile') ?? DEFAULT_SUBNET_FILE;
  const text = ctx.host.fs.read(file);
  if (text === undefined) {
    throw new CniError(999, `failed to load flannel 'subnet.env' file: open ${file}: no such file or directory. Check the flannel pod log for this node.`);
  }
  try {
    return parseSubnetEnv(text);
  } catch (e) {
    throw new CniError(999, `failed to load flannel 'subnet.env' file: ${(e as Error).message}`);
  }
}

/** The delegate configuration the flannel plugin hands to bridge (flannel_linux.go doFlannelAdd). */
export function flannelDelegateConf(conf: Record<string, unknown>, env: ReturnType<typeof parseSubnetEnv>): Record<string, unknown> {
  const d: Record<string, unknown> = { ...(optObject(conf, 'delegate') ?? {}) };
  if (d['name'] === undefined) d['name'] = conf['name'];
  if (d['type'] === undefined) d['type'] = 'bridge';
  // If flannel is not masquerading, the delegate should.
  if (d['ipMasq'] === undefined) d['ipMasq'] = !env.FLANNEL_IPMASQ;
  if (d['mtu'] === undefined) d['mtu'] = env.FLANNEL_MTU;
  if (d['type'] === 'bridge' && d['isGateway'] === undefined) d['isGateway'] = true;
  d['cniVersion'] = conf['cniVersion'];
  const userIpam = optObject(conf, 'ipam') ?? {};
  const routes: unknown[] = [{ dst: env.network.toString() }];
  if (Array.isArray(userIpam['routes'])) routes.push(...(userIpam['routes'] as unknown[]));
  d['ipam'] = {
    ...userIpam,
    type: typeof userIpam['type'] === 'string' ? userIpam['type'] : 'host-local',
    ranges: [[{ subnet: env.subnet.cidr.toString() }]],
    routes,
  };
  return d;
}

function dataDir(ctx: PluginContext): string {
  return optString(ctx.conf, 'dataDir') ?? DEFAULT_FLANNEL_DATA_DIR;
}

function delegateType(d: Record<string, unknown>): string {
  const t = d['type'];
  if (typeof t !== 'string' || t === '') throw new CniError(7, 'invalid network config', 'delegate "type" must be a string');
  return t;
}

export const flannel = pluginMain({
  add(ctx) {
    const env = loadSubnetEnv(ctx);
    const d = flannelDelegateConf(ctx.conf, env);
    ctx.host.fs.write(`${dataDir(ctx)}/${ctx.args.containerId}`, JSON.stringify(d));
    return delegateAdd(ctx, delegateType(d), d);
  },
  del(ctx) {
    const path = `${dataDir(ctx)}/${ctx.args.containerId}`;
    const saved = ctx.host.fs.read(path);
    if (saved === undefined) return;
    let d: unknown;
    try {
      d = JSON.parse(saved);
    } catch {
      ctx.host.fs.remove(path);
      return;
    }
    if (!isObject(d)) return;
    delegateDel(ctx, delegateType(d), d);
    ctx.host.fs.remove(path);
  },
  check(ctx) {
    const saved = ctx.host.fs.read(`${dataDir(ctx)}/${ctx.args.containerId}`);
    if (saved === undefined) throw new CniError(999, `failed to read delegate config for ${ctx.args.containerId}`);
    const d = JSON.parse(saved) as Record<string, unknown>;
    delegateCheck(ctx, delegateType(d), { ...d, prevResult: ctx.conf.prevResult });
  },
});

/** kube-flannel.yml's CNI network config list (/etc/cni/net.d/10-flannel.conflist). */
export const KUBE_FLANNEL_CONFLIST = '{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},{"type":"portmap","capabilities":{"portMappings":true}}]}';
