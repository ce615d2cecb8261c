/**
 * `dig` and `nslookup` as programs a pod runs (`kubectl exec POD -- dig …`), over
 * the pod's sockets and its /etc/resolv.conf, printing what BIND 9.18's tools print
 * (dig-format.ts).
 *
 * - dig [@SERVER] [-p PORT] [-x ADDR] [NAME] [TYPE] [+short] [+tcp|+vc] [+notcp]:
 *   no search list (dig's default +nosearch), RD and EDNS0 (1232) as dig 9.18 sends;
 *   a truncated UDP reply is asked again over TCP (";; Truncated, retrying in TCP
 *   mode."); 3 tries of 5 s, then ";; no servers could be reached" and exit 9.
 * - nslookup NAME|ADDR [SERVER]: the resolv.conf search list with ndots; A then AAAA
 *   per candidate; an address is a PTR lookup.
 *
 * `;; WHEN:` is the virtual clock read as seconds after 2026-01-01T00:00:00Z (the
 * emulated cluster's default epoch); programs do not read the wall clock.
 */
import type { ProgramContext } from '../tools/program.ts';
import { MS, SECOND } from '../../netsim/time/scheduler.ts';
import { parseIpv4, tryParseIpv4 } from '../../netsim/wire/addr.ts';
import type { RecordType } from 'dns-packet';
import { Rcode, decodeMessage, encodeMessage, rcodeName } from './message.ts';
import type { DnsMessage } from './message.ts';
import { tcpExchange, udpExchange } from './transport.ts';
import type { ExchangeResult } from './transport.ts';
import { parseResolvConf } from './resolv-conf.ts';
import { searchCandidates } from './stub-resolver.ts';
import { reverseName } from './kubernetes-records.ts';
import { formatDig, formatDigShort, formatNslookup, formatNslookupReverse } from './dig-format.ts';

const EPOCH_MS = Date.UTC(2026, 0, 1);
const TYPES = new Set(['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'NS', 'SOA', 'TXT', 'MX', 'ANY']);

function exchange(ctx: ProgramContext, server: string, port: number, query: Uint8Array, tcp: boolean): Promise<ExchangeResult> {
  return new Promise((done) => (tcp ? tcpExchange : udpExchange)(ctx.ns, parseIpv4(server), port, query, 5 * SECOND, done));
}

export async function dig(ctx: ProgramContext): Promise<number> {
  const conf = parseResolvConf(ctx.files.get('/etc/resolv.conf') ?? '');
  let server = conf.nameservers[0] ?? '127.0.0.1';
  let port = 53;
  let short = false;
  let tcp = false;
  let name: string | undefined;
  let type: string | undefined;
  const args = ctx.argv.slice(1);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith('@')) server = a.slice(1);
    else if (a === '-p') port = Number(args[++i]);
    else if (a === '-x') {
      const ip = args[++i] ?? '';
      if (tryParseIpv4(ip) === undefined) { ctx.stderr(`dig: '${ip}' is not a legal IPv4 address\n`); return 1; }
      name = reverseName(ip);
      type = 'PTR';
    } else if (a === '+short') short = true;
    else if (a === '+tcp' || a === '+vc') tcp = true;
    else if (a === '+notcp' || a === '+novc') tcp = false;
    else if (a.startsWith('+')) continue;
    else if (name !== undefined && type === undefined && TYPES.has(a.toUpperCase())) type = a.toUpperCase();
    else if (name === undefined) name = a;
    else { ctx.stderr(`dig: extra argument ${a}\n`); return 1; }
  }
  if (tryParseIpv4(server) === undefined) { ctx.stderr(`dig: couldn't get address for '${server}': not found\n`); return 10; }
  if (!Number.isInteger(port) || port < 1 || port > 65535) { ctx.stderr('dig: port number out of range\n'); return 1; }
  const qname = (name ?? '.').replace(/\.$/, '') || '.';
  const qtype = (type ?? (name === undefined ? 'NS' : 'A')) as RecordType;
  const query = encodeMessage({ id: ctx.ns.userRng.nextU32() & 0xffff, rd: true, questions: [{ name: qname, type: qtype, class: 'IN' }], edns: { udpSize: 1232, do: false } });
  const clock = ctx.ns.sim.clock;
  for (let attempt = 0; attempt < 3; attempt++) {
    const start = clock.now();
    let res = await exchange(ctx, server, port, query, tcp);
    let via: 'udp' | 'tcp' = tcp ? 'tcp' : 'udp';
    if (res.ok && !tcp && (res.reply[2]! & 0x02) !== 0) {
      if (!short) ctx.stdout(';; Truncated, retrying in TCP mode.\n');
      res = await exchange(ctx, server, port, query, true);
      via = 'tcp';
    }
    if (!res.ok) {
      ctx.stdout(`;; communications error to ${server}#${port}: ${res.error === 'timeout' ? 'timed out' : res.error === 'refused' || res.error === 'unreachable' ? 'connection refused' : res.error}\n`);
      if (res.error !== 'timeout') break;
      continue;
    }
    let m: DnsMessage;
    try {
      m = decodeMessage(res.reply);
    } catch {
      ctx.stdout(';; Got bad packet: FORMERR\n');
      return 9;
    }
    if (short) ctx.stdout(formatDigShort(m));
    else {
      ctx.stdout(formatDig({
        args: ctx.argv.slice(1).join(' '), server, port, transport: via, reply: m, replySize: res.reply.length,
        queryTimeMs: Math.round((clock.now() - start) / MS), when: new Date(EPOCH_MS + Math.floor(clock.now() / MS)),
      }));
    }
    return 0;
  }
  ctx.stdout(';; no servers could be reached\n');
  return 9;
}

export async function nslookup(ctx: ProgramContext): Promise<number> {
  const args = ctx.argv.slice(1).filter((a) => !a.startsWith('-'));
  const target = args[0];
  if (target === undefined) { ctx.stderr('Usage: nslookup NAME [SERVER] (interactive mode is not supported)\n'); return 1; }
  const conf = parseResolvConf(ctx.files.get('/etc/resolv.conf') ?? '');
  const server = args[1] ?? conf.nameservers[0] ?? '127.0.0.1';
  if (tryParseIpv4(server) === undefined) { ctx.stderr(`nslookup: couldn't get address for '${server}': not found\n`); return 1; }
  const ask = async (qname: string, qtype: RecordType): Promise<DnsMessage | string> => {
    const q = encodeMessage({ id: ctx.ns.userRng.nextU32() & 0xffff, rd: true, questions: [{ name: qname, type: qtype, class: 'IN' }] });
    let r = await exchange(ctx, server, 53, q, false);
    if (r.ok && (r.reply[2]! & 0x02) !== 0) r = await exchange(ctx, server, 53, q, true);
    if (!r.ok) return r.error === 'timeout' ? 'timed out' : 'connection refused';
    try { return decodeMessage(r.reply); } catch { return 'FORMERR'; }
  };
  if (tryParseIpv4(target) !== undefined) {
    const rev = reverseName(target);
    const m = await ask(rev.replace(/\.$/, ''), 'PTR');
    if (typeof m === 'string') { ctx.stdout(`;; connection timed out; no servers could be reached\n\n`); return 1; }
    const names = m.answers.filter((a) => a.type === 'PTR').map((a) => String((a as { data: string }).data));
    ctx.stdout(formatNslookupReverse(server, rev, m.rcode === Rcode.NOERROR && names.length > 0 ? names : { error: rcodeName(m.rcode === Rcode.NOERROR ? Rcode.NXDOMAIN : m.rcode) }));
    return names.length > 0 ? 0 : 1;
  }
  let last = 'NXDOMAIN';
  for (const cand of searchCandidates(target, conf)) {
    const a = await ask(cand, 'A');
    if (typeof a === 'string') { ctx.stdout(';; connection timed out; no servers could be reached\n\n'); return 1; }
    const addrs = a.answers.filter((x) => x.type === 'A').map((x) => String((x as { data: string }).data));
    if (a.rcode === Rcode.NOERROR && addrs.length > 0) {
      await ask(cand, 'AAAA');
      const owner = a.answers.find((x) => x.type === 'A')?.name ?? cand;
      ctx.stdout(formatNslookup(server, target, { name: owner, addresses: addrs, authoritative: a.aa }));
      return 0;
    }
    last = rcodeName(a.rcode === Rcode.NOERROR ? Rcode.NOERROR : a.rcode);
    if (a.rcode === Rcode.NOERROR) last = 'No answer';
  }
  ctx.stdout(formatNslookup(server, target, { error: last }));
  return 1;
}
