/**
 * `nc -z [-v] [-u] [-w SECS] HOST PORT` as OpenBSD netcat (Debian's netcat-openbsd)
 * reports a port scan: `Connection to HOST PORT port [tcp/http] succeeded!` on
 * stderr with -v and status 0; `nc: connect to HOST port PORT (tcp) failed:
 * Connection refused` (or `timed out: Operation now in progress` after -w) and
 * status 1. UDP with -z sends one empty datagram and, as the real tool, reports
 * success unless an ICMP port unreachable comes back.
 *
 * Not modelled: data transfer (without -z), listening (-l).
 */
import type { ProgramContext } from './program.ts';
import { shortOptions, sleep } from './program.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';

/** /etc/services names netcat prints in brackets. */
const SERVICES: Readonly<Record<string, string>> = { 'tcp/22': 'ssh', 'tcp/53': 'domain', 'udp/53': 'domain', 'tcp/80': 'http', 'tcp/443': 'https', 'tcp/6443': 'sun-sr-https', 'tcp/8080': 'http-alt', 'tcp/9153': '*', 'udp/8285': '*', 'udp/8472': '*' };

export async function nc(ctx: ProgramContext): Promise<number> {
  const o = shortOptions(ctx.argv.slice(1), 'w', 'zvun');
  if (o.bad !== undefined) {
    ctx.stderr(`nc: ${o.bad}\nusage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n`);
    return 1;
  }
  const [host, portText] = o.rest;
  if (host === undefined || portText === undefined) {
    ctx.stderr('usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n');
    return 1;
  }
  if (!o.flags.has('z')) {
    ctx.stderr('nc: only port scans (-z) are modelled in this emulator\n');
    return 1;
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    ctx.stderr(`nc: port number invalid: ${portText}\n`);
    return 1;
  }
  const dst = await ctx.resolve(host);
  if (dst === undefined) {
    ctx.stderr(`nc: getaddrinfo for host "${host}" port ${port}: Name or service not known\n`);
    return 1;
  }
  const udp = o.flags.has('u');
  const proto = udp ? 'udp' : 'tcp';
  const waitNs = o.values.has('w') ? Math.round(Number(o.values.get('w')) * SECOND) : undefined;
  const ok = (): number => {
    if (o.flags.has('v')) ctx.stderr(`Connection to ${host} ${port} port [${proto}/${SERVICES[`${proto}/${port}`] ?? '*'}] succeeded!\n`);
    return 0;
  };
  const failed = (why: string): number => {
    ctx.stderr(`nc: connect to ${host} port ${port} (${proto}) ${why}\n`);
    return 1;
  };
  const clock = ctx.ns.sim.clock;
  if (udp) {
    const sock = ctx.ns.udp.bind(0);
    let refused = false;
    sock.onError = (e) => { if (e.type === 3 && e.code === 3) refused = true; };
    sock.send(dst, port, new Uint8Array(0));
    // OpenBSD nc -zu writes, then waits for an error on the connected socket before reporting.
    await sleep(ctx.ns, waitNs ?? SECOND);
    sock.close();
    return refused ? failed('failed: Connection refused') : ok();
  }
  const outcome = await new Promise<string>((done) => {
    const conn = ctx.ns.tcp.connect(dst, port);
    const timer = waitNs !== undefined ? clock.after(waitNs, () => { conn.abort(); done('timeout'); }) : undefined;
    const end = (r: string): void => {
      if (timer !== undefined) clock.cancel(timer);
      done(r);
    };
    conn.onConnect = () => {
      conn.end();
      end('ok');
    };
    conn.onClose = (reason) => end(reason);
  });
  if (outcome === 'ok') return ok();
  if (outcome === 'timeout') return failed('timed out: Operation now in progress');
  if (outcome === 'unreachable') return failed('failed: No route to host');
  return failed(outcome === 'refused' || outcome === 'reset' ? 'failed: Connection refused' : 'failed: Connection timed out');
}
