/**
 * The `loopback` plugin: `lo` up inside CNI_NETNS (DEL takes it down again; a gone
 * namespace is success). The result names `lo` with 127.0.0.1/8 and ::1/128, as the
 * reference plugin's does.
 */
import { CniError } from '../errors.ts';
import { pluginMain } from '../plugin.ts';

export const loopback = pluginMain({
  add(ctx) {
    const ns = ctx.host.netns.get(ctx.args.netns);
    if (ns === undefined) throw new CniError(999, `failed to open netns "${ctx.args.netns}"`);
    ns.setUp('lo', true);
    return {
      cniVersion: ctx.conf.cniVersion,
      interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: ctx.args.netns }],
      // The reference plugin reports ::1 too (a real netns has it; IPv6 is not modelled here).
      ips: [{ interface: 0, address: '127.0.0.1/8' }, { interface: 0, address: '::1/128' }],
      dns: {},
    };
  },
  del(ctx) {
    if (ctx.args.netns === '') return;
    const ns = ctx.host.netns.get(ctx.args.netns);
    if (ns === undefined) return;
    ns.setUp('lo', false);
  },
  check(ctx) {
    const ns = ctx.host.netns.get(ctx.args.netns);
    if (ns === undefined) throw new CniError(999, `failed to open netns "${ctx.args.netns}"`);
    if (!ns.device('lo').up) throw new CniError(999, 'loopback interface is down');
  },
});
