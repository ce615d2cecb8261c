/**
 * `ip addr|link|route|neigh` (and `-br addr`) and `ss -tan`/`-uan`/`-tln`/`-uln` inside
 * a pod: iproute2's text, read from the pod's namespace. The ip views are netsim's
 * own iproute2 renderers (netsim/tools/ip.ts), the same `netsim node` shows.
 *
 * Not modelled: ss's TIME-WAIT sockets (the kernel keeps them as compact records
 * here), its Process column, and queue sizes other than the listen backlog.
 */
import type { ProgramContext } from './program.ts';
import { ipAddr, ipBriefAddr, ipLink, ipNeigh, ipRoute } from '../../netsim/tools/ip.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { TcpState } from '../../netsim/stack/tcp.ts';

export async function ip(ctx: ProgramContext): Promise<number> {
  const args = ctx.argv.slice(1);
  const brief = args[0] === '-br' || args[0] === '-brief';
  const [object, verb] = brief ? args.slice(1) : args;
  const show = verb === undefined || verb === 'show' || verb === 'list' || verb === 'ls';
  const views: Record<string, () => string> = {
    a: () => (brief ? ipBriefAddr(ctx.ns) : ipAddr(ctx.ns)),
    l: () => ipLink(ctx.ns),
    r: () => ipRoute(ctx.ns),
    n: () => ipNeigh(ctx.ns),
  };
  const key = object === undefined ? undefined : (['addr', 'address', 'a', 'link', 'l', 'route', 'r', 'ro', 'neigh', 'neighbor', 'n'].includes(object) ? object[0] as string : undefined);
  if (key === undefined || !show) {
    ctx.stderr(object === undefined ? 'Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n' : `Object "${object}" is unknown, try "ip help".\n`);
    return object === undefined ? 255 : 1;
  }
  ctx.stdout((views[key] as () => string)());
  return 0;
}

const SS_STATE: Record<TcpState, string> = {
  SYN_SENT: 'SYN-SENT', SYN_RECEIVED: 'SYN-RECV', ESTABLISHED: 'ESTAB', FIN_WAIT_1: 'FIN-WAIT-1', FIN_WAIT_2: 'FIN-WAIT-2',
  CLOSING: 'CLOSING', TIME_WAIT: 'TIME-WAIT', CLOSE_WAIT: 'CLOSE-WAIT', LAST_ACK: 'LAST-ACK', CLOSED: 'UNCONN',
};

/** nginx's listen backlog (NGX_LISTEN_BACKLOG), what ss shows as a listener's Send-Q. */
const BACKLOG = 511;

export async function ss(ctx: ProgramContext): Promise<number> {
  const flags = new Set(ctx.argv.slice(1).filter((a) => a.startsWith('-')).flatMap((a) => [...a.slice(1)]));
  const unknown = [...flags].find((f) => !'tualnH'.includes(f));
  if (unknown !== undefined) {
    ctx.stderr(`ss: invalid option -- '${unknown}'\n`);
    return 1;
  }
  const tcp = flags.has('t') || !flags.has('u');
  const udp = flags.has('u');
  const listeningOnly = flags.has('l');
  const all = flags.has('a');
  const rows: string[][] = [];
  const any = (addr: number, port: number | string): string => `${addr === 0 ? '0.0.0.0' : formatIpv4(addr)}:${port}`;
  if (tcp) {
    if (all || listeningOnly) for (const l of ctx.ns.tcp.listening()) rows.push([...(udp ? ['tcp'] : []), 'LISTEN', '0', String(BACKLOG), any(l.addr, l.port), '0.0.0.0:*']);
    if (!listeningOnly) for (const c of ctx.ns.tcp.connections()) rows.push([...(udp ? ['tcp'] : []), SS_STATE[c.state], '0', '0', any(c.localAddr, c.localPort), any(c.remoteAddr, c.remotePort)]);
  }
  if (udp) {
    for (const s of ctx.ns.udp.bound()) if (all || listeningOnly) rows.push([...(tcp && flags.has('t') ? ['udp'] : []), 'UNCONN', '0', '0', any(s.localAddr, s.localPort), '0.0.0.0:*']);
  }
  const head = [...(rows[0]?.length === 6 ? ['Netid'] : []), 'State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port'];
  const table = flags.has('H') ? rows : [head, ...rows];
  const widths = head.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  // ss right-aligns the local address column and left-aligns the rest.
  const local = head.indexOf('Local Address:Port');
  ctx.stdout(table.map((r) => r.map((c, i) => (i === local ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' ').trimEnd()).join('\n') + '\n');
  return 0;
}

export async function cat(ctx: ProgramContext): Promise<number> {
  let status = 0;
  for (const path of ctx.argv.slice(1)) {
    const text = ctx.files.get(path);
    if (text === undefined) {
      ctx.stderr(`cat: ${path}: No such file or directory\n`);
      status = 1;
    } else ctx.stdout(text);
  }
  return status;
}
