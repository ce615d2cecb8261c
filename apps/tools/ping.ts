/**
 * `ping [-c COUNT] [-i SECS] [-W SECS] [-s SIZE] [-t TTL] HOST` as iputils prints it:
 * one line per reply with the TTL the datapath left and the virtual RTT, ICMP errors
 * as `From … Destination Host Unreachable`, then the statistics. Exit 0 when some
 * reply came, 1 when none did, 2 for a usage or name error.
 */
import type { ProgramContext } from './program.ts';
import { shortOptions, sleep } from './program.ts';
import { ping as startPing } from '../../netsim/apps/ping.ts';
import type { PingError } from '../../netsim/apps/ping.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { SECOND, MS } from '../../netsim/time/scheduler.ts';

/** ICMP destination-unreachable codes as iputils words them. */
const UNREACH: Readonly<Record<number, string>> = { 0: 'Destination Net Unreachable', 1: 'Destination Host Unreachable', 3: 'Destination Port Unreachable', 4: 'Frag needed', 9: 'Destination Net Prohibited', 10: 'Destination Host Prohibited', 13: 'Packet filtered' };

function errorText(e: PingError): string {
  if (e.type === 3) return e.code === 4 ? `Frag needed and DF set (mtu = ${e.mtu})` : (UNREACH[e.code] ?? `Dest Unreachable, Bad Code: ${e.code}`);
  if (e.type === 11) return 'Time to live exceeded';
  return `Bad ICMP type: ${e.type}`;
}

const ms3 = (ns: number): string => (ns / MS).toFixed(3);

export async function ping(ctx: ProgramContext): Promise<number> {
  const o = shortOptions(ctx.argv.slice(1), 'ciWstw', 'nq');
  const usage = (msg: string): number => {
    ctx.stderr(`ping: ${msg}\n`);
    return 2;
  };
  if (o.bad !== undefined) return usage(o.bad);
  const host = o.rest[0];
  if (host === undefined) return usage('usage error: Destination address required');
  const num = (k: string, dflt: number, min: number): number | undefined => {
    const v = o.values.get(k);
    if (v === undefined) return dflt;
    const n = Number(v);
    return Number.isFinite(n) && n >= min ? n : undefined;
  };
  // Without -c, real ping runs until interrupted; an exec without a terminal could not stop it, so 4 is the default here.
  const count = num('c', 4, 1);
  const interval = num('i', 1, 0.002);
  const wait = num('W', 10, 0);
  const size = num('s', 56, 0);
  const ttl = num('t', 64, 1);
  if (count === undefined || interval === undefined || wait === undefined || size === undefined || ttl === undefined) return usage('invalid argument');
  const dst = await ctx.resolve(host);
  if (dst === undefined) return usage(`${host}: Name or service not known`);
  const ip = formatIpv4(dst);
  ctx.stdout(`PING ${host} (${ip}) ${size}(${size + 28}) bytes of data.\n`);
  const clock = ctx.ns.sim.clock;
  const start = clock.now();
  let last = start;
  const rtts: number[] = [];
  let errors = 0;
  const session = startPing(ctx.ns, dst, {
    count, intervalNs: Math.round(interval * SECOND), size, ttl,
    onReply: (r) => {
      rtts.push(r.rttNs);
      last = clock.now();
      ctx.stdout(`${size + 8} bytes from ${formatIpv4(r.from)}: icmp_seq=${r.seq} ttl=${r.ttl} time=${ms3(r.rttNs)} ms\n`);
    },
    onError: (e) => {
      errors++;
      last = clock.now();
      ctx.stdout(`From ${formatIpv4(e.from)} icmp_seq=${e.seq} ${errorText(e)}\n`);
    },
  });
  // Done when every probe is answered, or -W seconds after the last one was sent.
  const lastSent = Math.round(interval * SECOND) * (count - 1);
  const deadline = start + lastSent + Math.round(wait * SECOND);
  while (clock.now() < deadline && rtts.length + errors < count) await sleep(ctx.ns, Math.min(10 * MS, deadline - clock.now()));
  session.close();
  const sent = session.sent.length;
  const got = rtts.length;
  const loss = Math.round(((sent - got) * 100) / sent);
  const elapsed = Math.round((Math.max(last, start + lastSent) - start) / MS);
  ctx.stdout(`\n--- ${host} ping statistics ---\n${sent} packets transmitted, ${got} received, ${errors > 0 ? `+${errors} errors, ` : ''}${loss}% packet loss, time ${elapsed}ms\n`);
  if (got > 0) {
    const min = Math.min(...rtts);
    const max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / got;
    const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / got);
    ctx.stdout(`rtt min/avg/max/mdev = ${ms3(min)}/${ms3(avg)}/${ms3(max)}/${ms3(mdev)} ms\n`);
  }
  return got > 0 ? 0 : 1;
}
